#!/usr/bin/env bash
# Interop test: kcat (librdkafka, unchanged, Debian's build against libsasl2)
# lists a Kafka cluster's metadata after GSSAPI authentication through the
# library under test.
#
#   interop/kafka.sh [LIBDIR|system]
#
# Kafka itself is not in Debian: interop/peer/kafka_broker.py is a fake
# broker on 127.0.0.1 that speaks ApiVersions, SaslHandshake v0, RFC 4752
# GSSAPI in raw frames (the service key kafka/127.0.0.1 from a private MIT
# KDC, interop/krb5kdc.bash) and Metadata v0, and logs every authentication
# with the principal its GSS-API context names. librdkafka asks libsasl2 for
# service "kafka" (sasl.kerberos.service.name) at the broker's host, and its
# own kinit is turned off: the ticket comes from kinit into KRB5CCNAME.
# Cases, through LD_LIBRARY_PATH and LD_PRELOAD:
#   linkage    librdkafka's libsasl2 resolves to the library under test;
#   list       `kcat -L` with alice's ticket lists the broker and the topic;
#              the broker logs AUTH OK for alice, no security layer; the
#              process really loaded the library under test (LD_DEBUG); kcat
#              printed no libsasl2 log message (Cyrus prints none);
#   noticket   no credentials cache: kcat fails as with Cyrus (SASL_FAIL and
#              the GSS-API library's reason), the broker logs no AUTH OK;
#   layer      a broker offering only the integrity and confidentiality
#              layers, which librdkafka never uses (it sets no security
#              properties, so max_ssf 0): the client must refuse the offer
#              (SASL_TOOWEAK), the broker sees the connection end there.
# The KDC and the brokers run in the foreground, stopped by their pids.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=krb5kdc.bash
. "$(dirname "$0")/krb5kdc.bash"
interop_init kafka "${1:-system}"
need_pkgs kcat librdkafka1 python3-gssapi krb5-kdc krb5-admin-server krb5-user \
    libsasl2-modules-gssapi-mit

USER_NAME=alice
PASSWORD='s3cret-Pa55'
TOPIC=sasl2rs-interop
PY=/usr/bin/python3 # Debian's, which has python3-gssapi
KCAT=$(command -v kcat) || die "no kcat"
# libsasl2 is librdkafka's dependency, not kcat's: the linkage case checks it.
RDKAFKA=$(ldd "$KCAT" | awk '$1 ~ /^librdkafka\.so/ {print $3; exit}')
[ -e "$RDKAFKA" ] || die "kcat has no librdkafka"

kdc_start "$T/kdc" || die "the KDC did not start"
BG_PIDS+=("$KDC_PID")
kdc_user "$USER_NAME" "$PASSWORD" && kdc_service kafka/127.0.0.1 ||
    die "kadmin.local failed: $(tail -n 3 "$T/kdc/kadmin.log")"
kdc_kinit "$USER_NAME" "$PASSWORD" || die "kinit failed: $(tail -n 3 "$T/kdc/kinit.log")"
TICKET=$KRB5CCNAME
NO_TICKET=FILE:$T/kdc/no-such-ccache

# start_broker NAME LAYERS: a fake broker offering the layer mask LAYERS;
# sets PORT[NAME] and LOG[NAME]. It reads KRB5_KTNAME from kdc_start.
declare -A PORT LOG
start_broker() {
    local port
    LOG[$1]=$T/broker-$1.log
    for _ in 1 2 3; do
        port=$(free_port)
        bg "$PY" "$HERE/peer/kafka_broker.py" "$port" "${LOG[$1]}" "$TOPIC" "$2" >"$T/broker-$1.out" 2>&1
        if wait_for_port "$port"; then
            PORT[$1]=$port
            return 0
        fi
    done
    die "the broker ($1) did not start: $(tail -3 "$T/broker-$1.out")"
}
start_broker plain 1
start_broker layer 6
echo "# $("$KCAT" -V 2>&1 | head -1), $(basename "$(readlink -f "$RDKAFKA")"); fake brokers on :${PORT[plain]} (no layer) and :${PORT[layer]} (layers only)"

