//! Server-side, auxiliary-property and plug-in-loading entry points. The
//! server side is not implemented here: each call is forwarded unchanged to
//! the system's Cyrus library (see `cyrus`), and Cyrus's connections and
//! property contexts go back to it. Without a Cyrus library every one fails
//! cleanly, as a client-only library: `SASL_NOMECH` for server operations
//! and plug-in loading, `SASL_BADPARAM` for property contexts (`prop_new`
//! returns NULL). A connection of ours is a client connection: server
//! operations on it are `SASL_BADPARAM`, with an errdetail saying so.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::ptr;

use super::conn::sasl_conn;
use super::cyrus::{self, conns, Api};
use super::types::*;

/// An auxiliary property context (prop.h); only Cyrus creates them.
pub struct propctx {
    _private: u8,
}

/// A server operation on `conn`: forwarded when Cyrus created `conn`.
fn on_conn(name: &str, conn: *mut sasl_conn_t, forward: impl FnOnce(&'static Api) -> c_int) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if let Some(api) = cyrus::owner(conn) {
            return forward(api);
        }
        // SAFETY: conn is NULL or a live connection of ours, per the API.
        match unsafe { sasl_conn::from_ptr(conn) } {
            Some(c) => c.fail(
                SASL_BADPARAM,
                format!("{name} needs a connection from sasl_server_new; this is a client connection"),
            ),
            None => SASL_BADPARAM,
        }
    })
}

/// Initialises Cyrus's server side, opening the library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_init(callbacks: *const sasl_callback_t, appname: *const c_char) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        let Some(api) = cyrus::api() else { return SASL_NOMECH };
        // SAFETY: the application's arguments, passed on unchanged.
        let rc = unsafe { (api.sasl_server_init)(callbacks, appname) };
        if rc == SASL_OK {
            cyrus::copy_global_utils(api);
        }
        rc
    })
}

