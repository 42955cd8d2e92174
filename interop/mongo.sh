#!/usr/bin/env bash
# Interop test: Debian's mongo-c-driver (libmongoc, unchanged), which uses
# libsasl2 for authMechanism=GSSAPI, authenticates through the library under
# test to a fake MongoDB server and runs "ping".
#
#   interop/mongo.sh [LIBDIR|system]
#
# MongoDB is not in Debian: interop/peer/mongo_server.py speaks enough of
# its wire protocol (the OP_QUERY handshake, then OP_MSG) and does the
# server side of RFC 4752 with python3-gssapi against a private MIT KDC
# (interop/krb5kdc.bash, service mongodb/127.0.0.1). The client is
# interop/peer/mongo_client.c, a ping through libmongoc. Cases, through
# LD_LIBRARY_PATH and LD_PRELOAD:
#   linkage   libmongoc's libsasl2 is the library under test;
#   ticket    alice has a ticket: the ping succeeds, and the server's log
#             shows alice@REALM authenticated with GSSAPI and pinging;
#   noticket  no ticket cache: libmongoc reports the SASL error of
#             sasl_client_start (SASL_FAIL, "generic failure", as with
#             Cyrus: GSSAPI alone is chosen and fails there) and no token
#             reaches the server.
# The server and the KDC run on 127.0.0.1 from the temp dir and are stopped
# by their pids.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=krb5kdc.bash
. "$(dirname "$0")/krb5kdc.bash"
interop_init mongo "${1:-system}"
need_pkgs libmongoc-dev pkg-config gcc libc6-dev python3-bson python3-gssapi \
    krb5-kdc krb5-admin-server krb5-user libsasl2-modules-gssapi-mit

PY=/usr/bin/python3 # Debian's, which has python3-bson and python3-gssapi
USER_NAME=alice
PASSWORD='s3cret-Pa55'
SERVICE=mongodb/127.0.0.1

kdc_start "$T/kdc" || die "the KDC did not start"
BG_PIDS+=("$KDC_PID")
{ kdc_user "$USER_NAME" "$PASSWORD" && kdc_service "$SERVICE"; } ||
    die "kadmin.local failed: $(tail -n 3 "$T/kdc/kadmin.log")"
kdc_kinit "$USER_NAME" "$PASSWORD" || die "kinit failed: $(tail -n 3 "$T/kdc/kinit.log")"
PRINC=$USER_NAME@$KDC_REALM
TICKET=$KRB5CCNAME
NO_TICKET=FILE:$T/kdc/empty-ccache

# shellcheck disable=SC2046 # pkg-config's flags are separate words
cc -O2 -Wall -Wextra -o "$T/mongo_client" "$HERE/peer/mongo_client.c" \
    $(pkg-config --cflags --libs libmongoc-1.0) >"$T/cc.log" 2>&1 ||
    die "cc mongo_client.c: $(head -n 5 "$T/cc.log")"

LOG=$T/server.log
for _ in 1 2 3; do
    PORT=$(free_port)
    # Its key comes from KRB5_KTNAME, which kdc_start exported.
    bg env -u LD_LIBRARY_PATH -u LD_PRELOAD "$PY" "$HERE/peer/mongo_server.py" \
        "$PORT" "$LOG" "$SERVICE@$KDC_REALM" >"$T/server.out" 2>&1
    if wait_for_port "$PORT" && kill -0 "${BG_PIDS[-1]}" 2>/dev/null; then break; fi
    PORT=
done
[ -n "$PORT" ] || die "mongo_server.py did not start: $(tail -n 3 "$T/server.out")"
echo "# fake MongoDB on 127.0.0.1:$PORT ($SERVICE); libmongoc $(pkg-config --modversion libmongoc-1.0)"

# The user name is the principal; the service is mongodb/<URI host> as
# given (CANONICALIZE_HOST_NAME:false: no DNS). Short timeouts: a failure
# must not wait for libmongoc's 30 s server selection.
URI="mongodb://$(urlencode "$PRINC")@127.0.0.1:$PORT/?authMechanism=GSSAPI"
URI+="&authMechanismProperties=SERVICE_NAME:mongodb,CANONICALIZE_HOST_NAME:false"
URI+="&serverSelectionTimeoutMS=5000&connectTimeoutMS=5000&socketTimeoutMS=10000"

# run MODE CASE CCACHE: the client with CCACHE; its output in $T/MODE-CASE.out,
# the server's log lines of the run in $T/MODE-CASE.log.
run() {
    local out="$T/$1-$2" from rc=0
    from=$(log_size "$LOG")
    env KRB5CCNAME="$3" "${CLIENT_ENV[@]}" timeout -k 5 30 "$T/mongo_client" "$URI" \
        >"$out.out" 2>&1 || rc=$?
    # The server logs END when libmongoc closes its connection (msgs=0:
    # wait_for_port's probe, which may end after the offset was taken).
    wait_log "$LOG" "$from" "^END [0-9]* msgs=[1-9]" >"$out.log"
    return $rc
}

for mode in ldpath preload; do
    client_env "$mode"
    check_linkage "mongo/$mode/linkage" "$T/mongo_client"

    base="$T/$mode-ticket"
    if run "$mode" ticket "$TICKET" && grep -q '^ping: .*"ok"' "$base.out" &&
        grep -q "^AUTH OK $PRINC mech=GSSAPI " "$base.log" &&
        grep -q "^CMD ping ok user=$PRINC " "$base.log"; then
        echo "# $mode: $(grep '^AUTH OK' "$base.log")"
        pass "mongo/$mode/ticket"
    else
        fail "mongo/$mode/ticket" "client: $(tail -n 2 "$base.out"); server: $(grep -v '^CONN' "$base.log" | tail -n 3)"
    fi

    base="$T/$mode-noticket"
    want='^error: domain=7 code=-1: SASL Failure: (-1): generic failure'
    if ! run "$mode" noticket "$NO_TICKET" && grep -q "$want" "$base.out" &&
        grep -q '^END [0-9]* msgs=[1-9][0-9]* authenticated=- ' "$base.log" &&
        ! grep -q '^AUTH \|^CMD ping ok' "$base.log"; then
        echo "# $mode: without a ticket libmongoc says: $(sed -n 's/^error: //p' "$base.out" | head -n 1 | cut -c 1-90)"
        pass "mongo/$mode/noticket"
    else
        fail "mongo/$mode/noticket" "want '$want'; client: $(tail -n 2 "$base.out"); server: $(grep -v '^CONN' "$base.log" | tail -n 3)"
    fi
done
summary
