//! `sasl_conn_t`: a client connection as the C API holds it: what the
//! application set ([`Settings`]), the exchange ([`ClientConn`]), and what C
//! callers get pointers into (outputs, property values, prompts, the error
//! message), valid until the next call that replaces them or `sasl_dispose`.
//!
//! Calls re-enter: an application's callback gets the connection (a
//! SASL_CB_PASS or SASL_CB_CANON_USER callback) and may call `sasl_getprop`,
//! `sasl_seterror` or `sasl_errdetail` on it while `sasl_client_start` or
//! `sasl_client_step` runs; a C plugin does the same through its utilities.
//! So no exported function ever holds a `&mut sasl_conn`: each gets a shared
//! reference ([`ConnRef`]), and the parts it changes sit behind `RefCell`s
//! and `Cell`s, borrowed so that two borrows of one part never conflict:
//! * `settings`: shared by every call that reads it, for as long as it runs
//!   (a step included); mutably borrowed only by `sasl_setprop`, which calls
//!   nothing while it holds it. `sasl_setprop` re-entering a running start or
//!   step finds it in use and fails.
//! * `core`, the exchange: mutably borrowed by start, step, encode and
//!   decode for their whole run, across the callbacks and plugin code they
//!   call. Nothing that can be re-entered touches it: re-entering one of
//!   those four finds it in use and fails.
//! * `state`: borrowed only in short sections that call out to nothing, so
//!   that every call, re-entrant ones included, can use it. It holds what
//!   `sasl_getprop` reports of the exchange (`Shown`), kept up to date as
//!   the exchange makes progress, through the core's notifications during a
//!   step: the values Cyrus's out-params hold at the same point.
//! * `ssf`, `maxoutbuf`: `Cell`s, because C keeps pointers to them.
//!
//! A borrow that would conflict panics (a bug, turned into an error code at
//! the boundary), never undefined behaviour.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, CStr, CString};
use std::ops::Deref;
use std::ptr;

use zeroize::Zeroize;

use super::types::*;
use crate::core::{ClientConn, Progress, Prompt, Settings};
use crate::mech::MechInfo;

/// Marks a live connection; checked on entry to catch foreign pointers.
const MAGIC: u64 = 0x7361_736c_3272_7331; // "sasl2rs1"

pub struct sasl_conn {
    magic: u64,
    /// Exported calls running on this connection: more than one while a
    /// callback or plugin has called in again. Freed only at zero.
    calls: Cell<u32>,
    /// SASL_SSF and SASL_MAXOUTBUF, which C reads through pointers: the
    /// exchange's own values, copied after every call that can change them.
    ssf: Cell<u32>,
    maxoutbuf: Cell<u32>,
    /// The application's per-connection callbacks, kept by pointer; never
    /// changed.
    pub(crate) callbacks: *const sasl_callback_t,
    pub(crate) settings: RefCell<Settings>,
    pub(crate) core: RefCell<ClientConn>,
    pub(crate) state: RefCell<State>,
}

/// What every call may change, in short borrows (see the module's notes).
#[derive(Default)]
pub(crate) struct State {
    pub error: ErrorState,
    pub shown: Shown,
    /// Client output of the last start/step, NUL-terminated.
    pub out: Vec<u8>,
    /// Whether the last start/step handed the application a plugin's own
    /// prompt list (given back on the next start).
    pub plugin_prompts: bool,
    /// What fewer connections need, made on first use.
    more: Option<Box<More>>,
}

#[derive(Default)]
pub(crate) struct More {
    pub encoded: Vec<u8>,
    pub decoded: Vec<u8>,
    pub prompts: PromptStore,
    pub listmech: Option<CString>,
    /// C copies of string properties (see [`StringProp`]).
    strings: [Option<CString>; STRING_PROPS],
    /// SASL_SEC_PROPS as the application last set it.
    pub sec_props: Option<sasl_security_properties_t>,
}

impl State {
    pub fn more(&mut self) -> &mut More {
        self.more.get_or_insert_with(Default::default)
    }

    /// The prompts handed out by the last start/step, if any.
    pub fn prompts(&self) -> Option<&PromptStore> {
        self.more.as_deref().map(|m| &m.prompts).filter(|p| !p.is_empty())
    }

