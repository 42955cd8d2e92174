//! The C ABI as a C application drives it, under AddressSanitizer: every
//! pointer handed to the library is an exact-size allocation (strings,
//! secrets, server data, iovecs, prompt answers, property values), so a
//! read or write past what the caller gave is caught, and every pointer the
//! library hands back is read in full (strings to their NUL, buffers to
//! their length). A fuzzed script calls sasl_client_new, sasl_setprop and
//! sasl_getprop of every property, start (answering SASL_INTERACT prompts),
//! step with fuzzed or honest DIGEST-MD5 server messages, encode, encodev,
//! decode, errdetail, listmech and dispose. Behaviour checked: what getprop
//! reports (SSF, MAXOUTBUF) matches what encode and decode do, layer data
//! round-trips with the test server, and errors stay bounded.
#![no_main]

use std::cell::RefCell;
use std::ffi::{CStr, c_char, c_int, c_uint, c_ulong, c_void};
use std::ptr::{null, null_mut};

use libfuzzer_sys::fuzz_target;
use sasl2::capi::client::*;
use sasl2::capi::common::*;
use sasl2::capi::layer::*;
use sasl2::capi::*;
use sasl2_fuzz::digest_server::{self, Account, CIPHERS, Offer, ServerLayer};
use sasl2_fuzz::*;

fuzz_target!(|data: &[u8]| run(&mut Unstructured::new(data)));

/// An exact-size, NUL-terminated copy of `s` (cut at an inner NUL).
fn cstr(s: &[u8]) -> Box<[u8]> {
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    let mut v = s[..end].to_vec();
    v.push(0);
    v.into_boxed_slice()
}

/// Reads a C string the library returned, to its NUL.
fn read_c(p: *const c_char) -> Vec<u8> {
    assert!(!p.is_null());
    // SAFETY: the library promises a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
}

/// Reads `len` bytes the library returned.
fn read_buf(p: *const c_char, len: c_uint) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    assert!(!p.is_null());
    // SAFETY: the library promises `len` readable bytes.
    let v = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len as usize) }.to_vec();
    // Outputs are NUL-terminated past their length, as in Cyrus.
    // SAFETY: as above, plus the terminator.
    assert_eq!(unsafe { *p.add(len as usize) }, 0, "output not NUL-terminated");
    v
}

/// A `sasl_secret_t` in an allocation of exactly its header and data.
struct Secret {
    ptr: *mut u8,
    layout: std::alloc::Layout,
}

impl Secret {
    fn new(data: &[u8]) -> Self {
        let layout = std::alloc::Layout::from_size_align(size_of::<c_ulong>() + data.len(), 8).unwrap();
        // SAFETY: non-zero size; filled before use.
        let ptr = unsafe { std::alloc::alloc(layout) };
        // SAFETY: the allocation holds the length and the data.
        unsafe {
            ptr.cast::<c_ulong>().write(data.len() as c_ulong);
            ptr.add(size_of::<c_ulong>()).copy_from_nonoverlapping(data.as_ptr(), data.len());
        }
        Secret { ptr, layout }
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY: allocated in new with this layout.
        unsafe { std::alloc::dealloc(self.ptr, self.layout) };
    }
}

/// What the callbacks answer, for the current input.
#[derive(Default)]
struct App {
    user: Option<Box<[u8]>>,
    authname: Option<Box<[u8]>>,
    /// When set, text callbacks give their length: exact (no NUL read) or,
    /// as mutt does, strlen + 1.
    len_mode: u8,
    secret: Option<Secret>,
    realm: Option<Box<[u8]>>,
    mech_list: Option<Box<[u8]>>,
    code: c_int,
    logs: usize,
}

thread_local! {
    static APP: RefCell<App> = RefCell::new(App::default());
}

unsafe extern "C" fn get_simple(_ctx: *mut c_void, id: c_int, result: *mut *const c_char, len: *mut c_uint) -> c_int {
    APP.with_borrow(|app| {
        let value = match id as c_ulong {
            SASL_CB_USER => &app.user,
            SASL_CB_AUTHNAME => &app.authname,
            _ => &None,
        };
        let Some(v) = value else { return SASL_FAIL };
        // SAFETY: the library passes writable out-pointers.
        unsafe {
            *result = v.as_ptr().cast();
            if !len.is_null() {
                let text = v.len() as c_uint - 1;
                *len = match app.len_mode {
                    0 => 0,
                    1 => text,
                    _ => text + 1,
                };
            }
        }
        app.code
    })
}

