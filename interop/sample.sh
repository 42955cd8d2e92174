#!/bin/bash
# Unchanged /usr/bin/sasl-sample-client on the library under test (once with
# LD_LIBRARY_PATH, once with LD_PRELOAD) against /usr/sbin/sasl-sample-server
# on the system Cyrus library, with users in a private sasldb. A third round
# ("forward") runs the sample server on the library under test too: its
# server calls go through our forwarding to Cyrus's server side.
#
# Every case also checks which libsasl2 files each program had mapped while
# it ran (/proc/PID/maps, recorded by samplerelay.py): the client only the
# library under test; the server Cyrus's file, and in the forward round ours
# in front of it.
#
# The sample programs speak "S: <base64>" / "C: <base64>" lines on
# stdin/stdout (not TCP); samplerelay.py wires them together and types the
# password at the client's getpass() prompt. After authentication both sides
# exchange one message through sasl_encode/sasl_decode (even at SSF 0).
#
# usage: interop/sample.sh [LIBDIR|system]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
interop_init sample "${1:-}"
need_pkgs sasl2-bin libsasl2-modules libsasl2-modules-db

REALM=example.com
printf secret | saslpasswd2 -f "$T/sasldb2" -p -c -u "$REALM" user
printf bosspw | saslpasswd2 -f "$T/sasldb2" -p -c -u "$REALM" boss
# Non-ASCII names and passwords (UTF-8): a password with a no-break space,
# which SASLprep would turn into a space, and a name with an umlaut whose
# password starts with the ligature U+FB01, which SASLprep would make "fi".
NBSP_PW=$(printf 'a\xc2\xa0b') LIG_PW=$(printf '\xef\xac\x81x') UMLAUT=$(printf 'j\xc3\xbcrgen')
printf %s "$NBSP_PW" | saslpasswd2 -f "$T/sasldb2" -p -c -u "$REALM" nbsp
printf %s "$LIG_PW" | saslpasswd2 -f "$T/sasldb2" -p -c -u "$REALM" "$UMLAUT"
# Names the mechanisms must escape: "," and "=" become =2C and =3D in SCRAM
# (RFC 5802 5.1), '"' and '\' are backslash-quoted in DIGEST-MD5 (RFC 2831
# 7.2). No spaces: run word-splits the client's arguments.
COMMA_NAME='a,b=c' QUOTE_NAME='a"b\c'
printf secret | saslpasswd2 -f "$T/sasldb2" -p -c -u "$REALM" "$COMMA_NAME"
printf secret | saslpasswd2 -f "$T/sasldb2" -p -c -u "$REALM" "$QUOTE_NAME"

# ntlm_responses DIR: the NTLM responses in the client's AUTHENTICATE message:
# "v2" (LMv2 and NTv2), "v1" (NTLMv1 alone) or what else it holds.
ntlm_responses() {
    python3 - "$1/client.out" <<'EOF'
import base64, binascii, struct, sys
for line in open(sys.argv[1], "rb"):
    try:
        m = base64.b64decode(line[3:].strip(), validate=True) if line.startswith(b"C: ") else b""
    except binascii.Error:
        continue
    if m[:12] == b"NTLMSSP\0\3\0\0\0" and len(m) >= 24:
        lm, nt = struct.unpack_from("<H", m, 12)[0], struct.unpack_from("<H", m, 20)[0]
        kind = {(24, True): "v2", (0, False): "v1"}.get((lm, nt > 24)) if nt >= 24 else None
        print(kind or f"LM {lm} bytes, NT {nt} bytes")
EOF
}

# has DIR STREAM TEXT: TEXT occurs in stream server|client|server-err|client-err,
# or (STREAM ntlm) TEXT is what ntlm_responses says.
has() {
    [ "$2" != ntlm ] || { [ "$(ntlm_responses "$1")" = "$3" ]; return; }
    local f=${2/-err/.err}
    [[ $f == *.err ]] || f=$f.out
    grep -aqF -- "$3" "$1/$f"
}

# last_err DIR: the last meaningful stderr line of each program.
last_err() {
    local c s
    c=$(grep -av 'SASL Other: \|^Password: $' "$1/client.err" | tail -n 1 || true)
    s=$(grep -av 'SASL Other: ' "$1/server.err" | tail -n 1 || true)
    echo "client: ${c:-(nothing)}; server: ${s:-(nothing)}"
}

