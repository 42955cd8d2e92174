# shellcheck shell=bash
# The system-wide lock between test suites and the test that switches the
# system's libsasl2.so.2 (tests/package-check.sh installs and removes the
# Debian package). Suites that use the system's Cyrus library (the C tests,
# interop, benchmarks) hold it shared while they run; the package test holds
# it exclusively, so nothing runs against a half-switched system.
#
#   . tests/system-lock.sh; system_lock shared|exclusive
#
# The lock is on file descriptor 9 and lasts until the shell exits.
SYSTEM_LOCK_FILE=${SYSTEM_LOCK_FILE:-/tmp/sasl2rs-system.lock}

system_lock() {
    local mode=-s
    [ "$1" = exclusive ] && mode=-x
    if ! command -v flock >/dev/null || ! exec 9>>"$SYSTEM_LOCK_FILE"; then
        echo "# warning: cannot take the lock $SYSTEM_LOCK_FILE; running without it" >&2
        return 0
    fi
    # Say why we wait, but only when we do.
    if ! flock -n "$mode" 9; then
        echo "# waiting for $SYSTEM_LOCK_FILE (the system's libsasl2 is being switched)" >&2
        flock "$mode" 9
    fi
}