unsafe extern "C" fn get_secret(_conn: *mut sasl_conn_t, _ctx: *mut c_void, _id: c_int, out: *mut *mut sasl_secret_t) -> c_int {
    APP.with_borrow(|app| {
        // SAFETY: a writable out-pointer.
        unsafe { *out = app.secret.as_ref().map_or(null_mut(), |s| s.ptr.cast()) };
        app.code
    })
}

unsafe extern "C" fn get_realm(_ctx: *mut c_void, _id: c_int, avail: *mut *const c_char, result: *mut *const c_char) -> c_int {
    // The offered realms: a NULL-terminated array of C strings.
    let mut p = avail;
    // SAFETY: the library passes a NULL-terminated array (or NULL).
    while !p.is_null() && unsafe { !(*p).is_null() } {
        // SAFETY: as above.
        read_c(unsafe { *p });
        p = unsafe { p.add(1) };
    }
    APP.with_borrow(|app| {
        // SAFETY: a writable out-pointer.
        unsafe { *result = app.realm.as_ref().map_or(null(), |r| r.as_ptr().cast()) };
        app.code
    })
}

unsafe extern "C" fn get_opt(
    _ctx: *mut c_void,
    _plugin: *const c_char,
    option: *const c_char,
    result: *mut *const c_char,
    len: *mut c_uint,
) -> c_int {
    let option = read_c(option);
    APP.with_borrow(|app| {
        let value: &[u8] = match &option[..] {
            b"client_mech_list" => match &app.mech_list {
                Some(l) => l,
                None => return SASL_FAIL,
            },
            b"scram_max_iterations" => b"64\0",
            _ => return SASL_FAIL,
        };
        // SAFETY: writable out-pointers.
        unsafe {
            *result = value.as_ptr().cast();
            if !len.is_null() {
                *len = value.len() as c_uint - 1;
            }
        }
        SASL_OK
    })
}

unsafe extern "C" fn log(_ctx: *mut c_void, _level: c_int, msg: *const c_char) -> c_int {
    let msg = read_c(msg);
    assert!(msg.len() <= MAX_DETAIL, "a {}-byte log message", msg.len());
    APP.with_borrow_mut(|app| app.logs += 1);
    SASL_OK
}

fn callback(id: c_ulong, proc: Option<unsafe extern "C" fn() -> c_int>) -> sasl_callback_t {
    sasl_callback_t { id, proc, context: null_mut() }
}

/// Casts a callback to the generic `sasl_callback_ft` type.
macro_rules! cb {
    ($f:expr) => {
        // SAFETY: the library calls each callback with its id's signature.
        Some(unsafe { std::mem::transmute::<*const (), unsafe extern "C" fn() -> c_int>($f as *const ()) })
    };
}

const PROPS: [c_int; 27] = [
    SASL_USERNAME, SASL_SSF, SASL_MAXOUTBUF, SASL_DEFUSERREALM, SASL_GETOPTCTX, 5, 6, SASL_CALLBACK,
    SASL_IPLOCALPORT, SASL_IPREMOTEPORT, SASL_PLUGERR, SASL_DELEGATEDCREDS, SASL_SERVICE, SASL_SERVERFQDN,
    SASL_AUTHSOURCE, SASL_MECHNAME, SASL_AUTHUSER, SASL_APPNAME, SASL_GSS_CREDS, SASL_GSS_PEER_NAME,
    SASL_GSS_LOCAL_NAME, SASL_CHANNEL_BINDING, SASL_HTTP_REQUEST, SASL_SSF_EXTERNAL, SASL_SEC_PROPS,
    SASL_AUTH_EXTERNAL, 103,
];

/// What the application passes as SASL_GSS_CREDS: the address of something
/// that outlives the connection, as a real credential handle does. Zeroed
/// and large enough for MIT's credential header, whose self-pointer check
/// then refuses it: selection asks gss_inquire_cred about it (for
/// sasl_listmech too) and must pass over GSSAPI. (It was one byte: MIT
/// read the statics after it as pointers and crashed the run built
/// without ASan.)
static GSS_CREDS_HANDLE: [u64; 8] = [0; 8];

