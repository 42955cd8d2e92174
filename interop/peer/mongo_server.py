#!/usr/bin/env python3
"""A fake MongoDB server for interop/mongo.sh: just enough of the wire
protocol for libmongoc to connect, authenticate with GSSAPI (RFC 4752, the
GSS-API side done here with python3-gssapi and the services' keytab) and
run "ping".

usage: mongo_server.py PORT LOG PRINCIPAL
  PORT       TCP port on 127.0.0.1
  LOG        one line per event, appended and flushed at once:
               CONN n peer=ADDR            a connection was accepted
               AUTH OK NAME mech=GSSAPI authzid=... layer=... maxbuf=... conn=n
               AUTH FAIL conn=n: REASON
               CMD ping ok user=NAME conn=n / CMD ping refused conn=n
               END n msgs=K authenticated=NAME|- (WHY)  the connection is
                                           closed after K messages
  PRINCIPAL  the acceptor's Kerberos principal (service/host@REALM); its
             key comes from KRB5_KTNAME

Opcodes: OP_QUERY on DB.$cmd (answered with OP_REPLY; libmongoc's
handshake) and OP_MSG (answered with OP_MSG). Anything else, a malformed
or oversized message, or a message not complete within IDLE seconds is
logged and the connection closed. Commands: hello/isMaster (any time),
saslStart and saslContinue (on $external), ping (only once authenticated,
else Unauthorized), endSessions; others get CommandNotFound.
"""
import base64
import binascii
import datetime
import socket
import socketserver
import struct
import sys
import threading
import time

import bson
import gssapi

MAX_MESSAGE = 1 << 20  # our messages are a few KB; refuse anything bigger
MAX_CSTRING = 1024
IDLE = 15  # seconds for each whole message before we hang up
OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
MAX_WIRE = 13  # MongoDB 5.0: OP_MSG for everything after the handshake

# Both sides' bit-masks of RFC 4752 section 3.1; we offer no layer only.
LAYER_NONE = 0x01


class ProtocolError(Exception):
    """The peer broke the wire protocol: log it and hang up."""


class Log:
    def __init__(self, path):
        self.file = open(path, "a", buffering=1, encoding="utf-8")
        self.lock = threading.Lock()

    def line(self, text):
        with self.lock:
            # One line per event, whatever GSS-API messages contain.
            self.file.write(" ".join(text.split()) + "\n")
            self.file.flush()


LOG = None
PRINCIPAL = None
CONN_IDS = iter(range(1, 1 << 30))
CONN_LOCK = threading.Lock()


def recv_exact(sock, n, deadline):
    """n bytes, or None at a clean end of stream; by deadline (monotonic)."""
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        sock.settimeout(left)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            if buf:
                raise ProtocolError("connection closed mid-message")
            return None
        buf += chunk
    return bytes(buf)


def cstring(data, pos):
    """The NUL-terminated string at pos, and the position after it."""
    end = data.find(b"\0", pos, pos + MAX_CSTRING)
    if end < 0:
        raise ProtocolError("unterminated or overlong C string")
    try:
        return data[pos:end].decode("utf-8", "strict"), end + 1
    except UnicodeDecodeError:
        raise ProtocolError("C string is not UTF-8") from None


def document(data, pos):
    """The BSON document at pos (its length checked against the message)."""
    if pos + 5 > len(data):
        raise ProtocolError("truncated BSON document")
    (size,) = struct.unpack_from("<i", data, pos)
    if size < 5 or pos + size > len(data):
        raise ProtocolError("BSON length %d out of bounds" % size)
    try:
        return bson.decode(data[pos:pos + size]), pos + size
    except Exception as e:  # bson raises several types for bad input
        raise ProtocolError("invalid BSON: %s" % e) from None


def parse_query(body):
    """OP_QUERY: (database, command document)."""
    if len(body) < 4:
        raise ProtocolError("truncated OP_QUERY")
    ns, pos = cstring(body, 4)
    pos += 8  # numberToSkip, numberToReturn
    doc, pos = document(body, pos)
    if pos != len(body):
        _, pos = document(body, pos)  # an optional field selector
        if pos != len(body):
            raise ProtocolError("trailing bytes after OP_QUERY")
    if not ns.endswith(".$cmd"):
        raise ProtocolError("OP_QUERY on %r, not a command" % ns)
    # Read preferences wrap the command as {$query: {...}, ...}.
    if doc and next(iter(doc)) == "$query":
        doc = doc["$query"]
        if not isinstance(doc, dict):
            raise ProtocolError("$query is not a document")
    return ns[:-len(".$cmd")], doc


