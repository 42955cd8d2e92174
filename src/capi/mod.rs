//! The C ABI: every exported function of libsasl2.so.2, the `#[repr(C)]`
//! types of sasl.h, and the conversions between C and the safe core.
//!
//! Rules every function here follows:
//! * its body runs inside [`ffi_boundary!`], so a panic becomes an error code
//!   and never unwinds into C;
//! * every pointer is checked before use: NULL gives `SASL_BADPARAM`;
//! * a failure on a connection records a code and a message for
//!   `sasl_errdetail`.
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

/// Inside an [`ffi_boundary!`] body: a call on a connection Cyrus created
/// goes to Cyrus with the same arguments (see `cyrus`).
macro_rules! forward_cyrus_conn {
    ($conn:expr, $func:ident($($arg:expr),*)) => {
        if let Some(api) = $crate::capi::cyrus::owner($conn) {
            // SAFETY: a live Cyrus connection and the application's
            // arguments, passed on unchanged.
            return unsafe { (api.$func)($($arg),*) };
        }
    };
}

mod addr;
pub(crate) mod callbacks;
pub mod client;
pub mod common;
pub mod conn;
mod cyrus;
pub(crate) mod global;
pub mod layer;
pub mod plugin;
pub mod server;
pub mod types;
pub mod util;

pub use types::*;

/// The callbacks given to `sasl_client_init` (NULL when none or not
/// initialised).
pub(crate) fn global_callbacks() -> *const sasl_callback_t {
    global::callbacks()
}

use std::ffi::{c_char, CStr};

/// Borrows a C string; None for NULL.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives the use.
unsafe fn opt_str<'a>(ptr: *const c_char) -> Option<&'a str> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    if bytes.is_ascii() {
        // SAFETY: ASCII is UTF-8 (a cheaper check for the usual short names).
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    Some(std::str::from_utf8(bytes).unwrap_or("\u{fffd}"))
}

/// Borrows a C string's bytes; None for NULL.
///
/// # Safety
/// As [`opt_str`].
unsafe fn opt_bytes<'a>(ptr: *const c_char) -> Option<&'a [u8]> {
    if ptr.is_null() {
        None
    } else {
        // SAFETY: per the caller's contract.
        Some(unsafe { CStr::from_ptr(ptr) }.to_bytes())
    }
}

/// Borrows `len` bytes at `ptr` (an empty slice for NULL with length 0).
///
/// # Safety
/// `ptr` is NULL only if `len` is 0; else it points to `len` readable bytes.
unsafe fn bytes<'a>(ptr: *const c_char, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: per the caller's contract.
        unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }
    }
}

/// Writes `value` through an optional out-pointer.
///
/// # Safety
/// `ptr` is NULL or valid for a write of `T`.
unsafe fn put<T>(ptr: *mut T, value: T) {
    if !ptr.is_null() {
        // SAFETY: non-NULL and writable per the caller's contract.
        unsafe { ptr.write(value) };
    }
}

/// The C value of a mechanism/core result code.
pub(crate) fn code_value(code: crate::mech::Code) -> std::ffi::c_int {
    use crate::mech::Code::*;
    match code {
        Interact => SASL_INTERACT,
        Fail => SASL_FAIL,
        NoMem => SASL_NOMEM,
        BufOver => SASL_BUFOVER,
        NoMech => SASL_NOMECH,
        BadProt => SASL_BADPROT,
        NotDone => SASL_NOTDONE,
        BadParam => SASL_BADPARAM,
        TryAgain => SASL_TRYAGAIN,
        BadMac => SASL_BADMAC,
        BadServ => SASL_BADSERV,
        WrongMech => SASL_WRONGMECH,
        BadAuth => SASL_BADAUTH,
        NoAuthz => SASL_NOAUTHZ,
        TooWeak => SASL_TOOWEAK,
        Encrypt => SASL_ENCRYPT,
        BadBinding => SASL_BADBINDING,
        Application(code) => code,
    }
}
