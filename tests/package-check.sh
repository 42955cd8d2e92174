#!/usr/bin/env bash
# The Debian package, installed for real (`make test-package`, part of
# `make check`): install build/sasl2-rs_*.deb with apt-get, run unchanged
# clients against unchanged servers with no LD_LIBRARY_PATH or LD_PRELOAD,
# check from /proc/PID/maps that the clients ran this library while slapd
# and sasl-sample-server ran Cyrus's server side behind it, then
# `apt-get remove` it and check that the system is Cyrus's again, byte for
# byte: every path the package installs or diverts, every libsasl2 file of
# the library directory, dpkg-divert --list, ldconfig's answer and
# `dpkg --verify libsasl2-2`.
#
# The machine is left as it was found even when a check fails (EXIT trap).
# Other suites use the system's libsasl2 at the same time: they hold
# /tmp/sasl2rs-system.lock shared, and this test holds it exclusively
# (tests/system-lock.sh), for about ten seconds.
#
# usage: tests/package-check.sh [DEB]   (needs root; default build/sasl2-rs_*.deb)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# pass/fail/summary, bg, free_port, wait_for_*, urlencode, need_pkgs.
# shellcheck source=../interop/lib.sh
. "$repo/interop/lib.sh"
# shellcheck source=system-lock.sh
. "$repo/tests/system-lock.sh"
SCRIPT_NAME=package
# lib.sh's summary, plus the bare line make check's total reads.
summary() {
    echo "package: $PASSED passed, $FAILED failed"
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

if [ "$(id -u)" != 0 ]; then
    echo "SKIP package: installing a package needs root"
    summary
    exit 0
fi
for tool in dpkg-deb dpkg-divert dpkg-architecture apt-get flock python3; do
    command -v $tool >/dev/null || { fail package/setup "$tool is missing"; summary; exit 1; }
done
deb=${1:-$(ls "$repo"/build/sasl2-rs_*_"$(dpkg --print-architecture)".deb 2>/dev/null | tail -n 1)}
[ -f "$deb" ] || { fail package/setup "no package (run make deb)"; summary; exit 1; }
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
LIBDIR=/usr/lib/$MA
DIVERTED=$LIBDIR/sasl2-rs/libsasl2.so.2.cyrus
T=$(mktemp -d "${TMPDIR:-/tmp}/sasl2-package.XXXXXX")
need_pkgs slapd ldap-utils sasl2-bin libsasl2-modules libsasl2-modules-db

# installed: dpkg has the package's files on the system (or half of them).
installed() {
    case $(dpkg-query -W -f='${Status}' sasl2-rs 2>/dev/null) in
        "" | *" not-installed" | *" config-files") return 1 ;;
        *) return 0 ;;
    esac
}
# purge: dpkg forgets a removed package (its "config-files" record).
purge() { dpkg-query -W sasl2-rs >/dev/null 2>&1 && apt purge sasl2-rs; }
apt() {
    flock /tmp/apt.lock env DEBIAN_FRONTEND=noninteractive \
        apt-get -y -q -o DPkg::Lock::Timeout=600 "$@" </dev/null >>"$T/apt.log" 2>&1
}
if installed; then
    fail package/setup "sasl2-rs is already installed on this machine; not touching it"
    summary
    exit 1
fi
purge # what an earlier run may have left of a removed package

# snapshot: the state of everything the package may change.
snapshot() {
    local p
    {
        for p in $(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep -v '^/$') \
            "$LIBDIR"/libsasl2* "$LIBDIR/sasl2-rs" "$DIVERTED"; do
            if [ -L "$p" ]; then
                echo "$p link $(readlink "$p") $(stat -c '%U:%G %Y' "$p")"
            elif [ -f "$p" ]; then
                echo "$p file $(stat -c '%a %U:%G %s %Y' "$p") $(sha256sum <"$p" | cut -d' ' -f1)"
            elif [ -d "$p" ]; then
                echo "$p dir $(stat -c '%a %U:%G' "$p")"
            else
                echo "$p absent"
            fi
        done | sort -u
        echo "== dpkg-divert --list"
        dpkg-divert --list | grep -i sasl | sort
        echo "== ldconfig -p"
        ldconfig -p | grep libsasl2
        echo "== dpkg --verify libsasl2-2"
        dpkg --verify libsasl2-2
    } 2>&1
}
snapshot >"$T/before"

