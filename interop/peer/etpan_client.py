"""A mail client on libetpan (Debian's libetpan20, unchanged; Claws Mail's
IMAP and POP3 engine), for interop/etpan.sh, driven through ctypes: libetpan
runs the SASL exchange itself (its own callbacks: user, authname, password
and realm as given here) with the mechanism list given to it.

    etpan_client.py imap|pop3|smtp HOST PORT MECHS USER PASSWORD [SUBJECT]

imap: authenticate, then SELECT INBOX. pop3: authenticate, then STAT
(prints "messages N"). smtp: EHLO, authenticate, then send a message with
SUBJECT from alice@example.org to bob@example.org. Exits 0 when every
command succeeded; otherwise prints the step and libetpan's code, exits 1.
"""
import ctypes
import sys

proto, host, port, mechs, user, password = sys.argv[1:7]
subject = sys.argv[7] if len(sys.argv) > 7 else "etpan"
etpan = ctypes.CDLL("libetpan.so.20")
P, S = ctypes.c_void_p, ctypes.c_char_p


def fn(name, res, *args):
    f = getattr(etpan, name)
    f.restype, f.argtypes = res, list(args)
    return f


def check(step, code, ok=(0,)):
    if code not in ok:
        sys.exit(print(f"{step} failed: libetpan code {code}") or 1)


# The SASL arguments every protocol takes: mechanisms, the server's name,
# local and remote address (none: libetpan passes NULL on), the
# authorization name (libetpan's SASL_CB_USER: the user, as Claws Mail
# passes it), the authentication name, the password and the realm (none).
SASL_ARGS = [S, S, S, S, S, S, S, S]
sasl = [mechs.encode(), host.encode(), None, None, user.encode(), user.encode(), password.encode(), None]
bport = ctypes.c_uint16(int(port))

if proto == "imap":
    new = fn("mailimap_new", P, ctypes.c_size_t, P)
    session = new(0, None)
    # Connected, not yet authenticated: MAILIMAP_NO_ERROR_NON_AUTHENTICATED.
    check("connect", fn("mailimap_socket_connect", ctypes.c_int, P, S, ctypes.c_uint16)(session, host.encode(), bport), (0, 2))
    check("authenticate", fn("mailimap_authenticate", ctypes.c_int, P, *SASL_ARGS)(session, *sasl))
    check("select", fn("mailimap_select", ctypes.c_int, P, S)(session, b"INBOX"))
    fn("mailimap_logout", ctypes.c_int, P)(session)
    fn("mailimap_free", None, P)(session)
elif proto == "pop3":
    class Stat(ctypes.Structure):
        _fields_ = [("msgs_count", ctypes.c_uint), ("msgs_size", ctypes.c_size_t)]
    session = fn("mailpop3_new", P, ctypes.c_size_t, P)(0, None)
    check("connect", fn("mailpop3_socket_connect", ctypes.c_int, P, S, ctypes.c_uint16)(session, host.encode(), bport))
    check("authenticate", fn("mailpop3_auth", ctypes.c_int, P, *SASL_ARGS)(session, *sasl))
    stat = ctypes.POINTER(Stat)()
    check("stat", fn("mailpop3_stat", ctypes.c_int, P, ctypes.POINTER(ctypes.POINTER(Stat)))(session, ctypes.byref(stat)))
    print("messages", stat.contents.msgs_count)
    fn("mailpop3_stat_resp_free", None, ctypes.POINTER(Stat))(stat)
    fn("mailpop3_quit", ctypes.c_int, P)(session)
    fn("mailpop3_free", None, P)(session)
elif proto == "smtp":
    session = fn("mailsmtp_new", P, ctypes.c_size_t, P)(0, None)
    check("connect", fn("mailsmtp_socket_connect", ctypes.c_int, P, S, ctypes.c_uint16)(session, host.encode(), bport))
    check("ehlo", fn("mailesmtp_ehlo", ctypes.c_int, P)(session))
    check("authenticate", fn("mailesmtp_auth_sasl", ctypes.c_int, P, *SASL_ARGS)(session, *sasl))
    check("mail", fn("mailsmtp_mail", ctypes.c_int, P, S)(session, b"alice@example.org"))
    check("rcpt", fn("mailsmtp_rcpt", ctypes.c_int, P, S)(session, b"bob@example.org"))
    check("data", fn("mailsmtp_data", ctypes.c_int, P)(session))
    message = f"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: {subject}\r\n\r\nhello\r\n".encode()
    check("message", fn("mailsmtp_data_message", ctypes.c_int, P, S, ctypes.c_size_t)(session, message, len(message)))
    fn("mailsmtp_quit", ctypes.c_int, P)(session)
    fn("mailsmtp_free", None, P)(session)
else:
    sys.exit(f"unknown protocol {proto}")
print("done")
