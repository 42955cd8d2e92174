#!/usr/bin/env bash
# Interop test: Perl's binding to libsasl2 (Authen::SASL with its Cyrus
# backend, Debian's libauthen-sasl-cyrus-perl), unchanged, authenticates over
# IMAP to a private Dovecot (interop/peer/imapauth.pl speaks the IMAP part).
#
#   interop/perl.sh [LIBDIR|system]
#
# The binding registers Perl subs as callbacks (user, authname, pass, and a
# realm callback for DIGEST-MD5, whose realms Dovecot offers). The binding
# calls the Perl sub with the offered realms, but its answer never reaches
# the library as a realm: Cyrus, and this library as it does, go on with
# the server's name given to sasl_client_new ("127.0.0.1") as the realm.
# Each mechanism with the right and a wrong password, through
# LD_LIBRARY_PATH and LD_PRELOAD. A pass needs Dovecot's log: the login,
# its mechanism and the user (with that realm for DIGEST-MD5), or the
# refusal.
set -u
. "$(dirname "$0")/lib.sh"
interop_init perl "${1:-system}"
need_pkgs libauthen-sasl-cyrus-perl libauthen-sasl-perl dovecot-imapd
[ "$(id -u)" = 0 ] || die "must run as root (dovecot switches to its own users)"

USER_NAME=alice
REALM=example.org
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'
CLIENT=$HERE/peer/imapauth.pl

# The name alone (PLAIN, CRAM-MD5, SCRAM) and with the realm (DIGEST-MD5).
printf '%s:{PLAIN}%s\n%s@127.0.0.1:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" "$USER_NAME" "$PASSWORD" >"$T/passwd"
start_dovecot_imap "auth_mechanisms = plain cram-md5 digest-md5 scram-sha-1 scram-sha-256
auth_realms = $REALM other.example.net"
echo "# dovecot $(dovecot --version) on 127.0.0.1:$IMAP_PORT; Authen::SASL::Cyrus $(perl -MAuthen::SASL::Cyrus -e 'print $Authen::SASL::Cyrus::VERSION')"

# run_case MODE NAME MECH right|wrong EXPECTED_MECH EXPECTED_USER
run_case() {
    local mode=$1 name="$1/$2/$4" list=$3 kind=$4 want=$5 who=$6 secret=$PASSWORD from rc since
    [ "$kind" = wrong ] && secret=$WRONG_PASSWORD
    from=$(log_size "$T/dovecot.log")
    client_env "$mode"
    env "${CLIENT_ENV[@]}" timeout -k 5 20 perl "$CLIENT" "$IMAP_PORT" "$list" "$USER_NAME" "$secret" "$REALM" \
        >"$T/out" 2>&1
    rc=$?
    since=$(wait_log "$T/dovecot.log" "$from" "method=$want,")
    local chose
    chose=$(sed -n 's/^mechanism: //p' "$T/out")
    if [ "$chose" != "$want" ]; then
        fail "$name" "the library chose '${chose:-nothing}', want $want: $(tail -2 "$T/out")"
    elif [ "$kind" = right ]; then
        if [ "$rc" -eq 0 ] && printf '%s\n' "$since" | grep -q "imap-login: Info: Login: user=<$who>, method=$want,"; then
            pass "$name"
        else
            fail "$name" "exit $rc: $(tail -2 "$T/out"); dovecot: $(printf '%s\n' "$since" | tail -2)"
        fi
    else
        if [ "$rc" -eq 1 ] && printf '%s\n' "$since" | grep -q "auth failed.*method=$want," &&
            ! printf '%s\n' "$since" | grep -q "Login: user="; then
            pass "$name"
        else
            fail "$name" "exit $rc: $(tail -2 "$T/out"); dovecot: $(printf '%s\n' "$since" | tail -2)"
        fi
    fi
}

for mode in ldpath preload; do
    client_env "$mode"
    check_linkage "$mode/linkage" "$(perl -MAuthen::SASL::Cyrus -e 'print $INC{"Authen/SASL/Cyrus.pm"}' | sed 's|Authen/SASL/Cyrus.pm$|auto/Authen/SASL/Cyrus/Cyrus.so|')"
    for kind in right wrong; do
        for mech in PLAIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
            run_case "$mode" "$mech" "$mech" "$kind" "$mech" "$USER_NAME"
        done
        # The realm: the server's name (see above), as with Cyrus.
        run_case "$mode" DIGEST-MD5 DIGEST-MD5 "$kind" DIGEST-MD5 "$USER_NAME@127.0.0.1"
    done
done
summary
