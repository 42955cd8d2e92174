//! Functions common to clients and servers: errors, properties, versions.
#![allow(unused_variables)]

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::ptr;

use super::conn::{c_bytes, sasl_conn, StringProp};
use super::types::*;
use super::{opt_bytes, opt_str, put};
use crate::mech::{ChannelBinding, SecurityProps};

/// Cyrus's messages for each code (applications print and compare them).
fn error_text(code: c_int) -> &'static CStr {
    match code {
        SASL_CONTINUE => c"another step is needed in authentication",
        SASL_OK => c"successful result",
        SASL_FAIL => c"generic failure",
        SASL_NOMEM => c"no memory available",
        SASL_BUFOVER => c"overflowed buffer",
        SASL_NOMECH => c"no mechanism available",
        SASL_BADPROT => c"bad protocol / cancel",
        SASL_NOTDONE => c"can't request information until later in exchange",
        SASL_BADPARAM => c"invalid parameter supplied",
        SASL_TRYAGAIN => c"transient failure (e.g., weak key)",
        SASL_BADMAC => c"integrity check failed",
        SASL_NOTINIT => c"SASL library is not initialized",
        SASL_INTERACT => c"needs user interaction",
        SASL_BADSERV => c"server failed mutual authentication step",
        SASL_WRONGMECH => c"mechanism doesn't support requested feature",
        SASL_BADAUTH => c"authentication failure",
        SASL_NOAUTHZ => c"authorization failure",
        SASL_TOOWEAK => c"mechanism too weak for this user",
        SASL_ENCRYPT => c"encryption needed to use mechanism",
        SASL_TRANS => c"One time use of a plaintext password will enable requested mechanism for user",
        SASL_EXPIRED => c"passphrase expired, has to be reset",
        SASL_DISABLED => c"account disabled",
        SASL_NOUSER => c"user not found",
        SASL_BADVERS => c"version mismatch with plug-in",
        SASL_UNAVAIL => c"remote authentication server unavailable",
        SASL_NOVERIFY => c"user exists, but no verifier for user",
        SASL_PWLOCK => c"passphrase locked",
        SASL_NOCHANGE => c"requested change was not needed",
        SASL_WEAKPASS => c"passphrase is too weak for security policy",
        SASL_NOUSERPASS => c"user supplied passwords are not permitted",
        SASL_NEED_OLD_PASSWD => c"sasl_setpass needs old password in order to perform password change",
        SASL_CONSTRAINT_VIOLAT => c"sasl_setpass can't store a property because of a constraint violation",
        SASL_BADBINDING => c"channel binding failure",
        SASL_CONFIGERR => c"error when parsing configuration file",
        _ => c"undefined error!",
    }
}

/// The message for a result code (US-ASCII; `langlist` is ignored).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_errstring(
    saslerr: c_int,
    langlist: *const c_char,
    outlang: *mut *const c_char,
) -> *const c_char {
    // SAFETY: NULL or writable, per the API.
    unsafe { put(outlang, c"en-us".as_ptr()) };
    error_text(saslerr).as_ptr()
}

/// The last error on a connection: `SASL(code): message: detail`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_errdetail(conn: *mut sasl_conn_t) -> *const c_char {
    ffi_boundary!(ptr::null(), {
        forward_cyrus_conn!(conn, sasl_errdetail(conn));
        // SAFETY: conn is NULL or a live connection, per the API.
        let Some(c) = (unsafe { sasl_conn::from_ptr(conn) }) else { return ptr::null() };
        let mut state = c.state.borrow_mut();
        let error = &mut state.error;
        // Hide whether a user exists, as Cyrus does.
        let code = if error.code == SASL_NOUSER { SASL_BADAUTH } else { error.code };
        let text = error_text(code).to_string_lossy();
        // The message as given: an application's may not be UTF-8.
        let mut detail = format!("SASL({code}): {text}: ").into_bytes();
        detail.extend_from_slice(&error.message);
        error.keep(0, c_bytes(&detail))
    })
}

