//! User-name canonicalisation as Cyrus's client does it: the application's
//! SASL_CB_CANON_USER callback, then the canon_user plugin named by the
//! `canon_user_plugin` option (INTERNAL, which trims white space, by
//! default). Plugins come from `sasl_canonuser_add_plugin` and from the
//! `sasl_canonuser_init` entry point of plugin files.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::abi::*;
use super::mech::CANON_BUF_SIZE;
use super::utils::{self, OwnedUtils};
use crate::capi::*;

/// A registered canon_user plugin.
pub(crate) struct CanonPlugin {
    /// The name it was registered under (file-based for plugin files).
    pub name: String,
    plug: *const sasl_canonuser_plug_t,
    utils: Arc<OwnedUtils>,
    /// Keeps the plugin's library open.
    _library: Option<Arc<libloading::Library>>,
    /// Also registered with Cyrus's server side, which keeps using it: then
    /// it is never freed here (see [`share_with_cyrus`]).
    shared: AtomicBool,
}

// SAFETY: the plugin's table is only read; its functions are called as
// Cyrus calls them, from any thread.
unsafe impl Send for CanonPlugin {}
unsafe impl Sync for CanonPlugin {}

impl CanonPlugin {
    fn plug(&self) -> &sasl_canonuser_plug_t {
        // SAFETY: checked non-NULL when registered; alive while the library is.
        unsafe { &*self.plug }
    }

    /// The name the option selects it by: its own, else the registered one.
    fn matches(&self, wanted: &str) -> bool {
        let own = self.plug().name;
        // SAFETY: NULL or a NUL-terminated string in the plugin's memory.
        (!own.is_null() && unsafe { CStr::from_ptr(own) }.to_bytes() == wanted.as_bytes()) || self.name == wanted
    }
}

impl Drop for CanonPlugin {
    fn drop(&mut self) {
        if self.shared.load(Ordering::Acquire) {
            return;
        }
        let plug = self.plug();
        if let Some(free) = plug.canon_user_free {
            // SAFETY: the plugin's own global context and utilities.
            unsafe { free(plug.glob_context, self.utils.as_ptr()) };
        }
    }
}

static PLUGINS: Mutex<Vec<Arc<CanonPlugin>>> = Mutex::new(Vec::new());
/// Whether any plugin is registered: until one is, the option is not even
/// looked up for built-in mechanisms.
static ANY: AtomicBool = AtomicBool::new(false);

/// Runs a canon_user plugin's entry point and registers the result.
///
/// # Safety
/// `init` is a `sasl_canonuser_init_t` that stays callable while `library`
/// (if any) is open.
pub(crate) unsafe fn add(
    name: &str,
    init: sasl_canonuser_init_fn,
    library: Option<Arc<libloading::Library>>,
) -> std::result::Result<(), (c_int, String)> {
    let utils = Arc::new(OwnedUtils::new(ptr::null_mut()));
    let cname = crate::capi::conn::c_string(name);
    let mut version: c_int = 0;
    let mut plug: *mut sasl_canonuser_plug_t = ptr::null_mut();
    // SAFETY: the plugin's entry point with valid out-pointers.
    let rc = unsafe { init(utils.as_ptr(), SASL_CANONUSER_PLUG_VERSION, &mut version, &mut plug, cname.as_ptr()) };
    if rc != SASL_OK {
        return Err((rc, format!("canon_user plugin {name}: its entry point failed ({rc})")));
    }
    if version != SASL_CANONUSER_PLUG_VERSION {
        return Err((SASL_BADVERS, format!("canon_user plugin {name}: version {version} is not {SASL_CANONUSER_PLUG_VERSION}")));
    }
    // SAFETY: NULL or the plugin's table.
    let Some(table) = (unsafe { plug.as_ref() }) else {
        return Err((SASL_BADPROT, format!("canon_user plugin {name}: no plugin table")));
    };
    if table.canon_user_client.is_none() && table.canon_user_server.is_none() {
        return Err((SASL_BADPROT, format!("canonuser plugin '{name}' without either client or server side")));
    }
    let plugin =
        Arc::new(CanonPlugin { name: name.to_owned(), plug, utils, _library: library, shared: AtomicBool::new(false) });
    // Cyrus puts the newest first.
    PLUGINS.lock().unwrap_or_else(|e| e.into_inner()).insert(0, plugin);
    ANY.store(true, Ordering::Release);
    Ok(())
}

/// Plugins registered with Cyrus's server side too, with the table Cyrus
/// got. Cyrus keeps using them until its own end, which this library does
/// not see, so they stay for the process (reachable, never freed twice).
static SHARED: Mutex<Vec<(Arc<CanonPlugin>, SharedTable)>> = Mutex::new(Vec::new());

