# shellcheck shell=bash
# Shared helpers for the interop scripts; source it, then call interop_init.
#
#   interop_init NAME LIBDIR   pick the library under test, make $T, set the trap
#                              LIBDIR: a folder holding libsasl2.so.2, or "system"/""
#   need_pkgs PKG...           apt-get install whatever is missing (non-interactive)
#   client_env MODE            set CLIENT_ENV=(VAR=...) for MODE ldpath|preload
#   check_linkage NAME BIN     case: BIN under CLIENT_ENV resolves libsasl2 to $LIBSASL
#   is_rust_impl               the library under test is sasl2-rs (not Cyrus)
#   dovecot_services PORT      dovecot.conf lines: IMAP on 127.0.0.1:PORT only
#   start_dovecot_imap CONF    a private IMAP dovecot on $T/passwd (sets IMAP_PORT)
#   start_mail_dovecot         the mail clients' dovecot (IMAP, POP3, submission) and SMTP sink
#   log_size FILE / wait_log FILE OFFSET REGEX   a server log line since OFFSET, waited for
#   free_port / wait_for_port PORT / wait_for_socket PATH / urlencode STRING
#   bg CMD...                  start a server in the background, killed by pid on exit
#   pass NAME / fail NAME WHY / skip / summary (prints "SCRIPT: N passed, M failed")
#
# Set INTEROP_KEEP=1 to keep the temp dir (its path is printed) for debugging,
# and INTEROP_VALGRIND=DIR to run the clients under valgrind's memcheck, each
# process logging to DIR/vg.PID (interop/valgrind.sh reads them).

# shellcheck disable=SC2034 # HERE is for the scripts that source this file
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PASSED=0 FAILED=0 SKIPPED=0
BG_PIDS=()
CLIENT_ENV=()
SCRIPT_NAME=interop
T=

pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1: ${2//$'\n'/ }"; }
skip() { SKIPPED=$((SKIPPED + 1)); }

summary() {
    if [ "$SKIPPED" -gt 0 ]; then
        echo "($SKIPPED $SCRIPT_NAME cases skipped)"
    fi
    echo "$SCRIPT_NAME: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

die() { fail "$SCRIPT_NAME/setup" "$*"; summary; exit 1; }

cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 10); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ -n "$T" ]; then
        if [ "${INTEROP_KEEP:-0}" = 1 ]; then echo "(kept $T)"; else rm -rf "$T"; fi
    fi
}

bg() {
    "$@" &
    BG_PIDS+=("$!")
}

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

need_pkgs() {
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]} and not root"
    # slapd, postfix: no system instance (no config, no service start).
    echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    local made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    # apt-get update once: skip it when the package lists are less than an hour old.
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null)" ]; then
        apt-get update -qq >/dev/null 2>&1 || true
    fi
    local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq
        --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    if ! "${install[@]}" "${missing[@]}" </dev/null >"${T:-/tmp}/apt.log" 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        "${install[@]}" "${missing[@]}" </dev/null >"${T:-/tmp}/apt.log" 2>&1 ||
            { [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
              die "apt-get install ${missing[*]} failed: $(tail -n 1 "${T:-/tmp}/apt.log")"; }
    fi
    [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
    return 0
}

# system_libsasl: the path of the system's (Cyrus's) libsasl2.so.2, for
# this machine's word size when ldconfig lists several.
system_libsasl() {
    local lib
    lib=$(ldconfig -p | awk '$1 == "libsasl2.so.2" && /x86-64|64bit|aarch64/ {print $NF; exit}')
    [ -n "$lib" ] || lib=$(ldconfig -p | awk '$1 == "libsasl2.so.2" {print $NF; exit}')
    echo "$lib"
}

# interop_init NAME LIBDIR: sets LIBDIR and LIBSASL (the libsasl2.so.2 under
# test), and OURS and CYRUS: the files LIBSASL and the system's library
# resolve to (the same file when the system library is under test).
interop_init() {
    SCRIPT_NAME=$1
    # Shared, also when a script runs on its own (see tests/system-lock.sh).
    # shellcheck source=../tests/system-lock.sh
    . "$HERE/../tests/system-lock.sh"
    system_lock shared
    T=$(mktemp -d "${TMPDIR:-/tmp}/sasl2-interop-$1.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    command -v python3 >/dev/null || need_pkgs python3
    local arg=${2:-system}
    if [ "$arg" = system ]; then
        need_pkgs libsasl2-2
        LIBSASL=$(system_libsasl)
        [ -n "$LIBSASL" ] || die "no system libsasl2.so.2"
        LIBDIR=$(dirname "$LIBSASL")
    else
        [ -d "$arg" ] || die "no such folder: $arg"
        LIBDIR=$(cd "$arg" && pwd)
        LIBSASL=$LIBDIR/libsasl2.so.2
        [ -e "$LIBSASL" ] || die "no libsasl2.so.2 in $LIBDIR"
    fi
    OURS=$(readlink -f "$LIBSASL")
    CYRUS=$(readlink -f "$(system_libsasl)")
    echo "# $SCRIPT_NAME: library under test $LIBSASL -> $OURS"
}

# For the cases where sasl2-rs differs from Cyrus on purpose (README).
is_rust_impl() {
    grep -qaF 'Cyrus SASL (sasl2-rs)' "$LIBSASL"
}

client_env() {
    case $1 in
        ldpath) CLIENT_ENV=("LD_LIBRARY_PATH=$LIBDIR") ;;
        preload) CLIENT_ENV=("LD_PRELOAD=$LIBSASL") ;;
        *) die "unknown client mode $1" ;;
    esac
    CLIENT_ENV+=("${VALGRIND[@]}")
}

