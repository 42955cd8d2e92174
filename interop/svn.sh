#!/bin/bash
# Unchanged Subversion client (svn) on the library under test against a
# private svnserve with use-sasl (system Cyrus, server side) on 127.0.0.1.
# svn is the client that crashed sasl2-rs (its callbacks declare `size_t
# *len`; issue 8); it also reads `mech` after a failed start, answers with
# SASL_SUCCESS_DATA and runs its protocol through sasl_encode/sasl_decode.
#
# One svnserve per server configuration (mechanism and security layer, from
# mech_list in $SASL_CONF_PATH/svn.conf and [sasl] min/max-encryption in the
# repository's svnserve.conf); against each, through LD_LIBRARY_PATH and
# LD_PRELOAD: `svn import` of a tree with a 300 KB file, `svn ls`, `svn cat`
# of that file (compared byte for byte), and `svn ls` with a wrong password.
# A pass needs svnserve's own log (--log-file) to show the operation done
# as alice, or for a wrong password no operation at all.
#
# usage: interop/svn.sh [LIBDIR|system]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
interop_init svn "${1:-}"
need_pkgs subversion sasl2-bin libsasl2-modules

REALM=svnrealm
SVNCFG=$T/svn-config # svn's own configuration: empty, and must stay so
mkdir -p "$SVNCFG" "$T/import/d"
head -c 300000 /dev/urandom >"$T/import/big.bin"
echo small >"$T/import/d/small.txt"
# svnserve (Cyrus, server side) checks passwords in this sasldb.
echo -n secret | saslpasswd2 -f "$T/sasldb" -c -p -u "$REALM" alice ||
    die "saslpasswd2 failed"

for mode in ldpath preload; do
    client_env "$mode"
    check_linkage "svn/linkage-$mode" /usr/bin/svn
done

# svn_run OUT CMD...: svn as alice under CLIENT_ENV, never prompting or
# storing a password; stdout to OUT.out, stderr to OUT.err.
svn_run() {
    local out=$1
    shift
    timeout 60 env "${CLIENT_ENV[@]}" svn "$@" --username alice --non-interactive --no-auth-cache \
        --config-dir "$SVNCFG" >"$out.out" 2>"$out.err"
}

# logged LOG PATTERN: whether svnserve logged a line matching PATTERN since
# the previous call (the lines are consumed either way).
LOG_SEEN=0
logged() {
    local lines new
    lines=$(wc -l <"$1")
    new=$(tail -n +"$((LOG_SEEN + 1))" "$1" | head -n "$((lines - LOG_SEEN))")
    LOG_SEEN=$lines
    grep -q -- "$2" <<<"$new"
}

# server_case CONFIG MECH MIN MAX: start svnserve offering MECH with a
# security layer of MIN..MAX bits, run every client case, stop it.
server_case() {
    local config=$1 mech=$2 min=$3 max=$4 dir=$T/$1 port pid url log rc
    mkdir -p "$dir/sasl"
    svnadmin create "$dir/repo"
    cat >"$dir/repo/conf/svnserve.conf" <<EOF
[general]
anon-access = none
auth-access = write
realm = $REALM
[sasl]
use-sasl = true
min-encryption = $min
max-encryption = $max
EOF
    cat >"$dir/sasl/svn.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $T/sasldb
mech_list: $mech
EOF
    port=$(free_port)
    log=$dir/svnserve.log
    : >"$log"
    LOG_SEEN=0
    env -u LD_LIBRARY_PATH -u LD_PRELOAD SASL_CONF_PATH="$dir/sasl" \
        svnserve -d --foreground --listen-host 127.0.0.1 --listen-port "$port" -r "$dir" \
        --log-file "$log" >"$dir/svnserve.out" 2>&1 &
    pid=$!
    BG_PIDS+=("$pid")
    wait_for_port "$port" || die "svnserve ($config) did not start: $(tail -n 3 "$dir/svnserve.out")"
    url=svn://127.0.0.1:$port/repo

    for mode in ldpath preload; do
        client_env "$mode"
        local name=svn/$config-$mode out=$dir/$mode why
        # import: a commit by alice
        why=
        rc=0
        svn_run "$out.import" import "$T/import" "$url/$mode" -m "import $config $mode" --password secret || rc=$?
        if [ $rc != 0 ]; then why="exit $rc: $(tr '\n' ' ' <"$out.import.err")"
        elif ! logged "$log" " alice repo commit r"; then why="svnserve logged no commit by alice"
        fi
        if [ -z "$why" ]; then pass "$name-import"; else fail "$name-import" "$why"; fi
        # ls
        why=
        rc=0
        svn_run "$out.ls" ls -R "$url/$mode" --password secret || rc=$?
        if [ $rc != 0 ]; then why="exit $rc: $(tr '\n' ' ' <"$out.ls.err")"
        elif [ "$(tr '\n' ' ' <"$out.ls.out")" != "big.bin d/ d/small.txt " ]; then
            why="listed: $(tr '\n' ' ' <"$out.ls.out")"
        elif ! logged "$log" " alice repo list /$mode "; then why="svnserve logged no list by alice"
        fi
        if [ -z "$why" ]; then pass "$name-ls"; else fail "$name-ls" "$why"; fi
        # cat of the 300 KB file, through the security layer if any
        why=
        rc=0
        svn_run "$out.cat" cat "$url/$mode/big.bin" --password secret || rc=$?
        if [ $rc != 0 ]; then why="exit $rc: $(tr '\n' ' ' <"$out.cat.err")"
        elif ! cmp -s "$out.cat.out" "$T/import/big.bin"; then why="the file came back different"
        elif ! logged "$log" " alice repo get-file /$mode/big.bin "; then
            why="svnserve logged no get-file by alice"
        fi
        if [ -z "$why" ]; then pass "$name-cat"; else fail "$name-cat" "$why"; fi
        # a wrong password: refused, and svnserve did nothing for alice
        why=
        rc=0
        svn_run "$out.wrong" ls "$url/$mode" --password wrong || rc=$?
        if [ $rc = 0 ]; then why="listed with a wrong password"
        elif [ $rc = 124 ]; then why="timed out"
        elif [ $rc -gt 128 ]; then why="killed by signal $((rc - 128))"
        elif ! grep -q "E170001" "$out.wrong.err"; then why="no authentication error: $(tr '\n' ' ' <"$out.wrong.err")"
        elif logged "$log" " alice repo "; then why="svnserve served alice"
        fi
        if [ -z "$why" ]; then pass "$name-wrong-password"; else fail "$name-wrong-password" "$why"; fi
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

server_case DIGEST-MD5-auth-int DIGEST-MD5 1 1
server_case DIGEST-MD5-auth-conf DIGEST-MD5 128 256
server_case CRAM-MD5 CRAM-MD5 0 0
server_case SCRAM-SHA-1 SCRAM-SHA-1 0 0
server_case SCRAM-SHA-256 SCRAM-SHA-256 0 0

# --no-auth-cache: svn stored no credentials anywhere in its configuration.
if [ -z "$(find "$SVNCFG/auth" -type f 2>/dev/null)" ]; then pass svn/no-stored-password
else fail svn/no-stored-password "svn stored $(find "$SVNCFG/auth" -type f | tr '\n' ' ')"
fi

summary