/// Target of the C shim behind `sasl_seterror` (which formats the message).
/// Not exported from the shared library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl2_rs_seterror_formatted(conn: *mut sasl_conn_t, flags: c_uint, msg: *const c_char) {
    ffi_boundary!((), {
        forward_cyrus_conn!(conn, sasl_seterror(conn, flags, c"%s".as_ptr(), msg));
        // SAFETY: conn is NULL or a live connection; msg NUL-terminated.
        let (Some(c), Some(msg)) = (unsafe { sasl_conn::from_ptr(conn) }, unsafe { opt_bytes(msg) }) else {
            return;
        };
        {
            let error = &mut c.state.borrow_mut().error;
            error.message = msg.to_vec();
            error.set_by_application = error.set_by_application.wrapping_add(1);
        }
        if flags & SASL_NOLOG == 0 {
            // After the state's borrow: the logger may call in again.
            // SAFETY: the callback arrays are valid per the API.
            let mut callbacks = unsafe { super::callbacks::CCallbacks::new(conn, c.callbacks) };
            callbacks.log_bytes(crate::mech::LogLevel::Fail, msg);
        }
    })
}

/// Reads a property of a connection, from inside a callback of a running
/// `sasl_client_start` or `sasl_client_step` too (the values as of that
/// point); pointers stay valid while the value does not change, and at
/// most until `sasl_dispose`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_getprop(conn: *mut sasl_conn_t, propnum: c_int, pvalue: *mut *const c_void) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        forward_cyrus_conn!(conn, sasl_getprop(conn, propnum, pvalue));
        // SAFETY: conn is NULL or a live connection, per the API.
        let Some(c) = (unsafe { sasl_conn::from_ptr(conn) }) else { return SASL_BADPARAM };
        if pvalue.is_null() {
            return c.fail(SASL_BADPARAM, "sasl_getprop: pvalue is NULL");
        }
        let not_yet = || c.fail(SASL_NOTDONE, "Information that was requested is not yet available.");
        // Nothing here reads the exchange itself (a start or step in progress
        // holds it), only the settings, which it shares, and what it has
        // shown so far.
        let Ok(settings) = c.settings.try_borrow() else { return c.busy("sasl_getprop") };
        let value: *const c_void = match propnum {
            SASL_USERNAME | SASL_AUTHUSER => {
                let state = c.state.borrow();
                let name = if propnum == SASL_USERNAME { state.shown.user() } else { state.shown.authid() };
                // The heap copy stays where it is while the name is unchanged.
                let Some(name) = name.map(CStr::as_ptr) else {
                    drop(state);
                    return not_yet();
                };
                name.cast()
            }
            // What encode/decode use, copied after every start and step.
            SASL_SSF => c.ssf_ptr().cast(),
            SASL_MAXOUTBUF => c.maxoutbuf_ptr().cast(),
            // SAFETY: a field's address, no reference made: C reads it while
            // the settings are shared, and setprop changes it calling nothing.
            SASL_SSF_EXTERNAL => unsafe { ptr::addr_of!((*c.settings.as_ptr()).external_ssf) }.cast(),
            SASL_SEC_PROPS => {
                let mut state = c.state.borrow_mut();
                let more = state.more();
                let props = more.sec_props.get_or_insert(ZERO_PROPS);
                ptr::from_ref(props).cast()
            }
            // Pointers into the settings' own allocation, which never changes.
            SASL_SERVICE => settings.service_with_nul().as_ptr().cast(),
            SASL_SERVERFQDN => settings.server_fqdn_with_nul().map_or(ptr::null(), str::as_ptr).cast(),
            SASL_IPLOCALPORT | SASL_IPREMOTEPORT => {
                let extras = settings.extras();
                let (slot, value) = if propnum == SASL_IPLOCALPORT {
                    (StringProp::LocalAddr, &extras.local_addr)
                } else {
                    (StringProp::RemoteAddr, &extras.remote_addr)
                };
                let Some(value) = value else {
                    // SAFETY: checked non-NULL above.
                    unsafe { pvalue.write(ptr::null()) };
                    return not_yet();
                };
                c.state.borrow_mut().more().string(slot, Some(value.as_bytes())).cast()
            }
            SASL_MECHNAME | SASL_AUTHSOURCE => {
                let mech = c.state.borrow().shown.mech;
                let Some((info, plus)) = mech else { return not_yet() };
                // The source of a plugin mechanism is its plugin's name, as in Cyrus.
                let plugin = (propnum == SASL_AUTHSOURCE).then(|| crate::plugin::describe(info)).flatten();
                match plugin {
                    Some(p) => p.plugname.as_ptr().cast(),
                    None => super::client::mech_c_name(info, plus).cast(),
                }
            }
            SASL_AUTH_EXTERNAL => {
                let id = settings.extras().external_authid.as_deref();
                c.state.borrow_mut().more().string(StringProp::AuthExternal, id).cast()
            }
            SASL_CALLBACK => c.callbacks.cast(),
            SASL_GETOPTCTX => {
                let ctx = find_context(c.callbacks, SASL_CB_GETOPT)
                    .or_else(|| find_context(super::global::callbacks(), SASL_CB_GETOPT));
                ctx.unwrap_or(ptr::null_mut()).cast_const()
            }
            SASL_PLUGERR => {
                let mut state = c.state.borrow_mut();
                let msg = c_bytes(&state.error.message);
                state.error.keep(1, msg).cast()
            }
            SASL_CHANNEL_BINDING => {
                return c.fail(SASL_BADPARAM, "SASL_CHANNEL_BINDING can be set but not read back");
            }
            // The application's own handle back, NULL when unset (as Cyrus).
            SASL_GSS_CREDS => settings
                .extras()
                .gss_creds
                .map_or(ptr::null(), |h| ptr::with_exposed_provenance::<c_void>(h.0.get())),
            SASL_DELEGATEDCREDS | SASL_GSS_PEER_NAME | SASL_GSS_LOCAL_NAME => return not_yet(),
            // Never set here (sasl_setprop refuses it): NULL, as Cyrus gives
            // before one is set.
            SASL_HTTP_REQUEST => ptr::null(),
            SASL_APPNAME | SASL_DEFUSERREALM => {
                return c.fail_logged(SASL_BADPROT, "this property exists only on server connections");
            }
            _ => return c.fail(SASL_BADPARAM, format!("sasl_getprop: unknown property {propnum}")),
        };
        // SAFETY: checked non-NULL above.
        unsafe { pvalue.write(value) };
        SASL_OK
    })
}