/// Creates a server connection (a Cyrus connection).
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
    ffi_boundary!(SASL_FAIL, {
        if pconn.is_null() {
            return SASL_BADPARAM;
        }
        let Some(api) = cyrus::api() else {
            // SAFETY: non-NULL and writable, per the API.
            unsafe { pconn.write(ptr::null_mut()) };
            return SASL_NOMECH;
        };
        // SAFETY: the application's arguments, passed on unchanged.
        let rc = unsafe {
            (api.sasl_server_new)(service, server_fqdn, user_realm, iplocalport, ipremoteport, callbacks, flags, pconn)
        };
        // SAFETY: pconn is non-NULL and now holds Cyrus's answer.
        conns::register(unsafe { pconn.read() });
        rc
    })
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
    // SAFETY (each forward below): Cyrus's connection and the application's
    // arguments, passed on unchanged.
    on_conn("sasl_server_start", conn, |api| unsafe {
        (api.sasl_server_start)(conn, mech, clientin, clientinlen, serverout, serveroutlen)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_step(
    conn: *mut sasl_conn_t,
    clientin: *const c_char,
    clientinlen: c_uint,
    serverout: *mut *const c_char,
    serveroutlen: *mut c_uint,
) -> c_int {
    on_conn("sasl_server_step", conn, |api| unsafe {
        (api.sasl_server_step)(conn, clientin, clientinlen, serverout, serveroutlen)
    })
}

/// Releases Cyrus's server side (`SASL_NOTINIT` if it was never opened).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_done() -> c_int {
    ffi_boundary!(SASL_FAIL, {
        match cyrus::loaded() {
            // SAFETY: no arguments.
            Some(api) => unsafe { (api.sasl_server_done)() },
            None => SASL_NOTINIT,
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_checkapop(
    conn: *mut sasl_conn_t,
    challenge: *const c_char,
    challen: c_uint,
    response: *const c_char,
    resplen: c_uint,
) -> c_int {
    on_conn("sasl_checkapop", conn, |api| unsafe { (api.sasl_checkapop)(conn, challenge, challen, response, resplen) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_checkpass(
    conn: *mut sasl_conn_t,
    user: *const c_char,
    userlen: c_uint,
    pass: *const c_char,
    passlen: c_uint,
) -> c_int {
    on_conn("sasl_checkpass", conn, |api| unsafe { (api.sasl_checkpass)(conn, user, userlen, pass, passlen) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_user_exists(
    conn: *mut sasl_conn_t,
    service: *const c_char,
    user_realm: *const c_char,
    user: *const c_char,
) -> c_int {
    on_conn("sasl_user_exists", conn, |api| unsafe { (api.sasl_user_exists)(conn, service, user_realm, user) })
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
    on_conn("sasl_setpass", conn, |api| unsafe {
        (api.sasl_setpass)(conn, user, pass, passlen, oldpass, oldpasslen, flags)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_request(conn: *mut sasl_conn_t, propnames: *mut *const c_char) -> c_int {
    on_conn("sasl_auxprop_request", conn, |api| unsafe { (api.sasl_auxprop_request)(conn, propnames) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_getctx(conn: *mut sasl_conn_t) -> *mut propctx {
    let mut ctx = ptr::null_mut();
    on_conn("sasl_auxprop_getctx", conn, |api| {
        // SAFETY: Cyrus's connection.
        ctx = unsafe { (api.sasl_auxprop_getctx)(conn) };
        SASL_OK
    });
    ctx
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_store(conn: *mut sasl_conn_t, ctx: *mut propctx, user: *const c_char) -> c_int {
    on_conn("sasl_auxprop_store", conn, |api| unsafe { (api.sasl_auxprop_store)(conn, ctx, user) })
}

/// Runs `forward` on Cyrus's API, opening it; `SASL_NOMECH` without Cyrus.
fn with_cyrus(forward: impl FnOnce(&'static Api) -> c_int) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        match cyrus::api() {
            Some(api) => forward(api),
            None => SASL_NOMECH,
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_plugin_info(
    mech_list: *const c_char,
    info_cb: *mut c_void,
    info_cb_rock: *mut c_void,
) -> c_int {
    // SAFETY (each forward below): the application's arguments, unchanged.
    with_cyrus(|api| unsafe { (api.sasl_server_plugin_info)(mech_list, info_cb, info_cb_rock) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn auxprop_plugin_info(
    mech_list: *const c_char,
    info_cb: *mut c_void,
    info_cb_rock: *mut c_void,
) -> c_int {
    with_cyrus(|api| unsafe { (api.auxprop_plugin_info)(mech_list, info_cb, info_cb_rock) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_server_add_plugin(plugname: *const c_char, entry: *mut c_void) -> c_int {
    if plugname.is_null() || entry.is_null() {
        return SASL_BADPARAM;
    }
    with_cyrus(|api| unsafe { (api.sasl_server_add_plugin)(plugname, entry) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_auxprop_add_plugin(plugname: *const c_char, entry: *mut c_void) -> c_int {
    if plugname.is_null() || entry.is_null() {
        return SASL_BADPARAM;
    }
    with_cyrus(|api| unsafe { (api.sasl_auxprop_add_plugin)(plugname, entry) })
}

/// Cyrus's internal common clean-up; nothing to do here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_common_done() {}

/// A property context, made by Cyrus (NULL without Cyrus).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_new(estimate: c_uint) -> *mut propctx {
    ffi_boundary!(ptr::null_mut(), {
        match cyrus::api() {
            // SAFETY: a plain value, passed on.
            Some(api) => unsafe { (api.prop_new)(estimate) },
            None => ptr::null_mut(),
        }
    })
}

/// Cyrus's API for a property context: only Cyrus makes them, so a
/// non-NULL context means Cyrus is open.
fn prop_owner(ctx: *mut propctx) -> Option<&'static Api> {
    if ctx.is_null() { None } else { cyrus::loaded() }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_dup(src: *mut propctx, dst: *mut *mut propctx) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        match prop_owner(src) {
            // SAFETY: Cyrus's context and the application's slot, unchanged.
            Some(api) if !dst.is_null() => unsafe { (api.prop_dup)(src, dst) },
            _ => {
                if !dst.is_null() {
                    // SAFETY: non-NULL and writable, per the API.
                    unsafe { dst.write(ptr::null_mut()) };
                }
                SASL_BADPARAM
            }
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_request(ctx: *mut propctx, names: *mut *const c_char) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        match prop_owner(ctx) {
            // SAFETY: Cyrus's context and the application's names, unchanged.
            Some(api) => unsafe { (api.prop_request)(ctx, names) },
            None => SASL_BADPARAM,
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_get(ctx: *mut propctx) -> *const propval {
    ffi_boundary!(ptr::null(), {
        match prop_owner(ctx) {
            // SAFETY: Cyrus's context.
            Some(api) => unsafe { (api.prop_get)(ctx) },
            None => ptr::null(),
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_getnames(ctx: *mut propctx, names: *mut *const c_char, vals: *mut propval) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        match prop_owner(ctx) {
            // SAFETY: Cyrus's context and the application's arrays, unchanged.
            Some(api) => unsafe { (api.prop_getnames)(ctx, names, vals) },
            None => SASL_BADPARAM,
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_clear(ctx: *mut propctx, requests: c_int) {
    ffi_boundary!((), {
        if let Some(api) = prop_owner(ctx) {
            // SAFETY: Cyrus's context.
            unsafe { (api.prop_clear)(ctx, requests) }
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_erase(ctx: *mut propctx, name: *const c_char) {
    ffi_boundary!((), {
        if let Some(api) = prop_owner(ctx) {
            // SAFETY: Cyrus's context and the application's name.
            unsafe { (api.prop_erase)(ctx, name) }
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_dispose(ctx: *mut *mut propctx) {
    ffi_boundary!((), {
        if ctx.is_null() {
            return;
        }
        // SAFETY: non-NULL and readable, per the API.
        match prop_owner(unsafe { ctx.read() }) {
            // SAFETY: the slot holds Cyrus's context; Cyrus frees it and clears the slot.
            Some(api) => unsafe { (api.prop_dispose)(ctx) },
            // SAFETY: non-NULL and writable, per the API.
            None => unsafe { ctx.write(ptr::null_mut()) },
        }
    })
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
    ffi_boundary!(SASL_FAIL, {
        match prop_owner(ctx) {
            // SAFETY: Cyrus's context and the application's buffers, unchanged.
            Some(api) => unsafe { (api.prop_format)(ctx, sep, seplen, outbuf, outmax, outlen) },
            None => SASL_BADPARAM,
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_set(ctx: *mut propctx, name: *const c_char, value: *const c_char, vallen: c_int) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        match prop_owner(ctx) {
            // SAFETY: Cyrus's context and the application's strings, unchanged.
            Some(api) => unsafe { (api.prop_set)(ctx, name, value, vallen) },
            None => SASL_BADPARAM,
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn prop_setvals(ctx: *mut propctx, name: *const c_char, values: *mut *const c_char) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        match prop_owner(ctx) {
            // SAFETY: Cyrus's context and the application's strings, unchanged.
            Some(api) => unsafe { (api.prop_setvals)(ctx, name, values) },
            None => SASL_BADPARAM,
        }
    })
}

/// Global utilities for plug-ins (saslplug.h): NULL until a client plug-in
/// is loaded (this library's) or a server-side init (then Cyrus's).
#[unsafe(no_mangle)]
pub static mut sasl_global_utils: *const c_void = ptr::null();
