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
#
# Then a third-party C plugin from Debian: KDE PIM's XOAUTH2
# (libsasl2-modules-kdexoauth2, downloaded and unpacked in the temp dir, not
# installed), found through $SASL_PATH. mbsync answers its prompts as KDE's
# own IMAP library does (SASL_INTERACT), so the plugin's own prompt list goes
# through the library to the application and back:
#   kde/XOAUTH2 right   the plugin runs (its trace is in mbsync's output) and
#                       Dovecot logs the XOAUTH2 login (its passwd-file stands
#                       in for a token check: the token is the password);
#   kde/XOAUTH2 wrong   Dovecot logs the mismatch and lets no one in (the
#                       plugin then waits for an end the server never sends,
#                       with either library: cut short by a timeout);
#   kde/choice          from "XOAUTH2 PLAIN" this library takes PLAIN, so a
#                       password never goes out as a token; Cyrus ranks the
#                       plugin's XOAUTH2 first and sends the password as the
#                       token (README, "Where it differs from Cyrus").
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
interop_init mbsync "${1:-system}"
need_pkgs isync dovecot-imapd
[ "$(id -u)" = 0 ] || die "must run as root (dovecot switches to its own users)"

MECHS=${MECHS:-"PLAIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256"}
KDE_PKG=libsasl2-modules-kdexoauth2
USER_NAME=alice
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'
SUBJECT="mbsync interop $$"

# --- dovecot ----------------------------------------------------------------
mkdir -p "$T/home/$USER_NAME/Maildir/"{new,cur,tmp}
printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" >"$T/passwd"
printf 'From: bob@example.org\r\nTo: alice@example.org\r\nSubject: %s\r\n\r\nhello\r\n' "$SUBJECT" \
    >"$T/home/$USER_NAME/Maildir/new/1700000000.1.interop"
start_dovecot_imap "auth_mechanisms = plain login cram-md5 digest-md5 scram-sha-1 scram-sha-256 xoauth2"
echo "# dovecot $(dovecot --version) on 127.0.0.1:$IMAP_PORT; $(mbsync --version)"

# --- the cases --------------------------------------------------------------
# run_case MODE MECH right|wrong [EXPECTED [NAME]]: one mbsync run into a
# fresh local Maildir. MECH is mbsync's AuthMechs ("*": the library chooses
# among everything the server offers; EXPECTED is the mechanism it must
# choose), NAME the case's name in place of MECH. With TRACE set, mbsync's
# output must hold that line (a plugin's own trace).
run_case() {
    local mode=$1 mech=$2 kind=$3 name="$1/${5:-$2}/$3" tag=${2//\*/any} secret=$PASSWORD rc log_from since
    local want=${4:-$2} dir
    dir=$T/case-$1-${tag// /+}-$3
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
    log_from=$(log_size "$T/dovecot.log")
    client_env "$mode"
    env "${CLIENT_ENV[@]}" timeout -k 5 "${MBSYNC_TIMEOUT:-30}" mbsync -c "$dir/mbsyncrc" interop </dev/null >"$dir/out" 2>&1
    rc=$?
    # Dovecot logs the login, or the failure as the connection ends.
    since=$(wait_log "$T/dovecot.log" "$log_from" "${LOGGED:-method=$want,}")
    local logged_in synced
    logged_in=$(printf '%s\n' "$since" | grep -c "imap-login: Info: Login: user=<$USER_NAME>, method=$want,")
    synced=$(grep -rl "^Subject: $SUBJECT" "$dir/local" 2>/dev/null | wc -l)
    if [ -n "${TRACE:-}" ] && ! grep -qxF -- "$TRACE" "$dir/out"; then
        fail "$name" "no '$TRACE' in mbsync's output: $(tail -3 "$dir/out")"
    elif [ "$kind" = right ]; then
        if [ "$rc" -eq 0 ] && [ "$logged_in" -ge 1 ] && [ "$synced" -ge 1 ]; then
            pass "$name"
        else
            fail "$name" "exit $rc, dovecot logins with $want: $logged_in, messages synced: $synced; mbsync: $(tail -3 "$dir/out"); dovecot: $(printf '%s\n' "$since" | tail -3)"
        fi
    else
        if [ "$rc" -ne 0 ] && [ "$logged_in" -eq 0 ] && [ "$synced" -eq 0 ] &&
            printf '%s\n' "$since" | grep -q "${LOGGED:-auth failed.*method=$want,}"; then
            pass "$name"
        else
            fail "$name" "exit $rc, dovecot logins: $logged_in, synced: $synced; mbsync: $(tail -3 "$dir/out"); dovecot: $(printf '%s\n' "$since" | tail -3)"
        fi
    fi
}

# The library's own choice from Dovecot's list, as Cyrus makes it: SCRAM-SHA-256.
mech_matrix "$(command -v mbsync)" '*' SCRAM-SHA-256

# --- KDE's XOAUTH2 plugin -----------------------------------------------------
mkdir -p "$T/kde"
if (cd "$T/kde" && apt-get download -o APT::Sandbox::User=root "$KDE_PKG" >"$T/kde/apt.log" 2>&1) &&
    dpkg -x "$T/kde/$KDE_PKG"_*.deb "$T/kde/root"; then
    # Cyrus's own plugins after it, as one directory holds them all on a KDE
    # system (Cyrus finds PLAIN there; this library has it built in).
    kde_dir=$(dirname "$(find "$T/kde/root" -name 'libkdexoauth2.so*' | head -n 1)")
    SASL_PATH=$kde_dir:$(dirname "$CYRUS")/sasl2
    export SASL_PATH
    choice=PLAIN
    is_rust_impl || choice=XOAUTH2
    for mode in ldpath preload; do
        TRACE="[SASL-XOAUTH2] - filling prompts!" run_case "$mode" XOAUTH2 right "" kde/XOAUTH2
        TRACE="[SASL-XOAUTH2] - filling prompts!" MBSYNC_TIMEOUT=8 LOGGED="Password mismatch" \
            run_case "$mode" XOAUTH2 wrong "" kde/XOAUTH2
        run_case "$mode" "XOAUTH2 PLAIN" right "$choice" kde/choice
    done
    unset SASL_PATH
else
    fail "kde/download" "apt-get download $KDE_PKG failed: $(tail -n 2 "$T/kde/apt.log")"
fi
summary