/// SASL_SEC_PROPS before the application sets them: all zero.
const ZERO_PROPS: sasl_security_properties_t = sasl_security_properties {
    min_ssf: 0,
    max_ssf: 0,
    maxbufsize: 0,
    security_flags: 0,
    property_names: ptr::null_mut(),
    property_values: ptr::null_mut(),
};

/// The context of the first callback with `id` in a C callback array.
fn find_context(list: *const sasl_callback_t, id: std::ffi::c_ulong) -> Option<*mut c_void> {
    // SAFETY: NULL or a SASL_CB_LIST_END-terminated array, per the API.
    unsafe { super::callbacks::find_entry(list, id) }.map(|e| e.context)
}

/// Sets a property of a connection; `SASL_FAIL` from inside a callback of a
/// running `sasl_client_start` or `sasl_client_step`, whose exchange reads
/// the properties.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_setprop(conn: *mut sasl_conn_t, propnum: c_int, value: *const c_void) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        forward_cyrus_conn!(conn, sasl_setprop(conn, propnum, value));
        // SAFETY: conn is NULL or a live connection, per the API.
        let Some(c) = (unsafe { sasl_conn::from_ptr(conn) }) else { return SASL_BADPARAM };
        let Ok(mut settings) = c.settings.try_borrow_mut() else { return c.busy("sasl_setprop") };
        // Nothing below calls out while the settings are borrowed.
        match propnum {
            SASL_SSF_EXTERNAL => {
                if value.is_null() {
                    return c.fail(SASL_BADPARAM, "SASL_SSF_EXTERNAL needs a sasl_ssf_t value");
                }
                // SAFETY: the API passes a sasl_ssf_t* for this property.
                settings.external_ssf = unsafe { value.cast::<sasl_ssf_t>().read_unaligned() };
            }
            SASL_AUTH_EXTERNAL => {
                // SAFETY: NULL or a NUL-terminated string, per the API.
                let id = unsafe { opt_bytes(value.cast()) }.filter(|s| !s.is_empty());
                if id.is_some() || settings.extras().external_authid.is_some() {
                    settings.extras_mut().external_authid = id.map(<[u8]>::to_vec);
                }
            }
            SASL_SEC_PROPS => {
                if value.is_null() {
                    return c.fail(SASL_BADPARAM, "SASL_SEC_PROPS needs a sasl_security_properties_t value");
                }
                // SAFETY: the API passes a sasl_security_properties_t* here.
                let p = unsafe { value.cast::<sasl_security_properties_t>().read_unaligned() };
                if p.maxbufsize == 0 && p.min_ssf > 0 {
                    return c.fail(
                        SASL_TOOWEAK,
                        format!(
                            "invalid security properties: a minimum SSF of {} needs a security layer, \
                             but maxbufsize is 0",
                            p.min_ssf
                        ),
                    );
                }
                settings.props = SecurityProps {
                    min_ssf: p.min_ssf,
                    max_ssf: p.max_ssf,
                    maxbufsize: p.maxbufsize,
                    security_flags: p.security_flags,
                };
                c.state.borrow_mut().more().sec_props = Some(p);
            }
            SASL_IPLOCALPORT | SASL_IPREMOTEPORT => {
                // SAFETY: NULL or a NUL-terminated string, per the API.
                let addr = unsafe { opt_str(value.cast()) };
                if let Some(a) = addr.filter(|a| !super::addr::valid_ip_port(a)) {
                    return c.fail(SASL_BADPARAM, format!("Bad {} value \"{a}\"", ip_prop_name(propnum)));
                }
                let extras = settings.extras_mut();
                let slot = if propnum == SASL_IPLOCALPORT { &mut extras.local_addr } else { &mut extras.remote_addr };
                *slot = addr.map(str::to_owned);
            }
            SASL_CHANNEL_BINDING => {
                let cb = value.cast::<sasl_channel_binding_t>();
                // SAFETY: NULL or a sasl_channel_binding_t*, per the API.
                match unsafe { channel_binding(cb) } {
                    Ok(binding) => settings.extras_mut().channel_binding = binding,
                    Err(why) => return c.fail(SASL_BADPARAM, why),
                }
            }
            SASL_APPNAME | SASL_DEFUSERREALM => {
                return c.fail_logged(SASL_BADPROT, "this property exists only on server connections");
            }
            SASL_GSS_CREDS => {
                // A gss_cred_id_t the application owns and keeps alive; the
                // Kerberos mechanisms use it instead of the default ticket
                // cache (NULL: back to the default).
                let handle = std::num::NonZeroUsize::new(value.expose_provenance());
                settings.extras_mut().gss_creds = handle.map(crate::mech::gss::CredHandle);
            }
            SASL_HTTP_REQUEST => {
                return c.fail(SASL_BADPARAM, "no mechanism of this library uses this property");
            }
            _ => return c.fail(SASL_BADPARAM, "Unknown parameter type"),
        }
        SASL_OK
    })
}

