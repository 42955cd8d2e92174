# shellcheck shell=bash
# A private MIT Kerberos KDC in a folder, on 127.0.0.1, for tests: sourced by
# interop/krb5.sh and ctests/with-kdc.sh (not a test itself).
#
#   kdc_start DIR         create realm $KDC_REALM in DIR and start krb5kdc;
#                         exports KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME
#                         (a FILE: cache in DIR), KRB5_KTNAME (the services'
#                         keytab, DIR/services.keytab) and KRB5RCACHEDIR (the
#                         acceptors' replay cache, in DIR: a stuck process of
#                         another run cannot hold its lock); sets KDC_PID and
#                         KDC_PORT
#   kdc_user NAME PW      a user principal with a password
#   kdc_service NAME...   service principals (e.g. ldap/127.0.0.1), random
#                         keys, added to the services' keytab
#   kdc_kinit NAME PW [KINIT-ARGS...]  a ticket into $KRB5CCNAME
#   kdc_stop              stop krb5kdc (by its pid)
#
# Facts found by trying: the KDC and the tools read KRB5_CONFIG and
# KRB5_KDC_PROFILE; "krb5kdc -n" stays in the foreground; host names are
# used as given (no DNS canonicalisation, no reverse lookup), so service
# principals are service/127.0.0.1 or service/localhost.

KDC_REALM=${KDC_REALM:-SASL2RS.TEST}
KDC_PID=

kdc_start() {
    KDC_DIR=$1
    mkdir -p "$KDC_DIR"
    local port
    KDC_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    port=$KDC_PORT
    cat >"$KDC_DIR/krb5.conf" <<EOF
[libdefaults]
    default_realm = $KDC_REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    forwardable = true
[realms]
    $KDC_REALM = {
        kdc = 127.0.0.1:$port
    }
[domain_realm]
    127.0.0.1 = $KDC_REALM
    localhost = $KDC_REALM
EOF
    cat >"$KDC_DIR/kdc.conf" <<EOF
[kdcdefaults]
    kdc_listen = 127.0.0.1:$port
    kdc_tcp_listen = 127.0.0.1:$port
[realms]
    $KDC_REALM = {
        database_name = $KDC_DIR/principal
        key_stash_file = $KDC_DIR/stash
        acl_file = $KDC_DIR/kadm5.acl
        max_life = 1d
    }
[logging]
    kdc = FILE:$KDC_DIR/kdc.log
EOF
    export KRB5_CONFIG=$KDC_DIR/krb5.conf KRB5_KDC_PROFILE=$KDC_DIR/kdc.conf
    export KRB5CCNAME=FILE:$KDC_DIR/ccache KRB5_KTNAME=FILE:$KDC_DIR/services.keytab KRB5RCACHEDIR=$KDC_DIR
    kdb5_util create -s -r "$KDC_REALM" -P "kdc-master-$$" >"$KDC_DIR/kdb5_util.log" 2>&1 || return 1
    krb5kdc -n >"$KDC_DIR/krb5kdc.out" 2>&1 &
    KDC_PID=$!
    local i
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        kill -0 "$KDC_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "krb5kdc did not start: $(tail -n 3 "$KDC_DIR/krb5kdc.out" "$KDC_DIR/kdc.log" 2>/dev/null)" >&2
    return 1
}

kdc_user() {
    kadmin.local -q "addprinc -pw $2 $1" >>"$KDC_DIR/kadmin.log" 2>&1
}

kdc_service() {
    local p
    for p in "$@"; do
        kadmin.local -q "addprinc -randkey $p" >>"$KDC_DIR/kadmin.log" 2>&1 &&
            kadmin.local -q "ktadd -k $KDC_DIR/services.keytab $p" >>"$KDC_DIR/kadmin.log" 2>&1 || return 1
    done
    # Dovecot's auth process reads it as its own user.
    chmod 644 "$KDC_DIR/services.keytab"
}

kdc_kinit() {
    local name=$1 pw=$2
    shift 2
    printf '%s\n' "$pw" | kinit "$@" "$name" >>"$KDC_DIR/kinit.log" 2>&1
}

kdc_stop() {
    [ -n "$KDC_PID" ] || return 0
    kill "$KDC_PID" 2>/dev/null
    wait "$KDC_PID" 2>/dev/null
    KDC_PID=
}
