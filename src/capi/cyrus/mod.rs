//! The server side, forwarded to the system's Cyrus libsasl2.
//!
//! This library implements the client side of SASL. A process that also
//! serves SASL (slapd, Postfix's smtpd, svnserve, sasl-sample-server) calls
//! `sasl_server_*`, the auxprop API and `prop_*` through the same
//! `libsasl2.so.2`. Those calls, and every call on a connection Cyrus
//! created, are forwarded unchanged to the system's own Cyrus library, which
//! is opened by its real file name on the first server-side call
//! ([`find`]). Nothing here reimplements the server side: when no Cyrus
//! library is found, `src/capi/server.rs` fails as a client-only library.
//!
//! How Cyrus is opened, and why:
//! * **`RTLD_DEEPBIND`.** Cyrus calls 42 of its own exported functions and
//!   one variable through its GOT (`prop_*`, `sasl_getprop`,
//!   `sasl_seterror`, `sasl_server_add_plugin`, `sasl_global_utils`, ...;
//!   `LD_DEBUG=bindings` lists them). In the default lookup order they bind
//!   to the first definition in the global scope, which is this library, so
//!   Cyrus's `sasl_server_init` would register its plug-ins with our stubs
//!   and fail with `SASL_NOMECH`. `RTLD_DEEPBIND` makes Cyrus look in its own
//!   scope (itself and libc) first.
//! * **`RTLD_LOCAL`.** Cyrus's symbols stay out of the global scope, so no
//!   program or library ever binds to them by name: only this module calls
//!   them, through the table below.
//! * **No `dlmopen`.** Cyrus's plug-ins reference no libsasl2 symbol (they
//!   reach the library only through the `sasl_utils_t` table Cyrus hands
//!   them), and Cyrus itself needs only libc. A new link-map namespace would
//!   load a second libc (another malloc heap, errno, stdio) for nothing.
//!
//! Caveat of `RTLD_DEEPBIND`: Cyrus's calls into libc bind to libc itself,
//! not to a malloc preloaded with `LD_PRELOAD`; Cyrus allocates and frees
//! its own memory (or uses the application's `sasl_set_alloc`), so this
//! changes nothing for the API. AddressSanitizer refuses `RTLD_DEEPBIND`:
//! under ASan the server side is unavailable.
//!
//! Connections: a pointer is Cyrus's exactly when it came out of a forwarded
//! `sasl_server_new` and has not been disposed of ([`conns`]); functions
//! common to both sides ask [`owner`] first.
#![allow(clippy::type_complexity)]

pub(crate) mod conns;
mod find;

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::sync::{Mutex, MutexGuard, OnceLock};

use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};

use super::server::propctx;
use super::types::*;

type Malloc = Option<unsafe extern "C" fn(usize) -> *mut c_void>;
type Calloc = Option<unsafe extern "C" fn(usize, usize) -> *mut c_void>;
type Realloc = Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>;
type Free = Option<unsafe extern "C" fn(*mut c_void)>;
type MutexAlloc = Option<unsafe extern "C" fn() -> *mut c_void>;
type MutexOp = Option<unsafe extern "C" fn(*mut c_void) -> c_int>;
type MutexFree = Option<unsafe extern "C" fn(*mut c_void)>;