/// The name Cyrus gives an address property in its error messages.
pub(crate) fn ip_prop_name(propnum: c_int) -> &'static str {
    if propnum == SASL_IPLOCALPORT { "IPLOCALPORT" } else { "IPREMOTEPORT" }
}

/// Copies the application's channel-binding data (Cyrus keeps the pointer;
/// a copy cannot go stale).
///
/// # Safety
/// `cb` is NULL or points to a valid `sasl_channel_binding_t`.
unsafe fn channel_binding(cb: *const sasl_channel_binding_t) -> Result<Option<ChannelBinding>, String> {
    // SAFETY: per the function contract.
    let Some(cb) = (unsafe { cb.as_ref() }) else { return Ok(None) };
    // SAFETY: a NUL-terminated name, per the API.
    let name = unsafe { opt_str(cb.name) }.ok_or("channel binding without a name")?;
    if cb.len > 0 && cb.data.is_null() {
        return Err("channel binding data is NULL".into());
    }
    if cb.len > (1 << 16) {
        return Err("channel binding data is too large".into());
    }
    // SAFETY: `len` bytes at `data`, per the API.
    let data = unsafe { super::bytes(cb.data.cast(), cb.len as usize) }.to_vec();
    Ok(Some(ChannelBinding { name: name.to_owned(), critical: cb.critical != 0, data }))
}

const IMPLEMENTATION: &CStr = c"Cyrus SASL (sasl2-rs)";

/// Deprecated: the implementation's name and a packed version number.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_version(implementation: *mut *const c_char, version: *mut c_int) {
    // SAFETY: out-pointers are NULL or writable.
    unsafe {
        put(implementation, IMPLEMENTATION.as_ptr());
        put(version, (SASL_VERSION_MAJOR << 24) | (SASL_VERSION_MINOR << 16) | SASL_VERSION_STEP);
    }
}

/// The implementation's name and version; every argument is optional.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_version_info(
    implementation: *mut *const c_char,
    version_string: *mut *const c_char,
    version_major: *mut c_int,
    version_minor: *mut c_int,
    version_step: *mut c_int,
    version_patch: *mut c_int,
) {
    // SAFETY: out-pointers are NULL or writable.
    unsafe {
        put(implementation, IMPLEMENTATION.as_ptr());
        put(version_string, c"2.1.28".as_ptr());
        put(version_major, SASL_VERSION_MAJOR);
        put(version_minor, SASL_VERSION_MINOR);
        put(version_step, SASL_VERSION_STEP);
        put(version_patch, 0);
    }
}