/// The table Cyrus got for a shared plugin.
struct SharedTable(Box<sasl_canonuser_plug_t>);

// SAFETY: a copy of the plugin's table, only read (by Cyrus), as the
// plugin's own table is.
unsafe impl Send for SharedTable {}

/// Prepares the plugin just registered as `name` for Cyrus's server side:
/// returns the entry point to hand to Cyrus's `sasl_canonuser_add_plugin`,
/// which gives Cyrus the same plugin (its entry point runs only once, ours)
/// in a table without `canon_user_free`.
pub(crate) fn share_with_cyrus(name: &str) -> Option<sasl_canonuser_init_fn> {
    let plugin = PLUGINS.lock().unwrap_or_else(|e| e.into_inner()).iter().find(|p| p.name == name).cloned()?;
    plugin.shared.store(true, Ordering::Release);
    let mut table = Box::new(copy_table(plugin.plug()));
    table.canon_user_free = None;
    SHARED.lock().unwrap_or_else(|e| e.into_inner()).push((plugin, SharedTable(table)));
    Some(shared_init)
}

fn copy_table(plug: &sasl_canonuser_plug_t) -> sasl_canonuser_plug_t {
    sasl_canonuser {
        features: plug.features,
        spare_int1: plug.spare_int1,
        glob_context: plug.glob_context,
        name: plug.name,
        canon_user_free: plug.canon_user_free,
        canon_user_server: plug.canon_user_server,
        canon_user_client: plug.canon_user_client,
        spare_fptr1: plug.spare_fptr1,
        spare_fptr2: plug.spare_fptr2,
        spare_fptr3: plug.spare_fptr3,
    }
}

/// The entry point Cyrus gets for a shared plugin: the table prepared by
/// [`share_with_cyrus`] for `plugname`.
unsafe extern "C" fn shared_init(
    _utils: *const sasl_utils_t,
    max_version: c_int,
    out_version: *mut c_int,
    plug: *mut *mut sasl_canonuser_plug_t,
    plugname: *const c_char,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if out_version.is_null() || plug.is_null() || plugname.is_null() {
            return SASL_BADPARAM;
        }
        if max_version < SASL_CANONUSER_PLUG_VERSION {
            return SASL_BADVERS;
        }
        // SAFETY: a NUL-terminated name from Cyrus (the application's).
        let name = unsafe { CStr::from_ptr(plugname) }.to_bytes();
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        let Some((_, table)) = shared.iter_mut().rev().find(|(p, _)| p.name.as_bytes() == name) else {
            return SASL_FAIL;
        };
        // SAFETY: both out-pointers checked non-NULL; the table lives for
        // the process.
        unsafe {
            out_version.write(SASL_CANONUSER_PLUG_VERSION);
            plug.write(&mut *table.0);
        }
        SASL_OK
    })
}