/// Declares [`Api`], Cyrus's entry points as typed function pointers, and
/// its resolution by name.
macro_rules! cyrus_api {
    ($($name:ident: fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// Cyrus's entry points. The types are those of Cyrus 2.1.28's
        /// sasl.h, prop.h and saslplug.h, which this library exports too.
        pub(crate) struct Api {
            $(pub(crate) $name: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
            pub(crate) sasl_seterror: unsafe extern "C" fn(*mut sasl_conn_t, c_uint, *const c_char, ...),
            /// The address of Cyrus's `sasl_global_utils` variable.
            global_utils: usize,
        }

        impl Api {
            fn resolve(lib: &Library) -> Result<Api, libloading::Error> {
                // SAFETY: each symbol is read as the type Cyrus defines it with.
                unsafe {
                    Ok(Api {
                        $($name: *lib.get(concat!(stringify!($name), "\0").as_bytes())?,)*
                        sasl_seterror: *lib.get(b"sasl_seterror\0")?,
                        global_utils: lib.get::<*mut *const c_void>(b"sasl_global_utils\0")?.into_raw() as usize,
                    })
                }
            }
        }
    };
}

cyrus_api! {
    sasl_server_init: fn(*const sasl_callback_t, *const c_char) -> c_int;
    sasl_server_new: fn(*const c_char, *const c_char, *const c_char, *const c_char, *const c_char,
                        *const sasl_callback_t, c_uint, *mut *mut sasl_conn_t) -> c_int;
    sasl_server_start: fn(*mut sasl_conn_t, *const c_char, *const c_char, c_uint, *mut *const c_char,
                          *mut c_uint) -> c_int;
    sasl_server_step: fn(*mut sasl_conn_t, *const c_char, c_uint, *mut *const c_char, *mut c_uint) -> c_int;
    sasl_server_done: fn() -> c_int;
    sasl_checkapop: fn(*mut sasl_conn_t, *const c_char, c_uint, *const c_char, c_uint) -> c_int;
    sasl_checkpass: fn(*mut sasl_conn_t, *const c_char, c_uint, *const c_char, c_uint) -> c_int;
    sasl_user_exists: fn(*mut sasl_conn_t, *const c_char, *const c_char, *const c_char) -> c_int;
    sasl_setpass: fn(*mut sasl_conn_t, *const c_char, *const c_char, c_uint, *const c_char, c_uint, c_uint) -> c_int;
    sasl_auxprop_request: fn(*mut sasl_conn_t, *mut *const c_char) -> c_int;
    sasl_auxprop_getctx: fn(*mut sasl_conn_t) -> *mut propctx;
    sasl_auxprop_store: fn(*mut sasl_conn_t, *mut propctx, *const c_char) -> c_int;
    sasl_server_plugin_info: fn(*const c_char, *mut c_void, *mut c_void) -> c_int;
    auxprop_plugin_info: fn(*const c_char, *mut c_void, *mut c_void) -> c_int;
    sasl_server_add_plugin: fn(*const c_char, *mut c_void) -> c_int;
    sasl_canonuser_add_plugin: fn(*const c_char, *mut c_void) -> c_int;
    sasl_auxprop_add_plugin: fn(*const c_char, *mut c_void) -> c_int;
    prop_new: fn(c_uint) -> *mut propctx;
    prop_dup: fn(*mut propctx, *mut *mut propctx) -> c_int;
    prop_request: fn(*mut propctx, *mut *const c_char) -> c_int;
    prop_get: fn(*mut propctx) -> *const propval;
    prop_getnames: fn(*mut propctx, *mut *const c_char, *mut propval) -> c_int;
    prop_clear: fn(*mut propctx, c_int);
    prop_erase: fn(*mut propctx, *const c_char);
    prop_dispose: fn(*mut *mut propctx);
    prop_format: fn(*mut propctx, *const c_char, c_int, *mut c_char, c_uint, *mut c_uint) -> c_int;
    prop_set: fn(*mut propctx, *const c_char, *const c_char, c_int) -> c_int;
    prop_setvals: fn(*mut propctx, *const c_char, *mut *const c_char) -> c_int;
    sasl_dispose: fn(*mut *mut sasl_conn_t);
    sasl_getprop: fn(*mut sasl_conn_t, c_int, *mut *const c_void) -> c_int;
    sasl_setprop: fn(*mut sasl_conn_t, c_int, *const c_void) -> c_int;
    sasl_encode: fn(*mut sasl_conn_t, *const c_char, c_uint, *mut *const c_char, *mut c_uint) -> c_int;
    sasl_encodev: fn(*mut sasl_conn_t, *const iovec, c_uint, *mut *const c_char, *mut c_uint) -> c_int;
    sasl_decode: fn(*mut sasl_conn_t, *const c_char, c_uint, *mut *const c_char, *mut c_uint) -> c_int;
    sasl_errdetail: fn(*mut sasl_conn_t) -> *const c_char;
    sasl_listmech: fn(*mut sasl_conn_t, *const c_char, *const c_char, *const c_char, *const c_char,
                      *mut *const c_char, *mut c_uint, *mut c_int) -> c_int;
    sasl_idle: fn(*mut sasl_conn_t) -> c_int;
    sasl_mkchal: fn(*mut sasl_conn_t, *mut c_char, c_uint, c_uint) -> c_int;
    sasl_global_listmech: fn() -> *mut *const c_char;
    sasl_done: fn();
    sasl_set_alloc: fn(Malloc, Calloc, Realloc, Free);
    sasl_set_mutex: fn(MutexAlloc, MutexOp, MutexOp, MutexFree);
    sasl_set_path: fn(c_int, *mut c_char) -> c_int;
    sasl_version_info: fn(*mut *const c_char, *mut *const c_char, *mut c_int, *mut c_int, *mut c_int, *mut c_int);
}

struct Cyrus {
    api: Api,
    /// Kept open for the life of the process: its connections and plug-ins
    /// may be in use until exit.
    _lib: Library,
}

static CYRUS: OnceLock<Option<Cyrus>> = OnceLock::new();

/// Cyrus's API, opening the library on first use; None when the system has
/// no Cyrus library (then the server side is unavailable).
pub(crate) fn api() -> Option<&'static Api> {
    CYRUS.get_or_init(open).as_ref().map(|c| &c.api)
}

/// Cyrus's API if an earlier server-side call opened it (never opens it).
pub(crate) fn loaded() -> Option<&'static Api> {
    CYRUS.get().and_then(Option::as_ref).map(|c| &c.api)
}

