#!/bin/bash
# Interop test: gtk-vnc's libgvnc (Debian's libgvnc-1.0-0, unchanged; driven
# by interop/peer/vnc_client.py through ctypes) against QEMU's VNC server
# with SASL (RFB security type 20; QEMU's server side is the system's
# Cyrus). Without TLS, libgvnc asks the library for an SSF of at least 56
# and QEMU refuses less, so everything after the exchange (the server's
# init message, the client's requests, a 640x480 screen in raw encoding,
# 1.2 MB) goes through the security layer.
#
#   interop/vnc.sh [LIBDIR|system]
#
# Three QEMU (no guest: a paused PC whose VGA shows QEMU's placeholder
# text) on 127.0.0.1, each with its own SASL configuration (SASL_CONF_PATH):
# DIGEST-MD5 on a private sasldb; SCRAM-SHA-256, SCRAM-SHA-1, DIGEST-MD5,
# CRAM-MD5 and PLAIN, of which the library must choose DIGEST-MD5, the only
# one with a layer; GSSAPI on a private MIT KDC (interop/krb5kdc.bash).
# Cases, through LD_LIBRARY_PATH and LD_PRELOAD:
#   right   QEMU's trace log shows the mechanism, an SSF of 56 or more, the
#           user and the authentication passed; the screen the client got
#           through the layer is byte for byte QEMU's own screendump; the
#           client mapped the library under test;
#   wrong   a wrong password: the client fails and QEMU logs the
#           authentication failed; GSSAPI without a ticket: the client fails
#           before its first step, after QEMU sent its mechanism list, and
#           QEMU lets no one in.
# QEMU and the KDC run in the foreground and are stopped by their pids.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=krb5kdc.bash
. "$(dirname "$0")/krb5kdc.bash"
interop_init vnc "${1:-}"
need_pkgs qemu-system-x86 libgvnc-1.0-0 sasl2-bin libsasl2-modules libsasl2-modules-db \
    krb5-kdc krb5-admin-server krb5-user libsasl2-modules-gssapi-mit

PY=/usr/bin/python3 # Debian's: libgvnc through ctypes
USER_NAME=alice
PASSWORD='vnc-Pa55word'

kdc_start "$T/kdc" || die "the KDC did not start"
BG_PIDS+=("$KDC_PID")
# QEMU gives Cyrus no server name, so Cyrus's GSSAPI acceptor wants
# vnc/<this machine's name>; libgvnc asks for vnc/127.0.0.1 (the host it
# connects to). MIT's acceptor may take any key of the service instead.
sed -i 's/^\[libdefaults\]$/[libdefaults]\n    ignore_acceptor_hostname = true/' "$KRB5_CONFIG"
{ kdc_user "$USER_NAME" "$PASSWORD" && kdc_service vnc/127.0.0.1; } || die "kadmin.local failed: $(tail -n 3 "$T/kdc/kadmin.log")"
kdc_kinit "$USER_NAME" "$PASSWORD" || die "kinit failed: $(tail -n 3 "$T/kdc/kinit.log")"
TICKET=$KRB5CCNAME
NO_TICKET=FILE:$T/kdc/empty-ccache

# The users' realm is this machine's name, as QEMU names no realm.
printf '%s' "$PASSWORD" | saslpasswd2 -p -c -f "$T/sasldb" -a qemu "$USER_NAME" || die "saslpasswd2 failed"

# start_qemu NAME MECHS: a QEMU whose VNC server offers MECHS (Cyrus's
# mech_list); sets PORT[NAME]; its trace log is $T/NAME/trace.log and its
# screen, as QEMU itself dumps it, $T/NAME/screen.ppm.
declare -A PORT
start_qemu() {
    local name=$1 dir=$T/$1 display port
    mkdir -p "$dir"
    printf 'mech_list: %s\nsasldb_path: %s\n' "$2" "$T/sasldb" >"$dir/qemu.conf"
    display=$(python3 -c 'import socket
for d in range(50, 1000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 5900 + d)); print(d); break
    except OSError:
        pass')
    port=$((5900 + display))
    # -S: no guest code runs; the VGA shows QEMU's placeholder text.
    SASL_CONF_PATH=$dir bg qemu-system-x86_64 -machine pc,accel=tcg -m 16 -nodefaults -device VGA -S \
        -display none -vnc "127.0.0.1:$display,sasl=on" -monitor "unix:$dir/monitor,server=on,wait=off" \
        -serial none -trace 'vnc_auth_*' -D "$dir/trace.log" >"$dir/qemu.out" 2>&1
    { wait_for_port "$port" && wait_for_socket "$dir/monitor"; } ||
        die "QEMU ($name) did not start: $(tail -n 3 "$dir/qemu.out")"
    "$PY" - "$dir/monitor" "$dir/screen.ppm" <<'EOF' || die "no screendump from QEMU ($name)"
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"screendump %s\n" % sys.argv[2].encode())
for _ in range(100):
    if os.path.exists(sys.argv[2]) and os.path.getsize(sys.argv[2]) >= 640 * 480 * 3:
        sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