fn pick<T: Copy>(u: &mut Unstructured<'_>, from: &[T]) -> T {
    from[u.choose_index(from.len()).unwrap_or(0)]
}

/// The connection under test and what the test knows about it.
struct Conn {
    conn: *mut sasl_conn_t,
    /// The application's maxbufsize (0: no security layers).
    maxbufsize: c_uint,
    /// The test server's side of a layer it negotiated honestly.
    server: Option<ServerLayer>,
    /// Set when the client's receive side may be out of step with the
    /// test server (a decode failed, or fuzzed bytes were decoded).
    desynced: bool,
}

fn run(u: &mut Unstructured<'_>) {
    static INIT: std::sync::Once = std::sync::Once::new();
    // SAFETY: no global callbacks; called once per process.
    INIT.call_once(|| assert_eq!(unsafe { sasl_client_init(null()) }, SASL_OK));

    let authname = if u.arbitrary().unwrap_or(true) { b"user".to_vec() } else { string(u, 12, None).into_bytes() };
    let password = if u.arbitrary().unwrap_or(true) { b"pw".to_vec() } else { u.bytes(12).unwrap_or_default().to_vec() };
    APP.with_borrow_mut(|app| {
        *app = App {
            user: u.arbitrary().unwrap_or(false).then(|| cstr(string(u, 8, None).as_bytes())),
            authname: Some(cstr(&authname)),
            len_mode: u.int_in_range(0..=2).unwrap_or(0),
            secret: Some(Secret::new(&password)),
            realm: u.arbitrary().unwrap_or(false).then(|| cstr(b"r")),
            mech_list: u.arbitrary().unwrap_or(false).then(|| cstr(string(u, 30, Some(b"PLAINDGEST-MD5CRAMSHXO ")).as_bytes())),
            code: if u.ratio(1, 16).unwrap_or(false) { SASL_FAIL } else { SASL_OK },
            logs: 0,
        }
    });
    // Callbacks: each present, present with a NULL function (prompt), or absent.
    let mut callbacks = Vec::new();
    let entries: [(c_ulong, Option<unsafe extern "C" fn() -> c_int>); 6] = [
        (SASL_CB_USER, cb!(get_simple)),
        (SASL_CB_AUTHNAME, cb!(get_simple)),
        (SASL_CB_PASS, cb!(get_secret)),
        (SASL_CB_GETREALM, cb!(get_realm)),
        (SASL_CB_GETOPT, cb!(get_opt)),
        (SASL_CB_LOG, cb!(log)),
    ];
    for (id, f) in entries {
        match u.int_in_range(0..=5u8).unwrap_or(0) {
            0..=3 => callbacks.push(callback(id, f)),
            4 if id != SASL_CB_GETOPT && id != SASL_CB_LOG => callbacks.push(callback(id, None)),
            _ => {}
        }
    }
    callbacks.push(callback(SASL_CB_LIST_END, None));
    let callbacks = callbacks.into_boxed_slice();

    let service = cstr(pick(u, &[&b"imap"[..], b"ldap", b""]));
    let fqdn = cstr(pick(u, &[&b"h.example"[..], b"H.Example", b"", b"\xe9"]));
    let local = cstr(pick(u, &[&b"127.0.0.1;143"[..], b"::1;", b"bogus", b"1.2.3.4"]));
    let use_local = u.arbitrary().unwrap_or(false);
    let flags = u.int_in_range(0..=7u32).unwrap_or(0) * SASL_SUCCESS_DATA;
    let mut conn: *mut sasl_conn_t = null_mut();
    // SAFETY: exact-size NUL-terminated strings and a terminated callback
    // array that outlives the connection.
    let rc = unsafe {
        sasl_client_new(
            service.as_ptr().cast(),
            if u.arbitrary().unwrap_or(true) { fqdn.as_ptr().cast() } else { null() },
            if use_local { local.as_ptr().cast() } else { null() },
            null(),
            if u.arbitrary().unwrap_or(true) { callbacks.as_ptr() } else { null() },
            flags,
            &mut conn,
        )
    };
    if rc != SASL_OK {
        assert!(conn.is_null());
        return;
    }
    let mut c = Conn { conn, maxbufsize: 0, server: None, desynced: false };
    for _ in 0..u.int_in_range(1..=12).unwrap_or(1) {
        match u.int_in_range(0..=9u8).unwrap_or(0) {
            0 => setprop(u, &mut c),
            1 => {
                getprop(&c, pick(u, &PROPS));
            }
            2 => {
                let list = cstr(string(u, 40, Some(b"PLAIN DIGEST-MD5 CRAM-MD5 SCRAM-SHA-1 ANONYMOUS EXTERNAL LOGIN,-")).as_bytes());
                start(u, &mut c, &list);
            }
            3 => {
                let input = bytes(u, 0, 100);
                step(u, &mut c, Some(&input));
            }
            4 | 5 => encode(u, &mut c),
            6 => decode(u, &mut c),
            7 => {
                // SAFETY: a live connection.
                let detail = read_c(unsafe { sasl_errdetail(c.conn) });
                assert!(detail.len() <= MAX_DETAIL + 100, "a {}-byte errdetail", detail.len());
            }
            8 => listmech(u, &c),
            _ => honest_digest(u, &mut c, &authname, &password),
        }
    }
    // SAFETY: a live connection, disposed once; then NULL is a no-op.
    unsafe {
        sasl_dispose(&mut c.conn);
        assert!(c.conn.is_null());
        sasl_dispose(&mut c.conn);
    }
}

