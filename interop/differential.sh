#!/bin/bash
# The same C program against both libraries: interop/peer/trace.c runs
# PLAIN, LOGIN, CRAM-MD5, DIGEST-MD5, NTLM, SCRAM-SHA-1/256/512,
# SCRAM-SHA-256-PLUS, ANONYMOUS, EXTERNAL, and GSSAPI, GSS-SPNEGO and
# GS2-KRB5(-PLUS) on a private KDC, each offered alone, and eight servers'
# lists to choose from, through 72 kinds of application (authzid none, equal, other, 2,000 bytes,
# refused or rewritten by SASL_CB_CANON_USER; everything prompted; the name
# prompted and the rest from callbacks; a USER callback answering NULL; a
# failing AUTHNAME or GETREALM callback; no AUTHNAME or PASS callback; an
# empty or wrong password; a name in white space; no canon_user callback;
# a minimum SSF, a maximum of 1, no layers, NOPLAINTEXT, NOANONYMOUS and
# NODICTIONARY; a channel binding, critical or not; and applications that
# do not follow sasl.h to the letter: lengths of strlen + 1 from callbacks
# and prompts, a realm callback answering 1, a name or secret callback
# answering NULL, a secret of len 0 with text, a name callback answering
# SASL_INTERACT, 1 or SASL_NOMEM, a secret callback failing; more security
# flags, SSF bounds, a small maxbufsize, an external SSF; no initial
# response; SASL_SUCCESS_DATA, SASL_NEED_PROXY, no server name, addresses;
# a SASL_CB_GETOPT callback; UTF-8 passwords Latin-1 can and cannot hold,
# a UTF-8 name, a name with a realm, a 2,000-byte password, an empty name;
# prompts answered with NULL; USER, PASS and GETREALM callbacks answering
# SASL_INTERACT; prompts' lengths half the answer's; the man page's empty
# step after the success; maxbufsize 2^32-1, 2^24 and 4, a minimum SSF
# above the maximum; and a SASL_CB_LOG callback in every case, and every
# callback's context checked),
# against Cyrus's server
# side in the same process, once on the system's Cyrus library and once on
# the library under test, and prints what the application sees: its
# callbacks' calls in order (its log callback's above debug level), its
# prompts, each call's result (and after a
# failure sasl_errdetail's start: its code and that code's text) and the
# mechanism chosen, what the server was sent, the identities and layer
# after a success, and data through the layer both ways in packets up to
# SASL_MAXOUTBUF and beyond. Then a hostile server: each message the
# server sends the client in turn (CRAM-MD5, DIGEST-MD5, NTLM, SCRAM-SHA-1,
# SCRAM-SHA-256 and -PLUS, LOGIN, GSSAPI, GSS-SPNEGO, GS2-KRB5 and -PLUS)
# replaced by 18 variants of it
# (empty, NULL, cut, extended, bytes changed, a NUL, 3,000 or 100,000
# bytes, doubled, elements dropped or repeated), each case in a child
# process, so that a crash is part of the trace; and after DIGEST-MD5,
# GSSAPI and GSS-SPNEGO succeed, the server's protected packets changed
# on the way to the client in 15 ways; and every property sasl_getprop
# reads, with what sasl_encode does, at each stage of an exchange; and
# servers' lists written oddly (case, commas, white space, repeats, unknown
# names, none, 300 names); and OTP through Cyrus's own plugin; and the same
# client connection started again after a failure or a success; and the
# callbacks given to sasl_client_init, beside or instead of the
# connection's ("trace SASLDB global"). A case
# passes when the two traces are the same but for
# the differences the README lists as on purpose (ON_PURPOSE below). With
# the system library under test, Cyrus is compared with itself (the cases
# still run).
#
# usage: interop/differential.sh [LIBDIR|system]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
interop_init differential "${1:-}"
need_pkgs sasl2-bin libsasl2-modules libsasl2-modules-db libsasl2-dev gcc libc6-dev \
    krb5-kdc krb5-admin-server krb5-user libsasl2-modules-gssapi-mit libsasl2-modules-otp
# shellcheck source-path=SCRIPTDIR source=krb5kdc.bash
. "$HERE/krb5kdc.bash"

# GSSAPI and GSS-SPNEGO too: alice's ticket, imap/localhost's key.
kdc_start "$T/kdc" || die "the KDC did not start"
BG_PIDS+=("$KDC_PID")
kdc_user alice secret
kdc_service imap/localhost || die "kadmin failed"
kdc_kinit alice secret || die "kinit failed: $(tail -n 3 "$T/kdc/kinit.log")"
export TRACE_KERBEROS=1

for user in alice bob jürgen; do
    printf secret | saslpasswd2 -f "$T/sasldb2" -p -c -u localhost "$user"
