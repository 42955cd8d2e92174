#!/usr/bin/env bash
# Interop test: nmh, unchanged, authenticating with SASL through the library
# under test to a private Dovecot: `inc` fetches mail over POP3, `post`
# sends a message through Dovecot's SMTP submission service (which relays
# it to a small sink).
#
#   interop/nmh.sh [LIBDIR|system]
#
# Both read the password from a netrc file and answer the library's
# callbacks with it; they list the library's mechanisms (sasl_listmech),
# hand it the server's list (or the one mechanism -saslmech names) and ask
# for a security layer, which Dovecot never grants. A right password must
# authenticate (Dovecot logs the login with the mechanism) and move the
# message (into the local inbox, or to the sink); a wrong one must be
# refused (Dovecot logs the failure, nothing moves). Through LD_LIBRARY_PATH
# and LD_PRELOAD. Dovecot and the sink run from a temp dir on 127.0.0.1
# and are stopped by their pids.
set -u
. "$(dirname "$0")/lib.sh"
interop_init nmh "${1:-system}"
need_pkgs nmh dovecot-imapd dovecot-pop3d dovecot-submissiond
[ "$(id -u)" = 0 ] || die "must run as root (dovecot switches to its own users)"
INC=/usr/bin/mh/inc
POST=/usr/lib/mh/post
[ -x "$INC" ] && [ -x "$POST" ] || die "$INC or $POST missing (nmh)"

MECHS=${MECHS:-"PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256"}
USER_NAME=alice
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'
SUBJECT="nmh interop $$"

# --- dovecot and the sink ---------------------------------------------------
start_mail_dovecot
echo "# dovecot $(dovecot --version): POP3 on 127.0.0.1:$POP3_PORT, submission on :$SUB_PORT;" \
    "nmh $(dpkg-query -W -f='${Version}' nmh)"

# --- the cases --------------------------------------------------------------
# run_case MODE MECH right|wrong [EXPECTED]: one run of $TOOL (inc: one new
# message on the server to fetch into a fresh nmh profile; post: one draft
# to send). MECH "any": no -saslmech, the library chooses from the server's
# list (EXPECTED is its choice).
run_case() {
    local mode=$1 mech=$2 kind=$3 name="$TOOL/$1/$2/$3" dir="$T/case-$TOOL-$1-$2-$3" secret=$PASSWORD
    local want=${4:-$2} args=() rc log_from sink_from since service moved
    [ "$kind" = wrong ] && secret=$WRONG_PASSWORD
    [ "$mech" = any ] || args=(-saslmech "$mech")
    mkdir -p "$dir/Mail"
    printf 'Path: %s\n' "$dir/Mail" >"$dir/.mh_profile"
    printf 'machine 127.0.0.1 login %s password %s\n' "$USER_NAME" "$secret" >"$dir/.netrc"
    chmod 0600 "$dir/.netrc"
    log_from=$(log_size "$T/dovecot.log")
    sink_from=$(log_size "$T/sink.mbox")
    client_env "$mode"
    if [ "$TOOL" = inc ]; then
        service=pop3
        printf 'From: bob@example.org\r\nTo: alice@example.org\r\nSubject: %s\r\n\r\nhello\r\n' "$SUBJECT" \
            >"$T/home/$USER_NAME/Maildir/new/1700000000.$$.interop"
        chown -R dovecot:dovecot "$T/home"
        env HOME="$dir" MH="$dir/.mh_profile" "${CLIENT_ENV[@]}" timeout -k 5 30 \
            "$INC" -host 127.0.0.1 -port "$POP3_PORT" -user "$USER_NAME" -sasl "${args[@]}" -notls -snoop \
            </dev/null >"$dir/out" 2>&1
        rc=$?
    else
        service=submission
        printf 'From: alice@example.org\nTo: bob@example.org\nSubject: %s %s\n--------\nhello\n' \
            "$SUBJECT" "$name" >"$dir/draft"
        env HOME="$dir" MH="$dir/.mh_profile" "${CLIENT_ENV[@]}" timeout -k 5 30 \
            "$POST" -mts smtp -server 127.0.0.1 -port "$SUB_PORT" -user "$USER_NAME" -sasl "${args[@]}" \
            -notls -snoop "$dir/draft" </dev/null >"$dir/out" 2>&1
        rc=$?
    fi
    # Dovecot logs the login, or the failure as the connection ends.
    since=$(wait_log "$T/dovecot.log" "$log_from" "method=$want,")
    local logged_in
    logged_in=$(printf '%s\n' "$since" | grep -c "$service-login: Info: Login: user=<$USER_NAME>, method=$want,")
    if [ "$TOOL" = inc ]; then
        moved=$(grep -rl "^Subject: $SUBJECT" "$dir/Mail" 2>/dev/null | wc -l)
    else
        moved=$(tail -c +"$sink_from" "$T/sink.mbox" 2>/dev/null | tr -d '\r' | grep -cxF "Subject: $SUBJECT $name")
    fi
    local why="exit $rc, dovecot $service logins with $want: $logged_in, messages moved: $moved"
    why+="; $TOOL: $(grep -v '^[<=]=' "$dir/out" | tail -3); dovecot: $(printf '%s\n' "$since" | tail -3)"
    if [ "$kind" = right ]; then
        if [ "$rc" -eq 0 ] && [ "$logged_in" -ge 1 ] && [ "$moved" -ge 1 ] &&
            grep -q "^Chosen sasl mechanism: $want\$" "$dir/out"; then
            pass "$name"
        else
            fail "$name" "$why"
        fi
    else
        if [ "$rc" -ne 0 ] && [ "$logged_in" -eq 0 ] && [ "$moved" -eq 0 ] &&
            printf '%s\n' "$since" | grep -q "$service-login: .*auth failed.*method=$want,"; then
            pass "$name"
        else
            fail "$name" "$why"
        fi
    fi
    # What a refused inc left on the server must not reach the next case.
    rm -f "$T/home/$USER_NAME/Maildir/new/"*
}

# The library's own choice from Dovecot's list, as Cyrus makes it: SCRAM-SHA-256.
TOOL=inc mech_matrix "$INC" any SCRAM-SHA-256 inc/
TOOL=post mech_matrix "$POST" any SCRAM-SHA-256 post/
summary