fn setprop(u: &mut Unstructured<'_>, c: &mut Conn) {
    let prop = pick(u, &PROPS);
    let null_value = u.ratio(1, 8).unwrap_or(false);
    // SAFETY: each value is an exact-size allocation of the property's type.
    let rc = unsafe {
        match prop {
            _ if null_value => sasl_setprop(c.conn, prop, null()),
            SASL_SSF_EXTERNAL => {
                let v = Box::new(pick(u, &[0u32, 1, 56, 256]));
                sasl_setprop(c.conn, prop, (&*v as *const u32).cast())
            }
            SASL_SEC_PROPS => {
                let p = Box::new(sasl_security_properties_t {
                    min_ssf: pick(u, &[0, 0, 1, 56, 128]),
                    max_ssf: pick(u, &[0, 1, 56, 128, 256]),
                    maxbufsize: pick(u, &[0, 17, 100, 4096, 65536, 0xFF_FFFF, u32::MAX]),
                    security_flags: u.arbitrary::<u8>().unwrap_or(0) as c_uint & 0x7f,
                    property_names: null_mut(),
                    property_values: null_mut(),
                });
                let rc = sasl_setprop(c.conn, prop, (&*p as *const sasl_security_properties_t).cast());
                if rc == SASL_OK {
                    c.maxbufsize = p.maxbufsize;
                    // The layer in place keeps the limits it was made with.
                    c.desynced = true;
                }
                rc
            }
            SASL_CHANNEL_BINDING => {
                let name = cstr(pick(u, &[&b"tls-unique"[..], b"tls-exporter", b"bad name", b""]));
                let data = bytes(u, 0, 32).into_boxed_slice();
                let cb = Box::new(sasl_channel_binding_t {
                    name: name.as_ptr().cast(),
                    critical: u.arbitrary::<bool>().unwrap_or(false) as c_int,
                    len: data.len() as c_ulong,
                    data: if data.is_empty() { null() } else { data.as_ptr() },
                });
                sasl_setprop(c.conn, prop, (&*cb as *const sasl_channel_binding_t).cast())
            }
            // An opaque handle the library keeps and hands back; GSS-API
            // refuses it as a credential.
            SASL_GSS_CREDS => sasl_setprop(c.conn, prop, (&raw const GSS_CREDS_HANDLE).cast()),
            _ => {
                let s = cstr(pick(u, &[&b"127.0.0.1;389"[..], b"::1", b"x;y", b"ext-user", b""]));
                sasl_setprop(c.conn, prop, s.as_ptr().cast())
            }
        }
    };
    assert!(rc <= SASL_OK, "setprop returned {rc}");
}

