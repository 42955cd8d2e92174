#!/bin/bash
# DIGEST-MD5 security layers, SCRAM -PLUS channel binding and NTLM's
# ntlm_v2 option, against Cyrus's server side: interop/peer/client.c on the
# library under test (LD_LIBRARY_PATH) talks to interop/peer/server.c on the
# system Cyrus library (its own process, LD_LIBRARY_PATH/LD_PRELOAD unset)
# over a unix socket; both are built from source here on every run. Users
# live in a private sasldb. See interop/peer/common.h for the framing and
# the streams.
#
# DIGEST-MD5: auth-int and auth-conf (rc4, rc4-56, rc4-40; Debian's Cyrus
# cannot do des/3des under OpenSSL 3), then $LAYERS_BYTES bytes of a seeded
# pseudo-random stream client->server and back, through sasl_encode (chunks
# of random size up to SASL_MAXOUTBUF, some via sasl_encodev) and
# sasl_decode (reads of random size up to 64 KiB, so packets split anywhere
# and several per call), every byte checked; plus a flipped byte in flight
# each way, which the receiving sasl_decode must refuse.
# SCRAM: both sides set SASL_CHANNEL_BINDING; same data passes, different
# data or names fail, 'y' without -PLUS on offer passes, 'y' when the offer
# was stripped of -PLUS (downgrade) fails.
# NTLM: the client's SASL_CB_GETOPT sets ntlm_v2 (unset, yes, no), right and
# wrong passwords; the server prints which responses it received, and its
# NTLM plugin's refusal names the one it checked.
#
# usage: interop/layers.sh [LIBDIR|system]
#   LAYERS_SKIP_SCRAM=1   skip the SCRAM cases
#   LAYERS_BYTES=N        bytes streamed each way (default 4 MiB)
#   LAYERS_SEED=N         base seed of the streams (default 1)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
interop_init layers "${1:-}"
need_pkgs sasl2-bin libsasl2-modules libsasl2-modules-db libsasl2-dev gcc libc6-dev
client_env ldpath

REALM=example.com
BYTES=${LAYERS_BYTES:-4194304}
SEED=${LAYERS_SEED:-1}
printf secret | saslpasswd2 -f "$T/sasldb2" -p -c -u "$REALM" user

for prog in server client; do
    # Both against the system headers and -lsasl2; the client's libsasl2.so.2
    # is swapped at run time.
    cc -O2 -Wall -Wextra -o "$T/$prog" "$HERE/peer/$prog.c" -lsasl2 >"$T/cc-$prog.log" 2>&1 ||
        die "cc $prog.c: $(head -n 5 "$T/cc-$prog.log")"
    sed 's/^/# /' "$T/cc-$prog.log" # warnings, if any
done
check_linkage layers/linkage "$T/client"

# peer NAME SERVER-ARG... -- CLIENT-ARG...: one connection; leaves D (the
# case folder with server.out and client.out), SRC and CRC (exit codes).
peer() {
    local sargs=()
    D=$T/$1
    shift
    while [ "$1" != -- ]; do sargs+=("$1"); shift; done
    shift
    mkdir -p "$D"
    bg env -u LD_LIBRARY_PATH -u LD_PRELOAD timeout 90 "$T/server" -s "$D/sock" \
        -d "$T/sasldb2" -r "$REALM" "${sargs[@]}" >"$D/server.out" 2>&1
    local spid=${BG_PIDS[-1]}
    CRC=0 SRC=0
    timeout 90 env "${CLIENT_ENV[@]}" "$T/client" -s "$D/sock" -u user "$@" >"$D/client.out" 2>&1 || CRC=$?
    # The server ends with the connection; one the client never reached would
    # sit in accept() until its alarm.
    for _ in $(seq 100); do
        kill -0 "$spid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$spid" 2>/dev/null || true
    wait "$spid" || SRC=$?
}

# has SIDE REGEX: an extended regex matches a line of server.out or client.out.
has() { grep -Eq -- "$2" "$D/$1.out"; }