# The command that runs a client under memcheck when INTEROP_VALGRIND is set
# (nothing otherwise): leaks are listed, not counted as errors, for
# interop/valgrind-check.py to tell the library's from the application's.
VALGRIND=()
if [ -n "${INTEROP_VALGRIND:-}" ]; then
    # Cyrus's plug-ins' own faults (each entry needs a frame in one) are not
    # the library's: a client process may run Cyrus's server side too.
    VALGRIND=(valgrind -q --trace-children=yes --leak-check=full "--show-leak-kinds=definite,indirect"
        --errors-for-leak-kinds=none "--log-file=$INTEROP_VALGRIND/vg.%p"
        "--suppressions=$HERE/../ctests/cyrus-plugins.supp")
fi

# check_linkage NAME BIN: the dynamic linker gives BIN exactly one libsasl2, ours.
check_linkage() {
    local want got
    want=$(readlink -f "$LIBSASL")
    local vars=() v
    for v in "${CLIENT_ENV[@]}"; do [[ $v == *=* && $v != -* ]] && vars+=("$v"); done
    got=$(env "${vars[@]}" ldd "$2" 2>&1 |
        awk '/libsasl2/ && (/\(0x/ || /not found/) { p = "not-found"; for (i = 1; i <= NF; i++) if ($i ~ /^\//) { p = $i; break }; print p }' |
        while read -r f; do if [ -e "$f" ]; then readlink -f "$f"; else echo "$f"; fi; done | sort -u)
    if [ "$got" = "$want" ]; then pass "$1"; else fail "$1" "libsasl2 resolves to '$got', want $want"; fi
}