/// Reads a property through the pointer the library returns, by its type.
fn getprop(c: &Conn, prop: c_int) -> Option<*const c_void> {
    let mut value: *const c_void = null();
    // SAFETY: a live connection and a writable out-pointer.
    let rc = unsafe { sasl_getprop(c.conn, prop, &mut value) };
    if rc != SASL_OK {
        return None;
    }
    // SAFETY: the pointer is of the property's documented type.
    unsafe {
        match prop {
            SASL_SSF | SASL_MAXOUTBUF | SASL_SSF_EXTERNAL => {
                value.cast::<c_uint>().read();
            }
            SASL_SEC_PROPS => {
                value.cast::<sasl_security_properties_t>().read();
            }
            SASL_CALLBACK | SASL_GETOPTCTX => {}
            SASL_GSS_CREDS => {
                assert!(value.is_null() || value == (&raw const GSS_CREDS_HANDLE).cast(), "a GSS_CREDS never set");
            }
            _ if !value.is_null() => {
                read_c(value.cast());
            }
            _ => {}
        }
    }
    Some(value)
}

fn uint_prop(c: &Conn, prop: c_int) -> c_uint {
    // SAFETY: SSF and MAXOUTBUF point at an unsigned.
    getprop(c, prop).map_or(0, |p| unsafe { p.cast::<c_uint>().read() })
}

/// Answers the prompts of a SASL_INTERACT with exact-size buffers.
fn answer_prompts(u: &mut Unstructured<'_>, prompts: *mut sasl_interact_t, keep: &mut Vec<Box<[u8]>>) {
    let mut p = prompts;
    // SAFETY: the library's array, ended by SASL_CB_LIST_END.
    unsafe {
        while (*p).id != SASL_CB_LIST_END {
            for s in [(*p).challenge, (*p).prompt, (*p).defresult] {
                if !s.is_null() {
                    read_c(s);
                }
            }
            if u.ratio(1, 10).unwrap_or(false) {
                (*p).result = null();
            } else {
                // NUL-terminated; the length given as 0 (read to the
                // NUL), exact, or with the NUL (as mutt does).
                let answer = cstr(string(u, 10, None).as_bytes());
                (*p).result = answer.as_ptr().cast();
                (*p).len = (answer.len() - 1) as c_uint + u.int_in_range(0..=1).unwrap_or(0);
                if u.arbitrary().unwrap_or(false) {
                    (*p).len = 0;
                }
                keep.push(answer);
            }
            p = p.add(1);
        }
    }
}

fn start(u: &mut Unstructured<'_>, c: &mut Conn, list: &[u8]) -> c_int {
    let mut prompts: *mut sasl_interact_t = null_mut();
    let mut out: *const c_char = null();
    let mut outlen: c_uint = 0;
    let mut mech: *const c_char = null();
    let mut answers = Vec::new();
    let want_out = u.arbitrary().unwrap_or(true);
    c.server = None;
    for round in 0.. {
        // SAFETY: a live connection and writable out-pointers.
        let rc = unsafe {
            sasl_client_start(
                c.conn,
                list.as_ptr().cast(),
                &mut prompts,
                if want_out { &mut out } else { null_mut() },
                &mut outlen,
                &mut mech,
            )
        };
        if !mech.is_null() {
            read_c(mech);
        }
        if rc == SASL_INTERACT && round < 4 {
            answer_prompts(u, prompts, &mut answers);
            continue;
        }
        if rc >= 0 && want_out {
            read_buf(out, outlen);
        }
        return rc;
    }
    unreachable!()
}

fn step(u: &mut Unstructured<'_>, c: &mut Conn, input: Option<&[u8]>) -> (c_int, Vec<u8>) {
    let input = input.map(|i| i.to_vec().into_boxed_slice());
    let mut prompts: *mut sasl_interact_t = null_mut();
    let mut out: *const c_char = null();
    let mut outlen: c_uint = 0;
    let mut answers = Vec::new();
    for round in 0.. {
        let (ptr, len) = input.as_ref().map_or((null(), 0), |i| (i.as_ptr().cast(), i.len() as c_uint));
        // SAFETY: exact-size input and writable out-pointers.
        let rc = unsafe { sasl_client_step(c.conn, if len == 0 && u.arbitrary().unwrap_or(false) { null() } else { ptr }, len, &mut prompts, &mut out, &mut outlen) };
        if rc == SASL_INTERACT && round < 4 {
            answer_prompts(u, prompts, &mut answers);
            continue;
        }
        let data = if rc >= 0 { read_buf(out, outlen) } else { Vec::new() };
        return (rc, data);
    }
    unreachable!()
}

