#!/usr/bin/env bash
# Interop test: mbsync (isync), unchanged, syncs a mailbox from a private
# Dovecot IMAP server through the library under test.
#
#   interop/mbsync.sh [LIBDIR|system]
#
# mbsync registers no SASL callbacks: it answers the library's prompts
# (SASL_INTERACT) from its configuration, so these cases check the prompt
# path a real client takes, for each mechanism, through LD_LIBRARY_PATH and
# LD_PRELOAD. A right password must authenticate (Dovecot logs the login
# with the mechanism) and sync the server's message into a local Maildir; a
# wrong one must be refused (Dovecot logs the failure, nothing is synced).
# Dovecot runs from a temp dir on 127.0.0.1 and is stopped by its pid.
set -u
. "$(dirname "$0")/lib.sh"
interop_init mbsync "${1:-system}"
need_pkgs isync dovecot-imapd
[ "$(id -u)" = 0 ] || die "must run as root (dovecot switches to its own users)"

MECHS=${MECHS:-"PLAIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256"}
USER_NAME=alice
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'
SUBJECT="mbsync interop $$"

# --- dovecot ----------------------------------------------------------------
chmod 0755 "$T"
mkdir -p "$T/run" "$T/state" "$T/home/$USER_NAME/Maildir/"{new,cur,tmp}
printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" >"$T/passwd"
chmod 0644 "$T/passwd"
printf 'From: bob@example.org\r\nTo: alice@example.org\r\nSubject: %s\r\n\r\nhello\r\n' "$SUBJECT" \
    >"$T/home/$USER_NAME/Maildir/new/1700000000.1.interop"
chown -R dovecot:dovecot "$T/home"

start_dovecot() {
    IMAP_PORT=$(free_port)
    cat >"$T/dovecot.conf" <<EOF
base_dir = $T/run
state_dir = $T/state
instance_name = mbsync-interop-$$
log_path = $T/dovecot.log
auth_verbose = yes
auth_failure_delay = 0
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN $T/passwd
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$T/home/%n
}
$(dovecot_services "$IMAP_PORT")
# No brute-force penalty: the wrong-password cases would slow the next ones.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
    doveconf -c "$T/dovecot.conf" -n >"$T/doveconf.out" 2>&1 ||
        die "dovecot rejects the configuration: $(cat "$T/doveconf.out")"
    bg dovecot -F -c "$T/dovecot.conf" >"$T/dovecot.out" 2>&1
    DOVECOT_PID=${BG_PIDS[-1]}
    wait_for_port "$IMAP_PORT" && kill -0 "$DOVECOT_PID" 2>/dev/null
}
started=
for _ in 1 2 3; do
    if start_dovecot; then started=1; break; fi
    kill "$DOVECOT_PID" 2>/dev/null
done
[ -n "$started" ] || die "dovecot did not start: $(tail -5 "$T/dovecot.log" "$T/dovecot.out" 2>/dev/null)"
echo "# dovecot $(dovecot --version) on 127.0.0.1:$IMAP_PORT; $(mbsync --version)"

# --- the cases --------------------------------------------------------------
# run_case MODE MECH right|wrong [EXPECTED]: one mbsync run into a fresh
# local Maildir. MECH is mbsync's AuthMechs ("*": the library chooses among
# everything the server offers; EXPECTED is the mechanism it must choose).
run_case() {
    local mode=$1 mech=$2 kind=$3 name="$1/$2/$3" dir="$T/case-$1-${2//\*/any}-$3" secret=$PASSWORD rc log_from since
    local want=${4:-$2}
    [ "$kind" = wrong ] && secret=$WRONG_PASSWORD
    mkdir -p "$dir/local"
    cat >"$dir/mbsyncrc" <<EOF
IMAPAccount server
Host 127.0.0.1
Port $IMAP_PORT
User $USER_NAME
Pass $secret
SSLType None
AuthMechs $mech

IMAPStore far
Account server

MaildirStore near
Path $dir/local/
Inbox $dir/local/INBOX

Channel interop
Far :far:
Near :near:
Patterns INBOX
Create Near
SyncState *
EOF
    log_from=$(($(stat -c %s "$T/dovecot.log" 2>/dev/null || echo 0) + 1))
    client_env "$mode"
    env "${CLIENT_ENV[@]}" timeout -k 5 30 mbsync -c "$dir/mbsyncrc" interop </dev/null >"$dir/out" 2>&1
    rc=$?
    sleep 0.2 # dovecot writes its log line as the connection ends
    since=$(tail -c +"$log_from" "$T/dovecot.log")
    local logged_in synced
    logged_in=$(printf '%s\n' "$since" | grep -c "imap-login: Info: Login: user=<$USER_NAME>, method=$want,")
    synced=$(grep -rl "^Subject: $SUBJECT" "$dir/local" 2>/dev/null | wc -l)
    if [ "$kind" = right ]; then
        if [ "$rc" -eq 0 ] && [ "$logged_in" -ge 1 ] && [ "$synced" -ge 1 ]; then
            pass "$name"
        else
            fail "$name" "exit $rc, dovecot logins with $want: $logged_in, messages synced: $synced; mbsync: $(tail -3 "$dir/out"); dovecot: $(printf '%s\n' "$since" | tail -3)"
        fi
    else
        if [ "$rc" -ne 0 ] && [ "$logged_in" -eq 0 ] && [ "$synced" -eq 0 ] &&
            printf '%s\n' "$since" | grep -q "auth failed.*method=$want,"; then
            pass "$name"
        else
            fail "$name" "exit $rc, dovecot logins: $logged_in, synced: $synced; mbsync: $(tail -3 "$dir/out"); dovecot: $(printf '%s\n' "$since" | tail -3)"
        fi
    fi
}

for mode in ldpath preload; do
    client_env "$mode"
    check_linkage "$mode/linkage" "$(command -v mbsync)"
    for mech in $MECHS; do
        run_case "$mode" "$mech" right
        run_case "$mode" "$mech" wrong
    done
    # The library's own choice from Dovecot's list, as Cyrus makes it.
    run_case "$mode" '*' right SCRAM-SHA-256
    run_case "$mode" '*' wrong SCRAM-SHA-256
done
summary
