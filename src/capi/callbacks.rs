//! The application's `sasl_callback_t` arrays, seen by the core through
//! [`AppCallbacks`]: the connection's array first, then the global one given
//! to `sasl_client_init`, as Cyrus looks them up. An entry with a NULL
//! function means "ask through SASL_INTERACT".
//!
//! Applications are called exactly as Cyrus calls them, because real ones
//! depend on it: `len` is NULL for simple and option callbacks, whose
//! results are read as C strings (Subversion declares `len` as `size_t *`
//! and stores 8 bytes through it); prompt answers are C strings except the
//! password, whose `len` is honoured (mutt answers with strlen + 1).

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr};
use std::ptr;

use zeroize::Zeroizing;

use super::conn::{c_bytes, c_string};
use super::types::*;
use crate::core::{Answer, AppCallbacks, Availability, CallbackId, Lookup};
use crate::mech::{Code, LogLevel, Secret};

type GetSimple = unsafe extern "C" fn(*mut c_void, c_int, *mut *const c_char, *mut c_uint) -> c_int;
type GetSecret = unsafe extern "C" fn(*mut sasl_conn_t, *mut c_void, c_int, *mut *mut sasl_secret_t) -> c_int;
type GetRealm = unsafe extern "C" fn(*mut c_void, c_int, *mut *const c_char, *mut *const c_char) -> c_int;
type GetOpt =
    unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *mut *const c_char, *mut c_uint) -> c_int;
