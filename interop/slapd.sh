#!/bin/bash
# Unchanged ldapwhoami/ldapsearch on the library under test (LD_LIBRARY_PATH;
# the NTLM cases also with LD_PRELOAD) against a private slapd (system Cyrus,
# server side) on 127.0.0.1 and a unix socket in a temp dir. Passwords are
# cleartext userPassword values in the directory; authz-regexp maps SASL
# identities to entries.
#
# Then the same slapd again, on the library under test itself
# (LD_LIBRARY_PATH): its server calls are forwarded to Cyrus's server side,
# which must serve every mechanism, security layers and proxy authorization
# (authzid, checked by slapd's SASL_CB_PROXY_POLICY against authzFrom) as
# before; /proc/PID/maps must show both libraries in slapd.
#
# usage: interop/slapd.sh [LIBDIR|system]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=directory.bash
. "$(dirname "$0")/directory.bash"
interop_init slapd "${1:-}"
need_pkgs slapd ldap-utils libsasl2-modules
client_env ldpath

NBULK=300 # extra entries, so searches move ~150 KB through the security layer

mkdir "$T/db"
{
    slapd_conf_head
    slapd_conf_db "$T/db"
    cat <<EOF
access to * by * read
EOF
} >"$T/slapd.conf"
{
    directory_ldif "$NBULK"
    printf 'dn: uid=user,%s\nobjectClass: inetOrgPerson\nuid: user\ncn: User\nsn: User\nuserPassword: secret\n\n' "$PEOPLE"
    # boss may be assumed by user (PLAIN ... -X) and by root over ldapi (EXTERNAL -X).
    printf 'dn: uid=boss,%s\nobjectClass: inetOrgPerson\nuid: boss\ncn: Boss\nsn: Boss\nuserPassword: bosspw\n' "$PEOPLE"
    printf 'authzFrom: dn.exact:uid=user,%s\n' "$PEOPLE"
    printf 'authzFrom: dn.exact:gidNumber=%s+uidNumber=%s,cn=peercred,cn=external,cn=auth\n\n' "$(id -g)" "$(id -u)"
} >"$T/init.ldif"
slapadd -q -f "$T/slapd.conf" -l "$T/init.ldif" >"$T/slapadd.log" 2>&1 ||
    die "slapadd failed: $(tail -n 2 "$T/slapadd.log")"
# start_slapd ENV...: a slapd on a fresh port and socket, with ENV; sets
# SLAPD_PID, PORT, LDAP, LDAPI and TCP. Its log goes on in slapd.log.
start_slapd() {
    PORT=$(free_port)
    LDAP=ldap://127.0.0.1:$PORT
    LDAPI=ldapi://$(urlencode "$T/ldapi")
    TCP=(-H "$LDAP" -N) # -N: keep 127.0.0.1 as the SASL host
    rm -f "$T/ldapi"
    # -d: stay in the foreground, so the pid we kill is slapd's; level 1
    # (trace) logs the SASL plugins' messages.
    bg env -u LD_LIBRARY_PATH -u LD_PRELOAD "$@" /usr/sbin/slapd -f "$T/slapd.conf" -h "$LDAP/ $LDAPI" -d 1 \
        >>"$T/slapd.log" 2>&1
    SLAPD_PID=${BG_PIDS[-1]}
    { wait_for_port "$PORT" && wait_for_socket "$T/ldapi"; } || die "slapd did not start: $(tail -n 3 "$T/slapd.log")"
}

stop_slapd() {
    kill "$SLAPD_PID" 2>/dev/null || true
    wait "$SLAPD_PID" 2>/dev/null || true
}

