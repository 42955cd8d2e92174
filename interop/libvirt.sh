#!/usr/bin/env bash
# Interop test: virsh, unchanged, against private libvirtd instances over TCP
# with SASL, where libvirt insists on a security layer (SSF >= 56): every RPC
# message after authentication goes through sasl_encode/sasl_decode.
#
#   interop/libvirt.sh [LIBDIR|system]
#
# Two libvirtd (their Cyrus server side, the system's library; libvirt's
# built-in test driver only) listen on 127.0.0.1: one offers DIGEST-MD5 on a
# private sasldb, the other GSSAPI on a private MIT KDC (interop/krb5kdc.bash,
# service libvirt/127.0.0.1). virsh answers the library's prompts
# (SASL_INTERACT) from a libvirt auth file, or uses its Kerberos ticket.
# Cases, through LD_LIBRARY_PATH and LD_PRELOAD, for each mechanism:
#   right    `virsh list`; libvirtd's log must show the mechanism, the SSF it
#            negotiated (at least 56) and the identity allowed;
#   wrong    a wrong password (DIGEST-MD5) or no ticket (GSSAPI): virsh
#            fails, libvirtd allows no one;
#   layer    a domain defined with a 200 KB description and read back in the
#            same connection (messages of several layer packets both ways):
#            the description must come back byte for byte.
# libvirtd and the KDC run in the foreground and are stopped by their pids.
set -u
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=krb5kdc.bash
. "$(dirname "$0")/krb5kdc.bash"
interop_init libvirt "${1:-system}"
need_pkgs libvirt-daemon libvirt-clients sasl2-bin libsasl2-modules libsasl2-modules-db \
    krb5-kdc krb5-admin-server krb5-user libsasl2-modules-gssapi-mit
[ "$(id -u)" = 0 ] || die "must run as root (libvirtd's system instance)"

USER_NAME=alice
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'

kdc_start "$T/kdc" || die "the KDC did not start"
BG_PIDS+=("$KDC_PID")
# libvirtd gives Cyrus no server name, so Cyrus's GSSAPI acceptor wants
# libvirt/<this machine's name>; virsh asks for libvirt/127.0.0.1 (the URI's
# host). MIT's acceptor may take any key of the service instead.
sed -i 's/^\[libdefaults\]$/[libdefaults]\n    ignore_acceptor_hostname = true/' "$KRB5_CONFIG"
kdc_user "$USER_NAME" "$PASSWORD" && kdc_service libvirt/127.0.0.1 || die "kadmin.local failed: $(tail -n 3 "$T/kdc/kadmin.log")"
kdc_kinit "$USER_NAME" "$PASSWORD" || die "kinit failed: $(tail -n 3 "$T/kdc/kinit.log")"
TICKET=$KRB5CCNAME
NO_TICKET=FILE:$T/kdc/empty-ccache

# start_libvirtd MECH SASLCONF: a libvirtd offering MECH; sets PORT[MECH].
declare -A PORT
start_libvirtd() {
    local mech=$1 dir="$T/$1" port
    mkdir -p "$dir/sasl" "$dir/run" "$dir/drivers"
    printf '%s\n' "$2" >"$dir/sasl/libvirt.conf"
    port=$(free_port)
    cat >"$dir/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$port"
auth_tcp = "sasl"
unix_sock_dir = "$dir/run"
log_outputs = "1:file:$dir/libvirtd.log"
log_filters = "1:rpc.netsasl 1:daemon.remote 4:*"
EOF
    # An empty driver directory: only the built-in test driver, no QEMU.
    LIBVIRT_DRIVER_DIR=$dir/drivers SASL_CONF_PATH=$dir/sasl \
        bg libvirtd --listen -f "$dir/libvirtd.conf" -p "$dir/libvirtd.pid" >"$dir/libvirtd.out" 2>&1
    wait_for_port "$port" || die "libvirtd ($mech) did not start: $(tail -3 "$dir/libvirtd.out" "$dir/libvirtd.log" 2>/dev/null)"
    PORT[$mech]=$port
}
mkdir -p "$T/DIGEST-MD5"
printf '%s' "$PASSWORD" | saslpasswd2 -p -f "$T/DIGEST-MD5/passwd.db" -a libvirt -c "$USER_NAME" || die "saslpasswd2 failed"
start_libvirtd DIGEST-MD5 "mech_list: digest-md5
sasldb_path: $T/DIGEST-MD5/passwd.db"
# The service key from KRB5_KTNAME, which kdc_start exported.
start_libvirtd GSSAPI "mech_list: gssapi"
echo "# $(libvirtd --version) on 127.0.0.1 (test driver): DIGEST-MD5 on :${PORT[DIGEST-MD5]}, GSSAPI on :${PORT[GSSAPI]}; $(virsh --version)"

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

