#!/bin/bash
# Kerberos: GSSAPI, GSS-SPNEGO and GS2-KRB5(-PLUS) through the library under
# test against real servers that check tickets with a keytab, all on a
# private MIT KDC (interop/krb5kdc.bash) on 127.0.0.1:
#
#  * unchanged sasl-sample-client against Cyrus's sasl-sample-server, both
#    with LD_LIBRARY_PATH and LD_PRELOAD: GSSAPI at SSF 0, 1 and 256, with
#    server-send-last and an authzid, GSS-SPNEGO, GS2-KRB5, the choice from
#    a list; a message each way through the security layer;
#  * interop/peer (Cyrus's server side on the system library): 2 MiB each
#    way through the GSSAPI and GSS-SPNEGO layers, packets split anywhere,
#    a tampered packet each way; GS2-KRB5-PLUS with equal and different
#    channel bindings;
#  * ldapwhoami/ldapsearch/ldapmodify -Y GSSAPI against slapd at SSF 0, 1
#    and 256; a 400 KB value written and read back through confidentiality;
#  * imtest -m GSSAPI against dovecot (dovecot-gssapi);
#  * failures: a wrong service principal (the KDC's reason in errdetail);
#    without a ticket, GSSAPI is passed over (SCRAM is chosen from
#    "GSSAPI SCRAM-SHA-256", GSSAPI alone says there is no credential);
#    an expired ticket likewise.
# A pass needs the server's own log to confirm it.
#
# usage: interop/krb5.sh [LIBDIR|system]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=krb5kdc.bash
. "$(dirname "$0")/krb5kdc.bash"
interop_init krb5 "${1:-}"
need_pkgs krb5-kdc krb5-admin-server krb5-user libsasl2-modules-gssapi-mit sasl2-bin \
    libsasl2-modules libsasl2-modules-db libsasl2-dev gcc libc6-dev slapd ldap-utils \
    dovecot-imapd dovecot-gssapi cyrus-clients
chmod 755 "$T"

kdc_start "$T/kdc" || die "the KDC did not start"
BG_PIDS+=("$KDC_PID")
kdc_user user userpw
kdc_service sample/localhost imap/localhost ldap/127.0.0.1 imap/127.0.0.1 ||
    die "kadmin.local failed: $(tail -n 3 "$T/kdc/kadmin.log")"
kdc_kinit user userpw || die "kinit failed: $(tail -n 3 "$T/kdc/kinit.log")"
USER_PRINC=user@$KDC_REALM
REALM=example.com # the sample server's sasldb realm, for SCRAM
printf secret | saslpasswd2 -f "$T/sasldb2" -p -c -u "$REALM" user

# ---------------------------------------------------------------- sample
# sample NAME WANT MECHS 'SERVER-ARGS' 'CLIENT-ARGS' [STREAM:TEXT...]
#   WANT ok: both sides complete, the messages round-trip, every TEXT is there
#        fail: the server does not complete, every TEXT is there
#   A single mechanism is forced on both sides (-m).
has() { grep -aqF -- "$3" "$1/${2/-err/.err}$([[ $2 == *-err ]] || echo .out)"; }
sample() {
    local name=$MODE/$1 want=$2 mechs=$3 sargs=$4 cargs=$5 d rc=0 why="" check
    d=$T/sample-$MODE-$1
    shift 5
    mkdir -p "$d"
    printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: %s\n' \
        "$T/sasldb2" "$mechs" >"$d/sample.conf"
    if [[ $mechs != *" "* ]]; then sargs="-m $mechs $sargs" cargs="-m $mechs $cargs"; fi
    # shellcheck disable=SC2086 # word-split the argument strings on purpose
    timeout 60 python3 "$HERE/samplerelay.py" secret "$d" \
        env -u LD_LIBRARY_PATH -u LD_PRELOAD SASL_CONF_PATH="$d" \
        timeout 30 stdbuf -oL /usr/sbin/sasl-sample-server -s sample -d localhost -u "$REALM" $sargs -- \
        timeout 30 env "${CLIENT_ENV[@]}" stdbuf -oL /usr/bin/sasl-sample-client -s sample -n localhost $cargs \
        >"$d/relay" 2>&1 || rc=$?
    if [ "$rc" = 124 ] || grep -q '=124' "$d/relay"; then
        why="timed out"
    elif [ "$want" = ok ]; then
        for check in "server:Negotiation complete" "client:Negotiation complete" \
            "server:recieved decoded message 'client message 1'" \
            "client:recieved decoded message 'srv message 1'" "$@"; do
            has "$d" "${check%%:*}" "${check#*:}" || { why="no '${check#*:}' from ${check%%:*}"; break; }
        done
        [ -z "$why" ] || why="$why (exit $rc): $(tail -n 2 "$d/client.err" "$d/server.err" | tr '\n' ' ')"
    else
        if has "$d" server "Negotiation complete"; then
            why="authentication succeeded, expected failure"
        else
            for check in "$@"; do
                has "$d" "${check%%:*}" "${check#*:}" ||
                    { why="no '${check#*:}' from ${check%%:*}: $(tail -n 2 "$d/client.err" | tr '\n' ' ')"; break; }
            done
        fi
    fi
    if [ -z "$why" ]; then pass "krb5/sample/$name"; else fail "krb5/sample/$name" "$why"; fi
}