EOF
    # The pixels, without the PPM header (P6, size, depth).
    tail -n +4 "$dir/screen.ppm" >"$dir/screen.rgb"
    PORT[$name]=$port
}
start_qemu digest digest-md5
start_qemu all "scram-sha-256 scram-sha-1 digest-md5 cram-md5 plain"
start_qemu gssapi gssapi
echo "# $(qemu-system-x86_64 --version | head -n 1): digest :${PORT[digest]}, all :${PORT[all]}, gssapi :${PORT[gssapi]}"

# run_case MODE SERVER MECH right|wrong: the client against SERVER, which
# must see MECH.
run_case() {
    local mode=$1 server=$2 mech=$3 want=$4 case=vnc/$1/$2-$4 trace=$T/$2/trace.log
    local out=$T/$1-$2-$4 from rc=0 why="" secret=$PASSWORD ccache=$TICKET log
    [ "$want" = wrong ] && { secret=not-the-password; ccache=$NO_TICKET; }
    from=$(log_size "$trace")
    env KRB5CCNAME="$ccache" "${CLIENT_ENV[@]}" timeout -k 5 60 "$PY" "$HERE/peer/vnc_client.py" \
        127.0.0.1 "${PORT[$server]}" "$USER_NAME" "$secret" "$out.rgb" >"$out.out" 2>&1 || rc=$?
    # Without a ticket the exchange ends in the client, before any step.
    if [ "$want$mech" = wrongGSSAPI ]; then
        log=$(wait_log "$trace" "$from" "vnc_auth_sasl_mech_list")
    else
        log=$(wait_log "$trace" "$from" "vnc_auth_pass\|vnc_auth_fail")
    fi
    local ssf
    ssf=$(sed -n 's/.*vnc_auth_sasl_ssf .* size=\([0-9]*\).*/\1/p' <<<"$log" | tail -n 1)
    if [ "$want" = right ]; then
        if [ "$rc" != 0 ]; then
            why="exit $rc: $(tail -n 2 "$out.out")"
        elif ! grep -q "vnc_auth_sasl_mech_choose .* mech=$mech\$" <<<"$log"; then
            why="QEMU did not see $mech: $(grep -a 'mech_choose\|auth_fail' <<<"$log" | tail -n 2)"
        elif [ "${ssf:-0}" -lt 56 ]; then
            why="SSF '${ssf}' in QEMU's log, want 56 or more"
        elif ! grep -q "vnc_auth_sasl_username .* name=$USER_NAME\(@.*\)\?\$" <<<"$log" || ! grep -q vnc_auth_pass <<<"$log"; then
            why="QEMU did not let $USER_NAME in: $(tail -n 2 <<<"$log")"
        elif ! cmp -s "$out.rgb" "$T/$server/screen.rgb"; then
            why="the screen received through the layer differs from QEMU's screendump"
        elif [ "$OURS" != "$CYRUS" ] && ! grep -qF "maps $OURS" "$out.out"; then
            why="the client did not map $OURS: $(grep maps "$out.out")"
        else
            echo "# $mode $server: $mech, SSF $ssf"
        fi
    else
        if [ "$rc" = 0 ]; then
            why="the client got in"
        elif grep -q vnc_auth_pass <<<"$log"; then
            why="QEMU let the client in: $(tail -n 2 <<<"$log")"
        elif [ "$mech" = GSSAPI ] && ! grep -q vnc_auth_sasl_mech_list <<<"$log"; then
            why="the client did not reach QEMU's SASL exchange: $(tail -n 2 <<<"$log")"
        elif [ "$mech" != GSSAPI ] && ! grep -q "vnc_auth_fail .*authentication failure" <<<"$log"; then
            why="no failed authentication in QEMU's log: $(tail -n 2 <<<"$log")"
        elif ! grep -q "authentication failed" "$out.out"; then
            why="the client did not report a failed authentication: $(tail -n 2 "$out.out")"
        fi
    fi
    if [ -z "$why" ]; then pass "$case"; else fail "$case" "$why"; fi
}

GVNC=$(ldconfig -p | awk '$1 == "libgvnc-1.0.so.0" {print $NF; exit}')
for mode in ldpath preload; do
    client_env "$mode"
    check_linkage "vnc/$mode/linkage" "$GVNC"
    for kind in right wrong; do
        run_case "$mode" digest DIGEST-MD5 "$kind"
        run_case "$mode" all DIGEST-MD5 "$kind"
        run_case "$mode" gssapi GSSAPI "$kind"
    done
done
summary
