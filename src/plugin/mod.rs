//! Cyrus SASL client plugins: the project's C edge towards plugin code.
//!
//! A plugin is C code outside our control, loaded with `libloading` (plugin
//! files) or handed over by the application (`sasl_client_add_plugin`). This
//! folder follows `src/capi`'s discipline: `unsafe` only here, every pointer
//! and length a plugin returns checked before use (NULL outputs, lengths,
//! codes outside sasl.h, names), panics caught at every function a plugin
//! can call ([`utils`]), and memory the plugin owns never freed by us (its
//! prompt lists, outputs and layer buffers stay its own).
//!
//! * [`abi`]: the C types of saslplug.h (the generated header's source);
//! * `utils`: the `sasl_utils_t` table plugins call back into;
//! * `mech`: a plugin mechanism as the core sees one: `MechInfo`, factory,
//!   exchange and security layer;
//! * `canon`: user-name canonicalisation and canon_user plugins;
//! * `loader`: the plugin path and telling Cyrus's plugins from others.
//!
//! When plugins are loaded: not at `sasl_client_init` (start-up stays fast),
//! but at the first call that can need them (a start, a mechanism list,
//! `sasl_client_plugin_info`), once until `sasl_client_done` releases them,
//! under a lock so that concurrent first calls load once.
//!
//! Which implementation serves a mechanism: a built-in mechanism replaces a
//! Cyrus plugin of the same name (Cyrus's plugins are told by their file
//! names, see `loader`); a Cyrus plugin serves the mechanisms nothing here
//! builds in (OTP, SRP ...); a third-party plugin file, or a plugin the
//! application adds, serves its mechanisms in place of the built-in ones,
//! since someone installed it on purpose. Mechanisms are placed in the
//! selection order where Cyrus's own sorting would put them.

pub mod abi;
mod canon;
mod loader;
mod mech;
mod utils;

use std::cell::Cell;
use std::ffi::{c_char, c_int, CStr};
use std::path::PathBuf;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use abi::*;
use crate::capi::*;
use crate::mech::{registry, Factory, LogLevel, MechInfo};
use utils::OwnedUtils;

pub(crate) use canon::{for_builtin as canon_for_builtin, share_with_cyrus as share_canon_with_cyrus};
pub(crate) use loader::set_path;

/// Where a plugin came from, which decides whether it may replace a
/// built-in mechanism.
pub(crate) enum Origin {
    /// One of Cyrus's plugin files.
    Cyrus(PathBuf),
    /// Any other plugin file.
    ThirdParty(PathBuf),
    /// `sasl_client_add_plugin`.
    Application,
}

/// A client plugin whose entry point succeeded.
pub(crate) struct Plugin {
    pub name: String,
    origin: Origin,
    /// The utilities its entry point got (plugins may keep the pointer).
    utils: OwnedUtils,
    /// Every mechanism its entry point returned (each gets `mech_free`).
    plugs: Vec<*const sasl_client_plug_t>,
    /// Closed (dlclose) after `mech_free`, when the last user is gone.
    _library: Option<Arc<libloading::Library>>,
}

// SAFETY: the plug tables are the plugin's, only read; mech_free runs once,
// when the last reference (registry or connection) is dropped.
unsafe impl Send for Plugin {}
unsafe impl Sync for Plugin {}

impl Plugin {
    /// "plugin otp (Cyrus's, /usr/lib/.../libotp.so)", for logs and listings.
    pub fn describe(&self) -> String {
        match &self.origin {
            Origin::Cyrus(path) => format!("plugin {} (Cyrus's, {})", self.name, path.display()),
            Origin::ThirdParty(path) => format!("plugin {} (third-party, {})", self.name, path.display()),
            Origin::Application => format!("plugin {} (added by the application)", self.name),
        }
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        for &plug in &self.plugs {
            // SAFETY: checked non-NULL when registered; the library is open
            // until the fields drop after this.
            let plug = unsafe { &*plug };
            if let Some(free) = plug.mech_free {
                // SAFETY: the plugin's own global context and utilities.
                unsafe { free(plug.glob_context, self.utils.as_ptr()) };
            }
        }
    }
}

/// A plugin and the mechanisms it serves.
struct Registered {
    /// None for a Cyrus plugin not opened yet.
    _plugin: Option<Arc<Plugin>>,
    /// Whether its mechanisms replace others of the same name.
    replaces: bool,
    entries: Vec<&'static mech::Entry>,
}

