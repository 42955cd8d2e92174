//! The client API: init and done, connections, and the authentication steps.
#![allow(unused_variables)]

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::ptr;

use super::callbacks::{read_answers, CCallbacks};
use super::conn::{c_string, sasl_conn};
use super::types::*;
use super::{bytes, code_value, cyrus, global, opt_str, put};
use crate::core::{AppCallbacks, ClientConn, Phase, Settings, Status};
use crate::mech::{self, LogLevel, MechInfo};

/// Initialises the client side (reference-counted, like Cyrus). The
/// callbacks serve every connection and are kept by pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_init(callbacks: *const sasl_callback_t) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        global::client_init(callbacks);
        SASL_OK
    })
}

/// Releases one `sasl_client_init`: `SASL_CONTINUE` while others remain.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_done() -> c_int {
    ffi_boundary!(SASL_FAIL, {
        match global::client_done() {
            None => SASL_NOTINIT,
            Some(true) => SASL_OK,
            Some(false) => SASL_CONTINUE,
        }
    })
}

/// Deprecated form of `sasl_client_done` and `sasl_server_done` together.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_done() {
    ffi_boundary!((), {
        let _ = global::client_done();
        if let Some(api) = cyrus::loaded() {
            // SAFETY: no arguments; ends Cyrus's server side.
            unsafe { (api.sasl_done)() };
        }
    })
}

/// Creates a client connection.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_new(
    service: *const c_char,
    server_fqdn: *const c_char,
    iplocalport: *const c_char,
    ipremoteport: *const c_char,
    prompt_supp: *const sasl_callback_t,
    flags: c_uint,
    pconn: *mut *mut sasl_conn_t,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if !global::client_active() {
            return SASL_NOTINIT;
        }
        if pconn.is_null() {
            return SASL_BADPARAM;
        }
        // SAFETY: pconn is non-NULL; the application owns the slot.
        unsafe { pconn.write(ptr::null_mut()) };
        // SAFETY: NULL or NUL-terminated strings, per the API.
        let (service, fqdn, local, remote) =
            unsafe { (opt_str(service), opt_str(server_fqdn), opt_str(iplocalport), opt_str(ipremoteport)) };
        let Some(service) = service else { return SASL_BADPARAM };
        // SAFETY: the callback arrays are the application's, valid per the API.
        let mut callbacks = unsafe { CCallbacks::new(ptr::null_mut(), prompt_supp) };
        // Cyrus reports a bad argument before the connection has its
        // callbacks: through the global log callback only (else syslog).
        // SAFETY: no connection callbacks; the global ones are valid.
        let mut global_log = unsafe { CCallbacks::new(ptr::null_mut(), ptr::null()) };
        for (propnum, addr) in [(SASL_IPLOCALPORT, local), (SASL_IPREMOTEPORT, remote)] {
            if let Some(a) = addr.filter(|a| !super::addr::valid_ip_port(a)) {
                let name = super::common::ip_prop_name(propnum);
                global_log.log(LogLevel::Err, &format!("Bad {name} value \"{a}\""));
                return SASL_BADPARAM;
            }
        }
        let mech_list = callbacks.option(None, "client_mech_list");
        if mech_list.is_some() {
            // The list can name plugin mechanisms.
            crate::plugin::ensure_loaded();
        }
        match Settings::new(service, fqdn, local, remote, flags, mech_list.as_deref()) {
            Ok(settings) => {
                let conn = sasl_conn::new(settings, prompt_supp);
                // SAFETY: pconn is non-NULL and writable.
                unsafe { pconn.write(Box::into_raw(conn)) };
                SASL_OK
            }
            Err(e) => {
                global_log.log(LogLevel::Err, &e.detail);
                code_value(e.code)
            }
        }
    })
}