/// Cyrus's API when `conn` is a live connection Cyrus created.
pub(crate) fn owner(conn: *mut sasl_conn_t) -> Option<&'static Api> {
    if conns::is_cyrus(conn) { loaded() } else { None }
}

/// Opens the newest Cyrus library found, and replays the allocator, mutex
/// and path settings the application made before.
fn open() -> Option<Cyrus> {
    let flags = RTLD_NOW | RTLD_LOCAL | libc::RTLD_DEEPBIND;
    find::candidates().into_iter().find_map(|path| {
        // SAFETY: opening Cyrus runs no initialiser that needs anything from
        // us; its symbols are only reached through the resolved table.
        let lib = unsafe { Library::open(Some(&path), flags) }.ok()?;
        let api = Api::resolve(&lib).ok()?;
        let mut name: *const c_char = std::ptr::null();
        let no_int: *mut c_int = std::ptr::null_mut();
        // SAFETY: every out-pointer but the first may be NULL.
        unsafe { (api.sasl_version_info)(&mut name, std::ptr::null_mut(), no_int, no_int, no_int, no_int) };
        // SAFETY: a static NUL-terminated string, or NULL.
        let ours = name.is_null() || unsafe { CStr::from_ptr(name) }.to_bytes().windows(8).any(|w| w == b"sasl2-rs");
        if ours {
            return None; // another copy of this library: forwarding to it would loop
        }
        settings().replay(&api);
        Some(Cyrus { api, _lib: lib })
    })
}

/// `sasl_set_alloc`, `sasl_set_mutex` and `sasl_set_path` calls, recorded so
/// that Cyrus gets them when it is opened (applications make them before
/// `sasl_server_init`, when Cyrus is not open yet).
struct Settings {
    alloc: Option<(Malloc, Calloc, Realloc, Free)>,
    mutex: Option<(MutexAlloc, MutexOp, MutexOp, MutexFree)>,
    paths: Vec<(c_int, CString)>,
}

static SETTINGS: Mutex<Settings> = Mutex::new(Settings { alloc: None, mutex: None, paths: Vec::new() });

fn settings() -> MutexGuard<'static, Settings> {
    SETTINGS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Settings {
    fn replay(&self, api: &Api) {
        // SAFETY: the application's functions and paths, passed on as it
        // gave them (Cyrus copies the paths).
        unsafe {
            if let Some((m, c, r, f)) = self.alloc {
                (api.sasl_set_alloc)(m, c, r, f);
            }
            if let Some((a, l, u, f)) = self.mutex {
                (api.sasl_set_mutex)(a, l, u, f);
            }
            for (kind, path) in &self.paths {
                (api.sasl_set_path)(*kind, path.as_ptr().cast_mut());
            }
        }
    }
}

/// Records the application's allocator for Cyrus, or hands it over now.
pub(crate) fn set_alloc(m: Malloc, c: Calloc, r: Realloc, f: Free) {
    match loaded() {
        // SAFETY: the application's functions, passed on unchanged.
        Some(api) => unsafe { (api.sasl_set_alloc)(m, c, r, f) },
        None => settings().alloc = Some((m, c, r, f)),
    }
}

/// Records the application's mutex functions for Cyrus, or hands them over.
pub(crate) fn set_mutex(a: MutexAlloc, l: MutexOp, u: MutexOp, f: MutexFree) {
    match loaded() {
        // SAFETY: as above.
        Some(api) => unsafe { (api.sasl_set_mutex)(a, l, u, f) },
        None => settings().mutex = Some((a, l, u, f)),
    }
}

/// Records a plug-in or configuration path for Cyrus, or hands it over.
///
/// # Safety
/// `path` is a NUL-terminated string.
pub(crate) unsafe fn set_path(kind: c_int, path: *mut c_char) {
    match loaded() {
        // SAFETY: per the function contract; Cyrus copies the string.
        Some(api) => unsafe {
            (api.sasl_set_path)(kind, path);
        },
        None => {
            // SAFETY: per the function contract.
            let copy = unsafe { CStr::from_ptr(path) }.to_owned();
            let paths = &mut settings().paths;
            paths.retain(|(k, _)| *k != kind);
            paths.push((kind, copy));
        }
    }
}

/// After Cyrus's `sasl_server_init`: our exported `sasl_global_utils` shows
/// the utilities Cyrus made, as Cyrus's own variable would.
pub(crate) fn copy_global_utils(api: &Api) {
    // SAFETY: the address of Cyrus's pointer variable, resolved by dlsym.
    let utils = unsafe { *(api.global_utils as *const *const c_void) };
    // SAFETY: a plain pointer store into our exported variable (Cyrus, too,
    // writes its variable without synchronisation).
    unsafe { std::ptr::addr_of_mut!(super::server::sasl_global_utils).write(utils) };
}