# ldap_case NAME WANT EXPECT ERRTEXT TOOL ARGS...
#   ok:   exit 0; ldapwhoami prints exactly EXPECT (the identity the server
#         authorized), ldapsearch returns EXPECT entries; stderr has ERRTEXT
#   fail: a non-zero exit (not a timeout) and stderr has ERRTEXT
ldap_case() {
    local name=slapd$ROUND/$1 want=$2 expect=$3 errtext=$4 tool=$5 rc=0 got why=""
    local out=$T/slapd$ROUND-${1//\//-}
    shift 5
    timeout 20 env LDAPNOINIT=1 "${CLIENT_ENV[@]}" "/usr/bin/$tool" "$@" >"$out.out" 2>"$out.err" || rc=$?
    if [ "$tool" = ldapsearch ]; then got=$(grep -c '^dn:' "$out.out" || true); else got=$(cat "$out.out"); fi
    if [ "$rc" = 124 ]; then
        why="timed out"
    elif [ "$want" = ok ] && [ "$rc" != 0 ]; then
        why="exit $rc: $(grep -v '^SASL' "$out.err" | tr '\n' ' ')"
    elif [ "$want" = ok ] && [ "$got" != "$expect" ]; then
        why="got '$got', want '$expect'"
    elif [ "$want" = fail ] && [ "$rc" = 0 ]; then
        why="succeeded as '$got', expected failure"
    elif [ -n "$errtext" ] && ! grep -qF -- "$errtext" "$out.err"; then
        why="no '$errtext' in: $(tr '\n' ' ' <"$out.err")"
    fi
    if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why"; fi
}

# log_case NAME TEXT: slapd's log (-d 1: trace, which has its SASL messages)
# has TEXT.
log_case() {
    if grep -aqF -- "$2" "$T/slapd.log"; then pass "slapd/$1"; else fail "slapd/$1" "no '$2' in slapd's log"; fi
}

USER_DN=dn:uid=user,$PEOPLE
BOSS_DN=dn:uid=boss,$PEOPLE
PEER_DN=dn:gidNumber=$(id -g)+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth
ALL=$((NBULK + 2))
SEARCH=(-LLL -b "$PEOPLE" "(objectClass=person)" cn description)
BADPW="Invalid credentials (49)"
DENIED="Insufficient access (50)"

check_linkage slapd/linkage /usr/bin/ldapwhoami

# Round 1: slapd on the system's Cyrus library.
ROUND=
start_slapd
ldap_case EXTERNAL ok "$PEER_DN" "SASL SSF: 0" ldapwhoami -H "$LDAPI" -Y EXTERNAL
ldap_case EXTERNAL-authzid ok "$BOSS_DN" "" ldapwhoami -H "$LDAPI" -Y EXTERNAL -X "dn:uid=boss,$PEOPLE"
ldap_case EXTERNAL-authzid-denied fail "" "$DENIED" ldapwhoami -H "$LDAPI" -Y EXTERNAL -X "dn:uid=user,$PEOPLE"
ldap_case ANONYMOUS ok anonymous "" ldapwhoami "${TCP[@]}" -Y ANONYMOUS -O none
# libldap's default security properties exclude plaintext mechanisms.
ldap_case PLAIN-default-secprops fail "" "SASL(-4)" ldapwhoami "${TCP[@]}" -Y PLAIN -U user -w secret
ldap_case PLAIN ok "$USER_DN" "" ldapwhoami "${TCP[@]}" -Y PLAIN -O none -U user -w secret
ldap_case PLAIN-wrong-password fail "" "$BADPW" ldapwhoami "${TCP[@]}" -Y PLAIN -O none -U user -w wrong
ldap_case PLAIN-authzid ok "$BOSS_DN" "" ldapwhoami "${TCP[@]}" -Y PLAIN -O none -U user -w secret -X u:boss
ldap_case PLAIN-authzid-denied fail "" "$DENIED" ldapwhoami "${TCP[@]}" -Y PLAIN -O none -U boss -w bosspw -X u:user
ldap_case LOGIN ok "$USER_DN" "" ldapwhoami "${TCP[@]}" -Y LOGIN -O none -U user -w secret
ldap_case LOGIN-wrong-password fail "" "$BADPW" ldapwhoami "${TCP[@]}" -Y LOGIN -O none -U user -w wrong
ldap_case CRAM-MD5 ok "$USER_DN" "" ldapwhoami "${TCP[@]}" -Y CRAM-MD5 -U user -w secret
ldap_case CRAM-MD5-wrong-password fail "" "$BADPW" ldapwhoami "${TCP[@]}" -Y CRAM-MD5 -U user -w wrong
ldap_case CRAM-MD5-search ok "$ALL" "" ldapsearch "${TCP[@]}" -Y CRAM-MD5 -U user -w secret "${SEARCH[@]}"

# DIGEST-MD5 (with security layers) and SCRAM.
ldap_case DIGEST-MD5 ok "$USER_DN" "SASL SSF: 0" \
    ldapwhoami "${TCP[@]}" -Y DIGEST-MD5 -O maxssf=0 -U user -w secret
ldap_case DIGEST-MD5-wrong-password fail "" "$BADPW" \
    ldapwhoami "${TCP[@]}" -Y DIGEST-MD5 -U user -w wrong
ldap_case DIGEST-MD5-authzid ok "$BOSS_DN" "" \
    ldapwhoami "${TCP[@]}" -Y DIGEST-MD5 -U user -w secret -X u:boss
ldap_case DIGEST-MD5-auth-int ok "$USER_DN" "SASL SSF: 1" \
    ldapwhoami "${TCP[@]}" -Y DIGEST-MD5 -O minssf=1,maxssf=1 -U user -w secret
ldap_case DIGEST-MD5-auth-int-search ok "$ALL" "SASL SSF: 1" \
    ldapsearch "${TCP[@]}" -Y DIGEST-MD5 -O minssf=1,maxssf=1 -U user -w secret "${SEARCH[@]}"
ldap_case DIGEST-MD5-auth-conf ok "$USER_DN" "SASL SSF: 128" \
    ldapwhoami "${TCP[@]}" -Y DIGEST-MD5 -O minssf=56 -U user -w secret
ldap_case DIGEST-MD5-auth-conf-search ok "$ALL" "SASL SSF: 128" \
    ldapsearch "${TCP[@]}" -Y DIGEST-MD5 -O minssf=56 -U user -w secret "${SEARCH[@]}"
for sha in 1 224 256 384 512; do
    ldap_case "SCRAM-SHA-$sha" ok "$USER_DN" "" \
        ldapwhoami "${TCP[@]}" -Y "SCRAM-SHA-$sha" -U user -w secret
done
ldap_case SCRAM-SHA-256-wrong-password fail "" "$BADPW" \
    ldapwhoami "${TCP[@]}" -Y SCRAM-SHA-256 -U user -w wrong
ldap_case SCRAM-SHA-256-authzid ok "$BOSS_DN" "" \
    ldapwhoami "${TCP[@]}" -Y SCRAM-SHA-256 -U user -w secret -X u:boss

# NTLM: NTLMv2 from sasl2-rs, NTLMv1 from Cyrus (README); ldapwhoami cannot
# set the ntlm_v2 option (layers.sh does). slapd's log says which response
# its NTLM plugin checked when it refuses one.
if is_rust_impl; then NTLM_CHECKED=NTLMv2; else NTLM_CHECKED=NTLM; fi
ldap_case NTLM ok "$USER_DN" "" ldapwhoami "${TCP[@]}" -Y NTLM -U user -w secret
log_case NTLM-server-log "SASL/NTLM bind: dn=\"uid=user,$PEOPLE\""
ldap_case NTLM-wrong-password fail "" "$BADPW" ldapwhoami "${TCP[@]}" -Y NTLM -U user -w wrong
log_case NTLM-wrong-password-server-log "Failure: incorrect $NTLM_CHECKED response"
client_env preload
check_linkage slapd/preload/linkage /usr/bin/ldapwhoami
ldap_case preload/NTLM ok "$USER_DN" "" ldapwhoami "${TCP[@]}" -Y NTLM -U user -w secret
ldap_case preload/NTLM-wrong-password fail "" "$BADPW" ldapwhoami "${TCP[@]}" -Y NTLM -U user -w wrong
client_env ldpath
stop_slapd

# Round 2: slapd itself on the library under test, its server side
# forwarded to Cyrus's (nothing to forward when testing the system library).
if [ "$OURS" != "$CYRUS" ]; then
    ROUND=-forward
    start_slapd "LD_LIBRARY_PATH=$LIBDIR"
    ldap_case EXTERNAL ok "$PEER_DN" "SASL SSF: 0" ldapwhoami -H "$LDAPI" -Y EXTERNAL
    ldap_case EXTERNAL-authzid ok "$BOSS_DN" "" ldapwhoami -H "$LDAPI" -Y EXTERNAL -X "dn:uid=boss,$PEOPLE"
    ldap_case PLAIN ok "$USER_DN" "" ldapwhoami "${TCP[@]}" -Y PLAIN -O none -U user -w secret
    ldap_case PLAIN-wrong-password fail "" "$BADPW" ldapwhoami "${TCP[@]}" -Y PLAIN -O none -U user -w wrong
    ldap_case PLAIN-authzid ok "$BOSS_DN" "" ldapwhoami "${TCP[@]}" -Y PLAIN -O none -U user -w secret -X u:boss
    ldap_case PLAIN-authzid-denied fail "" "$DENIED" ldapwhoami "${TCP[@]}" -Y PLAIN -O none -U boss -w bosspw -X u:user
    ldap_case CRAM-MD5 ok "$USER_DN" "" ldapwhoami "${TCP[@]}" -Y CRAM-MD5 -U user -w secret
    ldap_case DIGEST-MD5-auth-int-search ok "$ALL" "SASL SSF: 1" \
        ldapsearch "${TCP[@]}" -Y DIGEST-MD5 -O minssf=1,maxssf=1 -U user -w secret "${SEARCH[@]}"
    ldap_case DIGEST-MD5-auth-conf-search ok "$ALL" "SASL SSF: 128" \
        ldapsearch "${TCP[@]}" -Y DIGEST-MD5 -O minssf=56 -U user -w secret "${SEARCH[@]}"
    ldap_case SCRAM-SHA-512 ok "$USER_DN" "" ldapwhoami "${TCP[@]}" -Y SCRAM-SHA-512 -U user -w secret
    ldap_case SCRAM-SHA-256-wrong-password fail "" "$BADPW" \
        ldapwhoami "${TCP[@]}" -Y SCRAM-SHA-256 -U user -w wrong
    ldap_case SCRAM-SHA-256-authzid ok "$BOSS_DN" "" \
        ldapwhoami "${TCP[@]}" -Y SCRAM-SHA-256 -U user -w secret -X u:boss
    ldap_case NTLM ok "$USER_DN" "" ldapwhoami "${TCP[@]}" -Y NTLM -U user -w secret
    # slapd's libsasl2 is ours, with Cyrus's file behind it for the server side.
    maps=$(awk '$6 ~ /\/libsasl2\.so/ {print $6}' "/proc/$SLAPD_PID/maps" | sort -u | tr '\n' ' ')
    want=$(printf '%s\n' "$OURS" "$CYRUS" | sort -u | tr '\n' ' ')
    if [ "$maps" = "$want" ]; then pass slapd-forward/maps; else fail slapd-forward/maps "slapd mapped '$maps', want '$want'"; fi
    stop_slapd
fi

summary