/// A Cyrus plugin file whose mechanisms are listed but which is opened only
/// when one of them is about to be used.
pub(crate) struct Deferred {
    path: PathBuf,
    plugname: String,
    /// Its mechanisms (as Cyrus declares them) and their factories.
    entries: Vec<&'static mech::Entry>,
    /// The outcome of opening it, once tried.
    outcome: Mutex<Option<Result<(), String>>>,
}

impl Deferred {
    pub fn describe(&self) -> String {
        format!("plugin {} (Cyrus's, {}; opened when used)", self.plugname, self.path.display())
    }
}

#[derive(Default)]
struct State {
    dir_loaded: bool,
    /// From plugin files, in path order.
    dir: Vec<Registered>,
    /// From `sasl_client_add_plugin`, in call order.
    added: Vec<Registered>,
}

static STATE: Mutex<State> = Mutex::new(State { dir_loaded: false, dir: Vec::new(), added: Vec::new() });
/// Fast path of [`ensure_loaded`]: one atomic load once the path is read.
static DIR_LOADED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while this thread loads plugins, whose entry points may call back
    /// into the library (which must not wait for the loading to finish).
    static LOADING: Cell<bool> = const { Cell::new(false) };
}

fn lock() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Logs through the global SASL_CB_LOG (no connection).
fn log(level: LogLevel, message: &str) {
    // Loading's debug messages are the library's own (see crate::mech::debug_wanted).
    if level == LogLevel::Debug && !debug_wanted() {
        return;
    }
    let msg = crate::capi::conn::c_string(message);
    // SAFETY: a valid message; NULL means the global callbacks.
    unsafe { utils::sasl2_rs_log_formatted(ptr::null_mut(), level as c_int, msg.as_ptr()) };
}

/// Whether the application's global `log_level` option asks for debug
/// messages.
fn debug_wanted() -> bool {
    crate::mech::debug_wanted(utils::option(ptr::null_mut(), c"log_level").as_deref())
}

/// The global utilities (`sasl_global_utils`), given to canon_user plugins
/// as Cyrus does; made once per process.
pub(crate) fn global_utils() -> *const sasl_utils_t {
    static GLOBAL: OnceLock<OwnedUtils> = OnceLock::new();
    GLOBAL
        .get_or_init(|| {
            let utils = OwnedUtils::new(ptr::null_mut());
            crate::capi::plugin::publish_global_utils(utils.as_ptr());
            utils
        })
        .as_ptr()
}

/// Reads the plugin path and opens its plugins, unless done already since
/// `sasl_client_init`.
#[inline]
pub(crate) fn ensure_loaded() {
    // Every start passes here: one atomic load once the path is read.
    if !DIR_LOADED.load(Ordering::Acquire) {
        load_path();
    }
}

#[cold]
fn load_path() {
    if LOADING.with(Cell::get) {
        return;
    }
    let mut state = lock();
    if state.dir_loaded {
        return;
    }
    LOADING.with(|l| l.set(true));
    global_utils();
    load_dir(&mut state);
    LOADING.with(|l| l.set(false));
    state.dir_loaded = true;
    compose(&state);
    DIR_LOADED.store(true, Ordering::Release);
}