/// Encodes fuzzed data (sasl_encode, or sasl_encodev over exact-size
/// parts) and checks the result against what getprop reports.
fn encode(u: &mut Unstructured<'_>, c: &mut Conn) {
    let ssf = uint_prop(c, SASL_SSF);
    let maxoutbuf = uint_prop(c, SASL_MAXOUTBUF);
    let data = bytes(u, 0, 300);
    let parts: Vec<Box<[u8]>> = if u.arbitrary().unwrap_or(false) {
        let cut = u.int_in_range(0..=data.len()).unwrap_or(0);
        vec![data[..cut].into(), data[cut..].into()]
    } else {
        vec![data.clone().into_boxed_slice()]
    };
    let mut out: *const c_char = null();
    let mut outlen: c_uint = 0;
    // SAFETY: exact-size parts, writable out-pointers.
    let rc = unsafe {
        if parts.len() == 1 {
            sasl_encode(c.conn, parts[0].as_ptr().cast(), parts[0].len() as c_uint, &mut out, &mut outlen)
        } else {
            let iov: Box<[iovec]> = parts
                .iter()
                .map(|p| iovec { iov_base: p.as_ptr().cast_mut().cast(), iov_len: p.len() })
                .collect();
            sasl_encodev(c.conn, iov.as_ptr(), iov.len() as c_uint, &mut out, &mut outlen)
        }
    };
    if rc != SASL_OK {
        assert!(data.is_empty() && parts.len() == 1 || c.maxbufsize == 0 || rc == SASL_BADPARAM, "encode: {rc}");
        return;
    }
    let wire = read_buf(out, outlen);
    if data.is_empty() {
        return;
    }
    if ssf == 0 {
        assert_eq!(wire, data, "SSF 0, yet encode changed the data");
        return;
    }
    // A layer is reported: the data must be protected, in packets of at
    // most MAXOUTBUF plaintext bytes.
    assert_ne!(wire, data, "SSF {ssf} reported, yet encode passed the data through");
    let mut rest = &wire[..];
    let mut packets = 0;
    let mut received = Vec::new();
    while !rest.is_empty() {
        assert!(rest.len() >= 4, "truncated packet header");
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        assert!(rest.len() >= 4 + len, "truncated packet");
        if let Some(server) = &mut c.server {
            let plain = server.unwrap(&rest[4..4 + len]).unwrap_or_else(|e| panic!("test server: {e}"));
            assert!(plain.len() <= maxoutbuf as usize);
            received.extend_from_slice(&plain);
        }
        rest = &rest[4 + len..];
        packets += 1;
    }
    assert_eq!(packets, data.len().div_ceil(maxoutbuf.max(1) as usize), "packets for MAXOUTBUF {maxoutbuf}");
    if c.server.is_some() {
        assert_eq!(received, data);
    }
}

/// Decodes fuzzed bytes, or packets from the test server split at a fuzzed
/// point; checks the result against SSF and the data sent.
fn decode(u: &mut Unstructured<'_>, c: &mut Conn) {
    let ssf = uint_prop(c, SASL_SSF);
    let honest = c.server.is_some() && !c.desynced && u.arbitrary().unwrap_or(true);
    // The limit the client advertised: a packet over it must be refused
    // even when the server made it honestly (DES pads an empty message to
    // 22 bytes, over a maxbufsize of 17).
    let limit = c.maxbufsize.min(0xFF_FFFF) as usize;
    let (wire, sent, fits) = if honest {
        let msg = bytes(u, 0, limit.saturating_sub(25).min(200));
        let p = c.server.as_mut().unwrap().wrap(&msg);
        let fits = p.len() <= limit;
        let mut w = (p.len() as u32).to_be_bytes().to_vec();
        w.extend_from_slice(&p);
        (w, msg, fits)
    } else {
        c.desynced = true;
        (bytes(u, 0, 100), Vec::new(), false)
    };
    let cut = u.int_in_range(0..=wire.len()).unwrap_or(0);
    let mut got = Vec::new();
    for chunk in [&wire[..cut], &wire[cut..]] {
        let chunk: Box<[u8]> = chunk.into();
        let mut out: *const c_char = null();
        let mut outlen: c_uint = 0;
        // SAFETY: exact-size input, writable out-pointers.
        let rc = unsafe { sasl_decode(c.conn, chunk.as_ptr().cast(), chunk.len() as c_uint, &mut out, &mut outlen) };
        if rc != SASL_OK {
            c.desynced = true;
            // SAFETY: a live connection.
            let detail = read_c(unsafe { sasl_errdetail(c.conn) });
            assert!(!(honest && fits), "decode of the test server's packet failed: {rc} ({})", String::from_utf8_lossy(&detail));
            return;
        }
        got.extend_from_slice(&read_buf(out, outlen));
        if ssf == 0 {
            assert_eq!(&got[got.len() - chunk.len()..], &chunk[..], "SSF 0, yet decode changed the data");
        }
    }
    if honest {
        assert!(fits, "decoded a {}-byte packet over the advertised {limit}", wire.len() - 4);
        assert_eq!(got, sent, "layer data");
    }
}