# why: the last lines of both programs, for a failure message.
why() {
    echo "server exit $SRC: $(tail -n 2 "$D/server.out" | tr '\n' ' ')| client exit $CRC: $(tail -n 2 "$D/client.out" | tr '\n' ' ')"
}

verdict() { if [ -z "$2" ]; then pass "layers/$1"; else fail "layers/$1" "$2"; fi; }

# stream_case NAME SSF SEED CLIENT-ARG...: both ways, every byte right.
stream_case() {
    local name=$1 ssf=$2 seed=$3 err=""
    shift 3
    peer "$name" -m DIGEST-MD5 -N "$BYTES" -S "$seed" -- -p secret -N "$BYTES" -S "$seed" "$@"
    if [ "$SRC" != 0 ] || [ "$CRC" != 0 ]; then
        err=$(why)
    elif ! has client "authenticated mech=DIGEST-MD5 ssf=$ssf " || ! has server "authenticated mech=DIGEST-MD5 ssf=$ssf "; then
        err="want SSF $ssf: $(grep -h authenticated "$D/client.out" "$D/server.out" | tr '\n' ' ')"
    elif ! has server "^server: received $BYTES bytes, all correct" || ! has client "^client: received $BYTES bytes, all correct"; then
        err="not every byte arrived: $(why)"
    elif ! has client "^client: sent $BYTES bytes in [0-9]+ packets \([1-9][0-9]* via sasl_encodev\)"; then
        err="the client never used sasl_encodev: $(why)"
    fi
    verdict "$name" "$err"
}

# tamper_case NAME c2s|s2c K SEED CLIENT-ARG...: the sender flips one byte of
# its K-th packet and stops; the receiver's sasl_decode must fail
# (SASL_FAIL or SASL_BADMAC), and hand out nothing from that packet.
tamper_case() {
    local name=$1 dir=$2 k=$3 seed=$4 err="" sender receiver start got
    shift 4
    peer "$name" -m DIGEST-MD5 -N "$BYTES" -S "$seed" -T "$dir" -t "$k" -- \
        -p secret -N "$BYTES" -S "$seed" -T "$dir" -t "$k" "$@"
    if [ "$dir" = c2s ]; then sender=client receiver=server; else sender=server receiver=client; fi
    local src=$SRC crc=$CRC
    declare -A rc=([server]=$src [client]=$crc)
    start=$(sed -n "s/^$sender: tampered packet $k .* holding stream bytes \([0-9]*\)\..*/\1/p" "$D/$sender.out")
    got=$(sed -n "s/^$receiver: sasl_decode failed: .* after \([0-9]*\) good bytes.*/\1/p" "$D/$receiver.out")
    if [ "${rc[$sender]}" != 0 ] || [ -z "$start" ]; then
        err="the $sender did not send the tampered packet: $(why)"
    elif [ "${rc[$receiver]}" = 0 ] || [ "${rc[$receiver]}" = 4 ]; then
        err="the $receiver's sasl_decode accepted the tampered packet: $(why)"
    elif [ "${rc[$receiver]}" != 3 ] || ! has "$receiver" "sasl_decode failed: SASL_(FAIL|BADMAC) "; then
        err="want sasl_decode to fail with SASL_FAIL or SASL_BADMAC: $(why)"
    elif [ -z "$got" ] || [ "$got" -gt "$start" ]; then
        err="the $receiver got $got bytes, but the tampered packet starts at byte $start"
    fi
    verdict "$name" "$err"
}

