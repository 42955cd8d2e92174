//! The client-plugin functions of saslplug.h: adding client and canon_user
//! plugins, listing the client mechanisms, and `sasl_global_utils`. The
//! plugins themselves are driven by `crate::plugin`.

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void};
use std::ptr;

use super::types::*;
use super::{global, opt_str};
use crate::mech::{self, MechInfo};
use crate::plugin::abi::*;

/// Makes `sasl_global_utils` point at the client's global table, unless
/// Cyrus's server side has put its own there.
pub(crate) fn publish_global_utils(utils: *const sasl_utils_t) {
    let global = ptr::addr_of_mut!(super::server::sasl_global_utils);
    // SAFETY: plain pointer accesses to our exported variable, from the
    // OnceLock initialiser that owns the table (Cyrus, too, writes its
    // variable without synchronisation).
    unsafe {
        if global.read().is_null() {
            global.write(utils.cast());
        }
    }
}

/// Registers a client plugin's mechanisms (its entry point is called now).
/// They take part in selection at the place Cyrus's ordering gives them,
/// in place of any mechanism of the same name.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_add_plugin(
    plugname: *const c_char,
    cplugfunc: Option<
        unsafe extern "C" fn(*const sasl_utils_t, c_int, *mut c_int, *mut *mut sasl_client_plug_t, *mut c_int) -> c_int,
    >,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        // SAFETY: NULL or NUL-terminated.
        let (Some(name), Some(init)) = (unsafe { opt_str(plugname) }, cplugfunc) else { return SASL_BADPARAM };
        if !global::client_active() {
            return SASL_NOTINIT;
        }
        // SAFETY: the application's entry point, of this type per saslplug.h.
        unsafe { crate::plugin::add_client_plugin(name, init) }
    })
}

/// Registers a user-name canonicalisation plugin (selected with the
/// `canon_user_plugin` option), for client connections and, when Cyrus's
/// server side is in use, for its connections too.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_canonuser_add_plugin(
    plugname: *const c_char,
    canonuserfunc: Option<
        unsafe extern "C" fn(*const sasl_utils_t, c_int, *mut c_int, *mut *mut sasl_canonuser_plug_t, *const c_char) -> c_int,
    >,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        // SAFETY: NULL or NUL-terminated.
        let (Some(name), Some(init)) = (unsafe { opt_str(plugname) }, canonuserfunc) else { return SASL_BADPARAM };
        if name.len() >= 4096 {
            return SASL_BADPARAM;
        }
        // SAFETY: the application's entry point, of this type per saslplug.h.
        let rc = unsafe { crate::plugin::add_canon_plugin(name, init) };
        // Cyrus's server side, when it is in use in this process, gets the
        // same plugin (its entry point is not run a second time).
        if rc == SASL_OK {
            if let (Some(api), Some(shared)) = (super::cyrus::loaded(), crate::plugin::share_canon_with_cyrus(name)) {
                // SAFETY: the application's name and our entry point for it.
                unsafe { (api.sasl_canonuser_add_plugin)(plugname, shared as *mut c_void) };
            }
        }
        rc
    })
}

/// Lists the client mechanisms (all, or those named in the space-separated
/// `mech_list`), strongest first: printed to stdout without `info_cb`, as
/// Cyrus does, else through the callback with saslplug.h's structures.
/// Built-in mechanisms are listed as the plugin "sasl2-rs".
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_plugin_info(
    mech_list: *const c_char,
    info_cb: Option<unsafe extern "C" fn(*mut client_sasl_mechanism_t, sasl_info_callback_stage_t, *mut c_void)>,
    info_cb_rock: *mut c_void,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if !global::client_active() {
            return SASL_NOTINIT;
        }
        crate::plugin::ensure_loaded();
        let all = mech::mechanisms();
        // SAFETY: NULL or NUL-terminated.
        let selected: Vec<&MechInfo> = match unsafe { opt_str(mech_list) } {
            None => all.to_vec(),
            Some(wanted) => wanted
                .split(' ')
                .flat_map(|name| all.iter().copied().filter(move |m| m.name.eq_ignore_ascii_case(name)))
                .collect(),
        };
        let Some(cb) = info_cb else {
            let mut text = String::from("List of client plugins follows\n");
            for m in selected {
                describe_mechanism(m, &mut text);
            }
            let text = super::conn::c_string(&text);
            // Through C's stdout, which the application's own output shares.
            // SAFETY: a format and its one string argument.
            unsafe { libc::printf(c"%s".as_ptr(), text.as_ptr()) };
            return SASL_OK;
        };
        // SAFETY (every call): the application's callback as saslplug.h
        // documents it; every pointer stays valid during the call.
        unsafe { cb(ptr::null_mut(), sasl_info_callback_stage::SASL_INFO_LIST_START, info_cb_rock) };
        for m in selected {
            let described = crate::plugin::describe(m);
            let built_in = built_in_plug(m);
            // A Cyrus plugin not opened yet is described by Cyrus's table.
            let (plugname, plug) = match &described {
                Some(d) if d.plug.is_some() => (d.plugname.as_ptr(), d.plug_ptr()),
                Some(d) => (d.plugname.as_ptr(), ptr::addr_of!(built_in)),
                None => (c"sasl2-rs".as_ptr(), ptr::addr_of!(built_in)),
            };
            let mut entry = client_sasl_mechanism { version: SASL_CLIENT_PLUG_VERSION, plugname: plugname.cast_mut(), plug };
            unsafe { cb(&mut entry, sasl_info_callback_stage::SASL_INFO_LIST_MECH, info_cb_rock) };
        }
        unsafe { cb(ptr::null_mut(), sasl_info_callback_stage::SASL_INFO_LIST_END, info_cb_rock) };
        SASL_OK
    })
}

