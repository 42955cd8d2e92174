#!/usr/bin/env bash
# Installs the Debian packages the test suites need, when missing: the C
# toolchain and valgrind, Cyrus's library, headers, plug-ins and tools (the
# reference, the server side and, for OTP, a plug-in served through ours),
# and the real servers and clients of the interop tests (slapd, dovecot,
# svnserve, python3-ldap, mbsync (isync), nmh with Dovecot's POP3 service,
# memcached with libmemcached's tools, Postfix and Dovecot's submission
# service, libvirtd and virsh,
# Perl's Authen::SASL with its Cyrus backend, kcat (librdkafka) and
# libmongoc with python3-gssapi and python3-bson for their fake servers;
# for Kerberos a private MIT KDC, Cyrus's and Dovecot's GSSAPI plug-ins, Heimdal's GSS-API
# library, the GSS-API headers of the C tests' acceptor and strace;
# clang, llvm and clang's sanitizer run-time libraries (a Recommends only,
# so not pulled in by --no-install-recommends) for the sanitizer builds). Run by
# `make check` and by CI (.ci/run); needs root (or passwordless sudo) only
# when something is missing.
set -euo pipefail
pkgs=(build-essential dpkg-dev pkg-config valgrind python3
      libsasl2-dev libsasl2-modules libsasl2-modules-db libsasl2-modules-otp sasl2-bin xz-utils
      ldap-utils slapd dovecot-imapd cyrus-clients subversion python3-ldap
      isync memcached libmemcached-tools postfix dovecot-submissiond
      libvirt-daemon libvirt-clients libauthen-sasl-cyrus-perl libauthen-sasl-perl
      krb5-kdc krb5-admin-server krb5-user libkrb5-dev libsasl2-modules-gssapi-mit
      dovecot-gssapi libgssapi3-heimdal strace clang llvm libclang-rt-dev
      kcat libmongoc-dev python3-gssapi python3-bson nmh dovecot-pop3d
      qemu-system-x86 libgvnc-1.0-0 libetpan20 libcyrus-imap-perl)
# Miri and -Zbuild-std (TSan) need these nightly components, when nightly
# is installed at all (best effort: those steps skip without them).
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    timeout 300 rustup component add miri rust-src --toolchain nightly >/dev/null 2>&1 ||
        echo "install-deps: could not add miri and rust-src to nightly"
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo -n)
echo "install-deps: installing ${missing[*]}"
# slapd, postfix: no system instance (no configuration, no service start).
echo "slapd slapd/no_configuration boolean true" | "${sudo[@]}" debconf-set-selections
echo "postfix postfix/main_mailer_type select No configuration" | "${sudo[@]}" debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
# No service of the installed servers is started (the tests start their own).
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
fi
"${sudo[@]}" apt-get update -qq
rc=0
"${sudo[@]}" flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null || rc=$?
[ $made_policy = 1 ] && "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
exit $rc