# auth_case NAME WANT MECH GS2 SERVER-ARG... -- CLIENT-ARG...
#   WANT  ok: both sides authenticate
#         cb: the server refuses (SASL_BADBINDING, SASL_BADAUTH or SASL_BADPROT)
#             with an error about channel binding
#         badauth: the server refuses with SASL_BADAUTH
#         nomech: the client's sasl_client_start fails with SASL_NOMECH
#   MECH, GS2: the client sent MECH (with -PLUS added when its GS2 header
#         says p=) and GS2 flag GS2 (not checked for nomech)
# Only ok authenticates the client.
auth_case() {
    local name=$1 want=$2 mech=$3 gs2=$4 err=""
    shift 4
    peer "$name" "$@"
    if [ "$want" = ok ] && { [ "$SRC" != 0 ] || [ "$CRC" != 0 ]; }; then
        err=$(why)
    elif [ "$want" != ok ] && has client "^client: authenticated"; then
        err="the client authenticated, expected failure: $(why)"
    elif [ "$want" = nomech ]; then
        has client "sasl_client_start: SASL_NOMECH" || err="want SASL_NOMECH from sasl_client_start: $(why)"
    elif ! has client "sending $mech, gs2 flag $gs2\$"; then
        err="want $mech with GS2 flag $gs2: $(grep -h 'chose' "$D/client.out" || why)"
    elif [ "$want" = ok ]; then
        { has server "^server: authenticated mech=" && has client "^client: authenticated mech="; } ||
            err="no authentication reported: $(why)"
    elif [ "$SRC" != 6 ] || [ "$CRC" = 0 ]; then
        err="want the server to refuse: $(why)"
    elif [ "$want" = badauth ]; then
        has server "authentication failed: SASL_BADAUTH" || err="want SASL_BADAUTH: $(why)"
    elif ! has server "authentication failed: SASL_(BADBINDING|BADAUTH|BADPROT): .*[Cc]hannel bind"; then
        err="want a channel-binding refusal: $(why)"
    fi
    verdict "$name" "$err"
}

# ntlm_case NAME WANT SENT CHECKED CLIENT-ARG...: NTLM, WANT ok or badauth.
# The server reports the responses it received, "LM n bytes, NT m bytes
# (kind)", which must match the regex SENT; a refusal names the response
# the server checked: "incorrect CHECKED response".
ntlm_case() {
    local name=$1 want=$2 sent=$3 checked=$4 err=""
    shift 4
    peer "$name" -m NTLM -- "$@"
    if ! has server "^server: NTLM responses: $sent\$"; then
        err="want $sent: $(grep -h 'NTLM responses' "$D/server.out" || why)"
    elif [ "$want" = ok ]; then
        if [ "$SRC" != 0 ] || [ "$CRC" != 0 ]; then
            err=$(why)
        elif ! has server "^server: authenticated mech=NTLM ssf=0 " || ! has client "^client: authenticated mech=NTLM ssf=0 "; then
            err="no authentication reported: $(why)"
        fi
    elif has client "^client: authenticated"; then
        err="the client authenticated, expected failure: $(why)"
    elif [ "$SRC" != 6 ] || ! has server "authentication failed: SASL_BADAUTH: .*: incorrect $checked response"; then
        err="want the server to refuse the $checked response with SASL_BADAUTH: $(why)"
    fi
    verdict "$name" "$err"
}

stream_case digest-auth-int 1 $((SEED + 1)) -n 1 -x 1
stream_case digest-rc4 128 $((SEED + 2)) -n 128 -x 128
stream_case digest-rc4-56 56 $((SEED + 3)) -n 56 -x 56
stream_case digest-rc4-40 40 $((SEED + 4)) -n 40 -x 40
tamper_case digest-auth-int-tamper-c2s c2s 5 $((SEED + 5)) -n 1 -x 1
tamper_case digest-auth-int-tamper-s2c s2c 6 $((SEED + 6)) -n 1 -x 1
tamper_case digest-rc4-tamper-c2s c2s 7 $((SEED + 7)) -n 128 -x 128
tamper_case digest-rc4-tamper-s2c s2c 8 $((SEED + 8)) -n 128 -x 128