type Log = unsafe extern "C" fn(*mut c_void, c_int, *const c_char) -> c_int;
type CanonUser = unsafe extern "C" fn(
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

/// The output buffer a canon_user callback gets (Cyrus's CANON_BUF_SIZE).
const CANON_BUF: usize = crate::core::callbacks::MAX_NAME;

/// Passwords longer than this from a callback are refused (a `len` that
/// large is a bug or an attack, not a password).
const MAX_SECRET: usize = 1 << 20;

pub(crate) fn c_id(id: CallbackId) -> c_ulong {
    match id {
        CallbackId::User => SASL_CB_USER,
        CallbackId::AuthName => SASL_CB_AUTHNAME,
        CallbackId::Language => SASL_CB_LANGUAGE,
        CallbackId::Pass => SASL_CB_PASS,
        CallbackId::EchoPrompt => SASL_CB_ECHOPROMPT,
        CallbackId::NoEchoPrompt => SASL_CB_NOECHOPROMPT,
        CallbackId::CNonce => SASL_CB_CNONCE,
        CallbackId::GetRealm => SASL_CB_GETREALM,
    }
}

fn core_id(id: c_ulong) -> Option<CallbackId> {
    [
        CallbackId::User,
        CallbackId::AuthName,
        CallbackId::Language,
        CallbackId::Pass,
        CallbackId::EchoPrompt,
        CallbackId::NoEchoPrompt,
        CallbackId::CNonce,
        CallbackId::GetRealm,
    ]
    .into_iter()
    .find(|&c| c_id(c) == id)
}

/// Callback lookup for one API call on one connection. It is also the C
/// side that plugin mechanisms reach through `Params::host`.
pub(crate) struct CCallbacks {
    /// Passed to SASL_CB_PASS callbacks, which take the connection.
    conn: *mut sasl_conn_t,
    local: *const sasl_callback_t,
    global: *const sasl_callback_t,
    /// A plugin's own prompt list, passed through the application.
    pub(crate) prompts: PluginPrompts,
    /// Which of the callbacks looked up on every start exist (see
    /// [`CCallbacks::has`]), found in one pass when first asked.
    present: std::cell::Cell<Option<u8>>,
}

/// Bits of [`CCallbacks::has`].
const HAS_LOG: u8 = 1;
const HAS_CANON_USER: u8 = 2;

/// The application's `prompt_need` as a plugin mechanism sees it.
pub(crate) struct PluginPrompts {
    /// Whether the application passed a `prompt_need` pointer at all.
    pub given: bool,
    /// The list it hands back (the plugin's, filled in), or NULL.
    pub filled: *mut sasl_interact_t,
    /// Set by the plugin mechanism when it asks for interaction.
    pub out: std::cell::Cell<*mut sasl_interact_t>,
}

impl CCallbacks {
    /// # Safety
    /// `conn` is NULL or a live connection of ours that the calling exported
    /// function holds (a `ConnRef`) for the lifetime of this value; `local`
    /// and the global array are NULL or `SASL_CB_LIST_END`-terminated arrays
    /// of valid entries, alive for the lifetime of this value.
    pub unsafe fn new(conn: *mut sasl_conn_t, local: *const sasl_callback_t) -> Self {
        let prompts = PluginPrompts { given: false, filled: ptr::null_mut(), out: std::cell::Cell::new(ptr::null_mut()) };
        CCallbacks { conn, local, global: super::global::callbacks(), prompts, present: std::cell::Cell::new(None) }
    }

    /// Whether a SASL_CB_LOG or SASL_CB_CANON_USER callback with a function
    /// is registered (`what` is HAS_*): asked on every start, so both are
    /// found in one pass over the arrays.
    fn has(&self, what: u8) -> bool {
        let bits = self.present.get().unwrap_or_else(|| {
            // The first entry of an id decides, as in `find`.
            let (mut bits, mut seen) = (0, 0);
            for list in [self.local, self.global] {
                let mut entry = list;
                // SAFETY: the arrays are valid and terminated (constructor contract).
                while let Some(e) = unsafe { entry.as_ref() } {
                    if e.id == SASL_CB_LIST_END {
                        break;
                    }
                    let bit = match e.id {
                        SASL_CB_LOG => HAS_LOG,
                        SASL_CB_CANON_USER => HAS_CANON_USER,
                        _ => 0,
                    };
                    if seen & bit == 0 && e.proc.is_some() {
                        bits |= bit;
                    }
                    seen |= bit;
                    // SAFETY: not yet at the terminator, so the next entry exists.
                    entry = unsafe { entry.add(1) };
                }
            }
            self.present.set(Some(bits));
            bits
        });
        bits & what != 0
    }

    /// With the application's `prompt_need` (NULL or its slot), for plugin
    /// mechanisms.
    ///
    /// # Safety
    /// `prompt_need` is NULL or readable.
    pub unsafe fn with_prompts(mut self, prompt_need: *mut *mut sasl_interact_t) -> Self {
        self.prompts.given = !prompt_need.is_null();
        // SAFETY: NULL or readable, per the function contract.
        self.prompts.filled = unsafe { prompt_need.as_ref() }.map_or(ptr::null_mut(), |p| *p);
        self
    }

    pub fn conn(&self) -> *mut sasl_conn_t {
        self.conn
    }

    pub fn local(&self) -> *const sasl_callback_t {
        self.local
    }

    /// The arrays a lookup goes through: the connection's, then global.
    pub fn lists(&self) -> [*const sasl_callback_t; 2] {
        [self.local, self.global]
    }

    /// The entries for `id`: the connection's first, then the global ones.
    fn entries(&self, id: c_ulong) -> impl Iterator<Item = (bool, &sasl_callback_t)> {
        [(false, self.local), (true, self.global)].into_iter().flat_map(move |(global, list)| {
            let mut entry = list;
            std::iter::from_fn(move || {
                // SAFETY: the arrays are valid and terminated (constructor contract).
                while let Some(e) = unsafe { entry.as_ref() } {
                    if e.id == SASL_CB_LIST_END {
                        return None;
                    }
                    // SAFETY: not yet at the terminator, so the next entry exists.
                    entry = unsafe { entry.add(1) };
                    if e.id == id {
                        return Some((global, e));
                    }
                }
                None
            })
        })
    }

    /// The first entry for `id`, as Cyrus's callback lookup finds it.
    fn find(&self, id: c_ulong) -> Option<&sasl_callback_t> {
        // SAFETY: the arrays are valid and terminated (constructor contract).
        unsafe { find_entry(self.local, id).or_else(|| find_entry(self.global, id)) }
    }

    /// The registered function for `id`, cast to its real signature.
    fn function<F: Copy>(&self, id: c_ulong) -> Result<(F, *mut c_void), Availability> {
        match self.find(id) {
            None => Err(Availability::Absent),
            Some(sasl_callback { proc: None, .. }) => Err(Availability::Prompt),
            // SAFETY: found under `id` (the contract of `cast`).
            Some(entry) => Ok(unsafe { cast(entry) }.expect("entry has a function")),
        }
    }
}

/// An entry's function cast to `F`, with its context; None without one.
///
/// # Safety
/// `F` is the C type sasl.h gives callbacks of the entry's id.
unsafe fn cast<F: Copy>(entry: &sasl_callback_t) -> Option<(F, *mut c_void)> {
    let f = entry.proc?;
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of_val(&f));
    // SAFETY: the application registered this function for the entry's id,
    // whose C type is F (the caller's contract).
    Some((unsafe { std::mem::transmute_copy::<unsafe extern "C" fn() -> c_int, F>(&f) }, entry.context))
}