fn load_dir(state: &mut State) {
    let path = loader::plugin_path();
    let builtin = |name: &str| crate::mech::MECHANISMS.iter().any(|m| m.name.eq_ignore_ascii_case(name));
    // Most of the directory is Cyrus's plugins for built-in mechanisms:
    // their messages are composed only for an application that logs.
    let logging = loader::global_logger() && debug_wanted();
    for candidate in loader::scan(&path, |why| log(LogLevel::Debug, &why)) {
        if let Some(known) = candidate.cyrus {
            // Cyrus's: its mechanisms not built in are listed now, the file
            // is opened when one of them is about to be used.
            if known.iter().all(|m| builtin(m.name)) {
                if logging {
                    let what = if known.is_empty() {
                        "no client mechanism".to_owned()
                    } else {
                        known.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
                    };
                    let file = candidate.path.display();
                    log(LogLevel::Debug, &format!("{file}: Cyrus's plugin for {what}, built in here: not loaded"));
                }
                continue;
            }
            let wanted: Vec<&loader::KnownMech> = known.iter().filter(|m| !builtin(m.name)).collect();
            let entries: Vec<&'static mech::Entry> = wanted
                .iter()
                .map(|m| mech::intern(&candidate.plugname, m.name, m.max_ssf, m.security_flags, m.features))
                .collect();
            let deferred = Arc::new(Deferred {
                path: candidate.path.clone(),
                plugname: candidate.plugname.clone(),
                entries: entries.clone(),
                outcome: Mutex::new(None),
            });
            for (entry, known) in entries.iter().zip(&wanted) {
                *entry.factory.deferred.lock().unwrap_or_else(|e| e.into_inner()) = Some(deferred.clone());
                *entry.factory.known_required.lock().unwrap_or_else(|e| e.into_inner()) = known.required;
            }
            state.dir.push(Registered { _plugin: None, replaces: false, entries });
            continue;
        }
        match open(&candidate.path, &candidate.plugname, Origin::ThirdParty(candidate.path.clone())) {
            Ok(Some(registered)) => state.dir.push(registered),
            Ok(None) => {}
            Err(why) => log(LogLevel::Warn, &format!("{}: skipped: {why}", candidate.path.display())),
        }
    }
}

/// Opens a plugin file and registers its client and canon_user plugins;
/// None when it has no client plugin.
fn open(path: &std::path::Path, plugname: &str, origin: Origin) -> Result<Option<Registered>, String> {
    if !loader::verified(path) {
        return Err("refused by the application's SASL_CB_VERIFYFILE".into());
    }
    // SAFETY: loading a plugin runs its initialisers; that is what
    // installing it in the plugin directory asks for (as with Cyrus).
    let library = match unsafe { libloading::os::unix::Library::open(Some(path), RTLD_NOW) } {
        Ok(lib) => Arc::new(libloading::Library::from(lib)),
        Err(e) => return Err(format!("unable to dlopen: {e}")),
    };
    // SAFETY: the symbols have the types saslplug.h gives these names.
    let client = unsafe { library.get::<sasl_client_plug_init_fn>(b"sasl_client_plug_init\0") }.ok().map(|s| *s);
    let canon = unsafe { library.get::<sasl_canonuser_init_fn>(b"sasl_canonuser_init\0") }.ok().map(|s| *s);
    if let Some(init) = canon {
        // SAFETY: the entry point, callable while `library` is open.
        if let Err((_, why)) = unsafe { canon::add(plugname, init, Some(library.clone())) } {
            log(LogLevel::Warn, &format!("{}: canon_user plugin skipped: {why}", path.display()));
        }
    }
    let Some(init) = client else {
        if canon.is_none() {
            log(LogLevel::Debug, &format!("{}: no client or canon_user entry point", path.display()));
        }
        return Ok(None);
    };
    // SAFETY: the entry point, callable while `library` is open.
    unsafe { register(plugname, origin, init, Some(library)) }.map(Some).map_err(|(_, why)| why)
}

/// Opens a Cyrus plugin whose mechanism is about to be used (once since
/// `sasl_client_init`); its mechanisms then run from it.
pub(crate) fn load_deferred(deferred: &Deferred) -> Result<(), String> {
    if LOADING.with(Cell::get) {
        return Err("plugins are being loaded on this thread".into());
    }
    let mut state = lock();
    let mut outcome = deferred.outcome.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(done) = &*outcome {
        return done.clone();
    }
    LOADING.with(|l| l.set(true));
    let opened = open(&deferred.path, &deferred.plugname, Origin::Cyrus(deferred.path.clone()));
    LOADING.with(|l| l.set(false));
    let result = match opened {
        Ok(Some(registered)) => {
            for entry in &deferred.entries {
                let real = registered
                    .entries
                    .iter()
                    .find(|r| r.info.name.eq_ignore_ascii_case(entry.info.name))
                    .and_then(|r| r.factory.current.lock().unwrap_or_else(|e| e.into_inner()).clone());
                *entry.factory.current.lock().unwrap_or_else(|e| e.into_inner()) = real;
            }
            state.dir.push(registered);
            Ok(())
        }
        Ok(None) => Err("it has no client entry point".to_owned()),
        Err(why) => Err(why),
    };
    let result = result.and_then(|()| {
        let missing: Vec<&str> = deferred
            .entries
            .iter()
            .filter(|e| e.factory.current.lock().unwrap_or_else(|e| e.into_inner()).is_none())
            .map(|e| e.info.name)
            .collect();
        if missing.is_empty() { Ok(()) } else { Err(format!("it does not provide {}", missing.join(", "))) }
    });
    match &result {
        Ok(()) => log(LogLevel::Debug, &format!("{}: opened", deferred.path.display())),
        Err(why) => log(LogLevel::Warn, &format!("{}: skipped: {why}", deferred.path.display())),
    }
    let result = result.map_err(|why| format!("{}: {why}", deferred.describe()));
    *outcome = Some(result.clone());
    result
}

