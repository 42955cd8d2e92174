#!/bin/bash
# Debian's python3-ldap on the library under test: sasl_interactive_bind_s,
# whose answers come from Python (every credential through SASL_INTERACT
# prompts, the authorization name answered with "" when there is none, a
# realm prompt answered with its default), against a private slapd (system
# Cyrus, server side) on 127.0.0.1. slapd runs with its "stats" log: a pass
# needs the BIND line in which slapd names the mechanism, the identity and
# the security strength it accepted; a wrong password needs the failed
# BIND (err=49).
#
# usage: interop/pyldap.sh [LIBDIR|system]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=directory.bash
. "$(dirname "$0")/directory.bash"
interop_init pyldap "${1:-}"
need_pkgs slapd python3-ldap libsasl2-modules

PY=/usr/bin/python3 # Debian's, which has python3-ldap
PORT=$(free_port)
NBULK=200 # entries of 400 bytes: a search moves ~100 KB through the layer

mkdir "$T/db"
{
    slapd_conf_head
    printf 'pidfile %s/slapd.pid\nargsfile %s/slapd.args\n' "$T" "$T"
    slapd_conf_db "$T/db"
    cat <<EOF
access to * by * read
EOF
} >"$T/slapd.conf"
{
    directory_ldif "$NBULK"
    printf 'dn: uid=user,%s\nobjectClass: inetOrgPerson\nuid: user\ncn: User\nsn: User\nuserPassword: secret\n\n' "$PEOPLE"
    printf 'dn: uid=boss,%s\nobjectClass: inetOrgPerson\nuid: boss\ncn: Boss\nsn: Boss\nuserPassword: bosspw\n' "$PEOPLE"
    printf 'authzFrom: dn.exact:uid=user,%s\n\n' "$PEOPLE"
} >"$T/init.ldif"
slapadd -q -f "$T/slapd.conf" -l "$T/init.ldif" >"$T/slapadd.log" 2>&1 ||
    die "slapadd failed: $(tail -n 2 "$T/slapadd.log")"
# -d stats: in the foreground (the pid we kill is slapd's), logging every
# operation with the SASL mechanism and SSF to stderr.
bg env -u LD_LIBRARY_PATH -u LD_PRELOAD /usr/sbin/slapd -f "$T/slapd.conf" -h "ldap://127.0.0.1:$PORT/" \
    -d stats >"$T/slapd.log" 2>&1
wait_for_port "$PORT" || die "slapd did not start: $(tail -n 3 "$T/slapd.log")"

# The client: bind with MECH as AUTHCID/PASSWORD (AUTHZID, SECPROPS
# optional), then print whoami and, with "search", the entries it sees.
cat >"$T/client.py" <<'EOF'
import sys
import ldap
import ldap.sasl

uri, mech, authcid, password, authzid, secprops, search = sys.argv[1:8]
conn = ldap.initialize(uri)
conn.set_option(ldap.OPT_X_SASL_NOCANON, 1)  # keep 127.0.0.1 as the SASL host
if secprops:
    conn.set_option(ldap.OPT_X_SASL_SECPROPS, secprops)
values = {ldap.sasl.CB_AUTHNAME: authcid, ldap.sasl.CB_PASS: password, ldap.sasl.CB_USER: authzid}
try:
    conn.sasl_interactive_bind_s("", ldap.sasl.sasl(values, mech))
except ldap.INVALID_CREDENTIALS:
    print("invalid-credentials")
    sys.exit(3)
print(conn.whoami_s())
if search:
    found = conn.search_s("ou=people,dc=example,dc=com", ldap.SCOPE_SUBTREE, "(objectClass=person)")
    print(len(found))
conn.unbind_s()
EOF

# The BIND lines slapd logged since the previous call, into BINDS.
LOG_SEEN=0
BINDS=
take_binds() {
    local lines
    lines=$(wc -l <"$T/slapd.log")
    BINDS=$(tail -n +"$((LOG_SEEN + 1))" "$T/slapd.log" | head -n "$((lines - LOG_SEEN))" |
        grep -E ' BIND | RESULT tag=97 ' | sed 's/^[^ ]* [^ ]* //' || true)
    LOG_SEEN=$lines
}