# virsh_run MODE MECH CASE ARGS...: virsh under the library against MECH's
# libvirtd (the right or wrong password, the ticket or none, as CASE says);
# the libvirtd log lines the run added go to $T/MODE-MECH-CASE.log.
virsh_run() {
    local mode=$1 mech=$2 case=$3 log="$T/$2/libvirtd.log" from ccache=$TICKET auth="$T/auth-right.conf"
    shift 3
    [ "$case" = wrong ] && { auth="$T/auth-wrong.conf"; ccache=$NO_TICKET; }
    from=$(log_size "$log")
    client_env "$mode"
    env LIBVIRT_AUTH_FILE="$auth" KRB5CCNAME="$ccache" "${CLIENT_ENV[@]}" timeout -k 5 60 \
        virsh -q -c "test+tcp://127.0.0.1:${PORT[$mech]}/default" "$@" \
        >"$T/$mode-$mech-$case.out" 2>"$T/$mode-$mech-$case.err"
    local rc=$?
    # libvirtd logs the outcome before it answers; a refusal may come later.
    wait_log "$log" "$from" "RPC_SERVER_CLIENT_AUTH_\|authentication failed" >"$T/$mode-$mech-$case.log"
    return $rc
}

# server_ok MECH LOG: MECH with a layer of SSF >= 56, the identity allowed.
server_ok() {
    local ssf
    ssf=$(sed -n 's/.*negotiated an SSF of \([0-9]*\).*/\1/p' "$2" | head -1)
    grep -q "Using SASL mechanism $1" "$2" && [ "${ssf:-0}" -ge 56 ] &&
        grep -q "RPC_SERVER_CLIENT_AUTH_ALLOW: .*identity=$USER_NAME" "$2"
}

for mode in ldpath preload; do
    client_env "$mode"
    check_linkage "$mode/linkage" "$(command -v virsh)"
    for mech in DIGEST-MD5 GSSAPI; do
        base="$T/$mode-$mech"
        if virsh_run "$mode" "$mech" right list --all && grep -q ' test ' "$base-right.out" &&
            server_ok "$mech" "$base-right.log"; then
            echo "# $mode $mech: libvirtd $(sed -n 's/.*\(negotiated an SSF of [0-9]*\).*/\1/p' "$base-right.log" | head -1)"
            pass "$mode/$mech/right"
        else
            fail "$mode/$mech/right" "virsh: $(tail -2 "$base-right.err"); libvirtd: $(grep -i 'sasl\|auth' "$base-right.log" | tail -3)"
        fi

        if ! virsh_run "$mode" "$mech" wrong list --all && ! grep -q "RPC_SERVER_CLIENT_AUTH_ALLOW" "$base-wrong.log" &&
            grep -qi "authentication failed" "$base-wrong.err"; then
            pass "$mode/$mech/wrong"
        else
            fail "$mode/$mech/wrong" "virsh: $(tail -2 "$base-wrong.err"); libvirtd: $(grep -i 'auth' "$base-wrong.log" | tail -3)"
        fi

        # One connection: define (the 200 KB goes out), read back, undefine.
        if virsh_run "$mode" "$mech" layer "define $T/big.xml; dumpxml big; undefine big" &&
            server_ok "$mech" "$base-layer.log" &&
            python3 - "$base-layer.out" "$T/big.desc" <<'EOF'
import re, sys
out, want = open(sys.argv[1]).read(), open(sys.argv[2]).read()
m = re.search(r"<description>(.*?)</description>", out, re.S)
sys.exit(0 if m and m.group(1) == want else 1)
EOF
        then
            pass "$mode/$mech/layer-200KB"
        else
            fail "$mode/$mech/layer-200KB" "virsh: $(tail -2 "$base-layer.err"); output $(wc -c <"$base-layer.out") bytes"
        fi
    done
done
summary