    pub fn clear_prompts(&mut self) {
        if let Some(m) = &mut self.more {
            m.prompts.clear();
        }
    }

    /// Records a failure (Cyrus records only negative codes).
    pub fn fail(&mut self, code: c_int, message: impl Into<String>) -> c_int {
        self.error.code = code;
        self.error.message = message.into().into_bytes();
        code
    }
}

/// The last error: its code and message (`sasl_errdetail`, `SASL_PLUGERR`).
#[derive(Default)]
pub(crate) struct ErrorState {
    pub code: c_int,
    /// Bytes: `sasl_seterror` messages are the application's.
    pub message: Vec<u8>,
    /// Counts `sasl_seterror` calls, which come from the application (its
    /// callbacks, mostly): a callback's own message must survive the
    /// failure it causes.
    pub set_by_application: u32,
    /// The formatted `sasl_errdetail` text and the `SASL_PLUGERR` copy.
    pub texts: Option<Box<[Option<CString>; 2]>>,
}

impl ErrorState {
    /// A mark to compare with after calling out (see [`ErrorState::set_since`]).
    pub fn mark(&self) -> u32 {
        self.set_by_application
    }

    /// Whether sasl_seterror set a message since `mark` (a callback, or a
    /// plugin through its utilities).
    pub fn set_since(&self, mark: u32) -> bool {
        self.set_by_application != mark
    }

    /// Keeps `text` as the errdetail (slot 0) or PLUGERR (slot 1) text;
    /// returns its address.
    pub fn keep(&mut self, slot: usize, text: CString) -> *const c_char {
        let texts = self.texts.get_or_insert_with(Default::default);
        texts[slot].insert(text).as_ptr()
    }
}

/// What `sasl_getprop` reports of the exchange: Cyrus's out-params, kept
/// as the exchange makes progress (the core tells it, see [`Progress`]).
#[derive(Default)]
pub(crate) struct Shown {
    /// The authentication identity (SASL_AUTHUSER).
    authid: CName,
    /// The authorization identity (SASL_USERNAME) when it is not `authid`.
    user: CName,
    user_is_authid: bool,
    /// The mechanism chosen, and whether it is reported with -PLUS.
    pub mech: Option<(&'static MechInfo, bool)>,
}

impl Shown {
    pub fn update(&mut self, what: Progress<'_>) {
        use crate::core::callbacks::{CANON_AUTHID, CANON_AUTHZID};
        match what {
            Progress::Reset => *self = Shown::default(),
            Progress::Selected { info, plus } => self.mech = Some((info, plus)),
            Progress::Name(flags, name) => {
                if flags & CANON_AUTHID != 0 {
                    self.authid.set(name);
                }
                if flags & CANON_AUTHZID != 0 {
                    // Kept once when both are the same (most exchanges).
                    self.user_is_authid = flags & CANON_AUTHID != 0;
                    if self.user_is_authid {
                        self.user = CName::None;
                    } else {
                        self.user.set(name);
                    }
                }
            }
        }
    }

    /// SASL_USERNAME, once set.
    pub fn user(&self) -> Option<&CStr> {
        if self.user_is_authid { self.authid.get() } else { self.user.get() }
    }

    /// SASL_AUTHUSER, once set.
    pub fn authid(&self) -> Option<&CStr> {
        self.authid.get()
    }
}

/// A name kept as a C string, inline when it is short (most are), so that
/// keeping it allocates nothing.
#[derive(Default)]
enum CName {
    #[default]
    None,
    /// `len` bytes and a NUL: no NUL within them (see [`CName::set`]).
    Inline { len: u8, bytes: [u8; INLINE_NAME] },
    Heap(CString),
}

const INLINE_NAME: usize = 22;

impl CName {
    fn get(&self) -> Option<&CStr> {
        match self {
            CName::None => None,
            // SAFETY: `set` wrote the name's `len` bytes, none of them NUL,
            // and a NUL after them.
            CName::Inline { len, bytes } => Some(unsafe { CStr::from_bytes_with_nul_unchecked(&bytes[..=*len as usize]) }),
            CName::Heap(c) => Some(c),
        }
    }