# Whatever happens, the package goes and the system is checked.
restore() {
    local rc=$? t=$T
    if installed; then
        echo "# restore: removing sasl2-rs"
        apt remove sasl2-rs || dpkg --remove --force-remove-reinstreq sasl2-rs >>"$T/apt.log" 2>&1
        snapshot | diff "$T/before" - >&2 && echo "# restore: the system is as before"
    fi
    purge
    if dpkg-divert --list "$LIBDIR/libsasl2.so.2" | grep -q 'by sasl2-rs'; then
        dpkg-divert --package sasl2-rs --remove --rename --divert "$DIVERTED" "$LIBDIR/libsasl2.so.2"
        rmdir "$LIBDIR/sasl2-rs" 2>/dev/null
        echo "# restore: the diversion was still there, removed"
    fi
    T= # cleanup() stops the servers; the folder goes here
    cleanup
    if [ "${INTEROP_KEEP:-0}" = 1 ]; then echo "(kept $t)"; else rm -rf "$t"; fi
    exit "$rc"
}
trap restore EXIT
trap 'exit 130' INT TERM

# A slapd and sasldb users, set up before the switch to keep it short.
BASE=dc=example,dc=com
PEOPLE=ou=people,$BASE
USER_DN=dn:uid=user,$PEOPLE
mkdir "$T/db"
cat >"$T/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
sasl-secprops none
authz-regexp "^uid=([^,]*),(cn=[^,]*,)?cn=[^,]*,cn=auth$" "uid=\$1,$PEOPLE"
database mdb
suffix "$BASE"
rootdn "cn=admin,$BASE"
directory $T/db
access to * by * read
EOF
printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n' "$BASE" >"$T/init.ldif"
printf 'dn: %s\nobjectClass: organizationalUnit\nou: people\n\n' "$PEOPLE" >>"$T/init.ldif"
printf 'dn: uid=user,%s\nobjectClass: inetOrgPerson\nuid: user\ncn: User\nsn: User\nuserPassword: secret\n' "$PEOPLE" >>"$T/init.ldif"
slapadd -q -f "$T/slapd.conf" -l "$T/init.ldif" >"$T/slapadd.log" 2>&1 ||
    { fail package/setup "slapadd: $(tail -n 2 "$T/slapadd.log")"; summary; exit 1; }
printf secret | saslpasswd2 -f "$T/sasldb2" -p -c -u example.com user
printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: %s\n' \
    "$T/sasldb2" "SCRAM-SHA-256 DIGEST-MD5 PLAIN" >"$T/sample.conf"
mkfifo -m 600 "$T/pw"
cat >"$T/app.c" <<'EOF'
#include <sasl/sasl.h>
#include <stdio.h>
int main(void)
{
    const char *impl = NULL;
    sasl_version_info(&impl, NULL, NULL, NULL, NULL, NULL);
    puts(impl);
    return sasl_client_init(NULL) != SASL_OK;
}
EOF

CYRUS=$(readlink -f "$LIBDIR/libsasl2.so.2")
OURS=$LIBDIR/libsasl2.so.$(dpkg-deb -f "$deb" Version | cut -d- -f1)
CLEAN=(env -u LD_LIBRARY_PATH -u LD_PRELOAD -u SASL_PATH)

# libsasl2_maps PID: the libsasl2 files a process has mapped.
libsasl2_maps() { awk '$6 ~ /\/libsasl2\.so/ {print $6}' "/proc/$1/maps" | sort -u | tr '\n' ' '; }

