#!/bin/bash
# Interop scripts again with every client under valgrind's memcheck
# (INTEROP_VALGRIND, see lib.sh): the real programs through the library
# under test must still pass every case, and memcheck must find no invalid
# access, no use of uninitialised memory, and no leak of a block the
# library allocated. Blocks the application allocated itself and never
# freed (the secrets sasl-sample-client and python-ldap's callbacks
# strdup) are theirs, whichever library they run on.
#
# usage: interop/valgrind.sh LIBDIR [SCRIPT...]   (default: slapd ldaptls svn syncrepl)
# Not in interop/run.sh's loop (the name is skipped there): `make test-valgrind`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 LIBDIR [SCRIPT...]" >&2; exit 2; }
libdir=$(cd "$1" && pwd) || exit 2
shift
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=(slapd ldaptls svn syncrepl)
command -v valgrind >/dev/null || { echo "valgrind: 0 passed, 1 failed (valgrind is not installed)"; exit 1; }
logs=$(mktemp -d "${TMPDIR:-/tmp}/sasl2-valgrind.XXXXXX")
trap 'rm -rf "$logs"' EXIT
passed=0 failed=0
for s in "${scripts[@]}"; do
    mkdir -p "$logs/$s"
    out=$logs/$s.out
    INTEROP_VALGRIND=$logs/$s bash "$here/$s.sh" "$libdir" >"$out" 2>&1
    rc=$?
    grep -E '^(PASS|FAIL) ' "$out" | sed 's/^\(PASS\|FAIL\) /\1 valgrind\//'
    p=$(grep -c '^PASS ' "$out") f=$(grep -c '^FAIL ' "$out")
    [ "$rc" != 0 ] && [ "$f" = 0 ] && { echo "FAIL valgrind/$s: exited $rc: $(tail -n 3 "$out" | tr '\n' ' ')"; f=1; }
    n=$(find "$logs/$s" -name 'vg.*' | wc -l)
    if [ "$n" = 0 ]; then
        echo "FAIL valgrind/$s/memcheck: no client ran under valgrind"
        f=$((f + 1))
    elif why=$(python3 "$here/valgrind-check.py" "$logs/$s" "$libdir"); then
        echo "PASS valgrind/$s/memcheck ($n processes)"
        p=$((p + 1))
    else
        echo "FAIL valgrind/$s/memcheck: $why"
        f=$((f + 1))
    fi
    passed=$((passed + p)) failed=$((failed + f))
done
echo "valgrind: $passed passed, $failed failed"
[ "$failed" = 0 ]
