//! `sasl_utils_t`: the functions a plugin calls back into the library, set
//! as Cyrus sets them (`checkpass` and the spares are NULL on the client).
//! Most are the exported API; the others are here: option and callback
//! lookup, the default callbacks Cyrus provides, mutexes, HMAC-MD5 and the
//! target of the C shim behind the variadic `log`.

use std::ffi::{c_char, c_int, c_uchar, c_uint, c_ulong, c_void, CStr};
use std::ptr;
use std::sync::{Condvar, Mutex};

use super::abi::*;
use crate::capi::common::{sasl_getprop, sasl_setprop};
use crate::capi::conn::sasl_conn;
use crate::capi::server::*;
use crate::capi::util::*;
use crate::capi::*;

use libc::{calloc, free, malloc, realloc};

// The connection is opaque to C: only pointers to it cross.
#[allow(improper_ctypes)]
unsafe extern "C" {
    // The C shim (csrc/seterror.c): both format, then call into Rust.
    fn sasl_seterror(conn: *mut sasl_conn_t, flags: c_uint, fmt: *const c_char, ...);
    fn sasl2_rs_plugin_log(conn: *mut sasl_conn_t, level: c_int, fmt: *const c_char, ...);
}

/// A utilities table and the random pool it points to, freed together.
pub(crate) struct OwnedUtils(Box<sasl_utils_t>);

// SAFETY: the table is immutable after creation; the random pool it points
// to has no state (it reads the operating system's source).
unsafe impl Send for OwnedUtils {}
unsafe impl Sync for OwnedUtils {}

impl OwnedUtils {
    /// The table for `conn`'s plugins, or the global one (`conn` NULL) given
    /// to entry points and `mech_free`.
    pub fn new(conn: *mut sasl_conn_t) -> Self {
        let mut rpool: *mut sasl_rand_t = ptr::null_mut();
        // SAFETY: a valid out-pointer.
        unsafe { sasl_randcreate(&mut rpool) };
        let (getopt, getopt_context): (GetOpt, *mut c_void) =
            if conn.is_null() { (global_getopt, ptr::null_mut()) } else { (conn_getopt, conn.cast()) };
        OwnedUtils(Box::new(sasl_utils {
            version: SASL_UTILS_VERSION,
            conn,
            rpool,
            getopt_context,
            getopt: Some(getopt),
            malloc: Some(malloc),
            calloc: Some(calloc),
            realloc: Some(realloc),
            free: Some(free),
            mutex_alloc: Some(mutex_alloc),
            mutex_lock: Some(mutex_lock),
            mutex_unlock: Some(mutex_unlock),
            mutex_free: Some(mutex_free),
            MD5Init: Some(_sasl_MD5Init),
            MD5Update: Some(_sasl_MD5Update),
            MD5Final: Some(_sasl_MD5Final),
            hmac_md5: Some(hmac_md5),
            hmac_md5_init: Some(hmac_md5_init),
            hmac_md5_final: Some(hmac_md5_final),
            hmac_md5_precalc: Some(hmac_md5_precalc),
            hmac_md5_import: Some(hmac_md5_import),
            mkchal: Some(sasl_mkchal),
            utf8verify: Some(sasl_utf8verify),
            rand: Some(sasl_rand),
            churn: Some(sasl_churn),
            checkpass: None,
            decode64: Some(sasl_decode64),
            encode64: Some(sasl_encode64),
            erasebuffer: Some(sasl_erasebuffer),
            getprop: Some(sasl_getprop),
            setprop: Some(sasl_setprop),
            getcallback: Some(getcallback),
            log: Some(sasl2_rs_plugin_log),
            seterror: Some(sasl_seterror),
            spare_fptr: None,
            prop_new: Some(prop_new),
            prop_dup: Some(prop_dup),
            prop_request: Some(prop_request),
            prop_get: Some(prop_get),
            prop_getnames: Some(prop_getnames),
            prop_clear: Some(prop_clear),
            prop_dispose: Some(prop_dispose),
            prop_format: Some(prop_format),
            prop_set: Some(prop_set),
            prop_setvals: Some(prop_setvals),
            prop_erase: Some(prop_erase),
            auxprop_store: Some(sasl_auxprop_store),
            spare_fptr1: None,
            spare_fptr2: None,
        }))
    }

    pub fn as_ptr(&self) -> *const sasl_utils_t {
        &*self.0
    }
}

impl Drop for OwnedUtils {
    fn drop(&mut self) {
        // SAFETY: created by sasl_randcreate in `new`, freed once.
        unsafe { sasl_randfree(&mut self.0.rpool) };
    }
}