/// Disposes of a connection and sets `*pconn` to NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_dispose(pconn: *mut *mut sasl_conn_t) {
    ffi_boundary!((), {
        if pconn.is_null() {
            return;
        }
        // SAFETY: non-NULL; holds NULL or a connection from sasl_*_new.
        let conn = unsafe { pconn.read() };
        if cyrus::conns::unregister(conn) {
            if let Some(api) = cyrus::loaded() {
                // SAFETY: Cyrus's connection, disposed of once by Cyrus.
                unsafe { (api.sasl_dispose)(pconn) };
            }
            return;
        }
        // SAFETY: as above; NULL or one of ours (checked), from Box::into_raw.
        if unsafe { sasl_conn::dispose(conn) } {
            // SAFETY: non-NULL and writable.
            unsafe { pconn.write(ptr::null_mut()) };
        }
    })
}

/// Selects a mechanism from the server's list and, when `clientout` is
/// given, produces the initial response.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_start(
    conn: *mut sasl_conn_t,
    mechlist: *const c_char,
    prompt_need: *mut *mut sasl_interact_t,
    clientout: *mut *const c_char,
    clientoutlen: *mut c_uint,
    mech: *mut *const c_char,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if !global::client_active() {
            return SASL_NOTINIT;
        }
        // SAFETY: conn is NULL or a live connection, per the API.
        let Some(c) = (unsafe { sasl_conn::from_ptr(conn) }) else { return SASL_BADPARAM };
        // SAFETY: NULL or NUL-terminated.
        let Some(mechlist) = (unsafe { opt_str(mechlist) }) else {
            return c.fail(SASL_BADPARAM, "sasl_client_start: mechlist is NULL");
        };
        let (Ok(settings), Ok(mut core)) = (c.settings.try_borrow(), c.core.try_borrow_mut()) else {
            return c.busy("sasl_client_start");
        };
        // SAFETY: out-pointers are NULL or writable.
        unsafe {
            put(clientout, ptr::null());
            put(clientoutlen, 0);
        }
        // SAFETY: prompt_need is NULL or points to the application's slot.
        let handed_back = !prompt_need.is_null() && !unsafe { *prompt_need }.is_null();
        let (answers, mark) = {
            let mut state = c.state.borrow_mut();
            // Prompts are ours, or a plugin's own list (which it frees itself).
            let resuming = handed_back && (state.prompts().is_some() || state.plugin_prompts);
            // SAFETY: the prompt array is ours, filled in by the application.
            let answers = resuming.then(|| state.prompts().map_or_else(Vec::new, |p| unsafe { read_answers(&p.array) }));
            state.clear_prompts();
            (answers, state.error.mark())
        };
        // SAFETY: the callback arrays are valid per the API; prompt_need is
        // NULL or readable.
        let mut callbacks = unsafe { CCallbacks::new(conn, c.callbacks).with_prompts(prompt_need) };
        let result = match answers {
            Some(answers) => core.step(&settings, None, &mut callbacks, &answers),
            None => {
                crate::plugin::ensure_loaded();
                core.start(&settings, mechlist, &mut callbacks, !clientout.is_null())
            }
        };
        c.publish(&core);
        if let Some((info, plus)) = core.mech() {
            // SAFETY: NULL or writable.
            unsafe { put(mech, mech_c_name(info, plus)) };
        }
        let log = failure_to_log(&c, &core, &result, mark);
        // SAFETY: out-pointers are NULL or writable.
        let rc = unsafe { finish(&c, &core, result, &callbacks, mark, prompt_need, clientout, clientoutlen) };
        if let Some(level) = log {
            c.log_failure(level);
        }
        rc
    })
}