    fn bytes(&self) -> Option<&[u8]> {
        match self {
            CName::None => None,
            CName::Inline { len, bytes } => Some(&bytes[..*len as usize]),
            CName::Heap(c) => Some(c.to_bytes()),
        }
    }

    /// Keeps `name`, cut at a NUL as C would read it, unless it holds it
    /// already.
    #[inline]
    fn set(&mut self, name: &[u8]) {
        if self.bytes() == Some(name) {
            return;
        }
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        if name.len() >= INLINE_NAME {
            *self = CName::Heap(c_bytes(name));
            return;
        }
        match self {
            // Written in place; the NUL after the name ends it for C.
            CName::Inline { len, bytes } => {
                bytes[..name.len()].copy_from_slice(name);
                bytes[name.len()] = 0;
                *len = name.len() as u8;
            }
            _ => {
                let mut bytes = [0u8; INLINE_NAME];
                bytes[..name.len()].copy_from_slice(name);
                *self = CName::Inline { len: name.len() as u8, bytes };
            }
        }
    }
}

/// Replaces `slot` with a C copy of `value` unless it already holds it.
fn set_string(slot: &mut Option<CString>, value: &[u8]) {
    if slot.as_ref().map(|c| c.to_bytes()) != Some(value) {
        *slot = Some(c_bytes(value));
    }
}

/// Slots for string properties copied out of the settings, so a returned
/// pointer stays valid while its value does not change.
#[derive(Clone, Copy)]
pub(crate) enum StringProp {
    LocalAddr,
    RemoteAddr,
    AuthExternal,
}
const STRING_PROPS: usize = 3;

impl More {
    /// A stable C pointer for `value` in `slot` (NULL for None).
    pub fn string(&mut self, slot: StringProp, value: Option<&[u8]>) -> *const c_char {
        let cell = &mut self.strings[slot as usize];
        match value {
            None => {
                *cell = None;
                ptr::null()
            }
            Some(v) => {
                set_string(cell, v);
                cell.as_ref().map_or(ptr::null(), |c| c.as_ptr())
            }
        }
    }
}

/// The prompt array handed to the application after `SASL_INTERACT`.
#[derive(Default)]
pub(crate) struct PromptStore {
    pub array: Vec<sasl_interact_t>,
    texts: Vec<CString>,
}

impl PromptStore {
    /// Builds the array for `prompts`, ended by a `SASL_CB_LIST_END` entry.
    pub fn fill(&mut self, prompts: &[Prompt]) -> *mut sasl_interact_t {
        self.clear();
        for p in prompts {
            let mut text = |s: Option<&str>| match s {
                None => ptr::null(),
                Some(s) => {
                    let c = c_string(s);
                    let p = c.as_ptr();
                    self.texts.push(c);
                    p
                }
            };
            let challenge = text(p.challenge.as_deref());
            let prompt = text(Some(&p.prompt));
            let defresult = text(p.defresult.as_deref());
            self.array.push(sasl_interact {
                id: super::callbacks::c_id(p.id),
                challenge,
                prompt,
                defresult,
                result: ptr::null(),
                len: 0,
            });
        }
        self.array.push(sasl_interact {
            id: SASL_CB_LIST_END,
            challenge: ptr::null(),
            prompt: ptr::null(),
            defresult: ptr::null(),
            result: ptr::null(),
            len: 0,
        });
        self.array.as_mut_ptr()
    }

    pub fn is_empty(&self) -> bool {
        self.array.is_empty()
    }

    pub fn clear(&mut self) {
        self.array.clear();
        self.texts.clear();
    }
}

/// A C string of `s`, cut at an interior NUL (C would stop there anyway).
pub(crate) fn c_string(s: &str) -> CString {
    c_bytes(s.as_bytes())
}

/// A C string of the bytes `s` (a name need not be UTF-8), cut at a NUL.
pub(crate) fn c_bytes(s: &[u8]) -> CString {
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    CString::new(&s[..end]).expect("no interior NUL after cutting")
}

/// A connection in use by one exported call: a shared reference (calls
/// re-enter, see the module's notes) that counts the calls in progress, so
/// that `sasl_dispose` never frees a connection a call still uses.
pub(crate) struct ConnRef<'a>(&'a sasl_conn);