type GetOpt =
    unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *mut *const c_char, *mut c_uint) -> c_int;
type GetSimple = unsafe extern "C" fn(*mut c_void, c_int, *mut *const c_char, *mut c_uint) -> c_int;
type Log = unsafe extern "C" fn(*mut c_void, c_int, *const c_char) -> c_int;

/// The callback arrays a lookup on `conn` goes through: the connection's,
/// then the global one given to `sasl_client_init`.
fn callback_lists(conn: *mut sasl_conn_t) -> [*const sasl_callback_t; 2] {
    // SAFETY: conn is NULL or a connection handed to the plugin by us.
    let local = unsafe { sasl_conn::from_ptr(conn) }.map_or(ptr::null(), |c| c.callbacks);
    [local, crate::capi::global_callbacks()]
}

/// Every entry with `id` in a terminated callback array.
fn entries(list: *const sasl_callback_t, id: c_ulong) -> impl Iterator<Item = &'static sasl_callback_t> {
    let mut entry = list;
    std::iter::from_fn(move || {
        loop {
            // SAFETY: NULL or a SASL_CB_LIST_END-terminated array (the API's
            // contract), alive while the connection or library is in use.
            let e = unsafe { entry.as_ref() }?;
            if e.id == SASL_CB_LIST_END {
                return None;
            }
            // SAFETY: not at the terminator yet.
            entry = unsafe { entry.add(1) };
            if e.id == id {
                return Some(e);
            }
        }
    })
}

/// Asks each GETOPT callback of `lists` in turn, as Cyrus does.
///
/// # Safety
/// The arguments are a plugin's, passed on to the application unchanged.
unsafe fn ask_getopt(
    lists: &[*const sasl_callback_t],
    plugin: *const c_char,
    option: *const c_char,
    result: *mut *const c_char,
    len: *mut c_uint,
) -> c_int {
    for &list in lists {
        for e in entries(list, SASL_CB_GETOPT) {
            let Some(f) = e.proc else { return SASL_FAIL };
            // SAFETY: registered for SASL_CB_GETOPT, so a sasl_getopt_t.
            let f: GetOpt = unsafe { std::mem::transmute::<unsafe extern "C" fn() -> c_int, GetOpt>(f) };
            // SAFETY: the plugin's arguments, as the callback expects them.
            if unsafe { f(e.context, plugin, option, result, len) } == SASL_OK {
                return SASL_OK;
            }
        }
    }
    SASL_FAIL
}

/// `utils->getopt` of a connection's table (context: the connection).
unsafe extern "C" fn conn_getopt(
    context: *mut c_void,
    plugin: *const c_char,
    option: *const c_char,
    result: *mut *const c_char,
    len: *mut c_uint,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if context.is_null() {
            return SASL_BADPARAM;
        }
        // SAFETY: passed through to the application's callbacks.
        unsafe { ask_getopt(&callback_lists(context.cast()), plugin, option, result, len) }
    })
}

/// `utils->getopt` of the global table: the global callbacks only (the
/// client reads no configuration file).
unsafe extern "C" fn global_getopt(
    _context: *mut c_void,
    plugin: *const c_char,
    option: *const c_char,
    result: *mut *const c_char,
    len: *mut c_uint,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        // SAFETY: passed through to the application's callbacks.
        unsafe { ask_getopt(&[crate::capi::global_callbacks()], plugin, option, result, len) }
    })
}

/// An option for the library itself (no plugin name) from `conn`'s callbacks.
pub(crate) fn option(conn: *mut sasl_conn_t, name: &CStr) -> Option<String> {
    let mut result: *const c_char = ptr::null();
    // SAFETY: valid arguments; the result is the application's string.
    let rc = unsafe { ask_getopt(&callback_lists(conn), ptr::null(), name.as_ptr(), &mut result, ptr::null_mut()) };
    if rc != SASL_OK || result.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated string from the application's callback.
    Some(unsafe { CStr::from_ptr(result) }.to_string_lossy().into_owned())
}

/// `utils->getcallback`: the application's callback for `id` (connection
/// first, then global), else the default Cyrus provides, as Cyrus's
/// `_sasl_getcallback` does. `SASL_INTERACT` when the entry has no function.
pub(crate) unsafe extern "C" fn getcallback(
    conn: *mut sasl_conn_t,
    id: c_ulong,
    pproc: *mut sasl_callback_ft,
    pcontext: *mut *mut c_void,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if pproc.is_null() || pcontext.is_null() {
            return SASL_BADPARAM;
        }
        let (rc, proc, context) = lookup(conn, id);
        // SAFETY: both checked non-NULL.
        unsafe {
            pproc.write(proc);
            pcontext.write(context);
        }
        if rc == SASL_FAIL {
            let msg = crate::capi::conn::c_string(&format!("Unable to find a callback: {id}"));
            // SAFETY: conn is NULL or ours (the setter checks); a valid message.
            unsafe { crate::capi::common::sasl2_rs_seterror_formatted(conn, SASL_NOLOG, msg.as_ptr()) };
        }
        rc
    })
}

