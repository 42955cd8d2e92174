#!/bin/bash
# DIGEST-MD5 fast re-authentication (RFC 2831 2.2) against Cyrus's server
# side: interop/peer/reauth.c runs several connections one after the other
# in one process on each side, the client on the library under test
# (LD_LIBRARY_PATH), the server on the system Cyrus library with
# reauth_timeout set (or not). Users live in a private sasldb.
#
# What the server prints for each connection (initial response or not, how
# many challenges it sent, the outcome) is the evidence: a re-authentication
# is an initial response answered at once (0 challenges); a refused one is
# answered with a fresh challenge, which the client must take up.
# `interop/reauth.sh system` runs the same cases with Cyrus's own client,
# which behaves the same.
#
# usage: interop/reauth.sh [LIBDIR|system]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
interop_init reauth "${1:-}"
need_pkgs sasl2-bin libsasl2-modules libsasl2-modules-db libsasl2-dev gcc libc6-dev

REALM=example.com
printf secret | saslpasswd2 -f "$T/sasldb2" -p -c -u "$REALM" user

cc -O2 -Wall -Wextra -Wno-unused-function -o "$T/reauth" "$HERE/peer/reauth.c" -lsasl2 >"$T/cc.log" 2>&1 ||
    die "cc reauth.c: $(head -n 5 "$T/cc.log")"
sed 's/^/# /' "$T/cc.log"

# run NAME SERVER-ARG... -- CLIENT-ARG...: leaves D with server.out and client.out.
run() {
    local sargs=() spid rc=0
    D=$T/$1
    shift
    while [ "$1" != -- ]; do sargs+=("$1"); shift; done
    shift
    mkdir -p "$D"
    bg env -u LD_LIBRARY_PATH -u LD_PRELOAD timeout 90 "$T/reauth" server -s "$D/sock" \
        -d "$T/sasldb2" -r "$REALM" "${sargs[@]}" >"$D/server.out" 2>&1
    spid=${BG_PIDS[-1]}
    timeout 90 env "${CLIENT_ENV[@]}" "$T/reauth" client -s "$D/sock" -u user "$@" >"$D/client.out" 2>&1 || rc=$?
    for _ in $(seq 100); do
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$spid" 2>/dev/null || true
    wait "$spid" || true
    [ "$rc" = 0 ] || echo "client exit $rc" >>"$D/client.out"
}

# expect NAME SIDE:TEXT...: each TEXT is a line of SIDE's output.
expect() {
    local name=$1 want side line err=""
    shift
    for want in "$@"; do
        side=${want%%:*} line=${want#*:}
        grep -qxF -- "$side: $line" "$D/$side.out" ||
            { err="no '$side: $line' ($(grep -h 'connection' "$D/server.out" "$D/client.out" | tr '\n' ' '))"; break; }
    done
    if [ -z "$err" ]; then pass "reauth/$name"; else fail "reauth/$name" "$err"; fi
}

FULL="initial response no, 1 challenge, authenticated user=user@$REALM"
FAST="initial response yes, 0 challenges, authenticated user=user@$REALM"
# What the client prints after a full exchange.
CFULL="initial response none, answered a challenge with nc=00000001, authenticated"
REFUSED="SASL_BADAUTH: SASL(-13): authentication failure: client response doesn't match what we generated (tried bogus)"

# Every case through LD_LIBRARY_PATH and through LD_PRELOAD.
for MODE in ldpath preload; do
    client_env $MODE
    check_linkage "reauth/$MODE/linkage" "$T/reauth"
    run $MODE-fast -R 10 -k 3 -- -p secret -k 3
    expect $MODE/fast "server:connection 1: $FULL" "client:connection 1: $CFULL" \
        "server:connection 2: $FAST" "client:connection 2: initial response nc=00000002, authenticated" \
        "server:connection 3: $FAST" "client:connection 3: initial response nc=00000003, authenticated"

    # With an RC4 layer: both sides derive the same keys on the short exchange.
    run $MODE-fast-rc4-layer -R 10 -k 2 -n 128 -x 128 -N 200000 -- -p secret -k 2 -n 128 -x 128 -N 200000
    expect $MODE/fast-rc4-layer "server:connection 2: $FAST" \
        "client:connection 2: initial response nc=00000002, authenticated"
    both=$(cat "$D/server.out" "$D/client.out")
    if [ "$(grep -c '^[a-z]*: authenticated mech=DIGEST-MD5 ssf=128 ' <<<"$both")" != 4 ] ||
        [ "$(grep -c '^[a-z]*: received 200000 bytes, all correct' <<<"$both")" != 4 ]; then
        fail reauth/$MODE/fast-rc4-layer-data "want SSF 128 and every byte both ways on both connections: $(tail -n 4 "$D/client.out" | tr '\n' ' ')"
    else
        pass reauth/$MODE/fast-rc4-layer-data
    fi

    # A wrong password on the short exchange: the server answers with a fresh
    # challenge, the client takes it up and fails in full; the memory is gone,
    # so the next connection authenticates in full.
    run $MODE-wrong-password -R 10 -k 3 -- -p secret -k 3 -P 2:wrong
    expect $MODE/wrong-password "server:connection 2: initial response yes, 1 challenge, refused: $REFUSED" \
        "client:connection 2: initial response nc=00000002, answered a challenge with nc=00000001, refused by the server: $REFUSED" \
        "server:connection 3: $FULL" "client:connection 3: $CFULL"

    # A server without re-authentication: the initial response is answered with
    # a challenge, and the exchange goes on in full.
    run $MODE-server-without -R 0 -k 2 -- -p secret -k 2
    expect $MODE/server-without "server:connection 2: initial response yes, 1 challenge, authenticated user=user@$REALM" \
        "client:connection 2: initial response nc=00000002, answered a challenge with nc=00000001, authenticated"

    # No initial response asked for: no re-authentication.
    run $MODE-no-initial-response -R 10 -k 2 -- -p secret -k 2 -i
    expect $MODE/no-initial-response "server:connection 2: $FULL" "client:connection 2: $CFULL"

    # sasl_done forgets the server.
    run $MODE-done-forgets -R 10 -k 2 -- -p secret -k 2 -D
    expect $MODE/done-forgets "server:connection 2: $FULL" "client:connection 2: $CFULL"
done

summary
