#!/bin/bash
# Cyrus's own programs and plugins through the library under test, built
# from the source of the Cyrus package installed (fetched from Debian's
# archive with a private apt configuration in the temp dir; nothing is
# installed or kept):
#
#  * sample/sample-client.c, unchanged, compiled against this project's
#    include/ (it includes saslplug.h) and linked to the library under test,
#    authenticates against Debian's sasl-sample-server (PLAIN, SCRAM,
#    DIGEST-MD5 with a security layer; right and wrong passwords).
#  * Cyrus's OTP plugin (libsasl2-modules-otp), which this library does not
#    build in, loaded by the library from the plugin directory: Cyrus's TCP
#    sample client (sample/client.c, unchanged, linked to the library under
#    test; it answers the pass phrase prompt) against Cyrus's TCP sample
#    server (sample/server.c on the system's Cyrus, with OTP secrets in a
#    private sasldb); right and wrong pass phrases, each confirmed by the
#    server's own log. (Debian's sasl-sample-client cannot use OTP with
#    either library: its echo-prompt callback refuses the NULL length the
#    OTP plugin passes, so the plugin stops with "invalid parameter".)
#
# usage: interop/plugins.sh [LIBDIR|system]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
interop_init plugins "${1:-}"
need_pkgs sasl2-bin libsasl2-modules libsasl2-modules-db libsasl2-modules-otp build-essential xz-utils

REPO=$(cd "$HERE/.." && pwd)
# Headers: ours for our library, Cyrus's for the system one (harness check).
if [ "${1:-system}" = system ]; then INC=/usr/include/sasl; else INC=$REPO/include/sasl; fi

# --- Cyrus's source, as Debian builds the installed package -----------------
fetch_source() {
    local version codename apt
    version=$(dpkg-query -W -f='${source:Version}' libsasl2-2)
    apt=$T/apt
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$T/src"
    # Source entries for the archives the system installs from (the version
    # installed may come from a stable update): deb822 files, then lists.
    {
        awk '/^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) suites[++n] = $i }
             /^$/ { for (i = 1; i <= n; i++) print "deb-src " uri " " suites[i] " main"; n = 0 }
             END { for (i = 1; i <= n; i++) print "deb-src " uri " " suites[i] " main" }' \
            /etc/apt/sources.list.d/*.sources 2>/dev/null || true
        awk '$1 == "deb" { print "deb-src " $2 " " $3 " main" }' /etc/apt/sources.list 2>/dev/null || true
    } | sort -u >"$apt/sources.list"
    if [ ! -s "$apt/sources.list" ]; then
        codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
        echo "deb-src http://deb.debian.org/debian $codename main" >"$apt/sources.list"
    fi
    local opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User=root
        -o Debug::NoLocking=1)
    apt-get "${opts[@]}" -qq update >"$T/apt.log" 2>&1 || return 1
    # The installed version first; else another Debian revision of the same
    # upstream release (same sample programs; a mirror may lack some files).
    local candidates v got=
    candidates=$(apt-cache "${opts[@]}" showsrc cyrus-sasl2 2>/dev/null | awk '/^Version:/ { print $2 }')
    for v in "$version" $candidates; do
        [ "${v%%-*}" = "${version%%-*}" ] || continue
        if (cd "$T/src" && apt-get "${opts[@]}" -qq source --download-only "cyrus-sasl2=$v") >>"$T/apt.log" 2>&1; then
            got=$v
            break
        fi
    done
    [ -n "$got" ] || return 1
    tar -xJf "$T"/src/cyrus-sasl2_*.orig.tar.xz -C "$T/src" --wildcards '*/sample/*.c' '*/sample/*.h' ||
        return 1
    SAMPLE=$(dirname "$(ls "$T"/src/*/sample/sample-client.c)")
}
if ! fetch_source; then
    # Without Debian's archive these cases cannot run: say so, and fail.
    die "could not fetch Cyrus's source from Debian's archive: $(tail -n 3 "$T/apt.log" 2>/dev/null)"
