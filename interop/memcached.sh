#!/usr/bin/env bash
# Interop test: libmemcached's tools (memccp, memccat), unchanged, store and
# fetch a value over memcached's binary protocol after SASL authentication
# through the library under test.
#
#   interop/memcached.sh [LIBDIR|system]
#
# libmemcached registers SASL_CB_USER, SASL_CB_AUTHNAME and SASL_CB_PASS and
# hands sasl_client_start the server's whole mechanism list, so the library
# chooses. One memcached per mechanism offers only that one (its Cyrus
# server side, the system's library, checks a private sasldb); one more
# offers them all, where the library must choose SCRAM-SHA-256 as Cyrus does.
# A right password must authenticate (memcached -vv logs the mechanism and
# SASL_OK) and the value must come back; a wrong one must be refused by the
# server (its log shows the failure). Through LD_LIBRARY_PATH and LD_PRELOAD;
# memcached runs on 127.0.0.1 from a temp dir and is stopped by its pid.
set -u
. "$(dirname "$0")/lib.sh"
interop_init memcached "${1:-system}"
need_pkgs memcached libmemcached-tools libsasl2-modules libsasl2-modules-db sasl2-bin

MECHS=${MECHS:-"PLAIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256"}
USER_NAME=alice
PASSWORD='s3cret-Pa55'
WRONG_PASSWORD='not-the-password'

chmod 0755 "$T"
printf '%s' "$PASSWORD" | saslpasswd2 -p -f "$T/sasldb" -a memcached -c "$USER_NAME" ||
    die "saslpasswd2 failed"
chmod 0644 "$T/sasldb" # memcached drops to nobody

declare -A PORT LOG
# start NAME MECHLIST: a memcached offering MECHLIST (Cyrus's mech_list form).
start() {
    local name=$1 conf="$T/conf-$1" port
    mkdir -p "$conf"
    printf 'mech_list: %s\nsasldb_path: %s\n' "$2" "$T/sasldb" >"$conf/memcached.conf"
    chmod -R a+rX "$conf"
    for _ in 1 2 3; do
        port=$(free_port)
        SASL_CONF_PATH=$conf bg memcached -S -vv -u nobody -l 127.0.0.1 -p "$port" -U 0 >"$T/$name.log" 2>&1
        if wait_for_port "$port"; then
            PORT[$name]=$port LOG[$name]="$T/$name.log"
            return 0
        fi
    done
    die "memcached ($name) did not start: $(tail -3 "$T/$name.log")"
}
for mech in $MECHS; do start "$mech" "$(echo "$mech" | tr 'A-Z' 'a-z')"; done
start all "$(echo "$MECHS" | tr 'A-Z' 'a-z')"
echo "# $(memcached -V) on 127.0.0.1, one per mechanism and one with all; $(memccp --version 2>&1 | head -1)"

# run_case MODE SERVER right|wrong [EXPECTED]: store a value as the right user,
# then fetch it with the password under test.
run_case() {
    local mode=$1 server=$2 kind=$3 want=${4:-$2} name="$1/$2/$3" dir="$T/case-$1-$2-$3" secret=$PASSWORD
    local log=${LOG[$server]} from got rc since
    [ "$kind" = wrong ] && secret=$WRONG_PASSWORD
    mkdir -p "$dir"
    local key="k-$mode-$server-$kind" value="value $RANDOM $mode $server"
    printf '%s' "$value" >"$dir/$key"
    client_env "$mode"
    if ! (cd "$dir" && env "${CLIENT_ENV[@]}" timeout -k 5 20 memccp -b -u "$USER_NAME" -p "$PASSWORD" \
        -s "127.0.0.1:${PORT[$server]}" "$key") >"$dir/store.out" 2>&1; then
        fail "$name" "storing with the right password failed: $(tail -2 "$dir/store.out")"
        return
    fi
    from=$(($(stat -c %s "$log") + 1))
    got=$(env "${CLIENT_ENV[@]}" timeout -k 5 20 memccat -b -u "$USER_NAME" -p "$secret" \
        -s "127.0.0.1:${PORT[$server]}" "$key" 2>"$dir/fetch.err")
    rc=$?
    sleep 0.1
    since=$(tail -c +"$from" "$log")
    local chose ok refused
    chose=$(printf '%s\n' "$since" | sed -n "s/^mech:  \`\`\([A-Z0-9-]*\)'' .*/\1/p" | sort -u | tr '\n' ' ')
    ok=$(printf '%s\n' "$since" | grep -c '^sasl result code:  0$')
    refused=$(printf '%s\n' "$since" | grep -c '^Writing an error: Auth failure\|^>[0-9]* Writing an error: Auth failure')
    if [ "$chose" != "$want " ]; then
        fail "$name" "the server saw mechanism(s) '$chose', want $want; client: $(tail -2 "$dir/fetch.err")"
    elif [ "$kind" = right ]; then
        if [ "$rc" -eq 0 ] && [ "$got" = "$value" ] && [ "$ok" -ge 1 ] && [ "$refused" -eq 0 ]; then
            pass "$name"
        else
            fail "$name" "exit $rc, value '${got:0:40}', server SASL_OK: $ok, refusals: $refused; client: $(tail -2 "$dir/fetch.err")"
        fi
    else
        if [ "$rc" -ne 0 ] && [ "$got" != "$value" ] && [ "$ok" -eq 0 ] && [ "$refused" -ge 1 ]; then
            pass "$name"
        else
            fail "$name" "exit $rc, server SASL_OK: $ok, refusals: $refused; client: $(tail -2 "$dir/fetch.err")"
        fi
    fi
}

mech_matrix "$(command -v memccat)" all SCRAM-SHA-256
summary