/// As Cyrus opens plugins: symbols resolved at load, so a broken plugin
/// fails here rather than in the middle of an exchange.
const RTLD_NOW: c_int = libc::RTLD_NOW;

/// Runs a client plugin's entry point and checks what it returns.
///
/// # Safety
/// `init` is a `sasl_client_plug_init_t`, callable while `library` is open.
unsafe fn register(
    name: &str,
    origin: Origin,
    init: sasl_client_plug_init_fn,
    library: Option<Arc<libloading::Library>>,
) -> Result<Registered, (c_int, String)> {
    let utils = OwnedUtils::new(ptr::null_mut());
    let mut version: c_int = 0;
    let mut list: *mut sasl_client_plug_t = ptr::null_mut();
    let mut count: c_int = 0;
    // SAFETY: the plugin's entry point with valid out-pointers.
    let rc = unsafe { init(utils.as_ptr(), SASL_CLIENT_PLUG_VERSION, &mut version, &mut list, &mut count) };
    if rc != SASL_OK {
        return Err((rc, format!("its entry point failed: {}", mech::plugin_code_text(rc))));
    }
    if version != SASL_CLIENT_PLUG_VERSION {
        return Err((SASL_BADVERS, format!("version conflict: plugin version {version}, library {SASL_CLIENT_PLUG_VERSION}")));
    }
    if list.is_null() || !(0..=64).contains(&count) {
        return Err((SASL_BADPROT, format!("its entry point returned {count} mechanisms at {list:p}")));
    }
    let plugs: Vec<*const sasl_client_plug_t> = (0..count as usize).map(|i| {
        // SAFETY: `count` entries at `list`, per the entry point's contract.
        unsafe { list.add(i).cast_const() }
    }).collect();
    let plugin = Arc::new(Plugin { name: name.to_owned(), origin, utils, plugs, _library: library });
    let mut entries: Vec<&'static mech::Entry> = Vec::new();
    for &plug in &plugin.plugs {
        // SAFETY: within the list checked above.
        let table = unsafe { &*plug };
        let mech_name = match mech_name(table) {
            Ok(n) => n,
            Err(why) => {
                log(LogLevel::Warn, &format!("plugin {name}: mechanism skipped: {why}"));
                continue;
            }
        };
        if entries.iter().any(|e| e.info.name.eq_ignore_ascii_case(&mech_name)) {
            continue;
        }
        let entry = mech::intern(name, &mech_name, table.max_ssf, table.security_flags, table.features);
        *entry.factory.current.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Arc::new(mech::PluginMech { plugin: plugin.clone(), plug }));
        entries.push(entry);
    }
    let replaces = !matches!(plugin.origin, Origin::Cyrus(_));
    Ok(Registered { _plugin: Some(plugin), replaces, entries })
}

/// A plugin mechanism's name, if it is a valid SASL name (RFC 4422: 1 to
/// 20 of A-Z 0-9 - _) and the mechanism has the functions Cyrus calls.
fn mech_name(plug: &sasl_client_plug_t) -> Result<String, String> {
    if plug.mech_name.is_null() {
        return Err("no name".into());
    }
    // SAFETY: a NUL-terminated string in the plugin's memory; at most 64
    // bytes are looked at.
    let bytes = unsafe { CStr::from_ptr(plug.mech_name) }.to_bytes();
    let valid = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_';
    if bytes.is_empty() || bytes.len() > SASL_MECHNAMEMAX as usize || !bytes.iter().all(valid) {
        return Err(format!("invalid mechanism name {:?}", String::from_utf8_lossy(&bytes[..bytes.len().min(64)])));
    }
    let name = String::from_utf8_lossy(bytes).into_owned();
    if plug.mech_new.is_none() || plug.mech_step.is_none() {
        return Err(format!("{name} has no mech_new or mech_step"));
    }
    Ok(name)
}

