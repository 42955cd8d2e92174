#!/usr/bin/env bash
# Interop test: Cyrus imtest, unchanged, against a private Dovecot IMAP server.
#
# usage: interop/dovecot.sh [LIBDIR]
#
# With LIBDIR, imtest runs with LD_LIBRARY_PATH=LIBDIR, so it loads
# LIBDIR/libsasl2.so.2 (ours) instead of the system's. Without it, the system
# libsasl2 is used: that validates the harness (Cyrus has no OAuth client
# plugin, so OAUTHBEARER and XOAUTH2 fail then).
#
# For this project's library: make (in the main tree), then
#   interop/dovecot.sh /work/main/build      (or wherever libsasl2.so.2 is)
#
# Environment:
#   MECHS   mechanisms to test (default: PLAIN SCRAM-SHA-1 SCRAM-SHA-256
#           DIGEST-MD5 OAUTHBEARER XOAUTH2)
#   KEEP=1  keep the scratch directory (configuration, logs, transcripts)
#   VERBOSE=1  print every imtest transcript
#
# Each mechanism is tried with the right secret (must authenticate) and a
# wrong one (must be refused). Prints "PASS|FAIL <mech> <right|wrong>" per
# case and "dovecot: N passed, M failed" at the end; exits non-zero if any failed.
#
# Dovecot (2.3, as in Debian 12) listens on 127.0.0.1 on a free port, runs
# from a mktemp -d directory and checks passwords from a passwd-file with
# plaintext passwords (so it can do PLAIN, SCRAM-*, DIGEST-MD5) and bearer
# tokens with its oauth2 passdb, whose introspection URL points at a tiny
# Python endpoint served here on 127.0.0.1. Nothing leaves the loopback.
set -u
# Only for dovecot_services; this script keeps its own helpers and cleanup.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MECHS=${MECHS:-"PLAIN SCRAM-SHA-1 SCRAM-SHA-256 DIGEST-MD5 OAUTHBEARER XOAUTH2"}
IMTEST=${IMTEST:-/usr/lib/cyrus/bin/imtest}
CLIENT_TIMEOUT=20

USER_NAME=alice
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'
# A legal RFC 6750 bearer token (RFC 7628's example) and a wrong one.
TOKEN='vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=='
WRONG_TOKEN='expired-token.0123456789'

die() { echo "dovecot.sh: $*" >&2; exit 2; }

LIBDIR=
if [ $# -gt 1 ]; then
    die "usage: $0 [LIBDIR]"
elif [ $# -eq 1 ]; then
    [ -f "$1/libsasl2.so.2" ] || die "$1/libsasl2.so.2 not found"
    LIBDIR=$(cd "$1" && pwd) || die "cannot enter $1"
fi

# --- what we need -----------------------------------------------------------
need_install=
command -v dovecot >/dev/null 2>&1 || need_install=1
[ -x "$IMTEST" ] || need_install=1
command -v python3 >/dev/null 2>&1 || need_install=1
if [ -n "$need_install" ]; then
    [ "$(id -u)" = 0 ] || die "dovecot-imapd, cyrus-clients and python3 are needed (run as root to install them)"
    echo "# installing dovecot-imapd cyrus-clients python3" >&2
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update && apt-get install -y dovecot-imapd cyrus-clients python3; } >&2 ||
        die "apt-get install failed"
fi
[ -x "$IMTEST" ] || die "$IMTEST missing after install"
[ "$(id -u)" = 0 ] || die "must run as root (dovecot switches to its own users)"
{ id dovecot && id dovenull; } >/dev/null 2>&1 ||
    die "users dovecot and dovenull missing (they come with dovecot-core)"

# --- scratch directory and cleanup ------------------------------------------
D=$(mktemp -d /tmp/dovecot-interop.XXXXXX) || die "mktemp failed"
chmod 0755 "$D"   # the mail user must reach its home below it
DOVECOT_PID=
HTTP_PID=
cleanup() {
    local pid
    for pid in $DOVECOT_PID $HTTP_PID; do
        kill "$pid" 2>/dev/null && {
            # Dovecot stops its children itself on SIGTERM; give it a moment.
            for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -KILL "$pid" 2>/dev/null
        }
    done
    wait 2>/dev/null
    if [ "${KEEP:-}" = 1 ]; then
        echo "# kept $D" >&2
    else
        rm -rf "$D"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something listens on 127.0.0.1:PORT (10 s at most).
wait_port() {
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}

# --- token introspection endpoint -------------------------------------------
cat >"$D/introspect.py" <<'EOF'
"""RFC 7662-style token introspection for Dovecot's oauth2 passdb.

usage: introspect.py TOKEN USER PORTFILE
Answers {"active": true, "username": USER} for TOKEN, {"active": false}
otherwise. The token comes as "Authorization: Bearer" (introspection_mode =
auth), as a POST form field "token" or a "token" query parameter.
"""
import http.server
import json
import os
import sys
import urllib.parse

TOKEN, USER, PORTFILE = sys.argv[1:4]


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, token):
        if self.path.startswith("/.well-known/openid-configuration"):
            doc = {"issuer": "http://127.0.0.1/", "token_endpoint": "http://127.0.0.1/token"}
        else:
            ok = token == TOKEN
            doc = {"active": True, "username": USER} if ok else {"active": False}
            sys.stderr.write("introspection: token %s\n" % ("accepted" if ok else "refused"))
        body = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def bearer(self):
        auth = self.headers.get("Authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        token = self.bearer()
        self.answer(token if token is not None else query.get("token", [""])[0])

    def do_POST(self):
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        token = self.bearer()
        self.answer(token if token is not None else form.get("token", [""])[0])

    def log_message(self, fmt, *args):
        sys.stderr.write("http: " + (fmt % args) + "\n")


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_port))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
EOF

