#!/usr/bin/env python3
"""A fake Kafka broker, just enough for `kcat -L` over SASL_PLAINTEXT/GSSAPI.

usage: kafka_broker.py PORT LOGFILE TOPIC [LAYERS]

Listens on 127.0.0.1:PORT and serves, per connection (one thread each):
  ApiVersions v0-v3 (v3: flexible request header and body; the response
      header is always v0, KIP-511), then SaslHandshake v0 (mechanism GSSAPI
      only), then the GSSAPI exchange of RFC 4752 in raw 4-byte
      length-prefixed frames (no SaslAuthenticate is advertised, so the
      client does not wrap its tokens in Kafka requests), then Metadata v0
      (one broker, id 1 at 127.0.0.1:PORT; one topic TOPIC, one partition).
The acceptor uses the keytab in KRB5_KTNAME and accepts only the ticket for
kafka/127.0.0.1. LAYERS is the security-layer bit mask offered (default 1,
no layer); a layer not offered fails the authentication, and so does any
offered one but "none" (this broker cannot speak through a layer).

LOGFILE gets one line per event, flushed at once:
  CONN n FROM addr
  AUTH OK <principal> mech=GSSAPI conn=n service=<acceptor> authzid='..' layer=L maxbuf=N
  AUTH FAIL conn=n <why>
  METADATA conn=n v0 topics=..
  CLOSE conn=n <why>
Anything unexpected closes the connection; no read waits more than 10 s.
"""
import socket
import socketserver
import struct
import sys
import threading

import gssapi

MAX_FRAME = 1 << 20   # Kafka requests here are tiny; refuse anything larger
MAX_TOKEN = 64 << 10  # a Kerberos AP-REQ with a big PAC stays well below
TIMEOUT = 10

API_METADATA, API_JOIN_GROUP, API_SASL_HANDSHAKE, API_VERSIONS = 3, 11, 17, 18
# (key, min, max). JoinGroup is never served: librdkafka only enables GSSAPI
# for brokers that list it (its "SASL_GSSAPI" feature means Kafka >= 0.9).
SUPPORTED = [(API_METADATA, 0, 0), (API_JOIN_GROUP, 0, 0),
             (API_SASL_HANDSHAKE, 0, 0), (API_VERSIONS, 0, 3)]
ERR_UNKNOWN_TOPIC = 3
ERR_UNSUPPORTED_SASL_MECHANISM = 33
ERR_UNSUPPORTED_VERSION = 35
BROKER_ID = 1
SERVICE = "kafka@127.0.0.1"


class Reject(Exception):
    """The peer broke the protocol: close the connection."""