done
# Passwords beyond ASCII: one Latin-1 can hold (DIGEST-MD5 hashes it as
# Latin-1), one it cannot.
printf 'gëhéim' | saslpasswd2 -f "$T/sasldb2" -p -c -u localhost carol
printf 'пароль' | saslpasswd2 -f "$T/sasldb2" -p -c -u localhost dora
# And one as long as a bearer token.
head -c 2000 /dev/zero | tr '\0' p | saslpasswd2 -f "$T/sasldb2" -p -c -u localhost erin
# Cyrus's OTP plugin on both sides (this library loads it as Cyrus does):
# saslpasswd2 makes the OTP secret too. An OTP exchange uses up a sequence
# number, so each run starts from this copy.
printf 'an otp pass phrase' | saslpasswd2 -f "$T/sasldb2" -p -c -u localhost otpuser
sasldblistusers2 -f "$T/sasldb2" | grep -q 'otpuser@.*cmusaslsecretOTP' || die "saslpasswd2 made no OTP secret"
cp "$T/sasldb2" "$T/sasldb2.orig"
cc -O2 -Wall -Wextra -o "$T/trace" "$HERE/peer/trace.c" -lsasl2 >"$T/cc.log" 2>&1 ||
    die "cc trace.c: $(head -n 5 "$T/cc.log")"
sed 's/^/# /' "$T/cc.log"

# Seconds for one run: about 4 s, 2 minutes under memcheck.
if [ -n "${INTEROP_VALGRIND:-}" ]; then LIMIT=900; else LIMIT=120; fi
# trace FILE ENV...: the trace on the library ENV selects.
trace() {
    local out=$1 part
    shift
    : >"$out"
    cp "$T/sasldb2.orig" "$T/sasldb2"
    # USER: the authentication name's default when there is no callback.
    for part in "" hostile global; do
        env -u LD_LIBRARY_PATH -u LD_PRELOAD USER=alice "$@" timeout "$LIMIT" "$T/trace" "$T/sasldb2" ${part:+"$part"} \
            >>"$out" 2>&1 || echo "=== ${part:+$part }exit status $?" >>"$out"
    done
}
trace "$T/cyrus.txt"
for mode in ldpath preload; do
    client_env "$mode"
    trace "$T/$mode.txt" "${CLIENT_ENV[@]}"
    python3 - "$T/cyrus.txt" "$T/$mode.txt" "$mode" <<'EOF'
import re, sys
def cases(path):
    out, name = {}, None
    for line in open(path, errors="replace"):
        if line.startswith("=== "):
            name = line[4:].strip()
            out[name] = []
        elif name is not None:
            out[name].append(line.rstrip("\n"))
    return out
# Where this library differs on purpose (README, "Where it differs from
# Cyrus on purpose"): (cases, a line's part to rewrite in both traces, what
# it becomes, why); no part: the case is not compared; becomes None: the
# lines with that part go; a function as the part rewrites the case's lines.
def after_restart(keep):
    """The lines of a restart case after its " again from" line that
    `keep` keeps (the first exchange stays whole)."""
    def rewrite(lines):
        at = next((i + 1 for i, line in enumerate(lines) if line.startswith(" again from")), len(lines))
        return lines[:at] + keep(lines[at:])
    return rewrite
def without_nomech_log(lines):
    """Without the log lines that come just before a start's SASL_NOMECH."""
    return [line for i, line in enumerate(lines)
            if not (line.startswith("  callback log level") and
                    next((l for l in lines[i + 1:] if not l.startswith("  callback log level")), "").startswith(" sasl_client_start -4"))]
def final_step_result(lines):
    """Without the result of the step after the success (and its log line
    and error detail): the layer's packets that follow are compared."""
    out = []
    for line in lines:
        if line.endswith(" (after the success)") and line.startswith(" sasl_client_step "):
            if out and out[-1] == "  callback log level 1":
                out.pop()
            out.append(" sasl_client_step (after the success)")
        elif line.startswith("  errdetail") and out and out[-1] == " sasl_client_step (after the success)":
            continue
        else:
            out.append(line)
    return out
def up_to_the_layer(lines):
    """The exchange and what it reports, without the layer's round trips
    (nor a crash in them)."""
    at = next((i for i, line in enumerate(lines) if line.startswith("  to the ")), len(lines))
    return [line for line in lines[:at] if "crashed by signal" not in line]
