//! `sasl_conn_t`: the core connection plus what C callers hold pointers
//! into (output buffers, property strings, prompts, the error message).
//! Everything returned to C lives here, valid until the next call that
//! replaces it or until `sasl_dispose`.

use std::ffi::{c_char, c_int, CString};
use std::ptr;

use zeroize::Zeroize;

use super::types::*;
use crate::core::{ClientConn, Prompt};

/// Marks a live connection; checked on entry to catch foreign pointers.
const MAGIC: u64 = 0x7361_736c_3272_7331; // "sasl2rs1"

pub struct sasl_conn {
    magic: u64,
    pub(crate) core: ClientConn,
    /// The application's per-connection callbacks, kept by pointer.
    pub(crate) callbacks: *const sasl_callback_t,
    pub(crate) error: ErrorState,
    pub(crate) props: PropMirror,
    /// Client output of the last start/step, NUL-terminated.
    pub(crate) out: Vec<u8>,
    pub(crate) encoded: Vec<u8>,
    pub(crate) decoded: Vec<u8>,
    pub(crate) prompts: PromptStore,
    /// Whether the last start/step handed the application a plugin's own
    /// prompt list (given back on the next start).
    pub(crate) plugin_prompts: bool,
    pub(crate) listmech: Option<CString>,
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
    pub set_by_application: u64,
    /// The formatted `sasl_errdetail` text.
    pub detail: Option<CString>,
    pub plugerr: Option<CString>,
}

impl ErrorState {
    /// A mark to compare with after calling out (see [`ErrorState::set_since`]).
    pub fn mark(&self) -> u64 {
        self.set_by_application
    }

    /// Whether sasl_seterror set a message since `mark` (a callback, or a
    /// plugin through its utilities).
    pub fn set_since(&self, mark: u64) -> bool {
        self.set_by_application != mark
    }
}

/// Values `sasl_getprop` hands out pointers to.
pub(crate) struct PropMirror {
    pub external_ssf: sasl_ssf_t,
    pub sec_props: sasl_security_properties_t,
    /// Boxed on first use: most connections never read a string property.
    pub strings: Option<Box<[Option<CString>; STRING_PROPS]>>,
}

/// Slots for string properties, so a returned pointer stays valid while
/// its value does not change.
#[derive(Clone, Copy)]
pub(crate) enum StringProp {
    User,
    AuthUser,
    Service,
    ServerFqdn,
    LocalAddr,
    RemoteAddr,
    AuthExternal,
}
const STRING_PROPS: usize = 7;

impl PropMirror {
    /// A stable C pointer for `value` in `slot` (NULL for None).
    pub fn string(&mut self, slot: StringProp, value: Option<&[u8]>) -> *const c_char {
        let cell = &mut self.strings.get_or_insert_with(Default::default)[slot as usize];
        match value {
            None => {
                *cell = None;
                ptr::null()
            }
            Some(v) => {
                if cell.as_ref().map(|c| c.as_bytes()) != Some(v) {
                    *cell = Some(c_bytes(v));
                }
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

impl sasl_conn {
    pub fn new(core: ClientConn, callbacks: *const sasl_callback_t) -> Box<Self> {
        Box::new(sasl_conn {
            magic: MAGIC,
            core,
            callbacks,
            error: ErrorState::default(),
            props: PropMirror {
                external_ssf: 0,
                sec_props: sasl_security_properties {
                    min_ssf: 0,
                    max_ssf: 0,
                    maxbufsize: 0,
                    security_flags: 0,
                    property_names: ptr::null_mut(),
                    property_values: ptr::null_mut(),
                },
                strings: None,
            },
            out: Vec::new(),
            encoded: Vec::new(),
            decoded: Vec::new(),
            prompts: PromptStore::default(),
            plugin_prompts: false,
            listmech: None,
        })
    }

    /// The connection behind a C pointer, or None for NULL, a connection
    /// Cyrus created (never read as ours), or a pointer that is not a live
    /// connection of this library. The magic number is a last guard against
    /// stale pointers, read before any reference is made.
    ///
    /// # Safety
    /// `conn` is NULL or was returned by `sasl_client_new` or
    /// `sasl_server_new` and not disposed.
    pub(crate) unsafe fn from_ptr<'a>(conn: *mut sasl_conn) -> Option<&'a mut sasl_conn> {
        if conn.is_null() || super::cyrus::conns::is_cyrus(conn) {
            return None;
        }
        // SAFETY: per the caller's contract the pointer is live.
        let magic = unsafe { ptr::addr_of!((*conn).magic).read() };
        // SAFETY: as above, and the magic says it is one of ours.
        (magic == MAGIC).then(|| unsafe { &mut *conn })
    }

    /// The per-connection callbacks of a live connection, read without
    /// borrowing it (plugins call back while the connection is in use).
    ///
    /// # Safety
    /// As [`sasl_conn::from_ptr`].
    pub(crate) unsafe fn callbacks_of(conn: *mut sasl_conn) -> Option<*const sasl_callback_t> {
        if conn.is_null() {
            return None;
        }
        // SAFETY: a live connection per the contract; plain field reads.
        unsafe { ((*conn).magic == MAGIC).then(|| (*conn).callbacks) }
    }

    /// Records a failure (Cyrus records only negative codes).
    pub fn fail(&mut self, code: c_int, message: impl Into<String>) -> c_int {
        self.error.code = code;
        self.error.message = message.into().into_bytes();
        code
    }

    /// Records the outcome of an API call: negative codes become the error.
    pub fn ret(&mut self, code: c_int) -> c_int {
        if code < 0 {
            self.error.code = code;
        }
        code
    }

    /// Keeps `data` NUL-terminated as the client output; returns its address.
    pub fn set_output(&mut self, mut data: Vec<u8>) -> *const c_char {
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
        self.out.zeroize();
        self.encoded.zeroize();
        self.decoded.zeroize();
        self.magic = 0;
    }
}