/// Publishes the mechanism list: the built-in mechanisms, Cyrus's plugins
/// for names not built in, then third-party and application plugins in
/// place of any mechanism of the same name, each placed by Cyrus's order.
fn compose(state: &State) {
    let mut list: Vec<&'static MechInfo> = crate::mech::MECHANISMS.to_vec();
    // Cyrus's first, so that third-party files replace them too.
    let ordered = state.dir.iter().filter(|r| !r.replaces).chain(state.dir.iter().filter(|r| r.replaces));
    for registered in ordered.chain(&state.added) {
        for entry in &registered.entries {
            let name = entry.info.name;
            match list.iter().position(|m| m.name.eq_ignore_ascii_case(name)) {
                Some(at) if registered.replaces => {
                    let old = list.remove(at);
                    log(LogLevel::Note, &format!("{name}: {} serves it in place of {}", entry.factory.origin(), old.factory.origin()));
                }
                Some(_) => continue,
                None => {}
            }
            registry::insert_by_strength(&mut list, entry.info, |m| {
                loader::cyrus_rank(m.name).unwrap_or_else(|| registry::Rank::from(m))
            });
        }
    }
    if let Err(why) = registry::publish(list) {
        log(LogLevel::Err, &format!("plugin mechanisms not registered: {why}"));
    }
}

/// `sasl_client_add_plugin`.
///
/// # Safety
/// `init` is a `sasl_client_plug_init_t` that stays callable.
pub(crate) unsafe fn add_client_plugin(name: &str, init: sasl_client_plug_init_fn) -> c_int {
    if LOADING.with(Cell::get) {
        // From inside a plugin's entry point, while the path is loading.
        return SASL_TRYAGAIN;
    }
    let mut state = lock();
    // SAFETY: per the function contract.
    match unsafe { register(name, Origin::Application, init, None) } {
        Ok(registered) => {
            state.added.push(registered);
            compose(&state);
            SASL_OK
        }
        Err((rc, why)) => {
            log(LogLevel::Warn, &format!("sasl_client_add_plugin(): plugin {name}: {why}"));
            rc
        }
    }
}

/// `sasl_canonuser_add_plugin`.
///
/// # Safety
/// `init` is a `sasl_canonuser_init_t` that stays callable.
pub(crate) unsafe fn add_canon_plugin(name: &str, init: sasl_canonuser_init_fn) -> c_int {
    global_utils();
    // SAFETY: per the function contract.
    match unsafe { canon::add(name, init, None) } {
        Ok(()) => SASL_OK,
        Err((rc, why)) => {
            log(LogLevel::Err, &why);
            rc
        }
    }
}

/// Releases every plugin (the last `sasl_client_done`): the mechanism list
/// goes back to the built-in one, and each plugin gets `mech_free` and is
/// closed once no connection uses it any more.
pub(crate) fn release_all() {
    let released = {
        let mut state = lock();
        DIR_LOADED.store(false, Ordering::Release);
        registry::reset();
        let state = std::mem::take(&mut *state);
        (mech::unload_all(), state, canon::take_all())
    };
    // Outside the lock: mech_free may log through the application.
    drop(released);
}

/// Facts about a plugin mechanism for the C API: its plugin's name
/// (`SASL_AUTHSOURCE`) and its plug table while loaded.
pub(crate) struct Described {
    pub plugname: &'static CStr,
    pub plug: Option<Arc<mech::PluginMech>>,
}

impl Described {
    pub fn plug_ptr(&self) -> *const sasl_client_plug_t {
        self.plug.as_ref().map_or(ptr::null(), |m| m.plug)
    }
}

/// None for built-in mechanisms.
pub(crate) fn describe(info: &MechInfo) -> Option<Described> {
    let entry = mech::entry_of(info)?;
    let plug = entry.factory.current.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Some(Described { plugname: entry.factory.plugname, plug })
}

/// The C name of a plugin mechanism (NULL for one that is not), with -PLUS
/// if `plus`.
pub(crate) fn c_name(info: &MechInfo, plus: bool) -> *const c_char {
    let Some(entry) = mech::entry_of(info) else { return ptr::null() };
    if plus { entry.c_plus_name.as_ptr() } else { entry.c_name.as_ptr() }
}