NAMES_ASKED = re.compile(r"^  (callback (simple 0x400[12]|canon_user .*)|prompt 0x400[12] .*)$")
ON_PURPOSE = [
    (r"", without_nomech_log, None, "why no mechanism qualifies is logged (Cyrus logs nothing)"),
    (r"^\S+ v5[012] ", r"^  callback getopt ", None,
     "each library asks for its own options (this one's SCRAM and NTLM ones, Cyrus's log_level at the start)"),
    (r"^hostile SCRAM-", r"^  callback log level 3$", None,
     "a SCRAM server's iteration count under 4,096 is logged as a warning"),
    (r"", r"^( sasl_client_start \d \S+)-PLUS$", r"\1",
     "-PLUS names are reported (Cyrus reports the base name and binds)"),
    # GS2-KRB5 (README, "GS2-KRB5 uses the Kerberos credential only"):
    # the name, password and canon_user calls Cyrus's GS2 makes for the
    # principal it asks for are left out (becomes None: the lines go), and
    # the identities reported.
    (r"^(hostile )?GS2-KRB5", r"^  (callback (simple 0x4002|secret 0x4004|canon_user .*)|prompt 0x4002 .*)$", None,
     "GS2-KRB5 asks for no authentication name or password, and canonicalises the principal"),
    (r"^(hostile )?GS2-KRB5", r" SASL_USERNAME \S+ SASL_AUTHUSER \S+", " SASL_USERNAME ... SASL_AUTHUSER ...",
     "GS2-KRB5 reports the principal (Cyrus: the name the callback gave)"),
    (r"^GS2-KRB5 v(4|7|10|27|30|33|5[3-8]) ", None, None,
     "the same: the name Cyrus's GS2 asks for fails, is prompted for or renamed (no ticket for it)"),
    (r"^GS2-KRB5 v6[36] ", None, None,
     "Cyrus's GS2 drops an authzid the application gives through a prompt (sends none); this one sends it"),
    (r"^NTLM v5[34] ", None, None,
     "a non-ASCII password is hashed in UTF-16 as Windows does (Cyrus widens each byte, as only its own server does)"),
    # Cyrus's MAXOUTBUF-sized packets overflow its own server (sasl_decode
    # SASL_FAIL): the sizes that follow from it are left out too.
    (r"^(hostile(-layer)? )?(GSS-SPNEGO|klist) ", r" SASL_MAXOUTBUF \d+|^  to the \S+ (65536|65537|65476|65477|150000) bytes.*", "",
     "GSS-SPNEGO's SASL_MAXOUTBUF leaves room for the token's overhead"),
    (r"^(GSSAPI|GSS-SPNEGO|klist) v13 ", r" SASL_(SSF|MAXOUTBUF) \d+|^  to the .*", "",
     "an application that accepts no layer (maxbufsize 0) gets none"),
    (r"^(GSS-SPNEGO|klist) v(19|41|42) ", r" SASL_SSF \d+|^  to the .*", "",
     "GSS-SPNEGO honours max_ssf (less an external SSF)"),
    (r"^(GSS-SPNEGO|klist) v42 ", r"^  callback log level 2$", None,
     "the same: a packet that fails only here (its size follows from SASL_MAXOUTBUF) is logged"),
    (r"^GSS-SPNEGO v39 ", r"^  to the .*", "",
     "with a small maxbufsize too, GSS-SPNEGO's packets follow from its SASL_MAXOUTBUF"),
    (r"^(GSSAPI|GSS-SPNEGO) v23 ", None, None,
     "a critical channel binding is not dropped: GSSAPI cannot carry it (Cyrus's server refuses)"),
    (r"^(?!GSSAPI|GSS-SPNEGO|klist|ANONYMOUS|EXTERNAL)\S+ v31 ", None, None,
     "a callback's stray positive code fails the step (Cyrus returns it from the step: SASL_CONTINUE, nothing sent)"),
    (r"^\S+ v68 ", up_to_the_layer, None,
     "with maxbufsize 2^32-1 Cyrus's client corrupts its heap (it crashes in the layer's round trips or at the end)"),
    (r"^(DIGEST-MD5|list4) v6[89] ", None, None,
     "DIGEST-MD5 announces a maxbuf of at most 16,777,215 (RFC 2831); Cyrus sends maxbufsize, which its server refuses"),
    (r"^GSS-SPNEGO v70 ", None, None,
     "GSS-SPNEGO fails when no protected byte fits maxbufsize (Cyrus reports it as MAXOUTBUF and sends larger packets)"),
    (r"^GSS-SPNEGO v71 ", None, None,
     "GSS-SPNEGO honours the SSF bounds: a minimum above the maximum is refused, as GSSAPI does in both libraries"),
    (r"^(GSSAPI|klist) v71 ", r"^  callback log level 2$", None,
     "a minimum SSF above the maximum is logged"),
    (r"^\S+ v67 ", final_step_result, None,
     "the man page's empty step after the success returns SASL_OK (Cyrus: SASL_FAIL, logged)"),
    (r"^props ", r" (4|14)=0:\S+", r" \1=0:...",
     "SASL_GETOPTCTX is the getopt callback's context; SASL_AUTHSOURCE of a built-in mechanism its name"),
    (r"^props DIGEST-MD5 v8 ", r" 1=0:\d+ 2=0:\d+ (.*); sasl_encode 0, \d+ out", r" 1=0:? 2=0:? \1; sasl_encode 0, ? out",
     "a layer is used and reported once the exchange succeeds (Cyrus: once DIGEST-MD5's response is sent)"),
    # The same connection started again (README, "A new exchange on the
    # same connection"); a function rewrites a case's lines.
    (r"^restart (LOGIN|CRAM-MD5) r[0-3] ",
     after_restart(lambda rest: [" fails" if any(l.startswith(" sasl_client_") and " -" in l for l in rest) else " works"]),
     None, "a start after the client completed fails at once (Cyrus: at a server-first mechanism's first step)"),
    (r"^restart ", after_restart(lambda rest: [l for l in rest if not NAMES_ASKED.search(l)]), None,
     "a new exchange asks for the names again (Cyrus keeps the last exchange's, even after a failure)"),
    # A hostile server (README, "A hostile server's messages"):
    (r"^hostile ", r"^ sasl_client_step -\d+$", " sasl_client_step fails",
     "a malformed message is SASL_BADPROT, a missing or wrong proof SASL_BADSERV; Cyrus's code varies"),
    (r"^hostile ", r"^  errdetail SASL\(-\d+\): .*", "  errdetail of that code", "the same: the code's text"),
    (r"^hostile CRAM-MD5 s1m(0|1|14|16) ", None, None, "an empty CRAM-MD5 challenge is refused"),
    (r"^hostile NTLM s1m(2|3) ", None, None,
     "a cut NTLM challenge is refused before the application is asked (Cyrus asks, then refuses)"),
    (r"^hostile NTLM s1m7 ", None, None,
     "NTLMv2 hashes the server's target name, which Cyrus's default NTLMv1 ignores"),
    (r"^hostile DIGEST-MD5 s1m(13|17) ", None, None,
     "a byte no token has (0xFF in the cipher list), or a second nonce, is refused (Cyrus answers)"),
    (r"^hostile DIGEST-MD5 s2m(12|17) ", None, None, "a second rspauth is refused (Cyrus accepts)"),
    (r"^hostile DIGEST-MD5 s(1m1[01]|2m(0|1|6|10|11|14|16)) ", r"^  callback log level 2$", None,
     "why DIGEST-MD5 refuses an oversized challenge, or a missing or wrong rspauth, is logged (Cyrus logs nothing)"),
    (r"^hostile SCRAM-SHA-(1|256)(-PLUS)? s1m12 ", None, None,
     "a second nonce is refused at once (Cyrus answers, and its server refuses that)"),
    (r"^hostile SCRAM-SHA-(1|256)(-PLUS)? s2m(5|12|17) ", None, None,
     "extensions after the verifier are ignored, as RFC 5802 allows (Cyrus refuses them)"),
]
def normalise(cases):
    for name in list(cases):
        for pattern, part, becomes, _ in ON_PURPOSE:
            if not re.search(pattern, name + " "):
                continue
            if part is None:
                del cases[name]
                break
            if callable(part):
                cases[name] = part(cases[name])
            elif becomes is None:
                cases[name] = [line for line in cases[name] if not re.search(part, line)]
            else:
                cases[name] = [re.sub(part, becomes, line) for line in cases[name]]
    return cases