# sample NAME MECH WANT-CLIENT WANT-SERVER: sasl-sample-client against
# sasl-sample-server, both unchanged and run without any library path.
sample() {
    local d=$T/sample-$1 why=""
    mkdir -p "$d"
    timeout 60 python3 "$repo/interop/samplerelay.py" secret "$d" \
        "${CLEAN[@]}" SASL_CONF_PATH="$T" timeout 30 stdbuf -oL /usr/sbin/sasl-sample-server \
        -s sample -d localhost -u example.com -m "$2" -- \
        "${CLEAN[@]}" timeout 30 stdbuf -oL /usr/bin/sasl-sample-client -s sample -n localhost -a user -m "$2" \
        >"$d/relay" 2>&1 || why="failed: $(cat "$d/relay"); $(tail -n 1 "$d/server.err")"
    [ -n "$why" ] || grep -q "Username: user@example.com" "$d/server.out" || why="the server did not confirm user"
    [ -n "$why" ] || [ "$(tr '\n' ' ' <"$d/client.maps")" = "$3 " ] ||
        why="the client mapped '$(tr '\n' ' ' <"$d/client.maps")', want '$3'"
    [ -n "$why" ] || [ "$(sort "$d/server.maps" | tr '\n' ' ')" = "$4 " ] ||
        why="the server mapped '$(sort "$d/server.maps" | tr '\n' ' ')', want '$4'"
    if [ -z "$why" ]; then pass "package/$1"; else fail "package/$1" "$why"; fi
}

# ----------------------------------------------------------- the switch
system_lock exclusive
start=$SECONDS
if ! apt install "$deb"; then
    fail package/install "apt-get install failed: $(tail -n 3 "$T/apt.log" | tr '\n' ' ')"
    summary
    exit 1
fi
pass package/install

# The link is ours, Cyrus's is diverted, Cyrus's file untouched; ldconfig
# (which picks the newest file per SONAME and rewrites the link) keeps ours.
ldconfig
if ! dpkg-divert --list "$LIBDIR/libsasl2.so.2" | grep -q "to $DIVERTED by sasl2-rs"; then
    fail package/switched "no diversion: $(dpkg-divert --list | grep sasl)"
elif [ "$(readlink -f "$LIBDIR/libsasl2.so.2")" != "$OURS" ]; then
    fail package/switched "libsasl2.so.2 leads to $(readlink -f "$LIBDIR/libsasl2.so.2") after ldconfig"
elif ! grep -q "^$CYRUS file .* $(sha256sum <"$CYRUS" | cut -d' ' -f1)\$" "$T/before"; then
    fail package/switched "Cyrus's $CYRUS changed"
else
    pass package/switched
fi