impl Deref for ConnRef<'_> {
    type Target = sasl_conn;
    fn deref(&self) -> &sasl_conn {
        self.0
    }
}

impl Drop for ConnRef<'_> {
    fn drop(&mut self) {
        self.0.calls.set(self.0.calls.get() - 1);
    }
}

impl sasl_conn {
    pub fn new(settings: Settings, callbacks: *const sasl_callback_t) -> Box<Self> {
        // Written straight into the allocation, not built on the stack and
        // copied there.
        let mut conn = Box::new_uninit();
        conn.write(sasl_conn {
            magic: MAGIC,
            calls: Cell::new(0),
            ssf: Cell::new(0),
            maxoutbuf: Cell::new(0),
            callbacks,
            settings: RefCell::new(settings),
            core: RefCell::new(ClientConn::default()),
            state: RefCell::new(State::default()),
        });
        // SAFETY: written in full just above.
        unsafe { conn.assume_init() }
    }

    /// The connection behind a C pointer, or None for NULL, a connection
    /// Cyrus created (never read as ours), or a pointer that is not a live
    /// connection of this library. The magic number is a last guard against
    /// stale pointers, read before any reference is made.
    ///
    /// # Safety
    /// `conn` is NULL or was returned by `sasl_client_new` or
    /// `sasl_server_new` and not disposed.
    pub(crate) unsafe fn from_ptr<'a>(conn: *mut sasl_conn) -> Option<ConnRef<'a>> {
        if conn.is_null() || super::cyrus::conns::is_cyrus(conn) {
            return None;
        }
        // SAFETY: per the caller's contract the pointer is live.
        let magic = unsafe { ptr::addr_of!((*conn).magic).read() };
        if magic != MAGIC {
            return None;
        }
        // SAFETY: a live connection of ours (contract and magic). Only
        // shared references to it are ever made while it lives (see the
        // module's notes), so this one aliases no `&mut`; `sasl_dispose`
        // frees it only when no ConnRef is left.
        let c = unsafe { &*conn };
        c.calls.set(c.calls.get() + 1);
        Some(ConnRef(c))
    }

    /// Frees a connection of ours, unless a call on it is still running
    /// (a callback disposing of the connection it was called for): then
    /// nothing happens, and false is returned.
    ///
    /// # Safety
    /// As [`sasl_conn::from_ptr`]; `conn` came from `Box::into_raw`.
    pub(crate) unsafe fn dispose(conn: *mut sasl_conn) -> bool {
        // SAFETY: per the function contract.
        let Some(c) = (unsafe { sasl_conn::from_ptr(conn) }) else { return true };
        let in_use = c.calls.get() > 1;
        drop(c);
        if !in_use {
            // SAFETY: created by Box::into_raw in sasl_client_new; no
            // reference to it is left (no call is running on it).
            drop(unsafe { Box::from_raw(conn) });
        }
        !in_use
    }

    /// SASL_SSF's and SASL_MAXOUTBUF's addresses.
    pub fn ssf_ptr(&self) -> *const u32 {
        self.ssf.as_ptr()
    }

    pub fn maxoutbuf_ptr(&self) -> *const u32 {
        self.maxoutbuf.as_ptr()
    }

    /// Copies what C reads through pointers from the exchange.
    pub fn publish(&self, core: &ClientConn) {
        self.ssf.set(core.ssf());
        self.maxoutbuf.set(core.maxoutbuf());
    }

    /// Logs the last error's message at `level` through the application's
    /// `SASL_CB_LOG`, where Cyrus logs it: its `sasl_seterror` logs why a
    /// mechanism failed at `SASL_LOG_FAIL` (parameter errors are not
    /// logged, there or here).
    pub fn log_failure(&self, level: crate::mech::LogLevel) {
        let message = self.state.borrow().error.message.clone();
        // After the state's borrow: the logger may call in again.
        // SAFETY: a live connection, only ever shared (see the module's
        // notes); its callback array is valid per the API.
        let mut callbacks = unsafe { super::callbacks::CCallbacks::new(ptr::from_ref(self).cast_mut(), self.callbacks) };
        callbacks.log_bytes(level, &message);
    }