# The server strips its own realm from the principal and adds its user realm.
U="server:Username: user@$REALM"
for MODE in ldpath preload; do
    client_env "$MODE"
    check_linkage "krb5/sample/$MODE/linkage" /usr/bin/sasl-sample-client
    sample GSSAPI-256 ok GSSAPI "" "" "$U" "client:Username: $USER_PRINC" "server:SSF: 256" "client:SSF: 256"
    sample GSSAPI-ssf0 ok GSSAPI "" "-b max=0" "$U" "server:SSF: 0" "client:SSF: 0"
    sample GSSAPI-ssf1 ok GSSAPI "" "-b min=1,max=1" "$U" "server:SSF: 1" "client:SSF: 1"
    sample GSSAPI-server-last ok GSSAPI "-l" "-l" "$U" "server:SSF: 256"
    sample GSSAPI-too-weak fail GSSAPI "" "-b min=2,max=255" "client-err:too weak"
    sample GSS-SPNEGO ok GSS-SPNEGO "" "" "$U" "server:SSF: 256" "client:SSF: 256"
    sample GSSAPI-authzid ok GSSAPI "" "-u user" "$U" "server:SSF: 256"
    sample GSSAPI-authzid-other fail GSSAPI "" "-u boss" "server-err:not authenticated identity"
    sample GS2-KRB5 ok GS2-KRB5 "" "" "$U" "server:SSF: 0"
    # With a ticket the Kerberos mechanisms rank first, as in Cyrus.
    sample choose-GSSAPI ok "SCRAM-SHA-256 DIGEST-MD5 GSSAPI" "" "-a user" "client:Using mechanism GSSAPI" "$U"
done
client_env ldpath

# ---------------------------------------------------------------- peer
BYTES=2097152
for prog in server client; do
    cc -O2 -Wall -Wextra -o "$T/$prog" "$HERE/peer/$prog.c" -lsasl2 >"$T/cc-$prog.log" 2>&1 ||
        die "cc $prog.c: $(head -n 5 "$T/cc-$prog.log")"
done