/// Takes every registered plugin out (`sasl_client_done`); they are freed
/// when the caller drops them.
pub(crate) fn take_all() -> Vec<Arc<CanonPlugin>> {
    ANY.store(false, Ordering::Release);
    std::mem::take(&mut *PLUGINS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Cyrus's INTERNAL canonicalisation: surrounding white space removed.
fn internal(conn: *mut sasl_conn_t, name: &[u8], out: &mut [u8; CANON_BUF_SIZE + 1]) -> std::result::Result<usize, c_int> {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = name.iter().position(|b| !is_space(b));
    let Some(start) = start else {
        set_error(conn, "All-whitespace username.");
        return Err(SASL_FAIL);
    };
    let end = name.iter().rposition(|b| !is_space(b)).map_or(start, |e| e + 1);
    let trimmed = &name[start..end];
    if trimmed.len() > CANON_BUF_SIZE {
        return Err(SASL_BUFOVER);
    }
    out[..trimmed.len()].copy_from_slice(trimmed);
    out[trimmed.len()] = 0;
    Ok(trimmed.len())
}

fn set_error(conn: *mut sasl_conn_t, message: &str) {
    let msg = crate::capi::conn::c_string(message);
    // SAFETY: conn is NULL or ours (checked by the setter).
    unsafe { crate::capi::common::sasl2_rs_seterror_formatted(conn, 0, msg.as_ptr()) };
}

type CanonCallback = unsafe extern "C" fn(
    *mut sasl_conn_t,
    *mut c_void,
    *const c_char,
    c_uint,
    c_uint,
    *const c_char,
    *mut c_char,
    c_uint,
    *mut c_uint,
) -> c_int;

/// Canonicalises `name` into `out` (NUL-terminated); returns its length.
pub(crate) fn canonicalize(
    conn: *mut sasl_conn_t,
    lists: [*const sasl_callback_t; 2],
    cparams: *mut sasl_client_params_t,
    name: &[u8],
    flags: c_uint,
    out: &mut [u8; CANON_BUF_SIZE + 1],
) -> std::result::Result<usize, c_int> {
    if flags & (SASL_CU_AUTHID | SASL_CU_AUTHZID) == 0 {
        return Err(SASL_BADPARAM);
    }
    let mut name = name.to_vec();
    if let (SASL_OK, Some(f), context) = utils::lookup_in(&lists, conn, SASL_CB_CANON_USER) {
        // SAFETY: registered for SASL_CB_CANON_USER, so a sasl_canon_user_t.
        let f: CanonCallback = unsafe { std::mem::transmute::<unsafe extern "C" fn() -> c_int, CanonCallback>(f) };
        let mut len: c_uint = 0;
        // NUL-terminated too, for callbacks that treat it as a C string.
        let input = [name.as_slice(), &[0]].concat();
        // SAFETY: the input with its length and our buffer with its size.
        let rc = unsafe {
            f(conn, context, input.as_ptr().cast(), name.len() as c_uint, flags, ptr::null(), out.as_mut_ptr().cast(), CANON_BUF_SIZE as c_uint, &mut len)
        };
        if rc != SASL_OK {
            return Err(rc);
        }
        let len = (len as usize).min(CANON_BUF_SIZE);
        name = out[..len].to_vec();
    }
    let wanted = utils::option(conn, c"canon_user_plugin");
    plugin_step(conn, wanted.as_deref().unwrap_or("INTERNAL"), cparams, &name, flags, out)
}

/// The canon_user plugin named `wanted` (INTERNAL: the library's own) on
/// `name`, into `out`; returns the length.
fn plugin_step(
    conn: *mut sasl_conn_t,
    wanted: &str,
    cparams: *mut sasl_client_params_t,
    name: &[u8],
    flags: c_uint,
    out: &mut [u8; CANON_BUF_SIZE + 1],
) -> std::result::Result<usize, c_int> {
    if wanted == "INTERNAL" {
        return internal(conn, name, out);
    }
    let plugin = PLUGINS.lock().unwrap_or_else(|e| e.into_inner()).iter().find(|p| p.matches(wanted)).cloned();
    let Some(plugin) = plugin else {
        set_error(conn, &format!("desired canon_user plugin {wanted} not found"));
        return Err(SASL_NOMECH);
    };
    let plug = plugin.plug();
    let Some(client) = plug.canon_user_client else {
        set_error(conn, &format!("canon_user plugin {wanted} has no client side"));
        return Err(SASL_NOMECH);
    };
    let mut len: c_uint = 0;
    // SAFETY: the plugin's function with its context, the connection's
    // params, the input with its length and our buffer with its size.
    let rc = unsafe {
        client(plug.glob_context, cparams, name.as_ptr().cast(), name.len() as c_uint, flags, out.as_mut_ptr().cast(), CANON_BUF_SIZE as c_uint, &mut len)
    };
    if rc != SASL_OK {
        return Err(rc);
    }
    let len = len as usize;
    if len > CANON_BUF_SIZE {
        set_error(conn, &format!("canon_user plugin {wanted} returned a name of {len} bytes"));
        return Err(SASL_BUFOVER);
    }
    out[len] = 0;
    Ok(len)
}

/// A canon_user plugin's canonicalisation for a built-in mechanism (whose
/// names went through the application's callback already), when the
/// `canon_user_plugin` option chooses one; None for INTERNAL.
pub(crate) fn for_builtin(
    conn: *mut sasl_conn_t,
    local: *const sasl_callback_t,
    name: &[u8],
    flags: u32,
) -> Option<std::result::Result<Vec<u8>, c_int>> {
    // Per name of every start: an atomic load unless a plugin is registered.
    if !ANY.load(Ordering::Acquire) {
        return None;
    }
    let wanted = utils::option(conn, c"canon_user_plugin")?;
    if wanted == "INTERNAL" {
        return None;
    }
    // A canon_user plugin reads the connection from its params; for a
    // built-in mechanism it gets the utilities, callbacks and flags.
    let utils = OwnedUtils::new(conn);
    // SAFETY: an all-zero sasl_client_params_t is valid (NULL pointers, no
    // functions); the fields plugins use are set below.
    let mut cparams: sasl_client_params_t = unsafe { std::mem::zeroed() };
    cparams.utils = utils.as_ptr();
    cparams.prompt_supp = local;
    let mut out = [0u8; CANON_BUF_SIZE + 1];
    Some(plugin_step(conn, &wanted, &mut cparams, name, flags, &mut out).map(|n| out[..n].to_vec()))
}