/// The lookup behind [`getcallback`]: (code, function, context).
fn lookup(conn: *mut sasl_conn_t, id: c_ulong) -> (c_int, sasl_callback_ft, *mut c_void) {
    lookup_in(&callback_lists(conn), conn, id)
}

/// [`lookup`] in the given callback arrays (a connection's, then global).
pub(crate) fn lookup_in(
    lists: &[*const sasl_callback_t],
    conn: *mut sasl_conn_t,
    id: c_ulong,
) -> (c_int, sasl_callback_ft, *mut c_void) {
    match id {
        SASL_CB_LIST_END => return (SASL_FAIL, None, ptr::null_mut()),
        SASL_CB_GETOPT if conn.is_null() => return (SASL_OK, erase(global_getopt as GetOpt), ptr::null_mut()),
        SASL_CB_GETOPT => return (SASL_OK, erase(conn_getopt as GetOpt), conn.cast()),
        _ => {}
    }
    for &list in lists {
        if let Some(e) = entries(list, id).next() {
            return (if e.proc.is_some() { SASL_OK } else { SASL_INTERACT }, e.proc, e.context);
        }
    }
    match id {
        SASL_CB_LOG => (SASL_OK, erase(default_log as Log), conn.cast()),
        SASL_CB_GETPATH => (SASL_OK, erase(default_getpath as GetPath), ptr::null_mut()),
        SASL_CB_GETCONFPATH => (SASL_OK, erase(default_getconfpath as GetConfPath), ptr::null_mut()),
        SASL_CB_AUTHNAME => (SASL_OK, erase(default_authname as GetSimple), conn.cast()),
        SASL_CB_VERIFYFILE => (SASL_OK, erase(default_verifyfile as VerifyFile), ptr::null_mut()),
        _ => (SASL_FAIL, None, ptr::null_mut()),
    }
}

type GetPath = unsafe extern "C" fn(*mut c_void, *mut *const c_char) -> c_int;
type GetConfPath = unsafe extern "C" fn(*mut c_void, *mut *mut c_char) -> c_int;
type VerifyFile = unsafe extern "C" fn(*mut c_void, *const c_char, c_int) -> c_int;

/// A callback function as `sasl_callback_t.proc` stores it; the caller
/// casts it back to the type of its id.
fn erase<F: Copy>(f: F) -> sasl_callback_ft {
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<unsafe extern "C" fn() -> c_int>());
    // SAFETY: F is a function pointer type of the same size.
    Some(unsafe { std::mem::transmute_copy::<F, unsafe extern "C" fn() -> c_int>(&f) })
}

/// Cyrus's default log goes to syslog; this library logs only through the
/// application's SASL_CB_LOG (README), so the default drops the message.
unsafe extern "C" fn default_log(_context: *mut c_void, _level: c_int, _message: *const c_char) -> c_int {
    SASL_OK
}

unsafe extern "C" fn default_getpath(_context: *mut c_void, path: *mut *const c_char) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if path.is_null() {
            return SASL_BADPARAM;
        }
        // SAFETY: checked non-NULL; the string lives for the process.
        unsafe { path.write(super::loader::default_path().as_ptr()) };
        SASL_OK
    })
}

unsafe extern "C" fn default_getconfpath(_context: *mut c_void, path: *mut *mut c_char) -> c_int {
    if path.is_null() {
        return SASL_BADPARAM;
    }
    // SAFETY: checked non-NULL. Cyrus's default; this library reads no
    // configuration file.
    unsafe { path.write(c"/etc/sasl2".as_ptr().cast_mut()) };
    SASL_OK
}

unsafe extern "C" fn default_verifyfile(_context: *mut c_void, _file: *const c_char, _type: c_int) -> c_int {
    SASL_OK
}