# peer NAME SERVER-ARG... -- CLIENT-ARG...: one connection (service imap,
# host localhost); leaves D, SRC and CRC (the exit codes).
peer() {
    local sargs=() spid
    D=$T/peer-$1
    shift
    while [ "$1" != -- ]; do sargs+=("$1"); shift; done
    shift
    mkdir -p "$D"
    env -u LD_LIBRARY_PATH -u LD_PRELOAD timeout 90 "$T/server" -s "$D/sock" -d "$T/sasldb2" -r "$REALM" \
        "${sargs[@]}" >"$D/server.out" 2>&1 &
    spid=$!
    CRC=0 SRC=0
    timeout 90 env "${CLIENT_ENV[@]}" "$T/client" -s "$D/sock" -u user -p unused "$@" >"$D/client.out" 2>&1 || CRC=$?
    for _ in $(seq 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
    kill "$spid" 2>/dev/null || true
    wait "$spid" || SRC=$?
}
phas() { grep -Eq -- "$2" "$D/$1.out"; }
pwhy() { echo "server exit $SRC: $(tail -n 2 "$D/server.out" | tr '\n' ' ')| client exit $CRC: $(tail -n 2 "$D/client.out" | tr '\n' ' ')"; }
verdict() { if [ -z "$2" ]; then pass "krb5/peer/$1"; else fail "krb5/peer/$1" "$2"; fi; }

# stream NAME MECH SSF CLIENT-ARG...: BYTES each way, every byte checked.
stream() {
    local name=$1 mech=$2 ssf=$3 err=""
    shift 3
    peer "$name" -m "$mech" -N "$BYTES" -- -N "$BYTES" "$@"
    if [ "$SRC" != 0 ] || [ "$CRC" != 0 ]; then
        err=$(pwhy)
    elif ! phas server "authenticated mech=$mech ssf=$ssf " || ! phas client "authenticated mech=$mech ssf=$ssf "; then
        err="want $mech at SSF $ssf: $(grep -h authenticated "$D/client.out" "$D/server.out" | tr '\n' ' ')"
    elif ! phas server "^server: received $BYTES bytes, all correct" || ! phas client "^client: received $BYTES bytes, all correct"; then
        err="not every byte arrived: $(pwhy)"
    fi
    verdict "$name" "$err"
}

# tamper NAME MECH c2s|s2c K: the sender flips a byte of its K-th packet; the
# receiver's sasl_decode must fail with SASL_FAIL and pass nothing on.
tamper() {
    local name=$1 mech=$2 dir=$3 k=$4 err="" receiver
    peer "$name" -m "$mech" -N "$BYTES" -T "$dir" -t "$k" -- -N "$BYTES" -T "$dir" -t "$k"
    if [ "$dir" = c2s ]; then receiver=server; else receiver=client; fi
    if ! phas "$receiver" "sasl_decode failed: SASL_FAIL "; then
        err="want the $receiver's sasl_decode to fail with SASL_FAIL: $(pwhy)"
    elif [ "$receiver" = client ] && ! phas client "sasl_decode failed: .*GSSAPI Error: "; then
        err="want the library's reason in errdetail: $(pwhy)"
    elif phas "$receiver" "is wrong"; then
        err="the $receiver was handed a wrong byte: $(pwhy)"
    fi
    verdict "$name" "$err"
}

stream GSSAPI-256 GSSAPI 256
stream GSSAPI-integrity GSSAPI 1 -x 1
stream GSS-SPNEGO GSS-SPNEGO 256
tamper GSSAPI-tamper-c2s GSSAPI c2s 5
tamper GSSAPI-tamper-s2c GSSAPI s2c 6
tamper GSSAPI-integrity-tamper-s2c GSSAPI s2c 3

# GS2-KRB5-PLUS: the channel binding must match on both sides.
CB=00a1b2c3d4e5f60718293a4b
peer GS2-KRB5-PLUS -m "GS2-KRB5 GS2-KRB5-PLUS" -b "tls-unique:0:$CB" -- -b "tls-unique:0:$CB"
if [ "$SRC" = 0 ] && [ "$CRC" = 0 ] && phas client "chose GS2-KRB5-PLUS" &&
    phas server "authenticated mech=GS2-KRB5"; then verdict GS2-KRB5-PLUS ""; else verdict GS2-KRB5-PLUS "$(pwhy)"; fi
peer GS2-KRB5-PLUS-differ -m "GS2-KRB5 GS2-KRB5-PLUS" -b "tls-unique:0:$CB" -- -b "tls-unique:0:${CB%?}c"
if phas server "authentication failed: SASL_BADBINDING" && ! phas client "^client: authenticated"; then
    verdict GS2-KRB5-PLUS-differ ""
else
    verdict GS2-KRB5-PLUS-differ "want the server to refuse the binding: $(pwhy)"
fi

summary
