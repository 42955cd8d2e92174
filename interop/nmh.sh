#!/usr/bin/env bash
# Interop test: nmh's inc, unchanged, fetches mail over POP3 from a private
# Dovecot server, authenticating with SASL through the library under test.
#
#   interop/nmh.sh [LIBDIR|system]
#
# inc reads the password from a netrc file and answers the library's
# callbacks with it; it lists the library's mechanisms (sasl_listmech),
# hands it the server's list (or the one mechanism -saslmech names) and
# asks for a security layer, which Dovecot never grants. A right password
# must authenticate (Dovecot logs the login with the mechanism) and
# incorporate the server's message into the local inbox; a wrong one must
# be refused (Dovecot logs the failure, nothing is incorporated). Through
# LD_LIBRARY_PATH and LD_PRELOAD. Dovecot runs from a temp dir on 127.0.0.1
# and is stopped by its pid.
set -u
. "$(dirname "$0")/lib.sh"
interop_init nmh "${1:-system}"
need_pkgs nmh dovecot-imapd dovecot-pop3d
[ "$(id -u)" = 0 ] || die "must run as root (dovecot switches to its own users)"
INC=/usr/bin/mh/inc
[ -x "$INC" ] || die "$INC missing (nmh)"

MECHS=${MECHS:-"PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256"}
USER_NAME=alice
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'
SUBJECT="nmh interop $$"

# --- dovecot ----------------------------------------------------------------
mkdir -p "$T/home/$USER_NAME/Maildir/"{new,cur,tmp}
printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" >"$T/passwd"
DOVECOT_POP3=1 start_dovecot_imap "auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256"
echo "# dovecot $(dovecot --version), POP3 on 127.0.0.1:$POP3_PORT; nmh $(dpkg-query -W -f='${Version}' nmh)"

# --- the cases --------------------------------------------------------------
# run_case MODE MECH right|wrong [EXPECTED]: one inc into a fresh nmh
# profile, with one new message on the server. MECH "any": no -saslmech,
# the library chooses from the server's list (EXPECTED is its choice).
run_case() {
    local mode=$1 mech=$2 kind=$3 name="$1/$2/$3" dir="$T/case-$1-$2-$3" secret=$PASSWORD rc log_from since
    local want=${4:-$2} args=()
    [ "$kind" = wrong ] && secret=$WRONG_PASSWORD
    [ "$mech" = any ] || args=(-saslmech "$mech")
    printf 'From: bob@example.org\r\nTo: alice@example.org\r\nSubject: %s\r\n\r\nhello\r\n' "$SUBJECT" \
        >"$T/home/$USER_NAME/Maildir/new/1700000000.$$.interop"
    chown -R dovecot:dovecot "$T/home"
    mkdir -p "$dir/Mail"
    printf 'Path: %s\n' "$dir/Mail" >"$dir/.mh_profile"
    printf 'machine 127.0.0.1 login %s password %s\n' "$USER_NAME" "$secret" >"$dir/.netrc"
    chmod 0600 "$dir/.netrc"
    log_from=$(log_size "$T/dovecot.log")
    client_env "$mode"
    env HOME="$dir" MH="$dir/.mh_profile" "${CLIENT_ENV[@]}" timeout -k 5 30 \
        "$INC" -host 127.0.0.1 -port "$POP3_PORT" -user "$USER_NAME" -sasl "${args[@]}" -notls -snoop \
        </dev/null >"$dir/out" 2>&1
    rc=$?
    # Dovecot logs the login, or the failure as the connection ends.
    since=$(wait_log "$T/dovecot.log" "$log_from" "method=$want,")
    local logged_in fetched
    logged_in=$(printf '%s\n' "$since" | grep -c "pop3-login: Info: Login: user=<$USER_NAME>, method=$want,")
    fetched=$(grep -rl "^Subject: $SUBJECT" "$dir/Mail" 2>/dev/null | wc -l)
    if [ "$kind" = right ]; then
        if [ "$rc" -eq 0 ] && [ "$logged_in" -ge 1 ] && [ "$fetched" -ge 1 ] &&
            grep -q "^Chosen sasl mechanism: $want\$" "$dir/out"; then
            pass "$name"
        else
            fail "$name" "exit $rc, dovecot logins with $want: $logged_in, messages fetched: $fetched; inc: $(grep -v '^[<=]=' "$dir/out" | tail -3); dovecot: $(printf '%s\n' "$since" | tail -3)"
        fi
    else
        if [ "$rc" -ne 0 ] && [ "$logged_in" -eq 0 ] && [ "$fetched" -eq 0 ] &&
            printf '%s\n' "$since" | grep -q "auth failed.*method=$want,"; then
            pass "$name"
        else
            fail "$name" "exit $rc, dovecot logins: $logged_in, fetched: $fetched; inc: $(grep -v '^[<=]=' "$dir/out" | tail -3); dovecot: $(printf '%s\n' "$since" | tail -3)"
        fi
        # Whatever the right case did not take stays for the next one.
        rm -f "$T/home/$USER_NAME/Maildir/new/"*
    fi
}

# The library's own choice from Dovecot's list, as Cyrus makes it: SCRAM-SHA-256.
mech_matrix "$INC" any SCRAM-SHA-256
summary