/// The first entry with `id` in a callback array (a plain loop: asked
/// several times on every start).
///
/// # Safety
/// `list` is NULL or a `SASL_CB_LIST_END`-terminated array that outlives `'a`.
#[inline]
pub(crate) unsafe fn find_entry<'a>(list: *const sasl_callback_t, id: c_ulong) -> Option<&'a sasl_callback_t> {
    let mut entry = list;
    // SAFETY: NULL or a valid entry of the terminated array (the contract).
    while let Some(e) = unsafe { entry.as_ref() } {
        if e.id == SASL_CB_LIST_END {
            break;
        }
        if e.id == id {
            return Some(e);
        }
        // SAFETY: not at the terminator yet, so the next entry exists.
        entry = unsafe { entry.add(1) };
    }
    None
}

fn unavailable<T>(a: Availability) -> Lookup<T> {
    match a {
        Availability::Prompt => Lookup::Prompt,
        _ => Lookup::Absent,
    }
}

/// Borrows a C string a callback returned; None for NULL.
///
/// # Safety
/// `result` is NULL or NUL-terminated, and stays valid for `'a`.
unsafe fn c_result<'a>(result: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: per the function contract.
    (!result.is_null()).then(|| unsafe { CStr::from_ptr(result) }.to_bytes())
}

impl AppCallbacks for CCallbacks {
    fn availability(&self, id: CallbackId) -> Availability {
        match self.find(c_id(id)) {
            None => Availability::Absent,
            Some(e) if e.proc.is_none() => Availability::Prompt,
            Some(_) => Availability::Callback,
        }
    }

    fn simple(&mut self, id: CallbackId) -> Lookup<Vec<u8>> {
        let (f, ctx) = match self.function::<GetSimple>(c_id(id)) {
            Ok(found) => found,
            Err(a) => return unavailable(a),
        };
        let mut result: *const c_char = ptr::null();
        // SAFETY: calling the application's sasl_getsimple_t with a valid
        // out-pointer and, as Cyrus does, no length.
        let rc = unsafe { f(ctx, c_id(id) as c_int, &mut result, ptr::null_mut()) };
        if rc == SASL_INTERACT {
            // The callback asks for the item to be prompted for (Cyrus's
            // mechanisms then list it in their prompts).
            return Lookup::Prompt;
        }
        if rc != SASL_OK {
            return Lookup::Failed(code_of(rc));
        }
        // SAFETY: NULL or a C string from the callback.
        match unsafe { c_result(result) } {
            Some(v) => Lookup::Value(v.to_vec()),
            None if id == CallbackId::User => Lookup::Absent,
            None => Lookup::Failed(Code::BadParam),
        }
    }