def parse_msg(body):
    """OP_MSG: (database, command document, moreToCome)."""
    if len(body) < 5:
        raise ProtocolError("truncated OP_MSG")
    (flags,) = struct.unpack_from("<I", body, 0)
    # Unknown bits 0-15 are errors (16-31 may be ignored), per the spec.
    if flags & 0xFFFC:
        raise ProtocolError("unknown required OP_MSG flags 0x%x" % flags)
    end = len(body) - (4 if flags & 1 else 0)  # checksumPresent: CRC-32C last
    pos, doc = 4, None
    while pos < end:
        kind = body[pos]
        pos += 1
        if kind == 0:
            if doc is not None:
                raise ProtocolError("two body sections")
            doc, pos = document(body[:end], pos)
        elif kind == 1:
            if pos + 4 > end:
                raise ProtocolError("truncated document sequence")
            (size,) = struct.unpack_from("<i", body, pos)
            if size < 5 or pos + size > end:
                raise ProtocolError("document sequence length out of bounds")
            seq_end = pos + size
            ident, p = cstring(body[:seq_end], pos + 4)
            items = []
            while p < seq_end:
                item, p = document(body[:seq_end], p)
                items.append(item)
            if doc is None:
                raise ProtocolError("document sequence before the body")
            doc[ident] = items
            pos = seq_end
        else:
            raise ProtocolError("unknown OP_MSG section kind %d" % kind)
    if doc is None or pos != end:
        raise ProtocolError("OP_MSG without a body section")
    db = doc.get("$db")
    if not isinstance(db, str):
        raise ProtocolError("OP_MSG without $db")
    return db, doc, bool(flags & 2)


def header(length, request_id, response_to, opcode):
    return struct.pack("<iiii", length, request_id, response_to, opcode)


def error(code, name, message):
    return {"ok": 0.0, "errmsg": message, "code": code, "codeName": name}