    /// Records a failure that Cyrus also logs, and logs it at
    /// `SASL_LOG_FAIL`.
    pub fn fail_logged(&self, code: c_int, message: impl Into<String>) -> c_int {
        let rc = self.fail(code, message);
        self.log_failure(crate::mech::LogLevel::Fail);
        rc
    }

    /// Records a failure (Cyrus records only negative codes).
    pub fn fail(&self, code: c_int, message: impl Into<String>) -> c_int {
        self.state.borrow_mut().fail(code, message)
    }

    /// Records the outcome of an API call: negative codes become the error.
    pub fn ret(&self, code: c_int) -> c_int {
        if code < 0 {
            self.state.borrow_mut().error.code = code;
        }
        code
    }

    /// The failure of a call that finds the part of the connection it needs
    /// in use by a call in progress (it was re-entered from a callback or a
    /// plugin).
    pub fn busy(&self, what: &str) -> c_int {
        self.fail(SASL_FAIL, format!("{what} cannot run while sasl_client_start or sasl_client_step runs on this connection"))
    }
}

impl State {
    /// Keeps `data` NUL-terminated as the client output; returns its address.
    pub fn set_output(&mut self, mut data: Vec<u8>) -> *const c_char {
        if data.len() == data.capacity() {
            // Room for the NUL by hand: growing in place would free the old
            // buffer unwiped, and outputs can hold credentials (LOGIN's
            // password). PLAIN, SCRAM and OAuth leave the room instead.
            let mut roomy = Vec::with_capacity(data.len() + 1);
            roomy.extend_from_slice(&data);
            data.zeroize();
            data = roomy;
        }
        data.push(0);
        // The previous output may have held credentials.
        self.out.zeroize();
        self.out = data;
        self.out.as_ptr().cast()
    }
}

impl Drop for sasl_conn {
    fn drop(&mut self) {
        // Outputs can hold credentials (PLAIN) or session data.
        let state = self.state.get_mut();
        state.out.zeroize();
        if let Some(more) = &mut state.more {
            more.encoded.zeroize();
            more.decoded.zeroize();
        }
        self.magic = 0;
    }
}

#[cfg(test)]
mod tests {
    //! The re-entry pattern of the C API in Rust, so that Miri checks it
    //! (`cargo +nightly miri test --lib capi::conn`): an application's
    //! password callback calls the exported functions on the connection
    //! whose `sasl_client_start` is running. No file is read (the plugin
    //! path is empty) and no C code runs (sasl_seterror's C shim is
    //! replaced by its Rust target).
    use std::ffi::{c_int, c_uint, c_void, CStr};
    use std::ptr;

    use super::*;
    use crate::capi::client::*;
    use crate::capi::common::*;
    use crate::capi::layer::sasl_encode;

    type Proc = unsafe extern "C" fn() -> c_int;

    /// What the password callback saw.
    #[derive(Default)]
    struct Seen {
        calls: u32,
        mech: Option<String>,
        user_rc: c_int,
        ssf: u32,
        detail: String,
        nested: Vec<c_int>,
        disposed_pointer_kept: bool,
    }

    unsafe fn text(p: *const c_void) -> String {
        // SAFETY: a C string the library returned.
        unsafe { CStr::from_ptr(p.cast()) }.to_string_lossy().into_owned()
    }

    unsafe extern "C" fn getpath(_: *mut c_void, path: *mut *const c_char) -> c_int {
        // SAFETY: the library's out-pointer.
        unsafe { path.write(c"".as_ptr()) };
        SASL_OK
    }

    /// Only mechanisms that need nothing of the system (GSSAPI would open
    /// the GSS-API library, which Miri cannot).
    unsafe extern "C" fn getopt(
        _: *mut c_void,
        _: *const c_char,
        option: *const c_char,
        result: *mut *const c_char,
        _: *mut c_uint,
    ) -> c_int {
        // SAFETY: the library's arguments.
        if unsafe { CStr::from_ptr(option) } != c"client_mech_list" {
            return SASL_FAIL;
        }
        // SAFETY: the library's out-pointer.
        unsafe { result.write(c"PLAIN CRAM-MD5".as_ptr()) };
        SASL_OK
    }