    fn secret(&mut self) -> Lookup<Secret> {
        let (f, ctx) = match self.function::<GetSecret>(SASL_CB_PASS) {
            Ok(found) => found,
            Err(a) => return unavailable(a),
        };
        let mut secret: *mut sasl_secret_t = ptr::null_mut();
        // SAFETY: calling the application's sasl_getsecret_t with a valid out-pointer.
        let rc = unsafe { f(self.conn, ctx, SASL_CB_PASS as c_int, &mut secret) };
        if rc == SASL_INTERACT {
            return Lookup::Prompt;
        }
        if rc != SASL_OK {
            return Lookup::Failed(code_of(rc));
        }
        if secret.is_null() {
            return Lookup::Failed(Code::BadParam);
        }
        // SAFETY: a non-NULL sasl_secret_t from the application: `len` bytes follow.
        let len = unsafe { (*secret).len } as usize;
        if len > MAX_SECRET {
            return Lookup::Failed(Code::BadParam);
        }
        // SAFETY: `data` has `len` bytes (variable-sized member).
        let data = unsafe { std::slice::from_raw_parts(ptr::addr_of!((*secret).data).cast::<u8>(), len) };
        Lookup::Value(Zeroizing::new(data.to_vec()))
    }

    fn realm(&mut self, offered: &[String]) -> Lookup<Vec<u8>> {
        let (f, ctx) = match self.function::<GetRealm>(SASL_CB_GETREALM) {
            Ok(found) => found,
            Err(a) => return unavailable(a),
        };
        let owned: Vec<_> = offered.iter().map(|r| c_string(r)).collect();
        let mut list: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        list.push(ptr::null());
        let mut result: *const c_char = ptr::null();
        // SAFETY: a NULL-terminated list of valid strings and a valid out-pointer.
        let rc = unsafe { f(ctx, SASL_CB_GETREALM as c_int, list.as_mut_ptr(), &mut result) };
        if rc == SASL_INTERACT {
            return Lookup::Prompt;
        }
        if rc != SASL_OK {
            return Lookup::Failed(code_of(rc));
        }
        // SAFETY: NULL or a C string from the callback.
        match unsafe { c_result(result) } {
            Some(realm) => Lookup::Value(realm.to_vec()),
            None => Lookup::Failed(Code::BadParam),
        }
    }

    /// Every GETOPT entry is asked in turn, the connection's first, until
    /// one answers SASL_OK (Cyrus's connection getopt); a global entry
    /// without a function ends the search, as in Cyrus.
    fn option(&mut self, plugin: Option<&str>, name: &str) -> Option<String> {
        // Most applications have no GETOPT callback: no C strings then.
        self.find(SASL_CB_GETOPT)?;
        let plugin = plugin.map(c_string);
        let plugin_ptr = plugin.as_ref().map_or(ptr::null(), |p| p.as_ptr());
        let name = c_string(name);
        for (global, entry) in self.entries(SASL_CB_GETOPT) {
            // SAFETY: a GETOPT entry holds a sasl_getopt_t.
            let Some((f, ctx)) = (unsafe { cast::<GetOpt>(entry) }) else {
                if global {
                    return None;
                }
                continue;
            };
            let mut result: *const c_char = ptr::null();
            // SAFETY: calling the application's sasl_getopt_t with valid
            // arguments and, as Cyrus does, no length.
            let rc = unsafe { f(ctx, plugin_ptr, name.as_ptr(), &mut result, ptr::null_mut()) };
            if rc == SASL_OK {
                // SAFETY: NULL or a C string from the callback.
                return unsafe { c_result(result) }.map(|v| String::from_utf8_lossy(v).into_owned());
            }
        }
        None
    }

