#!/usr/bin/env bash
# Interop test: Postfix's SMTP client, unchanged, relays a message through a
# private Dovecot submission server after SASL authentication through the
# library under test.
#
#   interop/postfix.sh [LIBDIR|system]
#
# A private Postfix instance (config and queue in a temp dir, no listener of
# its own) takes a message from its sendmail and relays it to Dovecot's
# submission service on 127.0.0.1 with smtp_sasl_auth_enable; Dovecot relays
# it to a small SMTP sink. Postfix's smtp process is started by its master,
# which passes the library under test on through import_environment
# (LD_LIBRARY_PATH or LD_PRELOAD). Each mechanism is chosen with
# smtp_sasl_mechanism_filter; one more case leaves the choice to the library
# (SCRAM-SHA-256 from Dovecot's list, as Cyrus chooses). A right password
# must authenticate (Dovecot's log: the login and its mechanism), reach the
# sink and be logged as sent by Postfix; a wrong one must be refused (Dovecot
# logs the failure, Postfix defers the message, the sink gets nothing).
# Everything is stopped by pid (Postfix with `postfix stop`).
set -u
. "$(dirname "$0")/lib.sh"
interop_init postfix "${1:-system}"
need_pkgs postfix dovecot-imapd dovecot-submissiond
[ "$(id -u)" = 0 ] || die "must run as root (postfix and dovecot switch users)"

MECHS=${MECHS:-"PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256"}
USER_NAME=alice
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'

# --- the SMTP sink and Dovecot's submission service --------------------------
start_mail_dovecot

# --- the private postfix ----------------------------------------------------
PF=$T/pf
mkdir -p "$PF/spool" "$PF/data"
chown postfix "$PF/data"
# master.cf: the services a relaying client needs, none chrooted, no smtpd.
cat >"$PF/master.cf" <<'EOF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
POSTFIX_UP=
postfix_cleanup() {
    [ -n "$POSTFIX_UP" ] && postfix -c "$PF" stop >/dev/null 2>&1
    cleanup
}
trap postfix_cleanup EXIT

# configure MODE MECH PASSWORD: main.cf for one case. The library under
# test reaches the smtp process through import_environment, and so does
# LD_DEBUG=libs: the loader's own record ($PF/ld.PID) of which libsasl2 the
# smtp process really loaded.
configure() {
    local env
    client_env "$1"
    env=${CLIENT_ENV[0]}
    printf '[127.0.0.1]:%s %s:%s\n' "$SUB_PORT" "$USER_NAME" "$3" >"$PF/sasl_passwd"
    chmod 0600 "$PF/sasl_passwd"
    cat >"$PF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = client.example.org
mydomain = example.org
myorigin = example.org
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME $env LD_DEBUG=libs LD_DEBUG_OUTPUT=$PF/ld
relayhost = [127.0.0.1]:$SUB_PORT
smtp_sasl_auth_enable = yes
smtp_sasl_password_maps = texthash:$PF/sasl_passwd
smtp_sasl_security_options = noanonymous
smtp_sasl_mechanism_filter = $2
smtp_tls_security_level = none
smtp_connection_cache_on_demand = no
max_use = 1
EOF
}

