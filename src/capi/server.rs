//! Server-side, auxiliary-property and server-plugin entry points. This
//! library implements the client side only (client plugins: `plugin.rs`);
//! these exist so that a program never resolves half of its SASL calls from
//! another library, and each fails cleanly: `SASL_NOMECH` for server
//! operations and server-plugin loading,
//! `SASL_BADPARAM` for property contexts (none can be created: `prop_new`
//! returns NULL), and an errdetail saying so when a connection is given.
#![allow(unused_variables)]

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::ptr;

use super::conn::sasl_conn;
use super::types::*;

/// An auxiliary property context (prop.h); never created by this library.
pub struct propctx {
    _private: u8,
}

const SERVER_UNSUPPORTED: &str = "the server side of SASL is not implemented by this library (sasl2-rs is client-only)";

/// Records the failure on `conn` when it is one of ours.
fn unsupported(conn: *mut sasl_conn_t, code: c_int) -> c_int {
    ffi_boundary!(code, {
        // SAFETY: conn is NULL or a live connection, per the API.
        if let Some(c) = unsafe { sasl_conn::from_ptr(conn) } {
            c.fail(code, SERVER_UNSUPPORTED);
        }
        code
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_init(callbacks: *const sasl_callback_t, appname: *const c_char) -> c_int {
    SASL_NOMECH
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_new(
    service: *const c_char,
    server_fqdn: *const c_char,
    user_realm: *const c_char,
    iplocalport: *const c_char,
    ipremoteport: *const c_char,
    callbacks: *const sasl_callback_t,
    flags: c_uint,
    pconn: *mut *mut sasl_conn_t,
) -> c_int {
    if !pconn.is_null() {
        // SAFETY: non-NULL and writable, per the API.
        unsafe { pconn.write(ptr::null_mut()) };
    }
    SASL_NOMECH
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_start(
    conn: *mut sasl_conn_t,
    mech: *const c_char,
    clientin: *const c_char,
    clientinlen: c_uint,
    serverout: *mut *const c_char,
    serveroutlen: *mut c_uint,
) -> c_int {
    unsupported(conn, SASL_NOMECH)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_step(
    conn: *mut sasl_conn_t,
    clientin: *const c_char,
    clientinlen: c_uint,
    serverout: *mut *const c_char,
    serveroutlen: *mut c_uint,
) -> c_int {
    unsupported(conn, SASL_NOMECH)
}

/// The server side is never initialised here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_done() -> c_int {
    SASL_NOTINIT
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_checkapop(
    conn: *mut sasl_conn_t,
    challenge: *const c_char,
    challen: c_uint,
    response: *const c_char,
    resplen: c_uint,
) -> c_int {
    unsupported(conn, SASL_NOMECH)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_checkpass(
    conn: *mut sasl_conn_t,
    user: *const c_char,
    userlen: c_uint,
    pass: *const c_char,
    passlen: c_uint,
) -> c_int {
    unsupported(conn, SASL_NOMECH)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_user_exists(
    conn: *mut sasl_conn_t,
    service: *const c_char,
    user_realm: *const c_char,
    user: *const c_char,
) -> c_int {
    unsupported(conn, SASL_NOMECH)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_setpass(
    conn: *mut sasl_conn_t,
    user: *const c_char,
    pass: *const c_char,
    passlen: c_uint,
    oldpass: *const c_char,
    oldpasslen: c_uint,
    flags: c_uint,
) -> c_int {
    unsupported(conn, SASL_NOMECH)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_request(conn: *mut sasl_conn_t, propnames: *mut *const c_char) -> c_int {
    unsupported(conn, SASL_NOMECH)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_getctx(conn: *mut sasl_conn_t) -> *mut propctx {
    unsupported(conn, SASL_NOMECH);
    ptr::null_mut()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_store(conn: *mut sasl_conn_t, ctx: *mut propctx, user: *const c_char) -> c_int {
    unsupported(conn, SASL_NOMECH)
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_plugin_info(
    mech_list: *const c_char,
    info_cb: *mut c_void,
    info_cb_rock: *mut c_void,
) -> c_int {
    SASL_NOMECH
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_add_plugin(plugname: *const c_char, entry: *mut c_void) -> c_int {
    if plugname.is_null() || entry.is_null() { SASL_BADPARAM } else { SASL_NOMECH }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_add_plugin(plugname: *const c_char, entry: *mut c_void) -> c_int {
    if plugname.is_null() || entry.is_null() { SASL_BADPARAM } else { SASL_NOMECH }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn auxprop_plugin_info(
    mech_list: *const c_char,
    info_cb: *mut c_void,
    info_cb_rock: *mut c_void,
) -> c_int {
    SASL_NOMECH
}

/// Cyrus's internal common clean-up; nothing to do here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_common_done() {}

/// Property contexts are a server-side facility: none is ever created.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_new(estimate: c_uint) -> *mut propctx {
    ptr::null_mut()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_dup(src: *mut propctx, dst: *mut *mut propctx) -> c_int {
    if !dst.is_null() {
        // SAFETY: non-NULL and writable, per the API.
        unsafe { dst.write(ptr::null_mut()) };
    }
    SASL_BADPARAM
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_request(ctx: *mut propctx, names: *mut *const c_char) -> c_int {
    SASL_BADPARAM
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_get(ctx: *mut propctx) -> *const propval {
    ptr::null()
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_getnames(ctx: *mut propctx, names: *mut *const c_char, vals: *mut propval) -> c_int {
    SASL_BADPARAM
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_clear(ctx: *mut propctx, requests: c_int) {}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_erase(ctx: *mut propctx, name: *const c_char) {}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_dispose(ctx: *mut *mut propctx) {
    if !ctx.is_null() {
        // SAFETY: non-NULL and writable, per the API.
        unsafe { ctx.write(ptr::null_mut()) };
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_format(
    ctx: *mut propctx,
    sep: *const c_char,
    seplen: c_int,
    outbuf: *mut c_char,
    outmax: c_uint,
    outlen: *mut c_uint,
) -> c_int {
    SASL_BADPARAM
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_set(ctx: *mut propctx, name: *const c_char, value: *const c_char, vallen: c_int) -> c_int {
    SASL_BADPARAM
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_setvals(ctx: *mut propctx, name: *const c_char, values: *mut *const c_char) -> c_int {
    SASL_BADPARAM
}
