#!/usr/bin/env bash
# `make check`: every suite in order, each one's own count, and a grand
# total over all of them. A suite that fails without reporting a failed case
# counts as one failure. Exits non-zero if anything failed.
#
#   suite     make target    what it counts
#   rust      test-rust      cargo's "test result" lines
#   exports   test-exports   the last "N passed, M failed" line
#   header    test-header    (same)
#   install   test-install
#   c         test-c         C programs under valgrind
#   interop   test-interop   client/server cases
#   valgrind  test-valgrind  some of them with the clients under memcheck
#   package   test-package   the Debian package installed and removed
#   fuzz      test-fuzz      fuzz targets run briefly ("fuzz: N passed, M failed")
#   asan      test-asan      C programs against the ASan build of the library
#   tsan      test-tsan      t_stress under ThreadSanitizer ("tsan: ...")
#   miri      test-miri      cargo's "test result" lines under Miri
# The last four need nightly Rust; without it they print a skip line and
# count nothing.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
tests/install-deps.sh || echo "check: could not install every package the tests need"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
total_p=0 total_f=0 lines=()
for suite in rust exports header install c interop valgrind package fuzz asan tsan miri; do
    log=$logs/$suite
    $MAKE -s "test-$suite" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    if [ "$suite" = rust ] || [ "$suite" = miri ]; then
        read -r p f < <(awk '/^test result:/ { p += $4; f += $6 } END { print p + 0, f + 0 }' "$log")
    else
        # The last "[NAME: ]N passed, M failed" line.
        read -r p f < <(awk '/^([a-z]+: )?[0-9]+ passed, [0-9]+ failed$/ { p = $(NF - 3); f = $(NF - 1) }
                             END { print p + 0, f + 0 }' "$log")
    fi
    [ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
    total_p=$((total_p + p)) total_f=$((total_f + f))
    lines+=("$(printf '  %-8s %6d passed, %d failed' "$suite" "$p" "$f")")
done
echo
echo "make check:"
printf '%s\n' "${lines[@]}"
echo "all suites: $total_p passed, $total_f failed"
[ "$total_f" = 0 ]
