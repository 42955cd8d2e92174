#!/usr/bin/env bash
# Differential C test-suite for sasl2-rs.
#
#   ctests/run.sh LIBDIR [INCDIR]
#
# LIBDIR  directory holding libsasl2.so.2 (and the libsasl2.so link), e.g.
#         build/ — or the word "system" for the reference Cyrus SASL library
#         (/usr/include + the system libsasl2.so.2 with its plugins).
# INCDIR  include directory containing sasl/sasl.h; defaults to the repo's
#         include/ (or /usr/include for "system").
#
# Every ctests/t_*.c is compiled with -Wall -Wextra -Werror into ctests/bin/
# and run under valgrind (definite leaks and memory errors fail the test);
# ctests/plugins/*.c are built into ctests/bin/plugins/ for t_plugins.
# The last line printed is "N passed, M failed"; the exit status is non-zero
# when anything failed.
#
# Environment knobs:
#   CTESTS_VALGRIND=0   run the binaries directly (quick iteration)
#   CTESTS_ONLY=name    run only t_<name>.c (substring match)
#   CTESTS_SKIP="t_a t_b" skip these programs (said so in the output)
#   CC                  compiler (default cc)
set -u

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"

if [ $# -lt 1 ]; then
    echo "usage: $0 LIBDIR|system [INCDIR]" >&2
    exit 2
fi

CC="${CC:-cc}"

# apt_install PKG...: best-effort install (root or passwordless sudo).
apt_install() {
    local sudo=()
    [ "$(id -u)" = "0" ] || sudo=(sudo -n)
    "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null 2>&1 ||
        { "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 &&
          "${sudo[@]}" apt-get install -y -qq "$@" >/dev/null 2>&1; }
}

expect_rust=1
if [ "$1" = "system" ]; then
    # The reference: Cyrus headers, library and its mechanism plug-ins.
    if [ ! -e /usr/include/sasl/sasl.h ] ||
       [ -z "$(ls /usr/lib/*/sasl2/libplain.so* 2>/dev/null)" ]; then
        echo "run.sh: installing libsasl2-dev libsasl2-modules" >&2
        apt_install libsasl2-dev libsasl2-modules
    fi
    expect_rust=0
    INCDIR="${2:-/usr/include}"
    libfile="$("$CC" -print-file-name=libsasl2.so.2)"
    if [ ! -e "$libfile" ]; then
        libfile="$(/sbin/ldconfig -p 2>/dev/null | awk '/libsasl2\.so\.2 /{print $NF; exit}')"
    fi
    if [ -z "$libfile" ] || [ ! -e "$libfile" ]; then
        echo "run.sh: cannot find the system libsasl2.so.2" >&2
        exit 2
    fi
    libfile="$(readlink -f "$libfile")"
    LIBDIR="$(dirname "$libfile")"
    libfile="$LIBDIR/libsasl2.so.2"
    linkflags=(-lsasl2)
    runenv=()
else
    LIBDIR="$(cd "$1" && pwd)" || { echo "run.sh: no such LIBDIR: $1" >&2; exit 2; }
    INCDIR="${2:-$repo/include}"
    libfile="$LIBDIR/libsasl2.so.2"
    if [ ! -e "$libfile" ]; then
        echo "run.sh: $libfile does not exist (build it first)" >&2
        exit 2
    fi
    # Link against the exact file so that a missing libsasl2.so dev link in
    # LIBDIR cannot make the linker pick the system library instead.
    linkflags=(-L"$LIBDIR" "$libfile")
    runenv=(LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
fi
INCDIR="$(cd "$INCDIR" && pwd)" || { echo "run.sh: no such INCDIR" >&2; exit 2; }
if [ ! -e "$INCDIR/sasl/sasl.h" ]; then
    echo "run.sh: $INCDIR/sasl/sasl.h does not exist" >&2
    exit 2
fi
defs=()
if [ -e "$INCDIR/sasl/saslutil.h" ]; then
    defs+=(-DCTESTS_HAVE_SASLUTIL_H)
fi

use_valgrind="${CTESTS_VALGRIND:-1}"
vg=()
if [ "$use_valgrind" != "0" ]; then
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "run.sh: installing valgrind" >&2
        apt_install valgrind
    fi
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "run.sh: valgrind is not available and could not be installed" >&2
        exit 2
    fi
    # --keep-debuginfo: the frames of unloaded Cyrus plug-ins keep their
    # names, which cyrus-plugins.supp matches.
    vg=(valgrind -q --error-exitcode=99 --leak-check=full
        --errors-for-leak-kinds=definite --show-leak-kinds=definite
        --track-origins=yes --num-callers=30 --keep-debuginfo=yes
        --suppressions="$here/cyrus-plugins.supp")
    if [ $expect_rust -eq 0 ]; then
        # Known Cyrus leaks on error paths, confined to cyrus_leaky_* frames.
        vg+=(--suppressions="$here/cyrus.supp")
    fi
fi

bindir="$here/bin"
mkdir -p "$bindir"
cflags=(-std=gnu11 -Wall -Wextra -Werror -g -O0 -I"$INCDIR" "${defs[@]}")

# Shared: no test may run while tests/package-check.sh switches the system.
# shellcheck source=../tests/system-lock.sh
. "$repo/tests/system-lock.sh"
system_lock shared

# Both libraries run with the plug-ins of libsasl2-modules and
# libsasl2-modules-db only (what CI installs), whatever else is installed
# (GSSAPI, GS2, OTP, LDAP, SQL plug-ins would change the lists and choices).
# sasl2-rs loads client plug-ins too, but serves these mechanisms built in;
# its server side (Cyrus's, forwarded) uses them.
plugdir=$(mktemp -d "${TMPDIR:-/tmp}/ctests-plugins.XXXXXX")
trap 'rm -rf "$plugdir"' EXIT
if command -v dpkg >/dev/null; then
    for f in $(dpkg -L libsasl2-modules libsasl2-modules-db 2>/dev/null | grep '/sasl2/lib[^/]*\.so'); do
        ln -s "$f" "$plugdir/"
    done
fi
runenv+=(SASL_PATH="$plugdir")
echo "ctests: plug-ins of libsasl2-modules and libsasl2-modules-db only ($plugdir)"

# t_plugins: the client plug-ins of ctests/plugins, put in front of that path.
test_plugins="$bindir/plugins"
rm -rf "$test_plugins"
mkdir -p "$test_plugins"
for src in "$here"/plugins/*.c; do
    name="$(basename "$src" .c)"
    if ! "$CC" "${cflags[@]}" -shared -fPIC -o "$test_plugins/lib$name.so" "$src" \
            >"$bindir/plugin-$name.log" 2>&1; then
        echo "FAIL plugins/$name.c (compile error)"
        sed 's/^/    /' "$bindir/plugin-$name.log"
        exit 1
    fi
done

echo "ctests: library $libfile"
echo "ctests: headers $INCDIR/sasl/sasl.h"
[ ${#vg[@]} -gt 0 ] && echo "ctests: running under valgrind"

passed=0
failed=0
failed_names=()
total_assert=0
total_assert_failed=0

# run_one NAME EXE [ENV=VALUE...] [-- PREFIX-COMMAND...]: runs one compiled
# test under valgrind, prints PASS/FAIL and counts it.
run_one() {
    local name=$1 exe=$2 env_extra=() prefix=() start rc secs summary what
    local log="$bindir/$name.log"
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do env_extra+=("$1"); shift; done
    [ $# -gt 0 ] && shift && prefix=("$@")
    # No Kerberos ticket, whatever the machine has, unless a fixture (the
    # KDC of t_gssapi) makes one.
    [ ${#prefix[@]} -gt 0 ] || env_extra=(KRB5CCNAME="FILE:$plugdir/no-ticket" "${env_extra[@]}")
    start=$(date +%s)
    # Clean, deterministic environment: no user SASL configuration.
    "${prefix[@]}" env -u SASL_PATH -u SASL_CONF_PATH "${runenv[@]}" \
        CTESTS_EXPECT_RUST="$expect_rust" CTESTS_LIBSASL="$libfile" \
        CTESTS_PLUGINS="$test_plugins" CTESTS_BASE_PLUGINS="$plugdir" "${env_extra[@]}" \
        timeout 600 "${vg[@]}" "$exe" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    summary="$(grep -E '^CHECKS ' "$log" | tail -n 1)"
    if [[ "$summary" =~ :\ ([0-9]+)\ assertions,\ ([0-9]+)\ failed ]]; then
        total_assert=$((total_assert + BASH_REMATCH[1]))
        total_assert_failed=$((total_assert_failed + BASH_REMATCH[2]))
    fi
    if [ $rc -eq 0 ]; then
        echo "PASS $name (${secs}s) ${summary#CHECKS *: }"
        passed=$((passed + 1))
    else
        what="rc=$rc"
        [ $rc -eq 99 ] && what="valgrind errors"
        [ $rc -eq 124 ] && what="timeout"
        [ $rc -gt 128 ] && [ $rc -ne 99 ] && what="killed by signal $((rc - 128))"
        echo "FAIL $name ($what, ${secs}s)"
        sed 's/^/    /' "$log" | head -n 200
        failed=$((failed + 1))
        failed_names+=("$name")
    fi
}

for src in "$here"/t_*.c; do
    name="$(basename "$src" .c)"
    if [[ " ${CTESTS_SKIP:-} " == *" $name "* ]]; then
        echo "SKIP $name (CTESTS_SKIP)"
        continue
    fi
    if [ -n "${CTESTS_ONLY:-}" ] && [[ "$name" != *"$CTESTS_ONLY"* ]]; then
        continue
    fi
    exe="$bindir/$name"
    log="$bindir/$name.log"
    # A test may name extra libraries ("CTESTS_LDFLAGS: ..."), a fixture
    # script that runs it ("CTESTS_FIXTURE: with-kdc.sh") and, for the
    # reference, Debian packages of more Cyrus plug-ins it needs
    # ("CTESTS_PLUGINS: ..."), in its comments.
    read -r -a extra <<<"$(sed -n 's/.*CTESTS_LDFLAGS: *//p' "$src" | head -n 1)"
    fixture=$(sed -n 's/.*CTESTS_FIXTURE: *\([^ ]*\).*/\1/p' "$src" | head -n 1)
    fixture=(${fixture:+"$here/$fixture"})
    read -r -a plugins <<<"$(sed -n 's/.*CTESTS_PLUGINS: *//p' "$src" | head -n 1)"
    plugenv=()
    if [ -n "${plugdir:-}" ] && [ ${#plugins[@]} -gt 0 ]; then
        mkdir -p "$plugdir/$name"
        for f in "$plugdir"/lib*.so* $(dpkg -L "${plugins[@]}" 2>/dev/null | grep '/sasl2/lib[^/]*\.so'); do
            ln -sf "$f" "$plugdir/$name/"
        done
        plugenv=(SASL_PATH="$plugdir/$name")
    fi
    if ! "$CC" "${cflags[@]}" -o "$exe" "$src" "${linkflags[@]}" "${extra[@]}" -lpthread -ldl \
            >"$log" 2>&1; then
        echo "FAIL $name (compile error)"
        sed 's/^/    /' "$log"
        failed=$((failed + 1))
        failed_names+=("$name")
        continue
    fi
    [ "$name" = t_exports ] && exports_built=1
    run_one "$name" "$exe" "${plugenv[@]}" -- "${fixture[@]}"
done

# Without a Cyrus library to forward to, sasl2-rs's server side must fail
# cleanly: t_exports again, in a private mount namespace where every Cyrus
# library file of the system is hidden (needs root and unshare(1)). Only
# when t_exports was built in this run: a program left from another build
# (say, uninstrumented beside an ASan library) proves nothing.
if [ $expect_rust -eq 1 ] && [ "${exports_built:-0}" = 1 ] &&
   { [ -z "${CTESTS_ONLY:-}" ] || [[ t_exports == *"$CTESTS_ONLY"* ]]; }; then
    ours=$(readlink -f "$libfile")
    hide=()
    for f in /usr/lib/*/libsasl2.so.2.* /usr/lib64/libsasl2.so.2.* /usr/lib/libsasl2.so.2.*; do
        [ -f "$f" ] && [ "$(readlink -f "$f")" != "$ours" ] && hide+=("$(readlink -f "$f")")
    done
    if [ ${#hide[@]} -gt 0 ] && unshare --mount true 2>/dev/null; then
        run_one t_exports-without-cyrus "$bindir/t_exports" CTESTS_NO_CYRUS=1 -- \
            env HIDE="${hide[*]}" unshare --mount --propagation private \
            sh -c 'for f in $HIDE; do mount --bind /dev/null "$f" || exit 98; done; exec "$@"' hide
    else
        echo "SKIP t_exports-without-cyrus (needs root, unshare and a Cyrus library to hide)"
    fi
fi

echo "ctests: $total_assert assertions, $total_assert_failed failed"
if [ $failed -gt 0 ]; then
    echo "ctests: failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