# run NAME WANT PASSWORD MECHS 'SERVER-ARGS' 'CLIENT-ARGS' [STREAM:TEXT...]
#   WANT   ok: both programs succeed, the message round-trips, every TEXT appears
#          fail: the server refuses (exits without "Negotiation complete"), every TEXT appears
#   MECHS  the server's mech_list; a single mechanism is also forced on both sides (-m)
run() {
    local name=$MODE/$1 want=$2 pw=$3 mechs=$4 sargs=$5 cargs=$6 d rc=0 why="" check
    shift 6
    d=$T/$MODE-$(tr -c 'A-Za-z0-9_.-' _ <<<"$name")
    mkdir -p "$d"
    printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: %s\n' \
        "$T/sasldb2" "$mechs" >"$d/sample.conf"
    if [[ $mechs != *" "* ]]; then sargs="-m $mechs $sargs" cargs="-m $mechs $cargs"; fi
    # shellcheck disable=SC2086 # word-split the argument strings on purpose
    timeout 60 python3 "$HERE/samplerelay.py" "$pw" "$d" \
        env -u LD_LIBRARY_PATH -u LD_PRELOAD "${SERVER_ENV[@]}" SASL_CONF_PATH="$d" \
        timeout 30 stdbuf -oL /usr/sbin/sasl-sample-server -s sample -d localhost -u "$REALM" $sargs -- \
        timeout 30 env "${CLIENT_ENV[@]}" stdbuf -oL /usr/bin/sasl-sample-client -s sample -n localhost $cargs \
        >"$d/relay" 2>&1 || rc=$?
    if grep -q 'timeout\|=124' "$d/relay" || [ "$rc" = 124 ]; then
        why="timed out ($(cat "$d/relay"))"
    elif [ "$want" = ok ]; then
        if [ "$rc" != 0 ]; then
            why="$(cat "$d/relay"): $(last_err "$d")"
        else
            for check in "client:Negotiation complete" "server:Negotiation complete" \
                "client:recieved decoded message 'srv message 1'" \
                "server:recieved decoded message 'client message 1'" "$@"; do
                has "$d" "${check%%:*}" "${check#*:}" || { why="no '${check#*:}' from ${check%%:*}"; break; }
            done
        fi
    else
        if [ "$rc" = 0 ] || has "$d" server "Negotiation complete"; then
            why="authentication succeeded, expected failure"
        else
            for check in "$@"; do
                has "$d" "${check%%:*}" "${check#*:}" ||
                    { why="no '${check#*:}' from ${check%%:*}: $(last_err "$d")"; break; }
            done
        fi
    fi
    [ -n "$why" ] || why=$(maps_check "$d")
    if [ -z "$why" ]; then pass "sample/$name"; else fail "sample/$name" "$why"; fi
}

# maps_check DIR: the libsasl2 files the programs mapped are the expected ones.
maps_check() {
    local want_server=$CYRUS got
    [ "$MODE" = forward ] && want_server=$(printf '%s\n' "$CYRUS" "$OURS" | sort -u)
    got=$(tr '\n' ' ' <"$1/client.maps")
    [ "$got" = "$OURS " ] || { echo "the client mapped '$got', want $OURS"; return; }
    got=$(sort "$1/server.maps")
    [ "$got" = "$want_server" ] || echo "the server mapped '$(echo $got)', want '$(echo $want_server)'"
}

U="server:Username: user@$REALM"
BADPW="server-err:authentication failure"
# NTLM: sasl2-rs sends NTLMv2 by default, Cyrus NTLMv1 (README); neither
# sample program can set the ntlm_v2 option (layers.sh does).
if is_rust_impl; then NTLM_SENT=v2 NTLM_CHECKED=NTLMv2; else NTLM_SENT=v1 NTLM_CHECKED=NTLM; fi