# sasl2-rs answers NTLMv2 (LMv2 + NTv2, the server checks NTv2) unless told
# no; Cyrus answers NTLMv1 unless told yes, and then LMv2 alone (README).
NTV2="LM 24 bytes, NT [0-9]+ bytes \(NTv2\)" NTV1="LM 0 bytes, NT 24 bytes \(NTLMv1\)"
if is_rust_impl; then
    DEFAULT=("$NTV2" NTLMv2) V2=("$NTV2" NTLMv2)
else
    DEFAULT=("$NTV1" NTLM) V2=("LM 24 bytes, NT 0 bytes \(LMv2 or LM\)" "LMv1/v2")
fi
ntlm_case ntlm-default ok "${DEFAULT[@]}" -p secret
ntlm_case ntlm-default-wrong-password badauth "${DEFAULT[@]}" -p wrong
ntlm_case ntlm-v2 ok "${V2[@]}" -p secret -o ntlm_v2=yes
ntlm_case ntlm-v2-wrong-password badauth "${V2[@]}" -p wrong -o ntlm_v2=on
ntlm_case ntlm-v1 ok "$NTV1" NTLM -p secret -o ntlm_v2=no
ntlm_case ntlm-v1-wrong-password badauth "$NTV1" NTLM -p wrong -o ntlm_v2=off

if [ "${LAYERS_SKIP_SCRAM:-0}" = 1 ]; then
    echo "# layers: SCRAM cases skipped (LAYERS_SKIP_SCRAM=1)"
else
    # Channel-binding data: a 12-byte tls-unique (a TLS Finished message) and
    # a 32-byte tls-server-end-point (a certificate hash), with a NUL byte.
    U=00a1b2c3d4e5f60718293a4b
    U2=00a1b2c3d4e5f60718293a4c
    E=$(printf '%02x' {0..31})
    auth_case scram-plus-same ok SCRAM-SHA-256-PLUS p -m SCRAM-SHA-256 -b "tls-unique:0:$U" -- \
        -p secret -b "tls-unique:0:$U"
    auth_case scram-plus-endpoint ok SCRAM-SHA-256-PLUS p -m SCRAM-SHA-256 -b "tls-server-end-point:1:$E" -- \
        -p secret -b "tls-server-end-point:1:$E"
    auth_case scram-plus-sha1 ok SCRAM-SHA-1-PLUS p -m SCRAM-SHA-1 -b "tls-unique:0:$U" -- \
        -p secret -b "tls-unique:0:$U"
    # critical on the server: it offers only SCRAM-SHA-512-PLUS
    auth_case scram-plus-sha512 ok SCRAM-SHA-512-PLUS p -m SCRAM-SHA-512 -b "tls-unique:1:$U" -- \
        -p secret -b "tls-unique:0:$U"
    auth_case scram-plus-differ cb SCRAM-SHA-256-PLUS p -m SCRAM-SHA-256 -b "tls-unique:0:$U" -- \
        -p secret -b "tls-unique:0:$U2"
    auth_case scram-plus-name-differ cb SCRAM-SHA-256-PLUS p -m SCRAM-SHA-256 -b "tls-server-end-point:0:$U" -- \
        -p secret -b "tls-unique:0:$U"
    auth_case scram-plus-wrong-password badauth SCRAM-SHA-256-PLUS p -m SCRAM-SHA-256 -b "tls-unique:0:$U" -- \
        -p wrong -b "tls-unique:0:$U"
    # Cyrus's client says 'y' only while choosing from several mechanisms.
    auth_case scram-y-flag ok SCRAM-SHA-256 y -m "SCRAM-SHA-256 CRAM-MD5" -- \
        -p secret -b "tls-unique:0:$U"
    auth_case scram-y-downgrade cb SCRAM-SHA-256 y -m "SCRAM-SHA-256 CRAM-MD5" -b "tls-unique:0:$U" -D -- \
        -p secret -b "tls-unique:0:$U"
    auth_case scram-plus-critical-unoffered nomech - - -m "SCRAM-SHA-256 CRAM-MD5" -- \
        -p secret -b "tls-unique:1:$U"
fi

summary
