#!/usr/bin/env bash
# Builds the Debian package of sasl2-rs with dpkg-deb (`make deb`):
#
#   deb/build.sh BUILD_DIR VERSION
#
# from BUILD_DIR/libsasl2.so.<lib version> (built by the Makefile) and the
# headers in include/. Writes BUILD_DIR/sasl2-rs_VERSION_ARCH.deb and prints
# its path. Layout (multiarch directory MA, e.g. x86_64-linux-gnu):
#
#   /usr/lib/MA/libsasl2.so.2.1.28        this library
#   /usr/lib/MA/libsasl2.so.2             -> libsasl2.so.2.1.28, in place of
#                                         Cyrus's link (diverted by preinst
#                                         to /usr/lib/MA/sasl2-rs/)
#   /usr/include/sasl2-rs/sasl/*.h        the headers (beside Cyrus's)
#   /usr/lib/MA/pkgconfig/libsasl2-rs.pc  pkg-config libsasl2-rs
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
build=$(cd "${1:?usage: deb/build.sh BUILD_DIR VERSION}" && pwd)
version=${2:?usage: deb/build.sh BUILD_DIR VERSION}
libversion=${version%%-*}
real=libsasl2.so.$libversion
[ -f "$build/$real" ] || { echo "deb/build.sh: $build/$real is missing (run make)" >&2; exit 1; }
for tool in dpkg-deb dpkg-architecture dpkg-shlibdeps; do
    command -v $tool >/dev/null || { echo "deb/build.sh: $tool is missing (apt-get install dpkg-dev)" >&2; exit 1; }
done

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$ma
divertdir=$libdir/sasl2-rs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root

install -d "$root/DEBIAN" "$root$libdir/pkgconfig" "$root/usr/include/sasl2-rs/sasl" \
    "$root/usr/share/doc/sasl2-rs"
# Debian's shared libraries: mode 0644, no symbol table beyond the dynamic one.
install -m 0644 "$build/$real" "$root$libdir/$real"
strip --strip-unneeded --remove-section=.comment "$root$libdir/$real"
ln -s "$real" "$root$libdir/libsasl2.so.2"
install -m 0644 "$repo"/include/sasl/*.h "$root/usr/include/sasl2-rs/sasl/"
sed -e "s|@LIBDIR@|$libdir|; s|@VERSION@|$libversion|" "$here/libsasl2-rs.pc.in" \
    >"$root$libdir/pkgconfig/libsasl2-rs.pc"
install -m 0644 "$here/copyright" "$root/usr/share/doc/sasl2-rs/copyright"

subst() {
    sed -e "s|@LIBDIR@|$libdir|g; s|@DIVERTDIR@|$divertdir|g; s|@LIBVERSION@|$libversion|g" \
        -e "s|@VERSION@|$version|g; s|@ARCH@|$arch|g" "$@"
}
for script in preinst postrm; do
    subst "$here/$script" >"$root/DEBIAN/$script"
    chmod 0755 "$root/DEBIAN/$script"
done
install -m 0644 "$here/triggers" "$root/DEBIAN/triggers"

# Depends: Cyrus's library (the server side) and what dpkg-shlibdeps finds
# for the libraries this one links (libc6).
mkdir -p "$work/shlibs/debian"
printf 'Source: sasl2-rs\n\nPackage: sasl2-rs\nArchitecture: any\n' >"$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps --warnings=0 -O "$root$libdir/$real" | sed -n 's/^shlibs:Depends=//p')
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
subst "$here/control.in" | sed -e "s|@SHLIBS@|$shlibs|; s|@SIZE@|$size|" >"$root/DEBIAN/control"
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) \
    >"$root/DEBIAN/md5sums"

deb=$build/sasl2-rs_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