def case_name(name):
    return "/".join(name.split()[:3 if name.startswith(("hostile", "restart", "props", "global")) else 2])
cyrus, ours, mode = normalise(cases(sys.argv[1])), normalise(cases(sys.argv[2])), sys.argv[3]
if len(cyrus) < 480:
    print(f"FAIL differential/{mode}/setup: only {len(cyrus)} cases ran on Cyrus")
if sum(name.startswith("hostile ") for name in cyrus) < 150:
    print(f"FAIL differential/{mode}/hostile-setup: too few hostile cases ran on Cyrus")
for name, want in cyrus.items():
    got = ours.get(name)
    case = f"differential/{mode}/{case_name(name)}"
    if got == want:
        print(f"PASS {case}")
    elif got is None:
        print(f"FAIL {case}: did not run")
    else:
        first = next(i for i in range(max(len(want), len(got))) if want[i:i + 1] != got[i:i + 1])
        print(f"FAIL {case}: line {first + 1}: Cyrus {want[first:first + 2]}, this library {got[first:first + 2]}")
for name in ours.keys() - cyrus.keys():
    print(f"FAIL differential/{mode}/{case_name(name)}: not in Cyrus's trace")
EOF
done | tee "$T/results"
PASSED=$(grep -c '^PASS ' "$T/results" || true)
FAILED=$(grep -c '^FAIL ' "$T/results" || true)
summary