class Reader:
    """Strict big-endian reader over one frame."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise Reject("truncated request")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self):
        value = shift = 0
        while True:
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 28:
                raise Reject("varint too long")

    def string(self, nullable=False):
        n = self.i16()
        if n == -1 and nullable:
            return None
        return self.take(n).decode("utf-8")

    def compact_string(self):
        n = self.uvarint()
        if n == 0:
            raise Reject("null compact string")
        return self.take(n - 1).decode("utf-8")

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def end(self):
        if self.pos != len(self.data):
            raise Reject("%d trailing bytes" % (len(self.data) - self.pos))


def kstr(s):
    b = s.encode("utf-8")
    return struct.pack(">h", len(b)) + b


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class Broker(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, log, topic, layers):
        self.port, self.topic, self.layers = port, topic, layers
        self.log_file = open(log, "a", buffering=1, encoding="utf-8")
        self.lock = threading.Lock()
        self.conns = 0
        name = gssapi.Name(SERVICE, gssapi.NameType.hostbased_service)
        # Fails at start when the keytab lacks the key: better than per client.
        self.creds = gssapi.Credentials(name=name, usage="accept")
        super().__init__(("127.0.0.1", port), Handler)

    def log(self, line):
        with self.lock:
            self.log_file.write(line + "\n")

    def next_conn(self):
        with self.lock:
            self.conns += 1
            return self.conns


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.request.settimeout(TIMEOUT)
        self.conn = self.server.next_conn()
        self.authenticated = False
        self.verdict_logged = False
        self.stage = "before the handshake"
        self.server.log("CONN %d FROM %s:%d" % ((self.conn,) + self.client_address))

    def log(self, what):
        self.server.log(what)

    # -- framing ---------------------------------------------------------
    def read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    def read_frame(self, limit):
        (n,) = struct.unpack(">i", self.read_exact(4))
        if n < 0 or n > limit:
            raise Reject("frame of %d bytes (limit %d)" % (n, limit))
        return self.read_exact(n)

    def send_frame(self, payload):
        self.request.sendall(struct.pack(">i", len(payload)) + payload)

    def respond(self, corr, body):
        # Response header v0 (correlation id only) for every API used here.
        self.send_frame(struct.pack(">i", corr) + body)

    # -- connection ------------------------------------------------------
    def handle(self):
        why = "closed by the client"
        try:
            while True:
                if not self.request_once():
                    why = "closed by the broker"
                    break
        except EOFError:
            pass
        except (Reject, UnicodeDecodeError) as e:
            why = "protocol error: %s" % e
        except socket.timeout:
            why = "timed out"
        except OSError as e:
            why = "socket error: %s" % e
        # One verdict per authentication: a client that leaves mid-way fails.
        if not self.verdict_logged and self.stage != "before the handshake":
            self.log("AUTH FAIL conn=%d connection ended %s (%s)" % (self.conn, self.stage, why))
        self.log("CLOSE conn=%d %s" % (self.conn, why))

    def request_once(self):
        r = Reader(self.read_frame(MAX_FRAME))
        key, version, corr = r.i16(), r.i16(), r.i32()
        r.string(nullable=True)  # client id
        if key == API_VERSIONS:
            self.api_versions(r, version, corr)
            return True
        if key == API_SASL_HANDSHAKE and version == 0 and not self.authenticated \
                and self.stage == "before the handshake":
            return self.sasl_handshake(r, corr)
        if key == API_METADATA and version == 0 and self.authenticated:
            self.metadata(r, corr)
            return True
        # Like Kafka: nothing but ApiVersions and the handshake before
        # authentication, and never a version that was not advertised.
        raise Reject("unexpected request key %d v%d (authenticated: %s)"
                     % (key, version, self.authenticated))

    def api_versions(self, r, version, corr):
        if version > 3:
            # KIP-511: a v0 body with the error and our versions; the client
            # retries with the highest version listed.
            self.log("APIVERSIONS conn=%d v%d: unsupported" % (self.conn, version))
            body = struct.pack(">hi", ERR_UNSUPPORTED_VERSION, len(SUPPORTED))
            body += b"".join(struct.pack(">hhh", *k) for k in SUPPORTED)
            self.respond(corr, body)
            return
        if version == 3:
            r.skip_tags()  # request header v2
            name, ver = r.compact_string(), r.compact_string()
            r.skip_tags()
            r.end()
            self.log("APIVERSIONS conn=%d v3 client=%s/%s" % (self.conn, name, ver))
            body = struct.pack(">h", 0) + uvarint(len(SUPPORTED) + 1)
            body += b"".join(struct.pack(">hhh", *k) + uvarint(0) for k in SUPPORTED)
            body += struct.pack(">i", 0) + uvarint(0)  # throttle time, tags
        else:
            r.end()
            self.log("APIVERSIONS conn=%d v%d" % (self.conn, version))
            body = struct.pack(">hi", 0, len(SUPPORTED))
            body += b"".join(struct.pack(">hhh", *k) for k in SUPPORTED)
            if version >= 1:
                body += struct.pack(">i", 0)
        self.respond(corr, body)

    def sasl_handshake(self, r, corr):
        mech = r.string()
        r.end()
        if mech != "GSSAPI":
            self.respond(corr, struct.pack(">hi", ERR_UNSUPPORTED_SASL_MECHANISM, 1) + kstr("GSSAPI"))
            self.auth_fail("mechanism %r not offered" % mech)
            return False
        self.respond(corr, struct.pack(">hi", 0, 1) + kstr("GSSAPI"))
        self.stage = "before the first GSSAPI token"
        verdict = self.gssapi_exchange()
        if verdict is None:
            return False
        self.authenticated = self.verdict_logged = True
        self.log("AUTH OK %s mech=GSSAPI conn=%d %s" % (verdict[0], self.conn, verdict[1]))
        return True

    def gssapi_exchange(self):
        """RFC 4752 as acceptor. (principal, details) or None (logged)."""
        ctx = gssapi.SecurityContext(creds=self.server.creds, usage="accept")
        try:
            token = self.read_frame(MAX_TOKEN)
            self.stage = "during the GSS-API context exchange"
            while True:
                out = ctx.step(token)
                if ctx.complete:
                    break
                self.send_frame(out or b"")
                token = self.read_frame(MAX_TOKEN)
            if out:
                # The last context token; the client answers it with nothing.
                self.send_frame(out)
                self.stage = "waiting for the empty response"
                if self.read_frame(MAX_TOKEN) != b"":
                    return self.auth_fail("non-empty response to the last context token")
            self.stage = "during the security-layer negotiation"
            # Offer: the layer mask and our max buffer (0: we take no layer
            # data), integrity-protected but not encrypted.
            offer = bytes([self.server.layers]) + (0).to_bytes(3, "big")
            self.send_frame(ctx.wrap(offer, False).message)
            answer = ctx.unwrap(self.read_frame(MAX_TOKEN))
        except gssapi.exceptions.GSSError as e:
            return self.auth_fail("GSS-API: %s" % " ".join(str(e).split()))
        msg = answer.message
        if answer.encrypted:
            return self.auth_fail("security-layer answer encrypted (RFC 4752: conf_flag FALSE)")
        if len(msg) < 4:
            return self.auth_fail("security-layer answer of %d bytes" % len(msg))
        layer, maxbuf = msg[0], int.from_bytes(msg[1:4], "big")
        if layer not in (1, 2, 4) or not layer & self.server.layers:
            return self.auth_fail("layer 0x%02x chosen, 0x%02x offered" % (layer, self.server.layers))
        try:
            authzid = msg[4:].decode("utf-8")
        except UnicodeDecodeError:
            return self.auth_fail("authzid is not UTF-8")
        if layer != 1:
            # Authenticated, but this broker cannot speak through a layer.
            return self.auth_fail("layer 0x%02x chosen by %s, not implemented here"
                                  % (layer, ctx.initiator_name))
        details = "service=%s authzid=%r layer=none maxbuf=%d" % (ctx.target_name, authzid, maxbuf)
        return str(ctx.initiator_name), details

    def auth_fail(self, why):
        self.log("AUTH FAIL conn=%d %s" % (self.conn, why))
        self.verdict_logged = True
        return None

    def metadata(self, r, corr):
        n = r.i32()
        if n < 0 or n > 1000:
            raise Reject("topic count %d" % n)
        wanted = [r.string() for _ in range(n)]
        r.end()
        self.log("METADATA conn=%d v0 topics=%s" % (self.conn, ",".join(wanted) or "(all)"))
        topic = self.server.topic
        body = struct.pack(">i", 1) + struct.pack(">i", BROKER_ID) + kstr("127.0.0.1") + \
            struct.pack(">i", self.server.port)
        topics = wanted or [topic]
        body += struct.pack(">i", len(topics))
        for name in topics:
            if name == topic:
                # One partition, id 0, led by us, replicas [1], isr [1].
                body += struct.pack(">h", 0) + kstr(name) + struct.pack(
                    ">ihiiiiii", 1, 0, 0, BROKER_ID, 1, BROKER_ID, 1, BROKER_ID)
            else:
                body += struct.pack(">h", ERR_UNKNOWN_TOPIC) + kstr(name) + struct.pack(">i", 0)
        self.respond(corr, body)


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    port, log, topic = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    layers = int(sys.argv[4], 0) if len(sys.argv) == 5 else 1
    if not 1 <= layers <= 7:
        sys.exit("LAYERS must be 1..7")
    broker = Broker(port, log, topic, layers)
    broker.log("LISTEN 127.0.0.1:%d service=%s layers=0x%02x" % (port, SERVICE, layers))
    broker.serve_forever()


if __name__ == "__main__":
    main()
