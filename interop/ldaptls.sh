#!/bin/bash
# Unchanged ldapwhoami over TLS (StartTLS, -ZZ) on the library under test
# against a private slapd (system Cyrus, server side) on 127.0.0.1: SCRAM
# with channel binding taken from the real TLS session by libldap
# (SASL_CBINDING tls-endpoint and tls-unique, slapd's sasl-cbinding on the
# other side), EXTERNAL with a client certificate (libldap hands the
# certificate's subject and the TLS strength to the library), and the TLS
# strength as the external SSF that lets plaintext mechanisms through and
# sits under DIGEST-MD5's own layer.
#
# The server's log must confirm each login: the BIND line names the
# mechanism libldap sent (-PLUS when the library bound the channel) and the
# entry authenticated. A binding of the other kind than the server's, a wrong
# password, and -PLUS without binding data must fail.
#
# usage: interop/ldaptls.sh [LIBDIR|system]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
interop_init ldaptls "${1:-}"
need_pkgs slapd ldap-utils libsasl2-modules openssl
client_env ldpath

BASE=dc=example,dc=com
PEOPLE=ou=people,$BASE
USER_DN=dn:uid=user,$PEOPLE
BADPW="Invalid credentials (49)"

# A private CA, the server's certificate (127.0.0.1) and a client's
# (cn=user,o=interop), made fresh for each run.
mkcert() { # NAME SUBJECT [EXTENSION]
    openssl req -new -newkey rsa:2048 -nodes -keyout "$T/$1.key" -subj "$2" -out "$T/$1.csr" 2>/dev/null
    printf '%s\n' "${3:-basicConstraints=CA:FALSE}" >"$T/$1.ext"
    openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
        -extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -subj "/CN=sasl2 interop CA" -days 2 \
    -out "$T/ca.pem" 2>/dev/null || die "openssl could not make a CA"
mkcert server "/CN=localhost" "subjectAltName=IP:127.0.0.1,DNS:localhost" || die "no server certificate"
mkcert client "/O=interop/CN=user" || die "no client certificate"

mkdir "$T/db"
# slapd_conf CBINDING [TLS-PRIORITY]: slapd.conf binding channels by CBINDING;
# TLS-PRIORITY (GnuTLS's, which Debian's OpenLDAP uses) can rule out TLS 1.3,
# where tls-unique does not exist.
slapd_conf() {
    cat <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile $T/ca.pem
TLSCertificateFile $T/server.pem
TLSCertificateKeyFile $T/server.key
TLSVerifyClient allow
${2:+TLSCipherSuite $2}
sasl-cbinding $1
sasl-secprops none
authz-regexp "^cn=user,o=interop$" "uid=user,$PEOPLE"
authz-regexp "^uid=([^,]*),(cn=[^,]*,)?cn=[^,]*,cn=auth$" "uid=\$1,$PEOPLE"
database mdb
maxsize 10485760
suffix "$BASE"
rootdn "cn=admin,$BASE"
directory $T/db
access to * by * read
EOF
}
slapd_conf tls-endpoint >"$T/slapd.conf"
{
    printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n' "$BASE"
    printf 'dn: %s\nobjectClass: organizationalUnit\nou: people\n\n' "$PEOPLE"
    printf 'dn: uid=user,%s\nobjectClass: inetOrgPerson\nuid: user\ncn: User\nsn: User\nuserPassword: secret\n\n' "$PEOPLE"
} >"$T/init.ldif"
slapadd -q -f "$T/slapd.conf" -l "$T/init.ldif" >"$T/slapadd.log" 2>&1 ||
    die "slapadd failed: $(tail -n 2 "$T/slapadd.log")"

# start_slapd CBINDING [TLS-PRIORITY]: a slapd on a fresh port (sets PORT,
# SLAPD_PID); its log (stats: one BIND line per login) goes on in slapd.log.
start_slapd() {
    slapd_conf "$@" >"$T/slapd.conf"
    PORT=$(free_port)
    bg env -u LD_LIBRARY_PATH -u LD_PRELOAD /usr/sbin/slapd -f "$T/slapd.conf" -h "ldap://127.0.0.1:$PORT/" -d 256 \
        >>"$T/slapd.log" 2>&1
    SLAPD_PID=${BG_PIDS[-1]}
    wait_for_port "$PORT" || die "slapd did not start: $(tail -n 3 "$T/slapd.log")"
}

stop_slapd() {
    kill "$SLAPD_PID" 2>/dev/null || true
    wait "$SLAPD_PID" 2>/dev/null || true
}

# tls_case NAME WANT CBINDING LOGMECH ERRTEXT ARGS...: ldapwhoami -ZZ ARGS with
# libldap's SASL_CBINDING set to CBINDING, trusting only the private CA.
#   ok:   exit 0, prints the user's DN, and slapd's log has a BIND of that
#         entry with mech=LOGMECH since the case began
#   fail: a non-zero exit (not a timeout), stderr has ERRTEXT, and slapd
#         logged no successful BIND
tls_case() {
    local name=ldaptls/$1 want=$2 cb=$3 logmech=$4 errtext=$5 rc=0 got why="" at
    local out=$T/${1//\//-}
    shift 5
    at=$(log_size "$T/slapd.log")
    # HOME and the working directory: no user's ldaprc is read. LDAPNOINIT
    # would also drop the LDAPTLS_* and LDAPSASL_* variables.
    (cd "$T" && timeout 30 env HOME="$T" LDAPCONF=/dev/null LDAPTLS_CACERT="$T/ca.pem" LDAPTLS_REQCERT=demand \
        LDAPSASL_CBINDING="$cb" "${CLIENT_ENV[@]}" /usr/bin/ldapwhoami -ZZ -H "ldap://127.0.0.1:$PORT" -N "$@" \
        >"$out.out" 2>"$out.err") || rc=$?
    got=$(cat "$out.out")
    local binds
    binds=$(tail -c +"$((at + 1))" "$T/slapd.log" | grep -a ' BIND dn="uid=user,' || true)
    if [ "$rc" = 124 ]; then
        why="timed out"
    elif [ "$want" = ok ] && [ "$rc" != 0 ]; then
        why="exit $rc: $(grep -v '^SASL' "$out.err" | tr '\n' ' ')"
    elif [ "$want" = ok ] && [ "$got" != "$USER_DN" ]; then
        why="got '$got', want '$USER_DN'"
    elif [ "$want" = ok ] && ! grep -q " mech=$logmech " <<<"$binds"; then
        why="slapd logged no BIND with mech=$logmech: '$binds'"
    elif [ "$want" = fail ] && [ "$rc" = 0 ]; then
        why="succeeded as '$got', expected failure"
    elif [ "$want" = fail ] && [ -n "$binds" ]; then
        why="slapd logged a BIND: '$binds'"
    elif [ -n "$errtext" ] && ! grep -qF -- "$errtext" "$out.err"; then
        why="no '$errtext' in: $(tr '\n' ' ' <"$out.err")"
    fi
    if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why"; fi
}

check_linkage ldaptls/linkage /usr/bin/ldapwhoami
SCRAM=(-U user -w secret)
# The name slapd logs for a bound SCRAM: libldap sends the name the library
# reports, which is Cyrus's base name (README); the other-binding case shows
# that Cyrus binds all the same.
if is_rust_impl; then P=-PLUS; else P=; fi

# tls-server-end-point (RFC 5929), on TLS 1.3 by default.
start_slapd tls-endpoint
for h in 1 256 512; do
    tls_case "SCRAM-SHA-$h-PLUS-endpoint" ok tls-endpoint "SCRAM-SHA-$h$P" "" -Y "SCRAM-SHA-$h-PLUS" "${SCRAM[@]}"
done
# Negotiated from slapd's whole list (no -Y): with binding data, the
# strongest -PLUS mechanism. Cyrus (with its GSSAPI plug-in installed)
# picks GSS-SPNEGO there and fails for want of a Kerberos ticket (its issue
# #543; README), so the case is ours alone.
if is_rust_impl; then
    tls_case negotiated-PLUS ok tls-endpoint SCRAM-SHA-512-PLUS "" "${SCRAM[@]}"
fi
tls_case SCRAM-SHA-256-PLUS-wrong-password fail tls-endpoint - "$BADPW" -Y SCRAM-SHA-256-PLUS -U user -w wrong
# -PLUS asked for, and libldap has no binding to give: nothing to choose.
tls_case SCRAM-SHA-256-PLUS-no-binding fail none - "SASL(-4)" -Y SCRAM-SHA-256-PLUS "${SCRAM[@]}"
# The base name chosen by the user: binding data that is not critical is
# not used (Cyrus's rule), and the server accepts that.
tls_case SCRAM-SHA-256-base ok tls-endpoint SCRAM-SHA-256 "" -Y SCRAM-SHA-256 "${SCRAM[@]}"
# TLS as the external layer (libldap sets SASL_SSF_EXTERNAL): libldap's
# default security properties exclude plaintext mechanisms, which TLS
# protects, so PLAIN is allowed here (not without TLS: slapd.sh); ANONYMOUS
# stays excluded. DIGEST-MD5 still adds its own layer unless maxssf is 0.
tls_case PLAIN-default-secprops ok none PLAIN "SASL SSF: 0" -Y PLAIN "${SCRAM[@]}"
tls_case ANONYMOUS-default-secprops fail none - "SASL(-4)" -Y ANONYMOUS
tls_case DIGEST-MD5-layer ok none "DIGEST-MD5 bind_ssf=128" "SASL SSF: 128" -Y DIGEST-MD5 "${SCRAM[@]}"
tls_case DIGEST-MD5-maxssf-0 ok none "DIGEST-MD5 bind_ssf=0" "SASL SSF: 0" -Y DIGEST-MD5 -O maxssf=0 "${SCRAM[@]}"
# EXTERNAL: the identity is the client certificate's subject, which slapd
# maps to the entry; libldap sets SASL_AUTH_EXTERNAL and SASL_SSF_EXTERNAL.
LDAPTLS_CERT=$T/client.pem LDAPTLS_KEY=$T/client.key \
    tls_case EXTERNAL-client-certificate ok none EXTERNAL "SASL SSF: 0" -Y EXTERNAL
# Without a certificate there is no external identity: refused.
tls_case EXTERNAL-no-certificate fail none - "" -Y EXTERNAL
# The same through LD_PRELOAD.
client_env preload
check_linkage ldaptls/preload/linkage /usr/bin/ldapwhoami
tls_case preload/SCRAM-SHA-256-PLUS-endpoint ok tls-endpoint "SCRAM-SHA-256$P" "" -Y SCRAM-SHA-256-PLUS "${SCRAM[@]}"
LDAPTLS_CERT=$T/client.pem LDAPTLS_KEY=$T/client.key \
    tls_case preload/EXTERNAL-client-certificate ok none EXTERNAL "SASL SSF: 0" -Y EXTERNAL
client_env ldpath
stop_slapd

# tls-unique (RFC 5929), which exists only up to TLS 1.2.
start_slapd tls-unique "NORMAL:-VERS-TLS1.3"
tls_case SCRAM-SHA-256-PLUS-unique ok tls-unique "SCRAM-SHA-256$P" "" -Y SCRAM-SHA-256-PLUS "${SCRAM[@]}"
# The client binds to the certificate, the server to the handshake: the
# server must refuse the mismatch.
tls_case SCRAM-SHA-256-PLUS-other-binding fail tls-endpoint - "channel bindings" -Y SCRAM-SHA-256-PLUS "${SCRAM[@]}"
stop_slapd

summary