/// One step of the exchange with the server's challenge.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_client_step(
    conn: *mut sasl_conn_t,
    serverin: *const c_char,
    serverinlen: c_uint,
    prompt_need: *mut *mut sasl_interact_t,
    clientout: *mut *const c_char,
    clientoutlen: *mut c_uint,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if !global::client_active() {
            return SASL_NOTINIT;
        }
        // SAFETY: conn is NULL or a live connection, per the API.
        let Some(c) = (unsafe { sasl_conn::from_ptr(conn) }) else { return SASL_BADPARAM };
        if serverin.is_null() && serverinlen > 0 {
            return c.fail(SASL_BADPARAM, "sasl_client_step: serverin is NULL but serverinlen is not 0");
        }
        if clientout.is_null() || clientoutlen.is_null() {
            return c.fail(SASL_BADPARAM, "sasl_client_step: clientout and clientoutlen are required");
        }
        let (Ok(settings), Ok(mut core)) = (c.settings.try_borrow(), c.core.try_borrow_mut()) else {
            return c.busy("sasl_client_step");
        };
        // SAFETY: both checked non-NULL above.
        unsafe {
            clientout.write(ptr::null());
            clientoutlen.write(0);
        }
        // SAFETY: serverin holds serverinlen bytes per the API.
        let input = (!serverin.is_null()).then(|| unsafe { bytes(serverin, serverinlen as usize) });
        let (answers, mark) = {
            let mut state = c.state.borrow_mut();
            // SAFETY: the prompt array is ours, filled in by the application.
            let answers = state.prompts().map_or_else(Vec::new, |p| unsafe { read_answers(&p.array) });
            state.clear_prompts();
            (answers, state.error.mark())
        };
        // SAFETY: the callback arrays are valid per the API; prompt_need is
        // NULL or readable.
        let mut callbacks = unsafe { CCallbacks::new(conn, c.callbacks).with_prompts(prompt_need) };
        let result = core.step(&settings, input, &mut callbacks, &answers);
        c.publish(&core);
        let log = failure_to_log(&c, &core, &result, mark);
        // SAFETY: out-pointers are NULL or writable.
        let rc = unsafe { finish(&c, &core, result, &callbacks, mark, prompt_need, clientout, clientoutlen) };
        if let Some(level) = log {
            c.log_failure(level);
        }
        rc
    })
}

/// A NUL-terminated, process-lifetime copy of a mechanism's name, with
/// -PLUS when `plus` (every built-in mechanism's, and a plugin's interned
/// names), so no connection allocates one.
pub(crate) fn mech_c_name(info: &MechInfo, plus: bool) -> *const c_char {
    static NAMES: std::sync::OnceLock<Vec<std::ffi::CString>> = std::sync::OnceLock::new();
    // A built-in mechanism is found by address, without comparing text.
    if let Some(i) = mech::MECHANISMS.iter().position(|m| std::ptr::eq(*m, info)) {
        let names = NAMES.get_or_init(|| {
            mech::MECHANISMS
                .iter()
                .flat_map(|m| [c_string(m.name), c_string(&format!("{}-PLUS", m.name))])
                .collect()
        });
        return names[2 * i + usize::from(plus)].as_ptr();
    }
    crate::plugin::c_name(info, plus)
}

/// Whether `result` is a failure whose message is to be logged when
/// [`finish`] records it: Cyrus's mechanisms say why they fail with
/// sasl_seterror, which logs it. Selection has logged its reasons already,
/// a callback's own failure is the application's to report, and a
/// plugin's message (which finish keeps) was logged when it was set.
/// A call on a completed exchange is logged as an error, as Cyrus logs a
/// step after its "doneflag".
fn failure_to_log(
    c: &sasl_conn,
    core: &ClientConn,
    result: &mech::Result<(Status, Option<Vec<u8>>)>,
    mark: u32,
) -> Option<LogLevel> {
    match result {
        Err(e) if matches!(e.code, mech::Code::NoMech | mech::Code::Application(_)) => None,
        Err(_) if c.state.borrow().error.set_since(mark) && plugin_running(core) => None,
        Err(_) if core.phase() == Phase::Done => Some(LogLevel::Err),
        Err(_) => Some(LogLevel::Fail),
        Ok(_) => None,
    }
}

