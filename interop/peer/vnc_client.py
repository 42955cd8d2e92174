"""A VNC client on gtk-vnc's libgvnc (Debian's libgvnc-1.0-0, unchanged),
for interop/vnc.sh: libgvnc runs the SASL exchange (RFB security type 20)
and, once authenticated, sends and reads the whole RFB stream through the
SASL security layer. Driven through ctypes, so that nothing but the library
itself is needed: no headers, no GObject introspection.

    vnc_client.py HOST PORT USER PASSWORD OUT

Authenticates with USER and PASSWORD (libgvnc asks for them through its
vnc-auth-credential signal and answers the library's callbacks with them),
asks for the whole screen in raw encoding (640x480x4 bytes through the
layer) and writes the pixels it received to OUT as 24-bit RGB. Prints
"updated WxH" and the libsasl2 files it mapped ("maps PATH"), and exits 0,
or prints what went wrong and exits 1.
"""
import ctypes
import os
import sys

host, port, user, password, out = sys.argv[1:6]
P = ctypes.c_void_p
gvnc = ctypes.CDLL("libgvnc-1.0.so.0")
glib = ctypes.CDLL("libglib-2.0.so.0")
gobject = ctypes.CDLL("libgobject-2.0.so.0")


def fn(lib, name, res, *args):
    f = getattr(lib, name)
    f.restype, f.argtypes = res, list(args)
    return f


connection_new = fn(gvnc, "vnc_connection_new", P)
open_host = fn(gvnc, "vnc_connection_open_host", ctypes.c_bool, P, ctypes.c_char_p, ctypes.c_char_p)
set_auth_type = fn(gvnc, "vnc_connection_set_auth_type", ctypes.c_bool, P, ctypes.c_uint)
set_credential = fn(gvnc, "vnc_connection_set_credential", ctypes.c_bool, P, ctypes.c_int, ctypes.c_char_p)
get_width = fn(gvnc, "vnc_connection_get_width", ctypes.c_int, P)
get_height = fn(gvnc, "vnc_connection_get_height", ctypes.c_int, P)
get_format = fn(gvnc, "vnc_connection_get_pixel_format", P, P)
format_copy = fn(gvnc, "vnc_pixel_format_copy", P, P)
framebuffer_new = fn(gvnc, "vnc_base_framebuffer_new", P, P, ctypes.c_uint16, ctypes.c_uint16, ctypes.c_int, P, P)
set_framebuffer = fn(gvnc, "vnc_connection_set_framebuffer", ctypes.c_bool, P, P)
set_encodings = fn(gvnc, "vnc_connection_set_encodings", ctypes.c_bool, P, ctypes.c_int, ctypes.POINTER(ctypes.c_int32))
update_request = fn(gvnc, "vnc_connection_framebuffer_update_request", ctypes.c_bool,
                    P, ctypes.c_bool, ctypes.c_uint16, ctypes.c_uint16, ctypes.c_uint16, ctypes.c_uint16)
loop_new = fn(glib, "g_main_loop_new", P, P, ctypes.c_bool)
loop_run = fn(glib, "g_main_loop_run", None, P)
loop_quit = fn(glib, "g_main_loop_quit", None, P)
SOURCE_FUNC = ctypes.CFUNCTYPE(ctypes.c_bool, P)
timeout_add = fn(glib, "g_timeout_add_seconds", ctypes.c_uint, ctypes.c_uint, SOURCE_FUNC, P)
signal_connect = fn(gobject, "g_signal_connect_data", ctypes.c_ulong, P, ctypes.c_char_p, P, P, P, ctypes.c_int)

# gtk-vnc's enums (vncconnection.h)
AUTH_SASL = 20
CREDENTIAL_PASSWORD, CREDENTIAL_USERNAME = 0, 1
# The pixel format asked for, as vncpixelformat.h lays it out: 32 bits
# per pixel, little-endian, red in bits 16-23, green 8-15, blue 0-7.
class PixelFormat(ctypes.Structure):
    _fields_ = [("bits_per_pixel", ctypes.c_uint8), ("depth", ctypes.c_uint8), ("byte_order", ctypes.c_uint16),
                ("true_color_flag", ctypes.c_uint8), ("red_max", ctypes.c_uint16), ("green_max", ctypes.c_uint16),
                ("blue_max", ctypes.c_uint16), ("red_shift", ctypes.c_uint8), ("green_shift", ctypes.c_uint8),
                ("blue_shift", ctypes.c_uint8)]


state = {"why": "timed out", "size": None}
loop = loop_new(None, False)
conn = connection_new()
local = PixelFormat(32, 24, 1234, 1, 255, 255, 255, 16, 8, 0)
keep = []  # the callbacks and the framebuffer's memory, alive until the end


def on(signal, restype, *args):
    def wrap(f):
        cb = ctypes.CFUNCTYPE(restype, *args)(f)
        keep.append(cb)
        signal_connect(conn, signal.encode(), ctypes.cast(cb, P), None, None, 0)
        return f
    return wrap


@on("vnc-auth-choose-type", None, P, P, P)
def choose_type(c, types, data):
    set_auth_type(c, AUTH_SASL)


@on("vnc-auth-credential", None, P, P, P)
def credential(c, creds, data):
    set_credential(c, CREDENTIAL_USERNAME, user.encode())
    set_credential(c, CREDENTIAL_PASSWORD, password.encode())


@on("vnc-initialized", None, P, P)
def initialized(c, data):
    w, h = get_width(c), get_height(c)
    buf = ctypes.create_string_buffer(w * h * 4)
    keep.append(buf)
    fb = framebuffer_new(ctypes.addressof(buf), w, h, w * 4, ctypes.addressof(local), format_copy(get_format(c)))
    set_framebuffer(c, fb)
    raw = (ctypes.c_int32 * 1)(0)
    set_encodings(c, 1, raw)
    update_request(c, False, 0, 0, w, h)
    state.update(buf=buf, width=w, height=h)


@on("vnc-framebuffer-update", None, P, ctypes.c_uint16, ctypes.c_uint16, ctypes.c_uint16, ctypes.c_uint16, P)
def updated(c, x, y, w, h, data):
    if (x, y, w, h) == (0, 0, state["width"], state["height"]):
        state.update(why=None, size=f"{w}x{h}")
        loop_quit(loop)


@on("vnc-auth-failure", None, P, ctypes.c_char_p, P)
def auth_failure(c, msg, data):
    state["why"] = f"authentication failed: {msg.decode(errors='replace')}"


@on("vnc-error", None, P, ctypes.c_char_p, P)
def error(c, msg, data):
    state["why"] = f"error: {msg.decode(errors='replace')}"


@on("vnc-disconnected", None, P, P)
def disconnected(c, data):
    loop_quit(loop)


def timed_out(data):
    loop_quit(loop)
    return False


timeout = SOURCE_FUNC(timed_out)
timeout_add(15, timeout, None)
if not open_host(conn, host.encode(), port.encode()):
    sys.exit(print("cannot open the connection") or 1)
loop_run(loop)
if state["why"]:
    sys.exit(print(state["why"]) or 1)
# BGRX in memory (little-endian 0x00RRGGBB) to RGB.
px = state["buf"].raw
rgb = bytearray(len(px) // 4 * 3)
rgb[0::3], rgb[1::3], rgb[2::3] = px[2::4], px[1::4], px[0::4]
with open(out, "wb") as f:
    f.write(rgb)
print("updated", state["size"])
with open("/proc/self/maps") as maps:
    for path in sorted({line.split()[-1] for line in maps if "/libsasl2.so" in line}):
        print("maps", os.path.realpath(path))