    unsafe extern "C" fn simple(_: *mut c_void, _: c_int, result: *mut *const c_char, _: *mut c_uint) -> c_int {
        // SAFETY: the library's out-pointer.
        unsafe { result.write(c" tim ".as_ptr()) };
        SASL_OK
    }

    unsafe extern "C" fn pass(conn: *mut sasl_conn_t, ctx: *mut c_void, _: c_int, out: *mut *mut sasl_secret_t) -> c_int {
        // SAFETY: the test's own context.
        let seen = unsafe { &mut *ctx.cast::<Seen>() };
        seen.calls += 1;
        let mut v: *const c_void = ptr::null();
        // SAFETY (every call): the connection this callback was called
        // for, and valid arguments, as an application would pass them.
        unsafe {
            seen.user_rc = sasl_getprop(conn, SASL_USERNAME, &mut v);
            assert_eq!(sasl_getprop(conn, SASL_MECHNAME, &mut v), SASL_OK);
            seen.mech = Some(text(v));
            assert_eq!(sasl_getprop(conn, SASL_SSF, &mut v), SASL_OK);
            seen.ssf = *v.cast::<u32>();
            assert_eq!(sasl_getprop(conn, SASL_SERVICE, &mut v), SASL_OK);
            assert_eq!(text(v), "imap");
            sasl2_rs_seterror_formatted(conn, 0, c"from the callback".as_ptr());
            seen.detail = text(sasl_errdetail(conn).cast());
            let (mut out, mut len, mut mech) = (ptr::null(), 0, ptr::null());
            let ssf: u32 = 1;
            seen.nested = vec![
                sasl_setprop(conn, SASL_SSF_EXTERNAL, ptr::from_ref(&ssf).cast()),
                sasl_client_step(conn, ptr::null(), 0, ptr::null_mut(), &mut out, &mut len),
                sasl_client_start(conn, c"PLAIN".as_ptr(), ptr::null_mut(), &mut out, &mut len, &mut mech),
                sasl_encode(conn, c"x".as_ptr(), 1, &mut out, &mut len),
                sasl_listmech(conn, ptr::null(), ptr::null(), ptr::null(), ptr::null(), &mut out, &mut len, ptr::null_mut()),
            ];
            let mut same = conn;
            sasl_dispose(&mut same);
            seen.disposed_pointer_kept = same == conn;
        }
        /// sasl_secret_t with room for its bytes.
        #[repr(C)]
        struct Secret {
            len: std::ffi::c_ulong,
            data: [u8; 3],
        }
        static SECRET: Secret = Secret { len: 2, data: *b"pw\0" };
        // SAFETY: a sasl_secret_t that outlives the call (only read).
        unsafe { out.write(ptr::from_ref(&SECRET).cast_mut().cast()) };
        SASL_OK
    }

    fn entry(id: std::ffi::c_ulong, proc: Option<Proc>, context: *mut c_void) -> sasl_callback_t {
        sasl_callback { id, proc, context }
    }

