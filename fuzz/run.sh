#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer and AddressSanitizer and runs each
# for FUZZ_SECONDS (default 10), from its committed seed corpus.
#
#   fuzz/run.sh                  every target (names: fuzz/Cargo.toml)
#   fuzz/run.sh scram capi       only these
#   FUZZ_SECONDS=3600 fuzz/run.sh
#   FUZZ_RUNS=10000000 FUZZ_SECONDS=7200 fuzz/run.sh saslutil   stops at whichever comes first
#   fuzz/run.sh build            build only
#   FUZZ_SANITIZER=none fuzz/run.sh scram   no AddressSanitizer (long runs of
#                                targets whose code under test is safe Rust)
#
# Needs a nightly toolchain (`cargo +nightly`, for -Zsanitizer and the
# coverage passes) and a C++ compiler (libfuzzer-sys builds libFuzzer).
# cargo-fuzz itself is not needed: this passes the flags it would.
# Without nightly it prints why it skips and counts nothing.
#
# New corpus entries go to fuzz/target/corpus/<name> (not committed);
# crashes to fuzz/artifacts/<name>/. Last line: "fuzz: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: skipped: no nightly Rust toolchain (cargo +nightly); the fuzz targets need -Zsanitizer"
    exit 0
fi

all_targets() { sed -n 's/^ *{ name = "\([a-z0-9_]*\)".*/\1/p' Cargo.toml; }

build_only=0
if [ "${1:-}" = build ]; then build_only=1; shift; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(all_targets)

triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
# What cargo-fuzz passes: coverage for libFuzzer, value profiles of
# comparisons, the `fuzzing` cfg, debug assertions, AddressSanitizer. The
# explicit --target keeps build scripts and proc macros uninstrumented.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks \
-Cforce-frame-pointers"
# Without ASan the binaries go to their own directory, so that neither build
# invalidates the other.
bindir="target/$triple/release"
case "${FUZZ_SANITIZER:-address}" in
    address) RUSTFLAGS="$RUSTFLAGS -Zsanitizer=address" ;;
    none) export CARGO_TARGET_DIR=target/nosan; bindir="$CARGO_TARGET_DIR/$triple/release" ;;
    *) echo "fuzz: FUZZ_SANITIZER is address or none"; exit 2 ;;
esac
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
if ! cargo +nightly build --release --target "$triple" "${bins[@]}"; then
    echo "fuzz: 0 passed, ${#targets[@]} failed (build)"
    exit 1
fi
[ $build_only = 1 ] && exit 0

seconds=${FUZZ_SECONDS:-10}
runs=${FUZZ_RUNS:--1}
passed=0 failed=0
for t in "${targets[@]}"; do
    mkdir -p "target/corpus/$t" "artifacts/$t" "corpus/$t"
    log="target/$t.log"
    # Work corpus first (new entries go there), committed seeds second.
    # timeout: a crash report that hangs must not stall the run.
    ASAN_OPTIONS=detect_leaks=1 timeout -k 10 $((seconds + 120)) "$bindir/$t" -max_total_time="$seconds" -runs="$runs" -timeout=10 \
        -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
        "target/corpus/$t" "corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    cov=$(grep -ao 'cov: [0-9]*' "$log" | tail -n1)
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        time=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n1)
        echo "fuzz $t: ok, ${execs:-?} executions in ${time:-$seconds}s, ${cov:-cov: ?}"
    else
        failed=$((failed + 1))
        echo "fuzz $t: FAILED (exit $rc), see fuzz/$log and fuzz/artifacts/$t/"
        grep -a -m1 -A12 -E 'panicked|ERROR: AddressSanitizer|ERROR: libFuzzer' "$log" | sed 's/^/    /'
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