# mech_matrix BIN ALL EXPECTED [PREFIX]: the cases of a client that takes
# its mechanism as an option, through LD_LIBRARY_PATH and LD_PRELOAD: BIN's
# linkage (case PREFIXMODE/linkage), each of $MECHS with the right and a
# wrong secret (the script's `run_case MODE MECH right|wrong`), then ALL,
# the option that leaves the choice to the library, which must choose
# EXPECTED (`run_case MODE ALL right|wrong EXPECTED`; none when ALL is "":
# a client that always names one mechanism).
mech_matrix() {
    local bin=$1 all=$2 expected=$3 prefix=${4:-} mode mech
    for mode in ldpath preload; do
        client_env "$mode"
        check_linkage "$prefix$mode/linkage" "$bin"
        for mech in $MECHS; do
            run_case "$mode" "$mech" right
            run_case "$mode" "$mech" wrong
        done
        [ -n "$all" ] || continue
        run_case "$mode" "$all" right "$expected"
        run_case "$mode" "$all" wrong "$expected"
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() {

    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

wait_for_socket() {

    for _ in $(seq 100); do
        [ -S "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

urlencode() {
    python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# start_smtp_sink: a minimal SMTP server on 127.0.0.1:$SINK_PORT that
# accepts every message and appends it to $T/sink.mbox (where Dovecot's
# submission service relays to).
start_smtp_sink() {
    cat >"$T/sink.py" <<'EOF'
"""A minimal SMTP sink: accepts every message and appends it to a file.

usage: sink.py PORTFILE MBOX
"""
import socketserver
import sys

PORTFILE, MBOX = sys.argv[1:3]


class Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.reply("220 sink ready")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.strip().split(b" ")[0].upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250 sink")
            elif verb == b"DATA":
                self.reply("354 go on")
                data = []
                while True:
                    line = self.rfile.readline()
                    if not line or line.rstrip(b"\r\n") == b".":
                        break
                    data.append(line)
                with open(MBOX, "ab") as f:
                    f.write(b"".join(data) + b"\n--\n")
                self.reply("250 stored")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
EOF
    bg python3 "$T/sink.py" "$T/sink.port" "$T/sink.mbox"
    for _ in $(seq 50); do [ -s "$T/sink.port" ] && break; sleep 0.1; done
    [ -s "$T/sink.port" ] || die "the SMTP sink did not start"
    SINK_PORT=$(cat "$T/sink.port")
}

# dovecot_services PORT [POP3PORT [SUBPORT]]: the service blocks of a
# private dovecot.conf: IMAP on 127.0.0.1:PORT, POP3 on 127.0.0.1:POP3PORT
# and submission on 127.0.0.1:SUBPORT (none without them), no IMAPS or POP3S
# listener, LMTP on a private socket.
dovecot_services() {
    cat <<EOF
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $1
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${2:-0}
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0600
  }
}
EOF
    if [ "${3:-0}" != 0 ]; then
        cat <<EOF
service submission-login {
  inet_listener submission {
    address = 127.0.0.1
    port = $3
  }
}
EOF
    fi
}

# start_dovecot_imap EXTRA: starts a private dovecot in $T serving IMAP on
# 127.0.0.1:$IMAP_PORT (a free port, chosen here), users from the
# passwd-file $T/passwd (plaintext passwords, so every mechanism works),
# homes under $T/home, no brute-force penalty (wrong-password cases would
# slow the next ones). EXTRA: more dovecot.conf lines (auth_mechanisms ...).
# With DOVECOT_POP3=1 it serves POP3 too, on 127.0.0.1:$POP3_PORT; with
# DOVECOT_SUBMISSION=1, SMTP submission on 127.0.0.1:$SUB_PORT, relaying to
# the sink (start_smtp_sink first).
start_dovecot_imap() {
    local extra=$1 try
    mkdir -p "$T/run" "$T/state" "$T/home"
    chmod 0755 "$T"
    chown -R dovecot:dovecot "$T/home"
    chmod 0644 "$T/passwd"
    for try in 1 2 3; do
        IMAP_PORT=$(free_port)
        POP3_PORT=0 SUB_PORT=0
        [ -n "${DOVECOT_POP3:-}" ] && POP3_PORT=$(free_port)
        [ -n "${DOVECOT_SUBMISSION:-}" ] && SUB_PORT=$(free_port)
        cat >"$T/dovecot.conf" <<EOF
base_dir = $T/run
state_dir = $T/state
instance_name = $SCRIPT_NAME-interop-$$
log_path = $T/dovecot.log
auth_verbose = yes
auth_failure_delay = 0
protocols = imap${DOVECOT_POP3:+ pop3}${DOVECOT_SUBMISSION:+ submission}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:~/Maildir
$([ "$SUB_PORT" = 0 ] || printf '%s\n' 'hostname = submission.example.org' 'submission_relay_host = 127.0.0.1' \
    "submission_relay_port = $SINK_PORT" 'submission_relay_trusted = yes')
$extra
passdb {
  driver = passwd-file
  args = scheme=PLAIN $T/passwd
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$T/home/%n
}
$(dovecot_services "$IMAP_PORT" "$POP3_PORT" "$SUB_PORT")
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
        doveconf -c "$T/dovecot.conf" -n >"$T/doveconf.out" 2>&1 ||
            die "dovecot rejects the configuration: $(tail -3 "$T/doveconf.out")"
        bg dovecot -F -c "$T/dovecot.conf" >"$T/dovecot.out" 2>&1
        if wait_for_port "$IMAP_PORT" && { [ "$POP3_PORT" = 0 ] || wait_for_port "$POP3_PORT"; } &&
            { [ "$SUB_PORT" = 0 ] || wait_for_port "$SUB_PORT"; } &&
            kill -0 "${BG_PIDS[-1]}" 2>/dev/null; then
            return 0
        fi
        kill "${BG_PIDS[-1]}" 2>/dev/null
    done
    die "dovecot did not start: $(tail -5 "$T/dovecot.log" "$T/dovecot.out" 2>/dev/null)"
}

# start_mail_dovecot: the mail clients' servers (nmh, etpan, postfix): the
# user $USER_NAME with $PASSWORD and a Maildir under $T/home, the SMTP
# sink, and a dovecot serving IMAP, POP3 and submission with the
# mechanisms of $MECHS.
start_mail_dovecot() {
    mkdir -p "$T/home/$USER_NAME/Maildir/"{new,cur,tmp}
    printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" >"$T/passwd"
    start_smtp_sink
    DOVECOT_POP3=1 DOVECOT_SUBMISSION=1 start_dovecot_imap "auth_mechanisms = ${MECHS,,}"
}

# log_size FILE: where the next line of a server's log will start (for wait_log).
log_size() {
    echo $(($(stat -c %s "$1" 2>/dev/null || echo 0) + 1))
}

# wait_log FILE OFFSET REGEX: until a line matching REGEX (grep) is in FILE
# after OFFSET (servers log a session when it ends, a moment after the
# client is done), 10 s at most. Prints what FILE gained since OFFSET.
wait_log() {
    local _
    for _ in $(seq 100); do
        tail -c +"$2" "$1" 2>/dev/null | grep -q -- "$3" && break
        sleep 0.1
    done
    tail -c +"$2" "$1" 2>/dev/null
}