python3 "$D/introspect.py" "$TOKEN" "$USER_NAME" "$D/http.port" 2>"$D/http.log" &
HTTP_PID=$!
for _ in $(seq 50); do [ -s "$D/http.port" ] && break; sleep 0.2; done
[ -s "$D/http.port" ] || die "introspection endpoint did not start: $(cat "$D/http.log")"
HTTP_PORT=$(cat "$D/http.port")

# --- dovecot ----------------------------------------------------------------
mkdir -p "$D/run" "$D/state" "$D/home"
chown dovecot:dovecot "$D/home"
printf '%s:{PLAIN}%s\n' "$USER_NAME" "$PASSWORD" >"$D/passwd"
chmod 0644 "$D/passwd"

cat >"$D/oauth2.conf.ext" <<EOF
introspection_mode = auth
introspection_url = http://127.0.0.1:$HTTP_PORT/introspect
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
openid_configuration_url = http://127.0.0.1:$HTTP_PORT/.well-known/openid-configuration
timeout_msecs = 5000
EOF

write_config() {
    cat >"$D/dovecot.conf" <<EOF
base_dir = $D/run
state_dir = $D/state
instance_name = dovecot-interop-$$
log_path = $D/dovecot.log
auth_verbose = yes
auth_debug = yes
auth_failure_delay = 0
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login scram-sha-1 scram-sha-256 digest-md5 cram-md5 oauthbearer xoauth2
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:~/Maildir
login_greeting = dovecot-interop ready.

passdb {
  driver = passwd-file
  args = scheme=PLAIN $D/passwd
  mechanisms = plain login scram-sha-1 scram-sha-256 digest-md5 cram-md5
}
passdb {
  driver = oauth2
  args = $D/oauth2.conf.ext
  mechanisms = oauthbearer xoauth2
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$D/home/%n
}

$(dovecot_services "$IMAP_PORT")
# No brute-force penalty: the wrong-secret cases would slow the next ones.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
}

started=
for _ in 1 2 3; do
    IMAP_PORT=$(free_port)
    write_config
    doveconf -c "$D/dovecot.conf" -n >"$D/doveconf.out" 2>&1 ||
        die "dovecot rejects the configuration: $(cat "$D/doveconf.out")"
    dovecot -F -c "$D/dovecot.conf" >"$D/dovecot.out" 2>&1 &
    DOVECOT_PID=$!
    if wait_port "$IMAP_PORT" && kill -0 "$DOVECOT_PID" 2>/dev/null; then
        started=1
        break
    fi
    kill "$DOVECOT_PID" 2>/dev/null
    wait "$DOVECOT_PID" 2>/dev/null
    DOVECOT_PID=
done
[ -n "$started" ] || die "dovecot did not start: $(tail -5 "$D/dovecot.log" "$D/dovecot.out" 2>/dev/null)"
echo "# dovecot $(dovecot --version) on 127.0.0.1:$IMAP_PORT, introspection on :$HTTP_PORT," \
     "libsasl2 from ${LIBDIR:-the system}" >&2

# --- harness self-check: the OAuth server side, without any SASL library ----
cat >"$D/rawimap.py" <<'EOF'
"""Raw IMAP AUTHENTICATE with a hand-made initial response.

usage: rawimap.py PORT MECH USER TOKEN
Prints the server's lines; exits 0 iff the server said OK.
"""
import base64
import socket
import sys

port, mech, user, token = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
if mech == "OAUTHBEARER":
    msg = "n,a=%s,\x01host=127.0.0.1\x01port=%d\x01auth=Bearer %s\x01\x01" % (user, port, token)
else:
    msg = "user=%s\x01auth=Bearer %s\x01\x01" % (user, token)