/// Turns a core result into the C outputs and return code. `mark` is the
/// count of the application's `sasl_seterror` calls before the call.
///
/// # Safety
/// The out-pointers are NULL or writable.
#[allow(clippy::too_many_arguments)]
unsafe fn finish(
    c: &sasl_conn,
    core: &ClientConn,
    result: mech::Result<(Status, Option<Vec<u8>>)>,
    callbacks: &CCallbacks,
    mark: u32,
    prompt_need: *mut *mut sasl_interact_t,
    clientout: *mut *const c_char,
    clientoutlen: *mut c_uint,
) -> c_int {
    // SAFETY: NULL or writable, per the function contract.
    unsafe { put(prompt_need, ptr::null_mut()) };
    let plugin_prompts = callbacks.prompts.out.get();
    let mut state = c.state.borrow_mut();
    state.plugin_prompts = !plugin_prompts.is_null();
    match result {
        Ok((Status::Interact, _)) if !plugin_prompts.is_null() => {
            // A plugin's own list (it checked that prompt_need was given).
            // SAFETY: non-NULL, since the plugin wrote through it.
            unsafe { prompt_need.write(plugin_prompts) };
            SASL_INTERACT
        }
        Ok((Status::Interact, _)) => {
            if prompt_need.is_null() {
                return state.fail(SASL_BADPARAM, "user interaction is needed but prompt_need is NULL");
            }
            let array = state.more().prompts.fill(core.prompts());
            // SAFETY: non-NULL and writable.
            unsafe { prompt_need.write(array) };
            SASL_INTERACT
        }
        Ok((status, out)) => {
            if let Some(out) = out {
                if clientout.is_null() {
                    return state.fail(SASL_BADPARAM, "the mechanism has output but clientout is NULL");
                }
                let Ok(len) = c_uint::try_from(out.len()) else {
                    return state.fail(SASL_BUFOVER, "client output too large");
                };
                let data = state.set_output(out);
                // SAFETY: clientout non-NULL; clientoutlen NULL or writable.
                unsafe {
                    clientout.write(data);
                    put(clientoutlen, len);
                }
            }
            if status == Status::Ok {
                SASL_OK
            } else {
                SASL_CONTINUE
            }
        }
        // A callback that failed after saying why with sasl_seterror keeps
        // its message, as in Cyrus, and so does a plugin mechanism.
        Err(e) if state.error.set_since(mark) && (matches!(e.code, mech::Code::Application(_)) || plugin_running(core)) => {
            let code = code_value(e.code);
            if code < 0 {
                state.error.code = code;
            }
            code
        }
        Err(e) => state.fail(code_value(e.code), e.detail),
    }
}

/// Whether the connection's mechanism is a plugin's.
fn plugin_running(core: &ClientConn) -> bool {
    core.mech_info().is_some_and(|m| crate::plugin::describe(m).is_some())
}

/// Lists the mechanisms a connection could use.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_listmech(
    conn: *mut sasl_conn_t,
    user: *const c_char,
    prefix: *const c_char,
    sep: *const c_char,
    suffix: *const c_char,
    result: *mut *const c_char,
    plen: *mut c_uint,
    pcount: *mut c_int,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        forward_cyrus_conn!(conn, sasl_listmech(conn, user, prefix, sep, suffix, result, plen, pcount));
        // SAFETY: conn is NULL or a live connection, per the API.
        let Some(c) = (unsafe { sasl_conn::from_ptr(conn) }) else { return SASL_BADPARAM };
        if !global::client_active() {
            return SASL_NOTINIT;
        }
        if result.is_null() {
            return c.fail(SASL_BADPARAM, "sasl_listmech: result is NULL");
        }
        crate::plugin::ensure_loaded();
        // SAFETY: the callback arrays are valid per the API.
        let callbacks = unsafe { CCallbacks::new(conn, c.callbacks) };
        let Ok(settings) = c.settings.try_borrow() else { return c.busy("sasl_listmech") };
        let names = settings.usable_mechs(&callbacks);
        drop(settings);
        // SAFETY: NULL or NUL-terminated strings.
        let (prefix, sep, suffix) = unsafe { (opt_str(prefix), opt_str(sep), opt_str(suffix)) };
        let text = format!("{}{}{}", prefix.unwrap_or(""), names.join(sep.unwrap_or(" ")), suffix.unwrap_or(""));
        let text = c_string(&text);
        // SAFETY: out-pointers are NULL or writable; result checked above.
        unsafe {
            put(plen, text.as_bytes().len() as c_uint);
            put(pcount, names.len() as c_int);
            result.write(text.as_ptr());
        }
        c.state.borrow_mut().more().listmech = Some(text);
        SASL_OK
    })
}

