#!/bin/bash
# Fixture for the Kerberos C tests: runs "$@" with a private MIT KDC (see
# interop/krb5kdc.bash) on 127.0.0.1, a user "user" (password "userpw") with
# a forwardable ticket in KRB5CCNAME, and service principals host/localhost
# and host/127.0.0.1 in the keytab named by KRB5_KTNAME (the test's acceptor
# reads it). The KDC is stopped by its pid and its folder removed afterwards.
# CTESTS_KDC_USERKEYTAB is set to a client keytab for "user".
#
# usage: ctests/with-kdc.sh COMMAND [ARG...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
for tool in krb5kdc kdb5_util kadmin.local kinit; do
    command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "with-kdc.sh: $tool is missing (apt-get install krb5-kdc krb5-admin-server krb5-user)" >&2; exit 2; }
done
# shellcheck source-path=SCRIPTDIR source=../interop/krb5kdc.bash
. "$here/../interop/krb5kdc.bash"
dir=$(mktemp -d "${TMPDIR:-/tmp}/sasl2-ctests-kdc.XXXXXX")
trap 'kdc_stop; rm -rf "$dir"' EXIT
kdc_start "$dir" || exit 2
kdc_user user userpw || exit 2
kdc_service host/localhost host/127.0.0.1 || exit 2
kadmin.local -q "ktadd -norandkey -k $dir/user.keytab user" >>"$dir/kadmin.log" 2>&1 || exit 2
kdc_kinit user userpw -f || { echo "with-kdc.sh: kinit failed: $(cat "$dir/kinit.log")" >&2; exit 2; }
export CTESTS_KDC_USERKEYTAB=$dir/user.keytab
# No replay cache for the test's acceptor: its threads would wait on the
# cache's OFD file lock, and valgrind does not let a thread blocked there
# release its scheduler lock, so the process would hang.
export KRB5RCACHETYPE=none
"$@"