sock = socket.create_connection(("127.0.0.1", port), timeout=15)
f = sock.makefile("rb")
print(f.readline().decode().rstrip())
sock.sendall(b"a AUTHENTICATE " + mech.encode() + b" " + base64.b64encode(msg.encode()) + b"\r\n")
ok = False
while True:
    line = f.readline().decode()
    if not line:
        break
    print(line.rstrip())
    if line.startswith("+ "):
        print("  challenge: " + base64.b64decode(line[2:].strip()).decode("utf-8", "replace"))
        sock.sendall(b"AQ==\r\n")  # a single 0x01, as RFC 7628 wants
    elif line.startswith("a "):
        ok = line.startswith("a OK")
        break
sock.sendall(b"b LOGOUT\r\n")
sys.exit(0 if ok else 1)
EOF

for mech in $MECHS; do
    case $mech in OAUTHBEARER | XOAUTH2) ;; *) continue ;; esac
    timeout "$CLIENT_TIMEOUT" python3 "$D/rawimap.py" "$IMAP_PORT" "$mech" "$USER_NAME" "$TOKEN" \
        >"$D/raw-$mech-right.out" 2>&1 ||
        die "harness: Dovecot refuses a correct $mech message: $(cat "$D/raw-$mech-right.out"; tail -20 "$D/dovecot.log")"
    if timeout "$CLIENT_TIMEOUT" python3 "$D/rawimap.py" "$IMAP_PORT" "$mech" "$USER_NAME" "$WRONG_TOKEN" \
        >"$D/raw-$mech-wrong.out" 2>&1; then
        die "harness: Dovecot accepts a wrong $mech token: $(cat "$D/raw-$mech-wrong.out")"
    fi
    echo "# harness: Dovecot's $mech accepts the right token and refuses a wrong one (raw IMAP)" >&2
done

# --- the cases --------------------------------------------------------------
passed=0
failed=0

# run_case MECH right|wrong SECRET
run_case() {
    local mech=$1 kind=$2 secret=$3 out="$D/imtest-$1-$2.out" rc verdict=FAIL why
    (
        cd "$D" || exit 2
        if [ -n "$LIBDIR" ]; then export LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
        exec timeout -k 5 "$CLIENT_TIMEOUT" "${VALGRIND[@]}" "$IMTEST" -a "$USER_NAME" -w "$secret" -m "$mech" \
            -p "$IMAP_PORT" 127.0.0.1 </dev/null
    ) >"$out" 2>&1
    rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        why="imtest timed out"
    elif [ "$rc" -gt 128 ]; then
        why="imtest died of signal $((rc - 128))"
    elif grep -q '^Authenticated\.' "$out"; then
        if [ "$kind" = right ]; then verdict=PASS; else why="authenticated with a wrong secret"; fi
    elif grep -q '^S: [A-Z0-9]* NO \[AUTHENTICATIONFAILED\]' "$out"; then
        # Refused by the server, so the exchange itself ran.
        if [ "$kind" = wrong ]; then verdict=PASS; else why="the server refused the right secret"; fi
    elif grep -qi 'Authentication failed' "$out"; then
        why="the client gave up before the server judged the secret"
    else
        why="imtest neither authenticated nor reported a failure (exit $rc)"
    fi
    echo "$verdict $mech $kind"
    if [ "$verdict" = PASS ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "  $why; imtest said:"
        sed -e 's/^/    | /' "$out" | tail -15
    fi
    if [ "$kind" = wrong ]; then
        # What the user is told: the client's failure line and the server's NO.
        grep -i -E 'Authentication failed|^S: [A-Z0-9]+ NO ' "$out" | sed -e 's/^/  said: /' | head -3
        # The server's error challenge (OAuth's JSON document), decoded.
        case $mech in
            OAUTHBEARER | XOAUTH2)
                sed -n -e 's/^S: + \([A-Za-z0-9+\/=]\{1,\}\).*$/\1/p' "$out" | head -3 |
                    while read -r b64; do
                        printf '  server challenge: %s\n' \
                            "$(printf '%s' "$b64" | base64 -d 2>/dev/null | tr -c '[:print:]' '?')"
                    done
                ;;
        esac
    fi
    if [ "${VERBOSE:-}" = 1 ] && [ "$verdict" = PASS ]; then
        sed -e 's/^/    | /' "$out"
    fi
}

for mech in $MECHS; do
    case $mech in
        OAUTHBEARER | XOAUTH2) right=$TOKEN wrong=$WRONG_TOKEN ;;
        *) right=$PASSWORD wrong=$WRONG_PASSWORD ;;
    esac
    run_case "$mech" right "$right"
    run_case "$mech" wrong "$wrong"
done

if [ "$failed" -gt 0 ]; then
    echo "# dovecot log (last lines):"
    tail -25 "$D/dovecot.log" | sed -e 's/^/    | /'
    [ "${KEEP:-}" = 1 ] || echo "# run with KEEP=1 to keep the transcripts and logs"
fi
echo "dovecot: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