# slapd, unchanged and without any library path: its libsasl2 is ours, its
# server side Cyrus's behind it.
PORT=$(free_port)
LDAPI=ldapi://$(urlencode "$T/ldapi")
bg "${CLEAN[@]}" /usr/sbin/slapd -f "$T/slapd.conf" -h "ldap://127.0.0.1:$PORT/ $LDAPI" -d 0 >"$T/slapd.log" 2>&1
SLAPD=${BG_PIDS[-1]}
if wait_for_port "$PORT" && wait_for_socket "$T/ldapi"; then
    want="$(printf '%s\n' "$OURS" "$CYRUS" | sort | tr '\n' ' ')"
    got=$(libsasl2_maps "$SLAPD")
    if [ "$got" = "$want" ]; then pass package/slapd-maps; else fail package/slapd-maps "slapd mapped '$got', want '$want'"; fi
    # ldap NAME EXPECT ERRTEXT ARGS...: ldapwhoami prints the identity slapd
    # authorized (EXPECT), or fails saying ERRTEXT.
    ldap() {
        local name=$1 expect=$2 errtext=$3 got
        shift 3
        got=$("${CLEAN[@]}" timeout 20 ldapwhoami -H "ldap://127.0.0.1:$PORT" -N "$@" 2>"$T/$name.err")
        if [ "$got" = "$expect" ] && grep -qF -- "$errtext" "$T/$name.err"; then pass "package/$name"; else
            fail "package/$name" "got '$got', want '$expect': $(tr '\n' ' ' <"$T/$name.err")"; fi
    }
    ldap ldapwhoami-SCRAM-SHA-256 "$USER_DN" "" -Y SCRAM-SHA-256 -U user -w secret
    ldap ldapwhoami-DIGEST-MD5-auth-conf "$USER_DN" "SASL SSF: 128" -Y DIGEST-MD5 -O minssf=56 -U user -w secret
    ldap ldapwhoami-wrong-password "" "Invalid credentials (49)" -Y SCRAM-SHA-256 -U user -w wrong
    # The client, while it waits for its password on a FIFO: libsasl2 is
    # mapped from the start (a NEEDED library of libldap).
    "${CLEAN[@]}" ldapwhoami -H "$LDAPI" -Y PLAIN -O none -U user -y "$T/pw" >"$T/fifo.out" 2>"$T/fifo.err" &
    client=$!
    got=
    for _ in $(seq 50); do
        got=$(libsasl2_maps "$client" 2>/dev/null)
        [ -n "$got" ] && break
        sleep 0.1
    done
    timeout 10 sh -c 'printf secret >"$1"' - "$T/pw"
    wait "$client"
    if [ "$got" = "$OURS " ] && [ "$(cat "$T/fifo.out")" = "$USER_DN" ]; then pass package/ldapwhoami-maps; else
        fail package/ldapwhoami-maps "mapped '$got' (want $OURS), said '$(cat "$T/fifo.out" "$T/fifo.err")'"; fi
else
    fail package/slapd "slapd did not start: $(tail -n 3 "$T/slapd.log")"
fi
kill "$SLAPD" 2>/dev/null
wait "$SLAPD" 2>/dev/null

# A C build with the package's headers and pkg-config file, run as is.
cflags=$(pkg-config --cflags libsasl2-rs 2>&1 | sed 's/ *$//')
# shellcheck disable=SC2046 # pkg-config output is meant to be split
if cc -Wall -Werror -o "$T/app" "$T/app.c" $(pkg-config --cflags --libs libsasl2-rs) >"$T/cc.log" 2>&1 &&
   [ "$cflags" = "-I/usr/include/sasl2-rs" ] && [ "$("${CLEAN[@]}" "$T/app")" = "Cyrus SASL (sasl2-rs)" ]; then
    pass package/pkg-config-build
else
    fail package/pkg-config-build "cflags '$cflags': $(cat "$T/cc.log")"
fi

sample sample-SCRAM-SHA-256 SCRAM-SHA-256 "$OURS" "$(printf '%s\n' "$OURS" "$CYRUS" | sort | tr '\n' ' ' | sed 's/ $//')"
sample sample-DIGEST-MD5 DIGEST-MD5 "$OURS" "$(printf '%s\n' "$OURS" "$CYRUS" | sort | tr '\n' ' ' | sed 's/ $//')"

# ----------------------------------------------------------- and back
if apt remove sasl2-rs && ! installed; then pass package/remove; else
    fail package/remove "apt-get remove failed: $(tail -n 3 "$T/apt.log" | tr '\n' ' ')"; fi
echo "# the system ran sasl2-rs for $((SECONDS - start)) s"
snapshot >"$T/after"
if diff "$T/before" "$T/after" >"$T/diff"; then pass package/restored; else
    fail package/restored "the system differs from before: $(tr '\n' ' ' <"$T/diff")"; fi
sample sample-after-removal SCRAM-SHA-256 "$CYRUS" "$CYRUS"
# dpkg keeps a record of the removed package until it is purged.
purge || fail package/purge "apt-get purge failed: $(tail -n 3 "$T/apt.log" | tr '\n' ' ')"

summary
