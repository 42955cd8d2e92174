#!/usr/bin/env bash
# The unit tests of src/mech and src/core under Miri (undefined behaviour,
# out-of-bounds access, leaks in the safe layers), with test sizes reduced
# under cfg(miri), and the C API's re-entry pattern (capi::conn's tests: a
# callback calling the exported functions on its running connection).
# Needs nightly Rust with the miri component; its first run builds a Miri
# sysroot from the rust-src component (`cargo miri setup`). Prints why it
# skips when either is missing.
set -uo pipefail
cd "$(dirname "$0")/.."
skip() { echo "miri: skipped: $*"; exit 0; }
cargo +nightly miri --version >/dev/null 2>&1 ||
    skip "no nightly toolchain with the miri component (rustup component add miri --toolchain nightly)"
cargo +nightly miri setup >/dev/null 2>&1 ||
    skip "cargo miri setup failed (it needs the rust-src component: rustup component add rust-src --toolchain nightly)"
# Separate target dir: Miri's artifacts never mix with the normal build's.
# Miri runs code about 10^4 times slower (a SHA-1 compression takes about
# 0.1 s, an RC4 key schedule most of a second). Chosen: the tests of the
# code that parses, frames and keeps state (the core, the parsers of every
# mechanism's server input, the fake-GSS flows), and of the code that grinds
# through hashes and ciphers (Hi(), SCRAM, DIGEST-MD5's MAC, RC4 and layers)
# at sizes reduced under cfg(miri), those that pass through a path or a
# dependency no other one does. The rest of mech::scram and DIGEST-MD5 (more
# exchanges, the layer's tampering and maxbuf tests, the DES known answers)
# would add about 6 minutes on an idle core; `cargo +nightly miri test --lib`
# runs them all.
filters=(core:: mech::digest_md5::parse mech::oauth mech::gs2 mech::gssapi mech::ntlm mech::plain
         mech::login mech::anonymous mech::external mech::saslprep mech::cram_md5 mech::registry
         capi::conn::tests::
         # Hi() on every hash, against RFC 6070 and the pbkdf2 crate.
         mech::hi::
         # SCRAM at i=2: an exchange and one from the re-authentication
         # memory, channel binding, and the quick ones.
         mech::scram::tests::the_second_exchange_reuses_the_keys
         mech::scram::tests::plus_binds_the_channel
         mech::scram::tests::plus_rejects_bad_binding
         mech::scram::tests::initial_challenge_is_ignored
         mech::scram::tests::random_client_nonce
         mech::scram::tests::mech_info
         mech::scram::tests::too_weak
         # DIGEST-MD5: the RFC exchange, re-authentication, the layer's
         # bytes and keys, RC4, MD5 and HMAC-MD5 against the crates, the layers
         # (none, RC4, DES) both ways.
         mech::digest_md5::tests::rfc2831_imap_example
         mech::digest_md5::tests::needs_server_fqdn
         mech::digest_md5::tests::latin1_conversion_as_cyrus
         mech::digest_md5::tests::a_failed_reauthentication_forgets_the_server
         mech::digest_md5::tests::known_answers::integrity
         mech::digest_md5::reauth::
         mech::digest_md5::rc4::tests::matches_the_rc4_crate
         mech::digest_md5::rc4::tests::stitched_md5_and_rc4_match_each_alone
         mech::digest_md5::rc4::tests::the_state_is_wiped_on_drop
         mech::digest_md5::mac::
         mech::digest_md5::md5_block::
         mech::digest_md5::layer::tests::round_trips_both_ways_over_many_packets
         mech::digest_md5::layer::tests::keyed_states_are_wiped_on_drop
         mech::digest_md5::layer::tests::rc4_matches_rfc6229
         mech::digest_md5::layer::tests::key_derivation_known_answers
         mech::digest_md5::layer::tests::bad_padding_fails)
# Built first, so that the time limit (MIRI_SECONDS) is the tests' own.
limit=${MIRI_SECONDS:-600}
# Isolation off: NTLM reads the clock for its timestamp.
export MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-strict-provenance -Zmiri-disable-isolation"
cargo +nightly miri test --lib --locked --target-dir target/miri --no-run || exit 1
log=$(mktemp)
timeout "$limit" cargo +nightly miri test --lib --locked --target-dir target/miri \
    -- "${filters[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if [ "$rc" = 124 ]; then
    # Not a failure of the code: Miri ran out of time (the machine is slow
    # or busy). What ran is reported; nothing is counted.
    echo "miri: stopped at the $limit s limit after $(grep -c '\.\.\. ok$' "$log") tests passed, $(grep -c '\.\.\. FAILED$' "$log") failed"
    grep -q '\.\.\. FAILED$' "$log" && rc=1 || rc=0
fi
rm -f "$log"
exit "$rc"