fn listmech(u: &mut Unstructured<'_>, c: &Conn) {
    let sep = cstr(pick(u, &[&b" "[..], b",", b""]));
    let mut result: *const c_char = null();
    let (mut len, mut count): (c_uint, c_int) = (0, 0);
    // SAFETY: a live connection, exact-size strings, writable out-pointers.
    let rc = unsafe { sasl_listmech(c.conn, null(), sep.as_ptr().cast(), sep.as_ptr().cast(), null(), &mut result, &mut len, &mut count) };
    if rc == SASL_OK {
        assert_eq!(read_c(result).len(), len as usize);
    }
}

/// A complete DIGEST-MD5 exchange with the test server (the layer chosen
/// by the security properties set so far), leaving its layer in place.
fn honest_digest(u: &mut Unstructured<'_>, c: &mut Conn, authname: &[u8], password: &[u8]) {
    let cipher = pick(u, &[None, Some(0usize), Some(2), Some(3), Some(4)]).map(|i| CIPHERS[i].0);
    let offer = Offer {
        realms: vec!["r".into()],
        nonce: "n0nce".into(),
        qops: vec!["auth", "auth-int", "auth-conf"],
        ciphers: cipher.into_iter().collect(),
        maxbuf: Some(pick(u, &[64u32, 4096, 65536])),
        utf8: true,
    };
    if start(u, c, b"DIGEST-MD5\0") != SASL_CONTINUE {
        return;
    }
    let (rc, response) = step(u, c, Some(&offer.challenge()));
    if rc != SASL_CONTINUE {
        return;
    }
    let (Ok(name), Ok(pass)) = (std::str::from_utf8(authname), std::str::from_utf8(password)) else { return };
    // SAFETY: SERVERFQDN is a C string (or the call fails).
    let fqdn = getprop(c, SASL_SERVERFQDN)
        .filter(|p| !p.is_null())
        .map(|p| String::from_utf8(read_c(p.cast())).unwrap_or_default());
    let account = Account {
        authname: name.trim().to_owned(),
        password: pass.to_owned(),
        authzid: None,
        realm: "r".into(),
        digest_uri: format!("{}/{}", String::from_utf8_lossy(&read_c(getprop(c, SASL_SERVICE).unwrap().cast())), fqdn.unwrap_or_default()),
    };
    // Answers through prompts or with an authzid are not the account's.
    let Ok(verified) = digest_server::verify(&offer, &account, &response) else { return };
    let (rc, _) = step(u, c, Some(&verified.rspauth));
    assert_eq!(rc, SASL_OK, "honest rspauth refused");
    let ssf = uint_prop(c, SASL_SSF);
    let expected_ssf = match (verified.qop.as_str(), verified.cipher) {
        ("auth-int", _) => 1,
        ("auth-conf", Some(name)) => CIPHERS.iter().find(|k| k.0 == name).unwrap().1,
        _ => 0,
    };
    assert_eq!(ssf, expected_ssf, "SSF after {}", verified.qop);
    let overhead = if expected_ssf == 0 { 0 } else { digest_server::overhead(verified.cipher) };
    assert_eq!(uint_prop(c, SASL_MAXOUTBUF), offer.server_maxbuf() - overhead);
    assert!(getprop(c, SASL_USERNAME).is_some(), "USERNAME after success");
    c.server = verified.layer;
    c.desynced = false;
}