    /// Called as Cyrus's client canonicalisation calls it: the name with its
    /// length, no user realm, and an output buffer of CANON_BUF_SIZE bytes.
    fn canon_user(&mut self, name: &[u8], flags: u32) -> Lookup<Vec<u8>> {
        // Asked for every name of every start: mostly absent.
        if !self.has(HAS_CANON_USER) {
            return Lookup::Absent;
        }
        let Ok((f, ctx)) = self.function::<CanonUser>(SASL_CB_CANON_USER) else { return Lookup::Absent };
        let input = c_bytes(name);
        let mut out = [0u8; CANON_BUF + 1];
        let mut out_len: c_uint = 0;
        // SAFETY: calling the application's sasl_canon_user_t with a valid
        // C string and an output buffer of the size announced (plus a NUL).
        let rc = unsafe {
            f(
                self.conn,
                ctx,
                input.as_ptr(),
                input.as_bytes().len() as c_uint,
                flags,
                ptr::null(),
                out.as_mut_ptr().cast(),
                CANON_BUF as c_uint,
                &mut out_len,
            )
        };
        if rc != SASL_OK {
            return Lookup::Failed(code_of(rc));
        }
        let Some(canonical) = out.get(..out_len as usize).filter(|_| out_len as usize <= CANON_BUF) else {
            return Lookup::Failed(Code::BufOver);
        };
        // A name is a C string: it ends at a NUL.
        let end = canonical.iter().position(|&b| b == 0).unwrap_or(canonical.len());
        Lookup::Value(canonical[..end].to_vec())
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        self.log_bytes(level, message.as_bytes());
    }

    fn log_enabled(&self) -> bool {
        self.has(HAS_LOG)
    }

    fn host(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn progress(&mut self, what: crate::core::Progress<'_>) {
        // SAFETY: NULL or the live connection this call runs on (the
        // constructor's contract); only ever shared (see capi::conn).
        if let Some(c) = unsafe { self.conn.as_ref() } {
            c.state.borrow_mut().shown.update(what);
        }
    }

    fn canon_plugin(&mut self, name: &[u8], flags: u32) -> Option<crate::mech::Result<Vec<u8>>> {
        let result = crate::plugin::canon_for_builtin(self.conn, self.local, name, flags)?;
        Some(result.map_err(|rc| {
            let what = if flags & crate::core::callbacks::CANON_AUTHID != 0 { "authentication" } else { "authorization" };
            crate::mech::Error::new(code_of(rc), format!("the {what} name was refused by the canon_user plugin"))
        }))
    }
}

impl CCallbacks {
    /// Logs a message that need not be UTF-8 (the application's own).
    pub fn log_bytes(&mut self, level: LogLevel, message: &[u8]) {
        let Ok((f, ctx)) = self.function::<Log>(SASL_CB_LOG) else { return };
        let message = c_bytes(message);
        // SAFETY: calling the application's sasl_log_t with a valid string.
        unsafe { f(ctx, level as c_int, message.as_ptr()) };
    }
}

/// The core code for a callback's failure.
fn code_of(rc: c_int) -> Code {
    match rc {
        // Interaction is the core's to ask for, not a callback's answer.
        SASL_INTERACT | SASL_CONTINUE | SASL_OK => Code::Application(SASL_FAIL),
        rc => Code::Application(rc),
    }
}

/// Reads what the application wrote into the prompt array we handed out.
///
/// # Safety
/// `prompts` is our array; the application set each `result` to NULL or to
/// a C string, or for the password to `len` valid bytes (a C string when
/// `len` is 0).
pub(crate) unsafe fn read_answers(prompts: &[sasl_interact_t]) -> Vec<Answer> {
    prompts
        .iter()
        .filter(|p| p.id != SASL_CB_LIST_END)
        .filter_map(|p| {
            let id = core_id(p.id)?;
            let result = p.result.cast::<c_char>();
            let value = if id == CallbackId::Pass && p.len as usize > MAX_SECRET {
                None
            } else if id == CallbackId::Pass && p.len > 0 && !result.is_null() {
                // SAFETY: the application gave `len` bytes (contract).
                Some(unsafe { std::slice::from_raw_parts(result.cast::<u8>(), p.len as usize) })
            } else {
                // SAFETY: NULL or a C string (contract).
                unsafe { c_result(result) }
            };
            Some(Answer::new(id, value))
        })
        .collect()
}