fi
echo "# plugins: Cyrus sources $(basename "$(dirname "$SAMPLE")") from Debian's archive"

# What Cyrus's configure would have put in config.h for these programs.
mkdir -p "$T/cfg"
cat >"$T/cfg/config.h" <<EOF
#define HAVE_GETOPT_H 1
#define HAVE_UNISTD_H 1
#define HAVE_GETSUBOPT 1
#define HIER_DELIMITER '/'
#define PLUGINDIR "$(dirname "$(ls /usr/lib/*/sasl2/libotp.so | head -n 1)")"
#include <stdlib.h>
#include <sysexits.h>
EOF
build() { # build OUT INCDIR LIB SOURCES...: LIB is a libsasl2.so.2 file
    local out=$1 inc=$2 lib=$3
    shift 3
    cc -w -I"$T/cfg" -I"$inc" -o "$out" "$@" "$lib" -Wl,-rpath,"$(dirname "$lib")" >"$out.log" 2>&1
}
CYRUS_LIB=$(readlink -f /usr/lib/*/libsasl2.so.2 | head -n 1)
if build "$T/sample-client" "$INC" "$LIBSASL" "$SAMPLE/sample-client.c"; then
    pass "plugins/sample-client.c-compiles-against-$(basename "$(dirname "$INC")")"
else
    fail "plugins/sample-client.c-compiles" "$(head -n 5 "$T/sample-client.log")"
fi
build "$T/tcp-client" "$INC" "$LIBSASL" "$SAMPLE/client.c" "$SAMPLE/common.c" ||
    fail "plugins/client.c-compiles" "$(head -n 5 "$T/tcp-client.log")"
build "$T/tcp-server" /usr/include/sasl "$CYRUS_LIB" "$SAMPLE/server.c" "$SAMPLE/common.c" ||
    die "Cyrus's sample server.c does not build: $(head -n 5 "$T/tcp-server.log")"

# The rebuilt clients use the library under test (by their rpath).
for bin in sample-client tcp-client; do
    [ -x "$T/$bin" ] || continue
    got=$(ldd "$T/$bin" | awk '/libsasl2/ { print $3 }' | xargs readlink -f)
    if [ "$got" = "$(readlink -f "$LIBSASL")" ]; then pass "plugins/$bin-linkage"; else
        fail "plugins/$bin-linkage" "libsasl2 resolves to $got"; fi
done

REALM=localhost
printf secret | saslpasswd2 -f "$T/sasldb2" -p -c -u "$REALM" user
# OTP pass phrases are 10 to 63 characters; saslpasswd2 also makes the OTP secret.
PASSPHRASE='pass phrase one'
printf '%s' "$PASSPHRASE" | saslpasswd2 -f "$T/sasldb2" -p -c -u "$REALM" otpuser
sasldblistusers2 -f "$T/sasldb2" | grep -q 'otpuser@.*cmusaslsecretOTP' ||
    die "saslpasswd2 made no OTP secret (is libsasl2-modules-otp installed?)"

# --- the rebuilt sample-client against sasl-sample-server -------------------
# sample NAME WANT PASSWORD MECH CLIENT-ARGS [STREAM:TEXT...] (as sample.sh)
sample() {
    local name=plugins/sample-client/$1 d=$T/sample-$1 want=$2 pw=$3 mech=$4 cargs=$5 rc=0 why="" check
    shift 5
    mkdir -p "$d"
    printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: %s\n' \
        "$T/sasldb2" "$mech" >"$d/sample.conf"
    # shellcheck disable=SC2086 # word-split the argument string on purpose
    timeout 60 python3 "$HERE/samplerelay.py" "$pw" "$d" \
        env -u LD_LIBRARY_PATH -u LD_PRELOAD SASL_CONF_PATH="$d" \
        timeout 30 stdbuf -oL /usr/sbin/sasl-sample-server -s sample -d "$REALM" -u "$REALM" -m "$mech" -- \
        timeout 30 stdbuf -oL "$T/sample-client" -s sample -n "$REALM" -m "$mech" $cargs \
        >"$d/relay" 2>&1 || rc=$?
    if [ "$want" = ok ]; then
        [ "$rc" = 0 ] || why="exit $rc: $(tail -n 2 "$d/client.err" "$d/server.err" | tr '\n' ' ')"
        for check in "server:Negotiation complete" "server:recieved decoded message 'client message 1'" \
            "client:recieved decoded message 'srv message 1'" "$@"; do
            [ -n "$why" ] && break
            grep -aqF -- "${check#*:}" "$d/${check%%:*}.out" || why="no '${check#*:}' from ${check%%:*}"
        done
    else
        if grep -aqF "Negotiation complete" "$d/server.out"; then why="authenticated with a wrong password"
        elif ! grep -aqF "authentication failure" "$d/server.err"; then
            why="the server did not refuse it: $(tail -n 2 "$d/server.err" | tr '\n' ' ')"; fi
    fi
    if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why"; fi
}
if [ -x "$T/sample-client" ]; then
    U="server:Username: user@$REALM"
    sample PLAIN ok secret PLAIN "-a user" "$U"
    sample PLAIN-wrong-password fail wrong PLAIN "-a user"
    sample SCRAM-SHA-256 ok secret SCRAM-SHA-256 "-a user" "$U"
    sample DIGEST-MD5-auth-conf ok secret DIGEST-MD5 "-a user -b min=56" "$U" "client:SSF: 128" "server:SSF: 128"
    sample DIGEST-MD5-wrong-password fail wrong DIGEST-MD5 "-a user"
fi

# --- Cyrus's OTP plugin: client.c against server.c ---------------------------
# otp NAME WANT PASSPHRASE: one OTP authentication of otpuser.
otp() {
    local name=plugins/OTP/$1 want=$2 pp=$3 d=$T/otp-$1 port rc=0 why="" pid
    mkdir -p "$d"
    printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: OTP\n' \
        "$T/sasldb2" >"$d/sample.conf"
    port=$(free_port)
    # server.c serves one client; stopped by pid in any case.
    env -u LD_LIBRARY_PATH -u LD_PRELOAD SASL_CONF_PATH="$d" \
        stdbuf -oL "$T/tcp-server" -h "$REALM" -p "$port" -m OTP >"$d/server.out" 2>"$d/server.err" &
    pid=$!
    BG_PIDS+=("$pid")
    # Listening, checked without connecting (server.c serves one connection).
    for _ in $(seq 100); do
        grep -q ":$(printf '%04X' "$port") 00000000:0000 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null && break
        sleep 0.1
    done
    # client.c asks for the authentication id, the authorization id (none)
    # and, through SASL_CB_PASS, the pass phrase; without a terminal,
    # getpass reads it from stdin.
    printf 'otpuser\n\n%s\n' "$pp" | timeout 20 setsid "$T/tcp-client" -p "$port" -m OTP 127.0.0.1 \
        >"$d/client.out" 2>&1 || rc=$?
    sleep 0.2
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ "$want" = ok ]; then
        if ! grep -q "successful authentication 'otpuser'" "$d/server.out"; then
            why="the server did not authenticate otpuser (client exit $rc): $(tr '\n' ' ' <"$d/client.out" | tail -c 300) / $(tr '\n' ' ' <"$d/server.err")"
        elif ! grep -q '^otp-md5 [0-9]* ' "$d/client.out"; then
            why="no OTP challenge in the exchange"
        fi
    else
        if grep -q "successful authentication" "$d/server.out"; then why="authenticated with a wrong pass phrase"
        elif ! grep -q "authentication failure\|incorrect authentication" "$d/server.err"; then
            why="the server did not refuse it: $(tr '\n' ' ' <"$d/server.err")"; fi
    fi
    if [ -z "$why" ]; then pass "$name"; else fail "$name" "$why"; fi
}
if [ -x "$T/tcp-client" ]; then
    otp right ok "$PASSPHRASE"
    otp wrong fail "pass phrase two"
    # One-time: the next authentication answers the next challenge.
    otp right-again ok "$PASSPHRASE"
fi

summary
