#!/usr/bin/env bash
# Interop test: the engine of cyradm, Cyrus's administration shell (Debian's
# libcyrus-imap-perl, unchanged: Cyrus::IMAP::Admin on Cyrus's own imclient
# library), authenticating through the library under test to a private
# Dovecot over IMAP; interop/peer/cyradm.pl does what cyradm does before
# its first command and lists the mailboxes.
#
#   interop/cyradm.sh [LIBDIR|system]
#
# imclient registers its own callbacks (the user, the password; no realm)
# and asks for no layer it could not get. Each mechanism (its LOGIN is
# IMAP's LOGIN command, not SASL, so it is left out) with the right and a
# wrong password, and the server's whole list, from which the library must
# choose SCRAM-SHA-256 as Cyrus does (a wrong password: imclient tries
# each next choice in turn, PLAIN last); through LD_LIBRARY_PATH and
# LD_PRELOAD. A pass needs Dovecot's log: the login with its mechanism and
# no failed attempt before it (Cyrus::IMAP retries a failed PLAIN with
# IMAP's LOGIN command), or only refusals, and the mailboxes listed.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
interop_init cyradm "${1:-system}"
need_pkgs libcyrus-imap-perl dovecot-imapd
[ "$(id -u)" = 0 ] || die "must run as root (dovecot switches to its own users)"

MECHS=${MECHS:-"PLAIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256"}
USER_NAME=alice
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'

mkdir -p "$T/home/$USER_NAME/Maildir/"{new,cur,tmp}
chown -R dovecot:dovecot "$T/home"
printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" >"$T/passwd"
start_dovecot_imap "auth_mechanisms = ${MECHS,,}"
echo "# dovecot $(dovecot --version) on 127.0.0.1:$IMAP_PORT; libcyrus-imap-perl $(dpkg-query -W -f='${Version}' libcyrus-imap-perl)"

# run_case MODE MECH right|wrong [EXPECTED]: MECH "any": the server's list.
run_case() {
    local mode=$1 mech=$2 kind=$3 name="$1/$2/$3" secret=$PASSWORD want=${4:-$2} from rc=0 since out=$T/$1-$2-$3
    [ "$kind" = wrong ] && secret=$WRONG_PASSWORD
    # Refused, imclient tries the library's next choice from what is left
    # of the list, until none is left: PLAIN last, each one refused.
    local attempts=1
    [ "$mech$kind" = anywrong ] && { want=PLAIN; attempts=$(($(wc -w <<<"$MECHS") - 1)); }
    from=$(log_size "$T/dovecot.log")
    client_env "$mode"
    env "${CLIENT_ENV[@]}" timeout -k 5 20 perl "$HERE/peer/cyradm.pl" "$IMAP_PORT" "$mech" "$USER_NAME" "$secret" \
        </dev/null >"$out" 2>&1 || rc=$?
    since=$(wait_log "$T/dovecot.log" "$from" "method=$want,")
    local why
    why="exit $rc: $(tail -n 2 "$out"); dovecot: $(printf '%s\n' "$since" | tail -n 2)"
    if [ "$kind" = right ]; then
        if [ "$rc" -eq 0 ] && grep -q '^mailboxes: .*INBOX' "$out" &&
            printf '%s\n' "$since" | grep -q "imap-login: Info: Login: user=<$USER_NAME>, method=$want," &&
            ! printf '%s\n' "$since" | grep -q "auth failed"; then
            pass "$name"
        else
            fail "$name" "$why"
        fi
    else
        local tried
        tried=$(printf '%s\n' "$since" | sed -n "s/.*(auth failed, \([0-9]*\) attempts\?.*method=$want,.*/\1/p" | tail -n 1)
        if [ "$rc" -ne 0 ] && [ "${tried:-0}" -ge "$attempts" ] &&
            ! printf '%s\n' "$since" | grep -q "Login: user="; then
            pass "$name"
        else
            fail "$name" "$why"
        fi
    fi
}

mech_matrix "$(find /usr/lib -path '*/auto/Cyrus/IMAP/IMAP.so' | head -n 1)" any SCRAM-SHA-256
summary