/// The authentication name from the environment (`USER`, then `USERNAME`).
unsafe extern "C" fn default_authname(
    _context: *mut c_void,
    id: c_int,
    result: *mut *const c_char,
    len: *mut c_uint,
) -> c_int {
    if result.is_null() {
        return SASL_BADPARAM;
    }
    if id as c_ulong != SASL_CB_AUTHNAME {
        return SASL_BADPARAM;
    }
    for var in [c"USER", c"USERNAME"] {
        // SAFETY: getenv's result is a C string owned by the environment.
        let value = unsafe { libc::getenv(var.as_ptr()) }.cast_const();
        if !value.is_null() {
            // SAFETY: checked non-NULL; `len` is NULL or writable.
            unsafe {
                result.write(value);
                if !len.is_null() {
                    len.write(CStr::from_ptr(value).to_bytes().len() as c_uint);
                }
            }
            return SASL_OK;
        }
    }
    SASL_FAIL
}

/// Target of `utils->log` (the C shim formats): to the application's
/// SASL_CB_LOG, connection first, then global; nowhere without one.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl2_rs_log_formatted(conn: *mut sasl_conn_t, level: c_int, msg: *const c_char) {
    ffi_boundary!((), {
        if msg.is_null() {
            return;
        }
        for list in callback_lists(conn) {
            if let Some(e) = entries(list, SASL_CB_LOG).next() {
                let Some(f) = e.proc else { return };
                // SAFETY: registered for SASL_CB_LOG, so a sasl_log_t.
                let f: Log = unsafe { std::mem::transmute::<unsafe extern "C" fn() -> c_int, Log>(f) };
                // SAFETY: a valid message for the application's logger.
                unsafe { f(e.context, level, msg) };
                return;
            }
        }
    })
}

/* Mutexes for plugins (sasl_set_mutex is accepted and ignored, as README
 * says, so these are always the library's own). */

#[derive(Default)]
struct CMutex {
    locked: Mutex<bool>,
    released: Condvar,
}

unsafe extern "C" fn mutex_alloc() -> *mut c_void {
    ffi_boundary!(ptr::null_mut(), { Box::into_raw(Box::<CMutex>::default()).cast() })
}

unsafe extern "C" fn mutex_lock(mutex: *mut c_void) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        // SAFETY: NULL or a mutex from mutex_alloc, not yet freed.
        let Some(m) = (unsafe { mutex.cast::<CMutex>().as_ref() }) else { return SASL_BADPARAM };
        let mut locked = m.locked.lock().unwrap_or_else(|e| e.into_inner());
        while *locked {
            locked = m.released.wait(locked).unwrap_or_else(|e| e.into_inner());
        }
        *locked = true;
        SASL_OK
    })
}

unsafe extern "C" fn mutex_unlock(mutex: *mut c_void) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        // SAFETY: as in mutex_lock.
        let Some(m) = (unsafe { mutex.cast::<CMutex>().as_ref() }) else { return SASL_BADPARAM };
        *m.locked.lock().unwrap_or_else(|e| e.into_inner()) = false;
        m.released.notify_one();
        SASL_OK
    })
}

unsafe extern "C" fn mutex_free(mutex: *mut c_void) {
    if !mutex.is_null() {
        // SAFETY: from mutex_alloc, freed once (the plugin's contract).
        drop(unsafe { Box::from_raw(mutex.cast::<CMutex>()) });
    }
}

/* HMAC-MD5 (RFC 2104) over Cyrus's MD5_CTX, so that a plugin can continue
 * the inner hash itself with MD5Update (hmac-md5.h's update macro). */

/// Slices for C (pointer, length) arguments; empty for NULL or len <= 0.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes.
unsafe fn arg<'a>(ptr: *const c_uchar, len: c_int) -> &'a [u8] {
    if ptr.is_null() || len <= 0 {
        &[]
    } else {
        // SAFETY: per the function contract.
        unsafe { std::slice::from_raw_parts(ptr, len as usize) }
    }
}

/// The inner and outer contexts after the padded key blocks.
fn hmac_start(key: &[u8]) -> (MD5_CTX, MD5_CTX) {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        let mut ctx = md5_new();
        md5_update(&mut ctx, key);
        block[..16].copy_from_slice(&md5_final(&mut ctx));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| {
        let mut ctx = md5_new();
        let padded: Vec<u8> = block.iter().map(|b| b ^ byte).collect();
        md5_update(&mut ctx, &padded);
        ctx
    };
    let contexts = (pad(0x36), pad(0x5c));
    zeroize::Zeroize::zeroize(&mut block);
    contexts
}

unsafe extern "C" fn hmac_md5_init(hmac: *mut HMAC_MD5_CTX, key: *const c_uchar, key_len: c_int) {
    ffi_boundary!((), {
        // SAFETY: NULL or an HMAC_MD5_CTX; `key_len` bytes at `key`.
        let (Some(hmac), key) = (unsafe { hmac.as_mut() }, unsafe { arg(key, key_len) }) else { return };
        (hmac.ictx, hmac.octx) = hmac_start(key);
    })
}

