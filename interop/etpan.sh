#!/usr/bin/env bash
# Interop test: libetpan (Debian's libetpan20, unchanged: Claws Mail's mail
# engine; driven by interop/peer/etpan_client.py through ctypes)
# authenticating with SASL through the library under test to a private
# Dovecot over IMAP, POP3 and SMTP submission (which relays to a small
# sink).
#
#   interop/etpan.sh [LIBDIR|system]
#
# libetpan answers the library's callbacks itself (the user as both
# authentication and authorization name, as Claws Mail passes them, the
# password, no realm) and hands it the mechanism to use. A right password must authenticate (Dovecot logs the login
# with the mechanism) and the session must go on: IMAP selects INBOX, POP3
# finds the message waiting, SMTP's message reaches the sink. A wrong one
# must be refused (Dovecot logs the failure, nothing moves). Through
# LD_LIBRARY_PATH and LD_PRELOAD. Dovecot and the sink run from a temp dir
# on 127.0.0.1 and are stopped by their pids.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
interop_init etpan "${1:-system}"
need_pkgs libetpan20 dovecot-imapd dovecot-pop3d dovecot-submissiond
[ "$(id -u)" = 0 ] || die "must run as root (dovecot switches to its own users)"
ETPAN=$(ldconfig -p | awk '$1 == "libetpan.so.20" {print $NF; exit}')
[ -n "$ETPAN" ] || die "no libetpan.so.20"
PY=/usr/bin/python3 # Debian's

MECHS=${MECHS:-"PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256"}
USER_NAME=alice
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'
SUBJECT="etpan interop $$"

start_mail_dovecot
echo "# dovecot $(dovecot --version): IMAP on 127.0.0.1:$IMAP_PORT, POP3 :$POP3_PORT, submission :$SUB_PORT;" \
    "libetpan $(dpkg-query -W -f='${Version}' libetpan20)"
# One message waits in the inbox for POP3's STAT.
printf 'From: bob@example.org\r\nTo: alice@example.org\r\nSubject: %s\r\n\r\nhello\r\n' "$SUBJECT" \
    >"$T/home/$USER_NAME/Maildir/new/1700000000.$$.interop"
chown -R dovecot:dovecot "$T/home"

# run_case MODE MECH right|wrong: one session of $PROTO with MECH.
run_case() {
    local mode=$1 want=$2 kind=$3 name="$PROTO/$1/$2/$3" out="$T/case-$PROTO-$1-$2-$3" secret=$PASSWORD
    local port service rc=0 log_from sink_from since moved
    [ "$kind" = wrong ] && secret=$WRONG_PASSWORD
    case $PROTO in
        imap) port=$IMAP_PORT service=imap ;;
        pop3) port=$POP3_PORT service=pop3 ;;
        smtp) port=$SUB_PORT service=submission ;;
    esac
    log_from=$(log_size "$T/dovecot.log")
    sink_from=$(log_size "$T/sink.mbox")
    client_env "$mode"
    env "${CLIENT_ENV[@]}" timeout -k 5 30 "$PY" "$HERE/peer/etpan_client.py" "$PROTO" 127.0.0.1 "$port" \
        "$want" "$USER_NAME" "$secret" "$SUBJECT $name" </dev/null >"$out" 2>&1 || rc=$?
    # Dovecot logs the login, or the failure as the connection ends.
    since=$(wait_log "$T/dovecot.log" "$log_from" "method=$want,")
    local logged_in
    logged_in=$(printf '%s\n' "$since" | grep -c "$service-login: Info: Login: user=<$USER_NAME>, method=$want,")
    case $PROTO in
        imap) moved=$(grep -c '^done$' "$out") ;;
        pop3) moved=$(grep -c '^messages 1$' "$out") ;;
        smtp) moved=$(tail -c +"$sink_from" "$T/sink.mbox" 2>/dev/null | tr -d '\r' | grep -cxF "Subject: $SUBJECT $name") ;;
    esac
    local why="exit $rc, dovecot $service logins with $want: $logged_in, session went on: $moved"
    why+="; client: $(tail -n 2 "$out"); dovecot: $(printf '%s\n' "$since" | tail -n 3)"
    if [ "$kind" = right ]; then
        if [ "$rc" -eq 0 ] && [ "$logged_in" -ge 1 ] && [ "$moved" -ge 1 ]; then pass "$name"; else fail "$name" "$why"; fi
    else
        if [ "$rc" -ne 0 ] && [ "$logged_in" -eq 0 ] && [ "$moved" -eq 0 ] &&
            grep -q "^authenticate failed" "$out" &&
            printf '%s\n' "$since" | grep -q "$service-login: .*auth failed.*method=$want,"; then
            pass "$name"
        else
            fail "$name" "$why"
        fi
    fi
}

# No case where the library chooses: libetpan sends the mechanism it was
# given as AUTHENTICATE's argument, whatever the library chose from it.
for PROTO in imap pop3 smtp; do
    mech_matrix "$ETPAN" "" "" "$PROTO/"
done
summary
