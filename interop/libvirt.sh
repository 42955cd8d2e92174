#!/usr/bin/env bash
# Interop test: virsh, unchanged, against a private libvirtd over TCP with
# SASL, where libvirt insists on a security layer (SSF >= 56): every RPC
# message after authentication goes through sasl_encode/sasl_decode.
#
#   interop/libvirt.sh [LIBDIR|system]
#
# libvirtd (its Cyrus server side, the system's library, on a private
# sasldb offering DIGEST-MD5) listens on 127.0.0.1 with libvirt's built-in
# test driver only; virsh answers the library's prompts (SASL_INTERACT) from
# a libvirt auth file. Cases, through LD_LIBRARY_PATH and LD_PRELOAD:
#   right    `virsh list`; libvirtd's log must show DIGEST-MD5, the SSF it
#            negotiated (at least 56) and the identity allowed;
#   wrong    a wrong password: virsh fails, libvirtd logs the refusal;
#   layer    a domain defined with a 200 KB description and read back in the
#            same connection (messages of several layer packets both ways):
#            the description must come back byte for byte.
# libvirtd runs in the foreground and is stopped by its pid.
set -u
. "$(dirname "$0")/lib.sh"
interop_init libvirt "${1:-system}"
need_pkgs libvirt-daemon libvirt-clients sasl2-bin libsasl2-modules libsasl2-modules-db
[ "$(id -u)" = 0 ] || die "must run as root (libvirtd's system instance)"

USER_NAME=alice
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'

mkdir -p "$T/sasl" "$T/run" "$T/drivers"
printf '%s' "$PASSWORD" | saslpasswd2 -p -f "$T/sasl/passwd.db" -a libvirt -c "$USER_NAME" || die "saslpasswd2 failed"
printf 'mech_list: digest-md5\nsasldb_path: %s\n' "$T/sasl/passwd.db" >"$T/sasl/libvirt.conf"
PORT=$(free_port)
cat >"$T/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$PORT"
auth_tcp = "sasl"
unix_sock_dir = "$T/run"
log_outputs = "1:file:$T/libvirtd.log"
log_filters = "1:rpc.netsasl 1:daemon.remote 4:*"
EOF
# An empty driver directory: only the built-in test driver, no QEMU.
LIBVIRT_DRIVER_DIR=$T/drivers SASL_CONF_PATH=$T/sasl \
    bg libvirtd --listen -f "$T/libvirtd.conf" -p "$T/libvirtd.pid" >"$T/libvirtd.out" 2>&1
wait_for_port "$PORT" || die "libvirtd did not start: $(tail -3 "$T/libvirtd.out" "$T/libvirtd.log" 2>/dev/null)"
URI="test+tcp://127.0.0.1:$PORT/default"
echo "# $(libvirtd --version) on 127.0.0.1:$PORT (test driver, SASL DIGEST-MD5); $(virsh --version)"

for kind in right wrong; do
    secret=$PASSWORD
    [ "$kind" = wrong ] && secret=$WRONG_PASSWORD
    printf '[credentials-interop]\nauthname=%s\npassword=%s\n\n[auth-libvirt-127.0.0.1]\ncredentials=interop\n' \
        "$USER_NAME" "$secret" >"$T/auth-$kind.conf"
done

# The domain of the layer case: the test driver's own, renamed, with a
# description of 200 KB (printable, so it comes back as written).
python3 - "$T/big.xml" "$T/big.desc" <<'EOF'
import random, sys
random.seed(7)
desc = "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(200 * 1024))
open(sys.argv[2], "w").write(desc)
open(sys.argv[1], "w").write(
    "<domain type='test'><name>big</name><memory>8192</memory><os><type>hvm</type></os>"
    "<description>%s</description></domain>" % desc)
EOF

# virsh_run MODE CASE AUTHFILE ARGS...: virsh under the library; prints the
# libvirtd log lines the run added on fd 3, virsh's output on stdout.
virsh_run() {
    local mode=$1 case=$2 auth=$3 from
    shift 3
    from=$(($(stat -c %s "$T/libvirtd.log") + 1))
    client_env "$mode"
    env "${CLIENT_ENV[@]}" LIBVIRT_AUTH_FILE="$auth" timeout -k 5 60 virsh -q -c "$URI" "$@" \
        >"$T/$mode-$case.out" 2>"$T/$mode-$case.err"
    local rc=$?
    sleep 0.2
    tail -c +"$from" "$T/libvirtd.log" >"$T/$mode-$case.log"
    return $rc
}

# server_ok LOG: DIGEST-MD5 with a layer of SSF >= 56, identity allowed.
server_ok() {
    local ssf
    ssf=$(sed -n 's/.*negotiated an SSF of \([0-9]*\).*/\1/p' "$1" | head -1)
    grep -q "Using SASL mechanism DIGEST-MD5" "$1" && [ "${ssf:-0}" -ge 56 ] &&
        grep -q "RPC_SERVER_CLIENT_AUTH_ALLOW: .*identity=$USER_NAME" "$1"
}

for mode in ldpath preload; do
    client_env "$mode"
    check_linkage "$mode/linkage" "$(command -v virsh)"

    if virsh_run "$mode" right "$T/auth-right.conf" list --all && grep -q ' test ' "$T/$mode-right.out" &&
        server_ok "$T/$mode-right.log"; then
        echo "# $mode: libvirtd $(sed -n 's/.*\(negotiated an SSF of [0-9]*\).*/\1/p' "$T/$mode-right.log" | head -1)"
        pass "$mode/DIGEST-MD5/right"
    else
        fail "$mode/DIGEST-MD5/right" "virsh: $(tail -2 "$T/$mode-right.err"); libvirtd: $(grep -i 'sasl\|auth' "$T/$mode-right.log" | tail -3)"
    fi

    if ! virsh_run "$mode" wrong "$T/auth-wrong.conf" list --all &&
        grep -q "RPC_SERVER_CLIENT_AUTH_FAIL" "$T/$mode-wrong.log" &&
        ! grep -q "RPC_SERVER_CLIENT_AUTH_ALLOW" "$T/$mode-wrong.log"; then
        pass "$mode/DIGEST-MD5/wrong"
    else
        fail "$mode/DIGEST-MD5/wrong" "virsh: $(tail -2 "$T/$mode-wrong.err"); libvirtd: $(grep -i 'auth' "$T/$mode-wrong.log" | tail -3)"
    fi

    # One connection: define (the 200 KB goes out), read back, undefine.
    if virsh_run "$mode" layer "$T/auth-right.conf" \
        "define $T/big.xml; dumpxml big; undefine big" && server_ok "$T/$mode-layer.log" &&
        python3 - "$T/$mode-layer.out" "$T/big.desc" <<'EOF'
import re, sys
out, want = open(sys.argv[1]).read(), open(sys.argv[2]).read()
m = re.search(r"<description>(.*?)</description>", out, re.S)
sys.exit(0 if m and m.group(1) == want else 1)
EOF
    then
        pass "$mode/DIGEST-MD5/layer-200KB"
    else
        fail "$mode/DIGEST-MD5/layer-200KB" "virsh: $(tail -2 "$T/$mode-layer.err"); output $(wc -c <"$T/$mode-layer.out") bytes"
    fi
done
summary