# kcat_list MODE BROKER CASE CCACHE: kcat -L under the library; its output in
# $T/MODE-CASE.{out,err}, the broker log lines it caused in $T/MODE-CASE.log,
# the libraries it loaded (LD_DEBUG) in $T/MODE-CASE.ld.*.
kcat_list() {
    local mode=$1 broker=$2 base="$T/$1-$3" from rc
    from=$(log_size "${LOG[$broker]}")
    client_env "$mode"
    env KRB5CCNAME="$4" LD_DEBUG=libs LD_DEBUG_OUTPUT="$base.ld" "${CLIENT_ENV[@]}" \
        timeout -k 5 30 "$KCAT" -L -m 5 -b "127.0.0.1:${PORT[$broker]}" \
        -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=GSSAPI \
        -X sasl.kerberos.service.name=kafka -X sasl.kerberos.kinit.cmd=true \
        >"$base.out" 2>"$base.err"
    rc=$?
    # kcat is gone, but the broker's thread may not have logged the last
    # connection's end yet: wait for a verdict, then a moment more.
    wait_log "${LOG[$broker]}" "$from" "^AUTH \|^CLOSE " >/dev/null
    sleep 0.2
    tail -c +"$from" "${LOG[$broker]}" >"$base.log"
    return $rc
}

# loaded_ours BASE: every libsasl2 the dynamic linker initialised in the run is
# the library under test.
loaded_ours() {
    local got want
    want=$(readlink -f "$LIBSASL")
    got=$(cat "$1".ld.* 2>/dev/null | sed -n 's/.*calling init: \(.*libsasl2[^ ]*\).*/\1/p' |
        while read -r f; do readlink -f "$f"; done | sort -u)
    [ "$got" = "$want" ]
}

# listed BASE PORT: kcat printed the broker's one broker and one topic.
listed() {
    grep -q "broker 1 at 127.0.0.1:$2\$" "$1.out" && grep -q "topic \"$TOPIC\" with 1 partitions" "$1.out"
}

for mode in ldpath preload; do
    client_env "$mode"
    check_linkage "$mode/linkage" "$RDKAFKA"

    base=$T/$mode-list
    if kcat_list "$mode" plain list "$TICKET" && listed "$base" "${PORT[plain]}" &&
        grep -q "^AUTH OK $USER_NAME@$KDC_REALM mech=GSSAPI .*service=kafka/127.0.0.1@$KDC_REALM .*layer=none" "$base.log" &&
        ! grep -q '^AUTH FAIL' "$base.log" && grep -q '^METADATA ' "$base.log" && loaded_ours "$base" &&
        ! grep -q '|LIBSASL|' "$base.err"; then
        # librdkafka prints SASL_CB_LOG messages as syslog ones of the same
        # number (SASL_LOG_DEBUG 5 as a notice), but Cyrus's "GSSAPI client
        # step" as debug: a successful login must print nothing, as with Cyrus.
        echo "# $mode list: broker $(grep -m1 '^AUTH OK' "$base.log" | cut -d' ' -f3-)"
        pass "$mode/list"
    else
        fail "$mode/list" "kcat: $(tail -2 "$base.err" | cut -c1-200); output: $(head -3 "$base.out"); broker: $(grep '^AUTH\|^CLOSE' "$base.log" | tail -3); loaded: $(cat "$base".ld.* 2>/dev/null | grep -o 'calling init: .*libsasl2[^ ]*' | sort -u)"
    fi

    base=$T/$mode-noticket
    # As with Cyrus: GSSAPI is chosen and fails in its first step (SASL_FAIL,
    # the GSS-API library's reason); librdkafka takes "No worthy mechs found"
    # for a missing plug-in and would say so, wrongly here.
    if ! kcat_list "$mode" plain noticket "$NO_TICKET" && ! listed "$base" "${PORT[plain]}" &&
        ! grep -q '^AUTH OK' "$base.log" && grep -q '^AUTH FAIL' "$base.log" &&
        grep -q 'SASL handshake failed (start (-1)).*No Kerberos credentials available' "$base.err" &&
        ! grep -q 'missing a GSSAPI module' "$base.err"; then
        echo "# $mode noticket: kcat: $(grep -m1 -o 'SASL handshake failed.*' "$base.err" | cut -c1-120)"
        pass "$mode/noticket"
    else
        fail "$mode/noticket" "kcat: $(tail -2 "$base.err"); broker: $(grep '^AUTH\|^CLOSE' "$base.log" | tail -3)"
    fi

    base=$T/$mode-layer
    if ! kcat_list "$mode" layer layer "$TICKET" && ! listed "$base" "${PORT[layer]}" &&
        ! grep -q '^AUTH OK' "$base.log" && ! grep -q '^METADATA ' "$base.log" &&
        grep -q '^AUTH FAIL conn=[0-9]* connection ended during the security-layer negotiation' "$base.log" &&
        grep -q 'SASL handshake failed (step)' "$base.err"; then
        echo "# $mode layer: kcat: $(grep -m1 -o 'SASL handshake failed.*' "$base.err")"
        pass "$mode/layer"
    else
        fail "$mode/layer" "kcat: $(tail -2 "$base.err"); broker: $(grep '^AUTH\|^CLOSE\|^METADATA' "$base.log" | tail -3)"
    fi
done
summary