# py_case NAME WANT MECH AUTHCID PASSWORD AUTHZID SECPROPS SEARCH EXPECT_DN SSF
#   ok:   whoami is EXPECT_DN (and with SEARCH the search sees every person),
#         and slapd logged the bind of user with MECH at SSF (and AUTHZID)
#   fail: invalid credentials, and slapd logged the bind failing (err=49)
py_case() {
    local name=pyldap/$1-$MODE want=$2 mech=$3 authzid=$6 search=$8 expect=$9 ssf=${10} out=$T/$1-$MODE rc=0 why=""
    timeout 30 env "${CLIENT_ENV[@]}" "$PY" "$T/client.py" "ldap://127.0.0.1:$PORT" "$mech" "$4" "$5" "$6" "$7" "$8" \
        >"$out.out" 2>"$out.err" || rc=$?
    sleep 0.2 # slapd logs a result after sending it
    take_binds
    local logged="no such line in slapd's log: $(tail -n 3 <<<"$BINDS" | tr '\n' ' ')"
    if [ "$want" = ok ]; then
        if [ "$rc" != 0 ]; then why="exit $rc: $(tail -n 3 "$out.err" | tr '\n' ' ')"
        elif [ "$(head -n 1 "$out.out")" != "dn:$expect" ]; then why="whoami: $(head -n 1 "$out.out")"
        elif [ -n "$search" ] && [ "$(sed -n 2p "$out.out")" != "$((NBULK + 2))" ]; then
            why="the search saw $(sed -n 2p "$out.out") entries"
        elif ! grep -qF "BIND dn=\"uid=user,$PEOPLE\" mech=$mech bind_ssf=$ssf ssf=$ssf" <<<"$BINDS"; then
            why="$mech at SSF $ssf: $logged"
        elif [ -n "$authzid" ] && ! grep -qF "authcid=\"user\" authzid=\"$authzid\"" <<<"$BINDS"; then
            why="authzid $authzid: $logged"
        fi
    else
        if [ "$rc" = 0 ]; then why="bound as $(head -n 1 "$out.out")"
        elif [ "$(cat "$out.out")" != invalid-credentials ]; then why="exit $rc: $(tail -n 3 "$out.err" | tr '\n' ' ')"
        elif ! grep -q "RESULT tag=97 err=49" <<<"$BINDS"; then why="failed bind: $logged"
        fi
    fi
    if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why"; fi
}

USER=uid=user,$PEOPLE
BOSS=uid=boss,$PEOPLE
for MODE in ldpath preload; do
    client_env "$MODE"
    check_linkage "pyldap/linkage-$MODE" "$("$PY" -c 'import _ldap; print(_ldap.__file__)')"
    py_case CRAM-MD5 ok CRAM-MD5 user secret "" "" "" "$USER" 0
    py_case CRAM-MD5-wrong-password fail CRAM-MD5 user wrong "" "" "" "" ""
    py_case PLAIN ok PLAIN user secret "" none "" "$USER" 0
    py_case PLAIN-wrong-password fail PLAIN user wrong "" none "" "" ""
    py_case DIGEST-MD5 ok DIGEST-MD5 user secret "" "" "" "$USER" 128
    py_case DIGEST-MD5-wrong-password fail DIGEST-MD5 user wrong "" "" "" "" ""
    py_case DIGEST-MD5-authzid ok DIGEST-MD5 user secret u:boss "" "" "$BOSS" 128
    py_case DIGEST-MD5-auth-int-search ok DIGEST-MD5 user secret "" minssf=1,maxssf=1 search "$USER" 1
    py_case DIGEST-MD5-auth-conf-search ok DIGEST-MD5 user secret "" minssf=56 search "$USER" 128
    py_case SCRAM-SHA-1 ok SCRAM-SHA-1 user secret "" "" "" "$USER" 0
    py_case SCRAM-SHA-256 ok SCRAM-SHA-256 user secret "" "" "" "$USER" 0
    py_case SCRAM-SHA-256-wrong-password fail SCRAM-SHA-256 user wrong "" "" "" "" ""
    py_case SCRAM-SHA-256-authzid ok SCRAM-SHA-256 user secret u:boss "" "" "$BOSS" 0
done

summary