/// A NULL-terminated list of the mechanisms of both sides: this library's
/// client mechanisms, then those of Cyrus's server side when it is in use.
/// Each distinct list is kept for the life of the process.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_global_listmech() -> *mut *const c_char {
    ffi_boundary!(ptr::null_mut(), {
        let mut names: Vec<std::ffi::CString> = Vec::new();
        if global::client_active() {
            crate::plugin::ensure_loaded();
            names.extend(mech::mechanisms().iter().rev().map(|m| c_string(m.name)));
        }
        // SAFETY: no arguments; Cyrus's list is NULL or NULL-terminated.
        let mut server = cyrus::loaded().map_or(ptr::null_mut(), |api| unsafe { (api.sasl_global_listmech)() });
        // SAFETY: walking Cyrus's NULL-terminated array of C strings.
        while let Some(name) = unsafe { server.as_ref() }.filter(|n| !n.is_null()) {
            // SAFETY: a NUL-terminated string of Cyrus's list.
            let name = unsafe { std::ffi::CStr::from_ptr(*name) };
            if !names.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name.to_bytes())) {
                names.push(name.to_owned());
            }
            // SAFETY: not at the terminator yet.
            server = unsafe { server.add(1) };
        }
        if names.is_empty() {
            return ptr::null_mut();
        }
        struct List(Vec<std::ffi::CString>, Vec<*const c_char>);
        // SAFETY: the pointers point into the list's own strings, never written.
        unsafe impl Send for List {}
        static LISTS: std::sync::Mutex<Vec<List>> = std::sync::Mutex::new(Vec::new());
        let mut lists = LISTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = match lists.iter().position(|l| l.0 == names) {
            Some(i) => i,
            None => {
                let mut ptrs: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
                ptrs.push(ptr::null());
                lists.push(List(names, ptrs));
                lists.len() - 1
            }
        };
        lists[index].1.as_ptr().cast_mut()
    })
}

/// This library uses Rust's allocator; the functions are handed to Cyrus's
/// server side (now, or when a server-side call opens it). Client plugins
/// get the C library's allocator through their utilities.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_set_alloc(
    malloc: Option<unsafe extern "C" fn(usize) -> *mut c_void>,
    calloc: Option<unsafe extern "C" fn(usize, usize) -> *mut c_void>,
    realloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>,
    free: Option<unsafe extern "C" fn(*mut c_void)>,
) {
    ffi_boundary!((), { cyrus::set_alloc(malloc, calloc, realloc, free) })
}

/// This library is thread-safe on its own; the functions are handed to
/// Cyrus's server side (now, or when a server-side call opens it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_set_mutex(
    alloc: Option<unsafe extern "C" fn() -> *mut c_void>,
    lock: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    unlock: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    free: Option<unsafe extern "C" fn(*mut c_void)>,
) {
    ffi_boundary!((), { cyrus::set_mutex(alloc, lock, unlock, free) })
}

/// Sets the plugin path, used when the application has no SASL_CB_GETPATH
/// (in place of $SASL_PATH), for client plugins here and for Cyrus's server
/// side (now, or when a server-side call opens it); the client reads no
/// configuration file.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_set_path(path_type: c_int, path: *mut c_char) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        // SAFETY: NULL or NUL-terminated.
        let Some(text) = (unsafe { opt_str(path) }) else { return SASL_FAIL };
        match path_type {
            SASL_PATH_TYPE_PLUGIN | SASL_PATH_TYPE_CONFIG => {
                if path_type == SASL_PATH_TYPE_PLUGIN {
                    crate::plugin::set_path(text);
                }
                // SAFETY: a non-NULL, NUL-terminated path, per the API.
                unsafe { cyrus::set_path(path_type, path) };
                SASL_OK
            }
            _ => SASL_FAIL,
        }
    })
}

/// No client mechanism here precomputes anything; Cyrus's server
/// connections (and, for NULL, its server mechanisms) may.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_idle(conn: *mut sasl_conn_t) -> c_int {
    ffi_boundary!(0, {
        forward_cyrus_conn!(conn, sasl_idle(conn));
        match cyrus::loaded() {
            // SAFETY: NULL asks Cyrus to idle its global server state.
            Some(api) if conn.is_null() => unsafe { (api.sasl_idle)(conn) },
            _ => 0,
        }
    })
}
