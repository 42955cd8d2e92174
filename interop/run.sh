#!/bin/bash
# Runs every interop script (interop/*.sh but lib.sh, run.sh and valgrind.sh) against LIBDIR,
# the folder holding libsasl2.so.2 ("system" or nothing: the system library),
# and ends with "N passed, M failed"; exits non-zero if any case failed.
#
# usage: interop/run.sh [LIBDIR|system]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
libdir=${1:-system}
[ "$libdir" = system ] || libdir=$(cd "$libdir" 2>/dev/null && pwd) || libdir=$1
# Shared: no case may run while tests/package-check.sh switches the system.
# shellcheck source=../tests/system-lock.sh
. "$here/../tests/system-lock.sh"
system_lock shared
passed=0 failed=0 start=$SECONDS
for script in "$here"/*.sh; do
    case ${script##*/} in lib.sh | run.sh | valgrind.sh) continue ;; esac
    log=$(mktemp)
    bash "$script" "$libdir" | tee "$log"
    rc=${PIPESTATUS[0]}
    p=$(grep -c '^PASS ' "$log") f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
        echo "FAIL ${script##*/}: exited $rc without reporting a failed case"
        f=1
    fi
    rm -f "$log"
    passed=$((passed + p)) failed=$((failed + f))
done
echo "# interop took $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
