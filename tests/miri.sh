#!/usr/bin/env bash
# The unit tests of src/mech and src/core under Miri (undefined behaviour,
# out-of-bounds access, leaks in the safe layers), with test sizes reduced
# under cfg(miri). Needs nightly Rust with the miri component; its first
# run builds a Miri sysroot from the rust-src component (`cargo miri
# setup`). Prints why it skips when either is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
skip() { echo "miri: skipped: $*"; exit 0; }
cargo +nightly miri --version >/dev/null 2>&1 ||
    skip "no nightly toolchain with the miri component (rustup component add miri --toolchain nightly)"
cargo +nightly miri setup >/dev/null 2>&1 ||
    skip "cargo miri setup failed (it needs the rust-src component: rustup component add rust-src --toolchain nightly)"
# Separate target dir: Miri's artifacts never mix with the normal build's.
MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-strict-provenance" \
    cargo +nightly miri test --lib --locked --target-dir target/miri -- mech:: core::