    #[test]
    fn reentrant_calls_from_a_password_callback() {
        let mut seen = Seen::default();
        type GetPath = unsafe extern "C" fn(*mut c_void, *mut *const c_char) -> c_int;
        type GetOpt =
            unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *mut *const c_char, *mut c_uint) -> c_int;
        type Simple = unsafe extern "C" fn(*mut c_void, c_int, *mut *const c_char, *mut c_uint) -> c_int;
        type Pass = unsafe extern "C" fn(*mut sasl_conn_t, *mut c_void, c_int, *mut *mut sasl_secret_t) -> c_int;
        // SAFETY: function pointers stored as sasl_callback_t keeps them,
        // called back with their own types.
        let (getpath, getopt, simple, pass) = unsafe {
            (
                std::mem::transmute::<GetPath, Proc>(getpath),
                std::mem::transmute::<GetOpt, Proc>(getopt),
                std::mem::transmute::<Simple, Proc>(simple),
                std::mem::transmute::<Pass, Proc>(pass),
            )
        };
        let global = [
            entry(SASL_CB_GETPATH, Some(getpath), ptr::null_mut()),
            entry(SASL_CB_GETOPT, Some(getopt), ptr::null_mut()),
            entry(SASL_CB_LIST_END, None, ptr::null_mut()),
        ];
        let local = [
            entry(SASL_CB_AUTHNAME, Some(simple), ptr::null_mut()),
            entry(SASL_CB_PASS, Some(pass), ptr::from_mut(&mut seen).cast()),
            entry(SASL_CB_LIST_END, None, ptr::null_mut()),
        ];
        // SAFETY (every call): valid arguments that outlive the calls.
        unsafe {
            assert_eq!(sasl_client_init(global.as_ptr()), SASL_OK);
            let mut conn = ptr::null_mut();
            let rc = sasl_client_new(c"imap".as_ptr(), c"Host".as_ptr(), ptr::null(), ptr::null(), local.as_ptr(), 0, &mut conn);
            assert_eq!(rc, SASL_OK);
            let (mut out, mut len, mut mech) = (ptr::null(), 0, ptr::null());
            let rc = sasl_client_start(conn, c"PLAIN".as_ptr(), ptr::null_mut(), &mut out, &mut len, &mut mech);
            assert_eq!(rc, SASL_OK);
            assert_eq!(std::slice::from_raw_parts(out.cast::<u8>(), len as usize), b"\0tim\0pw");
            let mut v: *const c_void = ptr::null();
            assert_eq!(sasl_getprop(conn, SASL_USERNAME, &mut v), SASL_OK);
            assert_eq!(text(v), "tim");
            sasl_dispose(&mut conn);
            assert!(conn.is_null());
            assert_eq!(sasl_client_done(), SASL_OK);
        }
        assert_eq!(seen.calls, 1);
        assert_eq!((seen.mech.as_deref(), seen.user_rc, seen.ssf), (Some("PLAIN"), SASL_NOTDONE, 0));
        assert!(seen.detail.ends_with(": from the callback"), "{}", seen.detail);
        assert_eq!(seen.nested, [SASL_FAIL, SASL_FAIL, SASL_FAIL, SASL_FAIL, SASL_OK]);
        assert!(seen.disposed_pointer_kept);
    }

    #[test]
    fn names_kept_inline_then_on_the_heap_then_inline_again() {
        let mut n = CName::default();
        assert_eq!(n.get(), None);
        n.set(b"tim");
        assert_eq!(n.get(), Some(c"tim"));
        n.set(b"ti");
        assert_eq!(n.get(), Some(c"ti"));
        let long = [b'x'; INLINE_NAME];
        n.set(&long);
        assert!(matches!(n, CName::Heap(_)));
        assert_eq!(n.bytes(), Some(&long[..]));
        // Cut at a NUL, as C reads it; exactly INLINE_NAME - 1 bytes fit.
        n.set(b"abcdefghijklmnopqrstu\0v");
        assert!(matches!(n, CName::Inline { len: 21, .. }));
        assert_eq!(n.get(), Some(c"abcdefghijklmnopqrstu"));
        n.set(b"");
        assert_eq!(n.get(), Some(c""));
    }

    #[test]
    fn an_output_gets_its_nul_in_the_room_left_or_in_a_new_buffer() {
        let mut state = State::default();
        let mut roomy = Vec::with_capacity(4);
        roomy.extend_from_slice(b"abc");
        let at = roomy.as_ptr();
        // SAFETY: the output is NUL-terminated and lives in `state`.
        let text = |p: *const c_char| unsafe { CStr::from_ptr(p) }.to_bytes().to_vec();
        let out = state.set_output(roomy);
        assert_eq!((out.cast::<u8>(), text(out)), (at, b"abc".to_vec()));
        // No room: copied (the full buffer wiped as it goes), not grown.
        let full = b"secret".to_vec();
        assert_eq!(full.capacity(), full.len());
        let out = state.set_output(full);
        assert_eq!((text(out), state.out.len()), (b"secret".to_vec(), 7));
    }
}
