#!/usr/bin/env bash
# Instructions per connection-loop iteration (client_new + start(MECH) +
# dispose; MECH defaults to PLAIN) under callgrind: the difference between two runs of bench/bin/loop
# (N = 2000 and 7000) divided by the iterations between them, so that
# loading, sasl_client_init and sasl_done cancel out. Noise-free, unlike
# CPU time on a shared machine. Instructions only: the time a system call
# spends in the kernel (SCRAM's getrandom) is not counted.
#
#   bench/callgrind-loop.sh LIBDIR|system [MECH [LIST]]    (after bench/run.sh built bench/bin)
#
# LIST is the server's mechanism list, from which MECH must be chosen
# (default: MECH alone).
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
case "${1:-}" in
    "") echo "usage: $0 LIBDIR|system [MECH [LIST]]" >&2; exit 2 ;;
    system) LIBDIR=/usr/lib/x86_64-linux-gnu ;;
    *) LIBDIR=$(cd "$1" && pwd) ;;
esac
MECH=${2:-PLAIN}
LIST=${3:-$MECH}
[ -x "$BENCH/bin/loop" ] || { echo "bench/bin/loop missing: run bench/run.sh first" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {
    LD_LIBRARY_PATH=$LIBDIR valgrind --tool=callgrind --callgrind-out-file="$tmp/out.$1" "$BENCH/bin/loop" "$1" "$MECH" "$LIST" 2>&1 |
        awk '/Collected :/ { print $NF }'
}
a=$(ir 2000) b=$(ir 7000)
# loop N runs N + N/10 + 1 iterations (warm-up and batches included).
echo "instructions per iteration: $(( (b - a) / 5500 )) ($MECH from \"$LIST\", $LIBDIR)"