/// A plug table with what selection uses, for a built-in mechanism (or a
/// plugin's not opened yet); its functions are NULL.
fn built_in_plug(m: &MechInfo) -> sasl_client_plug_t {
    const NO_PROMPTS: [c_ulong; 1] = [SASL_CB_LIST_END];
    sasl_client_plug {
        mech_name: super::client::mech_c_name(m, false),
        max_ssf: m.max_ssf,
        security_flags: m.security_flags,
        features: m.features,
        // Cyrus's NULL means "user and password".
        required_prompts: if m.required.is_empty() { NO_PROMPTS.as_ptr() } else { ptr::null() },
        glob_context: ptr::null_mut(),
        mech_new: None,
        mech_step: None,
        mech_dispose: None,
        mech_free: None,
        idle: None,
        spare_fptr1: None,
        spare_fptr2: None,
    }
}

/// One mechanism as Cyrus's default listing prints it, and what serves it.
fn describe_mechanism(m: &MechInfo, out: &mut String) {
    use std::fmt::Write as _;
    let (plugname, state) = match crate::plugin::describe(m) {
        Some(d) => (d.plugname.to_string_lossy().into_owned(), if d.plug.is_some() { "loaded" } else { "not loaded yet" }),
        None => ("sasl2-rs".to_owned(), "built in"),
    };
    let _ = writeln!(out, "Plugin \"{plugname}\" [{state}], \tAPI version: {SASL_CLIENT_PLUG_VERSION}");
    let _ = writeln!(out, "\tSASL mechanism: {}, best SSF: {}", m.name, m.max_ssf);
    let _ = writeln!(out, "\tsecurity flags:{}", names(m.security_flags, SECURITY));
    let _ = writeln!(out, "\tfeatures:{}", names(m.features, FEATURES));
    let _ = writeln!(out, "\tserved by: {}", m.factory.origin());
}

const SECURITY: &[(c_uint, &str)] = &[
    (SASL_SEC_NOANONYMOUS, "NO_ANONYMOUS"),
    (SASL_SEC_NOPLAINTEXT, "NO_PLAINTEXT"),
    (SASL_SEC_NOACTIVE, "NO_ACTIVE"),
    (SASL_SEC_NODICTIONARY, "NO_DICTIONARY"),
    (SASL_SEC_FORWARD_SECRECY, "FORWARD_SECRECY"),
    (SASL_SEC_PASS_CREDENTIALS, "PASS_CREDENTIALS"),
    (SASL_SEC_MUTUAL_AUTH, "MUTUAL_AUTH"),
];

const FEATURES: &[(c_uint, &str)] = &[
    (SASL_FEAT_WANT_CLIENT_FIRST, "WANT_CLIENT_FIRST"),
    (SASL_FEAT_SERVER_FIRST, "SERVER_FIRST"),
    (SASL_FEAT_ALLOWS_PROXY, "PROXY_AUTHENTICATION"),
    (SASL_FEAT_NEEDSERVERFQDN, "NEED_SERVER_FQDN"),
    (SASL_FEAT_GSS_FRAMING, "GSS_FRAMING"),
    (SASL_FEAT_CHANNEL_BINDING, "CHANNEL_BINDING"),
    (SASL_FEAT_SUPPORTS_HTTP, "SUPPORTS_HTTP"),
];

/// " A|B" for the set bits, as Cyrus prints them.
fn names(bits: c_uint, table: &[(c_uint, &str)]) -> String {
    let set: Vec<&str> = table.iter().filter(|(b, _)| bits & b != 0).map(|(_, n)| *n).collect();
    if set.is_empty() { String::new() } else { format!(" {}", set.join("|")) }
}