class Session:
    """One client connection: its SASL conversation and who it is."""

    def __init__(self, conn_id):
        self.conn_id = conn_id
        self.user = None  # the GSS initiator name, once authenticated
        self.ctx = None
        self.stage = None  # None, "token", "empty", "answer"
        self.payload_type = str
        self.messages = 0

    def auth_failed(self, reason):
        LOG.line("AUTH FAIL conn=%d: %s" % (self.conn_id, reason))
        self.ctx, self.stage = None, None
        return error(18, "AuthenticationFailed", "Authentication failed.")

    def reply_payload(self, data, done=False):
        """libmongoc's Cyrus path sends and wants base64 strings; others
        send binary: answer in the type the client used."""
        payload = base64.b64encode(data).decode() if self.payload_type is str else data
        return {"conversationId": 1, "done": done, "payload": payload, "ok": 1.0}

    def decode_payload(self, doc):
        payload = doc.get("payload")
        if isinstance(payload, str):
            try:
                return base64.b64decode(payload.encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError):
                raise ProtocolError("payload is not base64") from None
        if isinstance(payload, bytes):
            return payload
        raise ProtocolError("payload is neither a string nor binary")

    def offer(self):
        """The server's last challenge: no layer, no buffer, integrity-wrapped."""
        self.stage = "answer"
        offer = bytes([LAYER_NONE, 0, 0, 0])
        return self.reply_payload(self.ctx.wrap(offer, False).message)

    def sasl_start(self, db, doc):
        if db != "$external":
            return self.auth_failed("saslStart on %r, not $external" % db)
        if doc.get("mechanism") != "GSSAPI":
            return self.auth_failed("mechanism %r" % doc.get("mechanism"))
        self.payload_type = type(doc.get("payload"))
        token = self.decode_payload(doc)
        try:
            creds = gssapi.Credentials(
                name=gssapi.Name(PRINCIPAL, gssapi.NameType.kerberos_principal), usage="accept")
            self.ctx = gssapi.SecurityContext(creds=creds, usage="accept")
        except gssapi.exceptions.GSSError as e:
            return self.auth_failed("acceptor credentials: %s" % e.gen_message())
        return self.gss_step(token)

    def gss_step(self, token):
        try:
            out = self.ctx.step(token)
            # A failure that comes with an error token is raised only on the
            # next use of the context.
            complete = self.ctx.complete
        except gssapi.exceptions.GSSError as e:
            return self.auth_failed("accept_sec_context: %s" % e.gen_message())
        if not complete:
            self.stage = "token"
            return self.reply_payload(out or b"")
        if out:
            # RFC 4752: the client answers our last token with an empty one.
            self.stage = "empty"
            return self.reply_payload(out)
        return self.offer()

    def sasl_continue(self, db, doc):
        if db != "$external" or self.stage is None:
            return self.auth_failed("saslContinue without a conversation")
        if doc.get("conversationId") != 1:
            return self.auth_failed("conversationId %r" % doc.get("conversationId"))
        data = self.decode_payload(doc)
        if self.stage == "token":
            return self.gss_step(data)
        if self.stage == "empty":
            if data:
                return self.auth_failed("%d bytes, RFC 4752 wants an empty response" % len(data))
            return self.offer()
        # stage "answer": the client's choice of layer, buffer and authzid.
        try:
            res = self.ctx.unwrap(data)
        except gssapi.exceptions.GSSError as e:
            return self.auth_failed("unwrap: %s" % e.gen_message())
        answer = res.message
        if len(answer) < 4:
            return self.auth_failed("security layer answer of %d bytes" % len(answer))
        layer, maxbuf = answer[0], int.from_bytes(answer[1:4], "big")
        if layer != LAYER_NONE:
            return self.auth_failed("client chose layer mask 0x%02x, offered 0x01" % layer)
        try:
            authzid = answer[4:].decode("utf-8", "strict")
        except UnicodeDecodeError:
            return self.auth_failed("authzid is not UTF-8")
        name = str(self.ctx.initiator_name)
        # As mongod: an authzid, if any, must be the principal itself.
        if authzid and authzid != name:
            return self.auth_failed("authzid %r is not %r" % (authzid, name))
        self.user, self.ctx, self.stage = name, None, None
        LOG.line("AUTH OK %s mech=GSSAPI authzid=%s layer=0x%02x maxbuf=%d conn=%d"
                 % (name, authzid or "-", layer, maxbuf, self.conn_id))
        return self.reply_payload(b"", done=True)

    def command(self, db, doc):
        if not doc:
            raise ProtocolError("empty command")
        name = next(iter(doc))
        lname = name.lower()
        if lname in ("hello", "ismaster"):
            reply = {
                "helloOk": True, "ismaster": True,
                "maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48000000,
                "maxWriteBatchSize": 100000,
                "localTime": datetime.datetime.now(datetime.timezone.utc),
                "connectionId": self.conn_id, "minWireVersion": 0,
                "maxWireVersion": MAX_WIRE, "readOnly": False, "ok": 1.0,
            }
            if lname == "hello":
                reply["isWritablePrimary"] = reply.pop("ismaster")
            return reply
        if name == "saslStart":
            return self.sasl_start(db, doc)
        if name == "saslContinue":
            return self.sasl_continue(db, doc)
        if name == "ping":
            if self.user is None:
                LOG.line("CMD ping refused conn=%d" % self.conn_id)
                return error(13, "Unauthorized", "command ping requires authentication")
            LOG.line("CMD ping ok user=%s conn=%d" % (self.user, self.conn_id))
            return {"ok": 1.0}
        if name == "endSessions":
            return {"ok": 1.0}
        return error(59, "CommandNotFound", "no such command: '%s'" % name)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        with CONN_LOCK:
            conn_id = next(CONN_IDS)
        session = Session(conn_id)
        LOG.line("CONN %d peer=%s:%d" % ((conn_id,) + self.client_address[:2]))
        why = "closed by the client"
        try:
            self.serve(sock, session)
        except ProtocolError as e:
            why = "protocol error: %s" % e
        except socket.timeout:
            why = "no whole message within %d s" % IDLE
        except OSError as e:
            why = "socket error: %s" % e
        except gssapi.exceptions.GSSError as e:
            why = "GSS-API error: %s" % e.gen_message()
        except Exception as e:  # still an END line, and the server goes on
            why = "internal error: %r" % e
        LOG.line("END %d msgs=%d authenticated=%s (%s)"
                 % (conn_id, session.messages, session.user or "-", why))

    def serve(self, sock, session):
        request_ids = iter(range(1, 1 << 30))
        while True:
            # A whole message within IDLE s: a slow drip cannot hold us.
            deadline = time.monotonic() + IDLE
            head = recv_exact(sock, 16, deadline)
            if head is None:
                return
            length, request_id, _, opcode = struct.unpack("<iiii", head)
            if length < 16 + 5 or length > MAX_MESSAGE:
                raise ProtocolError("message length %d" % length)
            body = recv_exact(sock, length - 16, deadline)
            if body is None:
                raise ProtocolError("connection closed mid-message")
            session.messages += 1
            sock.settimeout(IDLE)  # for the reply
            if opcode == OP_QUERY:
                db, doc = parse_query(body)
                data = bson.encode(session.command(db, doc))
                # responseFlags, cursorID, startingFrom, numberReturned
                out = struct.pack("<iqii", 0, 0, 0, 1) + data
                sock.sendall(header(16 + len(out), next(request_ids), request_id, OP_REPLY) + out)
            elif opcode == OP_MSG:
                db, doc, more_to_come = parse_msg(body)
                reply = session.command(db, doc)
                if more_to_come:
                    continue  # the client wants no answer
                out = struct.pack("<I", 0) + b"\0" + bson.encode(reply)
                sock.sendall(header(16 + len(out), next(request_ids), request_id, OP_MSG) + out)
            else:
                raise ProtocolError("opcode %d" % opcode)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global LOG, PRINCIPAL
    if len(sys.argv) != 4:
        sys.exit("usage: mongo_server.py PORT LOG PRINCIPAL")
    port, LOG, PRINCIPAL = int(sys.argv[1]), Log(sys.argv[2]), sys.argv[3]
    with Server(("127.0.0.1", port), Handler) as server:
        LOG.line("LISTEN 127.0.0.1:%d principal=%s" % (port, PRINCIPAL))
        server.serve_forever()


if __name__ == "__main__":
    main()