# run_case MODE MECH right|wrong [EXPECTED]: one message through postfix.
# MECH "any" leaves the choice to the library (EXPECTED is its choice).
run_case() {
    local mode=$1 mech=$2 kind=$3 want=${4:-$2} name="$1/$2/$3" secret=$PASSWORD filter=$2
    local subject="postfix interop $1 $2 $3 $$" pf_from dv_from sink_from status="" since_pf since_dv logins
    [ "$kind" = wrong ] && secret=$WRONG_PASSWORD
    [ "$mech" = any ] && filter=""
    configure "$mode" "$filter" "$secret"
    pf_from=$(log_size "$PF/maillog")
    dv_from=$(log_size "$T/dovecot.log")
    sink_from=$(log_size "$T/sink.mbox")
    rm -f "$PF"/ld.*
    if [ "$POSTFIX_UP" != "$mode" ]; then
        # Started afresh in each mode: every daemon gets the new environment.
        [ -n "$POSTFIX_UP" ] && postfix -c "$PF" stop >/dev/null 2>&1
        postfix -c "$PF" start >"$T/postfix.start" 2>&1 ||
            die "postfix did not start: $(tail -3 "$T/postfix.start" "$PF/maillog" 2>/dev/null)"
        POSTFIX_UP=$mode
    else
        # New smtp processes (max_use = 1) read the new settings.
        postfix -c "$PF" reload >/dev/null 2>&1 || die "postfix reload failed"
    fi
    printf 'From: bob@example.org\nTo: carol@example.net\nSubject: %s\n\nhello\n' "$subject" |
        sendmail -C "$PF" -f bob@example.org carol@example.net ||
        { fail "$name" "sendmail failed"; return; }
    # The message is sent or deferred within a few seconds (30 at most).
    for _ in $(seq 300); do
        status=$(tail -c +"$pf_from" "$PF/maillog" 2>/dev/null | sed -n 's/.* relay=.* status=\([a-z]*\).*/\1/p' | head -1)
        [ -n "$status" ] && break
        sleep 0.1
    done
    since_pf=$(tail -c +"$pf_from" "$PF/maillog" 2>/dev/null)
    since_dv=$(wait_log "$T/dovecot.log" "$dv_from" "method=$want,")
    logins=$(printf '%s\n' "$since_dv" | grep -c "submission-login: Info: Login: user=<$USER_NAME>, method=$want,")
    local arrived
    arrived=$(tail -c +"$sink_from" "$T/sink.mbox" 2>/dev/null | grep -c "^Subject: $subject")
    local loaded=""
    loaded=$(grep -l "initialize program: smtp$" "$PF"/ld.* 2>/dev/null |
        xargs -r sed -n 's/.*calling init: \(.*libsasl2\.so\.2\)$/\1/p' | xargs -r readlink -f | sort -u)
    if [ "$loaded" != "$(readlink -f "$LIBSASL")" ]; then
        fail "$name" "postfix's smtp process loaded '${loaded:-no libsasl2}', want $(readlink -f "$LIBSASL")"
        [ "$kind" = wrong ] && postsuper -c "$PF" -d ALL >/dev/null 2>&1
        return
    fi
    local why="postfix status '${status:-none}', dovecot logins with $want: $logins, at the sink: $arrived"
    if [ "$kind" = right ]; then
        if [ "$status" = sent ] && [ "$logins" -ge 1 ] && [ "$arrived" -ge 1 ]; then
            pass "$name"
        else
            fail "$name" "$why; postfix: $(printf '%s\n' "$since_pf" | grep -v ' postfix/\(pickup\|cleanup\|qmgr\|master\)' | tail -3); dovecot: $(printf '%s\n' "$since_dv" | tail -2)"
        fi
    else
        if [ "$status" = deferred ] && [ "$logins" -eq 0 ] && [ "$arrived" -eq 0 ] &&
            printf '%s\n' "$since_dv" | grep -q "auth failed.*method=$want," &&
            printf '%s\n' "$since_pf" | grep -q "SASL authentication failed"; then
            pass "$name"
        else
            fail "$name" "$why; postfix: $(printf '%s\n' "$since_pf" | tail -3); dovecot: $(printf '%s\n' "$since_dv" | tail -2)"
        fi
        # Not retried with the next case's settings.
        postsuper -c "$PF" -d ALL >/dev/null 2>&1
    fi
}

echo "# postfix $(postconf -d -h mail_version), dovecot $(dovecot --version) submission on 127.0.0.1:$SUB_PORT, sink on :$SINK_PORT"
mech_matrix /usr/lib/postfix/sbin/smtp any SCRAM-SHA-256
summary