MODES="ldpath preload forward"
# Against the system library there is no forwarding to test.
[ "$OURS" = "$CYRUS" ] && MODES="ldpath preload"
for MODE in $MODES; do
    SERVER_ENV=()
    if [ "$MODE" = forward ]; then
        client_env ldpath
        SERVER_ENV=("${CLIENT_ENV[0]}") # the library, not valgrind (INTEROP_VALGRIND)
    else
        client_env "$MODE"
    fi
    check_linkage "sample/$MODE/linkage" /usr/bin/sasl-sample-client

    run ANONYMOUS ok - ANONYMOUS "" "" "server:Username: anonymous@$REALM" "client:Using mechanism ANONYMOUS"
    run PLAIN ok secret PLAIN "" "-a user" "$U" "client:Using mechanism PLAIN"
    # The sample client prints every SASL_CB_LOG message: after a PLAIN
    # login there is none (Cyrus logs none either; log_level is not set).
    d=$T/$MODE-$(tr -c 'A-Za-z0-9_.-' _ <<<"$MODE/PLAIN")
    if grep -aq 'SASL Other: ' "$d/client.err"; then
        fail "sample/$MODE/PLAIN-no-log" "$(grep -a 'SASL Other: ' "$d/client.err" | head -n 2 | tr '\n' ' ')"
    else
        pass "sample/$MODE/PLAIN-no-log"
    fi
    run PLAIN-wrong-password fail wrong PLAIN "" "-a user" "$BADPW"
    run PLAIN-authzid-self ok secret PLAIN "" "-a user -u user" "$U"
    run PLAIN-authzid-other fail secret PLAIN "" "-a user -u boss" \
        "server-err:Requested identity not authenticated identity"
    run LOGIN ok secret LOGIN "" "-a user" "$U"
    run LOGIN-wrong-password fail wrong LOGIN "" "-a user" "$BADPW"
    run CRAM-MD5 ok secret CRAM-MD5 "" "-a user" "$U"
    run CRAM-MD5-wrong-password fail wrong CRAM-MD5 "" "-a user" "$BADPW"
    run CRAM-MD5-server-last ok secret CRAM-MD5 "-l" "-a user -l" "$U"
    # The client picks the mechanism from the server's list, as Cyrus does.
    run choose-best ok secret "ANONYMOUS PLAIN LOGIN CRAM-MD5" "" "-a user" \
        "client:Using mechanism CRAM-MD5" "$U"
    run choose-noanonymous ok secret "ANONYMOUS PLAIN LOGIN" "" "-a user -f noanonymous" \
        "client:Using mechanism PLAIN" "$U"
    run NTLM ok secret NTLM "" "-a user" "$U" "client:Using mechanism NTLM" "ntlm:$NTLM_SENT"
    # (No -d case: Cyrus's NTLM server refuses to start without the NEGOTIATE
    # message as initial response.)
    run NTLM-wrong-password fail wrong NTLM "" "-a user" "$BADPW" \
        "server-err:incorrect $NTLM_CHECKED response" "ntlm:$NTLM_SENT"
    # Cyrus's strength order puts NTLM after CRAM-MD5, before PLAIN.
    run choose-ntlm ok secret "PLAIN LOGIN NTLM ANONYMOUS" "" "-a user" "client:Using mechanism NTLM" "$U"
    run choose-cram-over-ntlm ok secret "NTLM CRAM-MD5 PLAIN" "" "-a user" "client:Using mechanism CRAM-MD5" "$U"
    # EXTERNAL is not tested here: both sample programs pass &id (a char **)
    # to sasl_setprop(SASL_AUTH_EXTERNAL), so the external identity is stack
    # garbage (sometimes empty); slapd.sh tests EXTERNAL over ldapi://.

    # DIGEST-MD5: qop auth / auth-int / auth-conf (rc4-40, rc4-56, rc4) picked by the
    # client's SSF range; the sample message then goes through the security layer.
    # (3des cannot be tested: the system Cyrus fails to init it under OpenSSL 3.)
    for spec in auth:max=0:0 auth-int:min=1,max=1:1 rc4-40:min=40,max=40:40 \
        rc4-56:min=41,max=56:56 rc4:min=113:128; do
        IFS=: read -r qop bits ssf <<<"$spec"
        run "DIGEST-MD5-$qop" ok secret DIGEST-MD5 "" "-a user -b $bits" "$U" \
            "client:SSF: $ssf" "server:SSF: $ssf"
    done
    run DIGEST-MD5-server-last ok secret DIGEST-MD5 "-l" "-a user -l" "$U" "client:SSF: 128"
    run DIGEST-MD5-wrong-password fail wrong DIGEST-MD5 "" "-a user" "$BADPW"
    for sha in 1 224 256 384 512; do
        run "SCRAM-SHA-$sha" ok secret "SCRAM-SHA-$sha" "" "-a user" "$U"
    done
    run SCRAM-SHA-256-server-last ok secret SCRAM-SHA-256 "-l" "-a user -l" "$U"
    run SCRAM-SHA-256-wrong-password fail wrong SCRAM-SHA-256 "" "-a user" "$BADPW"

    # Names and passwords go out as the application gave them, as Cyrus's
    # client sends them and Cyrus's server hashes them (no SASLprep; README).
    for mech in PLAIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
        run "$mech-utf8-password" ok "$NBSP_PW" "$mech" "" "-a nbsp" "server:Username: nbsp@$REALM"
        run "$mech-utf8-name" ok "$LIG_PW" "$mech" "" "-a $UMLAUT" "server:Username: $UMLAUT@$REALM"
    done
    run SCRAM-SHA-256-saslprepped-password fail "a b" SCRAM-SHA-256 "" "-a nbsp" "$BADPW"

    # Escaped names: the server finds the user only if it unescapes them as
    # the client meant; an escaped authzid it cannot parse would be a
    # protocol error, not the authorization refusal wanted here.
    for mech in DIGEST-MD5 SCRAM-SHA-256; do
        run "$mech-comma-name" ok secret "$mech" "" "-a $COMMA_NAME" "server:Username: $COMMA_NAME@$REALM"
        run "$mech-quote-name" ok secret "$mech" "" "-a $QUOTE_NAME" "server:Username: $QUOTE_NAME@$REALM"
        run "$mech-comma-authzid-self" ok secret "$mech" "" "-a $COMMA_NAME -u $COMMA_NAME" \
            "server:Username: $COMMA_NAME@$REALM"
        run "$mech-quote-authzid-other" fail secret "$mech" "" "-a user -u $QUOTE_NAME" \
            "server-err:Requested identity not authenticated identity"
    done
done

summary