unsafe extern "C" fn hmac_md5_final(digest: *mut c_uchar, hmac: *mut HMAC_MD5_CTX) {
    ffi_boundary!((), {
        // SAFETY: NULL or an HMAC_MD5_CTX set up by hmac_md5_init/import.
        let Some(hmac) = (unsafe { hmac.as_mut() }) else { return };
        let inner = md5_final(&mut hmac.ictx);
        md5_update(&mut hmac.octx, &inner);
        let out = md5_final(&mut hmac.octx);
        if !digest.is_null() {
            // SAFETY: 16 writable bytes, per hmac-md5.h.
            unsafe { ptr::copy_nonoverlapping(out.as_ptr(), digest, 16) };
        }
    })
}

unsafe extern "C" fn hmac_md5(
    text: *const c_uchar,
    text_len: c_int,
    key: *const c_uchar,
    key_len: c_int,
    digest: *mut c_uchar,
) {
    ffi_boundary!((), {
        // SAFETY: `text_len` bytes at `text`, `key_len` at `key`.
        let (text, key) = unsafe { (arg(text, text_len), arg(key, key_len)) };
        let (mut ictx, octx) = hmac_start(key);
        md5_update(&mut ictx, text);
        let mut hmac = HMAC_MD5_CTX { ictx, octx };
        // SAFETY: a valid context; `digest` as the caller gave it.
        unsafe { hmac_md5_final(digest, &mut hmac) };
    })
}

/// Stores the chaining values in network byte order, as Cyrus does (sasldb
/// keeps CRAM-MD5 secrets in this form).
unsafe extern "C" fn hmac_md5_precalc(state: *mut HMAC_MD5_STATE, key: *const c_uchar, key_len: c_int) {
    ffi_boundary!((), {
        // SAFETY: NULL or an HMAC_MD5_STATE; `key_len` bytes at `key`.
        let (Some(state), key) = (unsafe { state.as_mut() }, unsafe { arg(key, key_len) }) else { return };
        let (mut ictx, mut octx) = hmac_start(key);
        state.istate = ictx.state.map(u32::to_be);
        state.ostate = octx.state.map(u32::to_be);
        zeroize::Zeroize::zeroize(&mut ictx.state);
        zeroize::Zeroize::zeroize(&mut octx.state);
    })
}

unsafe extern "C" fn hmac_md5_import(hmac: *mut HMAC_MD5_CTX, state: *mut HMAC_MD5_STATE) {
    ffi_boundary!((), {
        // SAFETY: NULL or valid structures, per hmac-md5.h.
        let (Some(hmac), Some(state)) = (unsafe { hmac.as_mut() }, unsafe { state.as_ref() }) else { return };
        // One 64-byte block (512 bits) has gone into each hash.
        let resume = |words: [u32; 4]| MD5_CTX { state: words.map(u32::from_be), count: [512, 0], buffer: [0; 64] };
        hmac.ictx = resume(state.istate);
        hmac.octx = resume(state.ostate);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};

    fn reference(key: &[u8], text: &[u8]) -> [u8; 16] {
        let mut mac = <Hmac<md5::Md5> as KeyInit>::new_from_slice(key).unwrap();
        mac.update(text);
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn hmac_md5_matches_rfc_2104_and_its_state_round_trips() {
        // RFC 2104's first test vector, then a key longer than a block.
        let mut digest = [0u8; 16];
        let key = [0x0bu8; 16];
        // SAFETY: valid buffers of the given lengths.
        unsafe { hmac_md5(b"Hi There".as_ptr(), 8, key.as_ptr(), 16, digest.as_mut_ptr()) };
        assert_eq!(digest, reference(&key, b"Hi There"));
        let long_key = [0xaau8; 80];
        let mut state = HMAC_MD5_STATE { istate: [0; 4], ostate: [0; 4] };
        let empty = md5_new();
        let mut ctx = HMAC_MD5_CTX { ictx: empty, octx: empty };
        // SAFETY: valid structures and buffers.
        unsafe {
            hmac_md5_precalc(&mut state, long_key.as_ptr(), 80);
            hmac_md5_import(&mut ctx, &mut state);
            _sasl_MD5Update(&mut ctx.ictx, b"message".as_ptr(), 7);
            hmac_md5_final(digest.as_mut_ptr(), &mut ctx);
        }
        assert_eq!(digest, reference(&long_key, b"message"));
    }
}
