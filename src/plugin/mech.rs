//! A plugin's client mechanism as the core sees one: a [`MechInfo`] whose
//! factory starts an [`Exchange`] that drives the plugin's `mech_new`,
//! `mech_step` and `mech_dispose`, and a [`PluginLayer`] for its security
//! layer. Everything the plugin returns is checked before use: result codes
//! outside sasl.h, NULL outputs, lengths, the user names it set, and the
//! framing of its security-layer packets.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CStr, CString};
use std::ptr;
use std::sync::{Arc, Mutex};

use super::abi::*;
use super::canon;
use super::utils::{self, OwnedUtils};
use super::Plugin;
use crate::capi::callbacks::CCallbacks;
use crate::capi::*;
use crate::mech::{self, ClientMech, Code, Error, Factory, MechInfo, Outcome, Params, Result, SecurityLayer, Session, Step};

/// Cyrus's size of a canonical user name.
pub(crate) const CANON_BUF_SIZE: usize = 1024;

/// Largest client output or layer packet taken from a plugin (16 MiB, the
/// most any SASL buffer size can announce).
const MAX_OUTPUT: usize = 1 << 24;

/// The largest buffer size a SASL mechanism can advertise (3 bytes).
const MAX_PACKET: u32 = 0xFF_FFFF;

/// One mechanism of a loaded plugin. Holds the plugin (its library stays
/// open) for as long as the registry or an exchange uses the mechanism.
pub(crate) struct PluginMech {
    pub plugin: Arc<Plugin>,
    pub plug: *const sasl_client_plug_t,
}

// SAFETY: the plug table is the plugin's static description, only read; its
// functions are called on one connection at a time, as with Cyrus.
unsafe impl Send for PluginMech {}
unsafe impl Sync for PluginMech {}

impl PluginMech {
    fn plug(&self) -> &sasl_client_plug_t {
        // SAFETY: checked non-NULL at registration; lives while the library
        // is open, which `self.plugin` guarantees.
        unsafe { &*self.plug }
    }
}

/// The factory behind a plugin mechanism's [`MechInfo`]. Interned (see
/// [`intern`]): the same mechanism of the same plugin gets the same
/// `&'static MechInfo` each time it is loaded; `current` holds the loaded
/// plugin, and is emptied when the library releases its plugins.
pub(crate) struct PluginFactory {
    pub current: Mutex<Option<Arc<PluginMech>>>,
    pub plugname: &'static CStr,
    /// A Cyrus plugin not opened yet: opened when the mechanism is about to
    /// be used (see `super::load_deferred`).
    pub deferred: Mutex<Option<Arc<super::Deferred>>>,
    /// The callbacks it requires until it is opened (Cyrus's table; None is
    /// the authentication name and password).
    pub known_required: Mutex<Option<&'static [c_ulong]>>,
}

impl PluginFactory {
    fn mech(&self) -> std::result::Result<Arc<PluginMech>, String> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        current.clone().ok_or_else(|| format!("plugin {:?} is no longer loaded", self.plugname))
    }

    fn deferred(&self) -> Option<Arc<super::Deferred>> {
        self.deferred.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Factory for PluginFactory {
    fn start(&self, params: &Params<'_>) -> Result<Box<dyn ClientMech>> {
        self.prepare().map_err(Error::fail)?;
        let mech = self.mech().map_err(Error::fail)?;
        Ok(Box::new(Exchange::start(mech, params)?))
    }

    /// Cyrus's `have_prompts`: every callback the plugin requires must be
    /// registered (or be one the library provides).
    fn check(&self, params: &Params<'_>) -> std::result::Result<(), String> {
        const DEFAULT: [c_ulong; 3] = [SASL_CB_AUTHNAME, SASL_CB_PASS, SASL_CB_LIST_END];
        let mech = self.mech();
        let mut list = match &mech {
            Ok(mech) => mech.plug().required_prompts,
            Err(why) if self.deferred().is_none() => return Err(why.clone()),
            // Not opened yet: Cyrus's declared list, terminator excluded.
            Err(_) => match *self.known_required.lock().unwrap_or_else(|e| e.into_inner()) {
                Some(ids) => return check_prompts(params, ids.iter().copied()),
                None => ptr::null(),
            },
        };
        if list.is_null() {
            list = DEFAULT.as_ptr();
        }
        // A list without its terminator is cut at 32 entries.
        let ids = (0..32)
            // SAFETY: a SASL_CB_LIST_END-terminated array (the plugin's or ours).
            .map(|i| unsafe { *list.add(i) })
            .take_while(|&id| id != SASL_CB_LIST_END);
        check_prompts(params, ids)
    }

    fn prepare(&self) -> std::result::Result<(), String> {
        if self.mech().is_ok() {
            return Ok(());
        }
        match self.deferred() {
            Some(deferred) => super::load_deferred(&deferred),
            None => self.mech().map(drop),
        }
    }

    fn origin(&self) -> String {
        match (self.mech(), self.deferred()) {
            (Ok(mech), _) => mech.plugin.describe(),
            (Err(_), Some(deferred)) => deferred.describe(),
            (Err(why), None) => why,
        }
    }
}

/// Whether the application has a callback (or prompt) for every id.
fn check_prompts(params: &Params<'_>, ids: impl Iterator<Item = c_ulong>) -> std::result::Result<(), String> {
    let Some(host) = host(params.host) else { return Ok(()) };
    for id in ids {
        let (rc, _, _) = utils::lookup_in(&host.lists(), host.conn(), id);
        if rc != SASL_OK && rc != SASL_INTERACT {
            return Err(format!("the application provides no callback or prompt for {}", callback_name(id)));
        }
    }
    Ok(())
}

fn callback_name(id: c_ulong) -> String {
    match id {
        SASL_CB_USER => "SASL_CB_USER".into(),
        SASL_CB_AUTHNAME => "SASL_CB_AUTHNAME".into(),
        SASL_CB_PASS => "the password (SASL_CB_PASS)".into(),
        SASL_CB_GETREALM => "SASL_CB_GETREALM".into(),
        SASL_CB_ECHOPROMPT => "SASL_CB_ECHOPROMPT".into(),
        SASL_CB_NOECHOPROMPT => "SASL_CB_NOECHOPROMPT".into(),
        other => format!("callback id 0x{other:x}"),
    }
}

/// The C side of a call (`Params::host`, `Session::host`).
fn host(host: Option<&dyn std::any::Any>) -> Option<&CCallbacks> {
    host?.downcast_ref::<CCallbacks>()
}

/// An interned plugin mechanism: its `MechInfo`, factory and C names live
/// for the process (a handful of small allocations per distinct mechanism).
pub(crate) struct Entry {
    pub info: &'static MechInfo,
    pub factory: &'static PluginFactory,
    pub c_name: &'static CStr,
    /// The name with -PLUS, as reported when channel binding is used.
    pub c_plus_name: &'static CStr,
    /// What identifies it: plugin name, mechanism name, properties.
    key: (String, String, u32, u32, u32),
}

static ENTRIES: Mutex<Vec<&'static Entry>> = Mutex::new(Vec::new());

/// The interned entry for `plug` of the plugin named `plugname`.
pub(crate) fn intern(plugname: &str, name: &str, max_ssf: u32, security_flags: u32, features: u32) -> &'static Entry {
    let key = (plugname.to_owned(), name.to_owned(), max_ssf, security_flags, features);
    let mut entries = ENTRIES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(entry) = entries.iter().find(|e| e.key == key) {
        return entry;
    }
    let factory: &'static PluginFactory = Box::leak(Box::new(PluginFactory {
        current: Mutex::new(None),
        plugname: Box::leak(CString::new(plugname).unwrap_or_default().into_boxed_c_str()),
        deferred: Mutex::new(None),
        known_required: Mutex::new(None),
    }));
    let info: &'static MechInfo = Box::leak(Box::new(MechInfo {
        name: Box::leak(name.to_owned().into_boxed_str()),
        max_ssf,
        security_flags,
        features,
        // Checked by the factory, for any callback id the plugin lists.
        required: &[],
        last_resort: crate::mech::oauth::is_bearer_mechanism(name),
        factory,
    }));
    let c_name = Box::leak(CString::new(name).unwrap_or_default().into_boxed_c_str());
    let c_plus_name = Box::leak(CString::new(format!("{name}-PLUS")).unwrap_or_default().into_boxed_c_str());
    let entry: &'static Entry = Box::leak(Box::new(Entry { info, factory, c_name, c_plus_name, key }));
    entries.push(entry);
    entry
}

/// The interned entry of a plugin mechanism (None for built-in ones).
pub(crate) fn entry_of(info: &MechInfo) -> Option<&'static Entry> {
    let entries = ENTRIES.lock().unwrap_or_else(|e| e.into_inner());
    entries.iter().copied().find(|e| ptr::eq(e.info, info))
}

/// Empties every interned factory (the plugins are being released).
pub(crate) fn unload_all() -> Vec<Arc<PluginMech>> {
    let entries = ENTRIES.lock().unwrap_or_else(|e| e.into_inner());
    for e in entries.iter() {
        e.factory.deferred.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
    entries.iter().filter_map(|e| e.factory.current.lock().unwrap_or_else(|e| e.into_inner()).take()).collect()
}

/// What the plugin gets pointers to; boxed so that they stay valid.
pub(crate) struct ConnParams {
    pub cparams: sasl_client_params_t,
    pub oparams: sasl_out_params_t,
    pub user_buf: [u8; CANON_BUF_SIZE + 1],
    pub authid_buf: [u8; CANON_BUF_SIZE + 1],
    utils: OwnedUtils,
    _strings: Vec<CString>,
    _cbinding: Option<(Box<sasl_channel_binding_t>, CString, Vec<u8>)>,
}

thread_local! {
    /// The exchange whose plugin function runs on this thread, for the
    /// `canon_user` it calls back.
    static CURRENT: Cell<*mut ConnParams> = const { Cell::new(ptr::null_mut()) };
}

/// Runs `call` (into the plugin) with `params` as the current exchange.
fn with_current<T>(params: *mut ConnParams, call: impl FnOnce() -> T) -> T {
    let previous = CURRENT.with(|c| c.replace(params));
    let result = call();
    CURRENT.with(|c| c.set(previous));
    result
}

/// The exchange's state that its security layer needs too.
struct Shared {
    mech: Arc<PluginMech>,
    context: *mut c_void,
    params: *mut ConnParams,
}

// SAFETY: the plugin's connection context is used by one thread at a time
// (a connection is), as with Cyrus.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Drop for Shared {
    fn drop(&mut self) {
        let plug = self.mech.plug();
        if let Some(dispose) = plug.mech_dispose {
            // SAFETY: the context from this plugin's mech_new, disposed once,
            // with utilities that are still alive.
            unsafe { dispose(self.context, (*self.params).utils.as_ptr()) };
        }
        // SAFETY: from Box::into_raw in Exchange::start, freed once.
        drop(unsafe { Box::from_raw(self.params) });
    }
}

/// One authentication by a plugin mechanism.
pub(crate) struct Exchange {
    shared: Arc<Shared>,
    /// Whether a step has run (the first gets a NULL challenge, as in Cyrus).
    stepped: bool,
    /// The server's input, NUL-terminated as Cyrus hands it to plugins.
    input: Vec<u8>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl Exchange {
    fn start(mech: Arc<PluginMech>, params: &Params<'_>) -> Result<Self> {
        let host = host(params.host).ok_or_else(|| Error::fail("plugin mechanisms run only through the C API"))?;
        let conn = host.conn();
        let utils = OwnedUtils::new(conn);
        let mut strings = Vec::new();
        let mut text = |s: Option<&str>| -> (*const c_char, c_uint) {
            let Some(s) = s else { return (ptr::null(), 0) };
            let c = crate::capi::conn::c_string(s);
            let (p, len) = (c.as_ptr(), c.as_bytes().len() as c_uint);
            strings.push(c);
            (p, len)
        };
        let (service, servicelen) = text(Some(params.service));
        let (fqdn, slen) = text(params.server_fqdn);
        let (client, clen) = text(Some(&client_hostname()));
        let (local, iploclen) = text(params.local_addr);
        let (remote, ipremlen) = text(params.remote_addr);
        let cbinding = params.channel_binding.map(|cb| {
            let name = crate::capi::conn::c_string(&cb.name);
            let data = cb.data.clone();
            let c = Box::new(sasl_channel_binding {
                name: name.as_ptr(),
                critical: cb.critical.into(),
                len: data.len() as c_ulong,
                data: data.as_ptr(),
            });
            (c, name, data)
        });
        let log_level = utils::option(conn, c"log_level").and_then(|l| l.trim().parse().ok()).unwrap_or(SASL_LOG_ERR);
        let cparams = sasl_client_params {
            service,
            serverFQDN: fqdn,
            clientFQDN: client,
            utils: utils.as_ptr(),
            prompt_supp: host.local(),
            iplocalport: local,
            ipremoteport: remote,
            servicelen,
            slen,
            clen,
            iploclen,
            ipremlen,
            props: sasl_security_properties {
                min_ssf: params.props.min_ssf,
                max_ssf: params.props.max_ssf,
                maxbufsize: params.props.maxbufsize,
                security_flags: params.props.security_flags,
                property_names: ptr::null_mut(),
                property_values: ptr::null_mut(),
            },
            external_ssf: params.external_ssf,
            gss_creds: ptr::null(),
            cbinding: cbinding.as_ref().map_or(ptr::null(), |(c, _, _)| &**c),
            http_request: ptr::null(),
            spare_ptr4: ptr::null_mut(),
            canon_user: Some(canon_user),
            spare_fptr1: None,
            cbindingdisp: match params.cb_disposition {
                mech::CbDisposition::None => 0,
                mech::CbDisposition::Want => 1,
                mech::CbDisposition::Used => 2,
            },
            log_level,
            spare_int3: 0,
            flags: params.flags,
            param_version: 0,
        };
        let boxed = Box::new(ConnParams {
            cparams,
            oparams: empty_oparams(),
            user_buf: [0; CANON_BUF_SIZE + 1],
            authid_buf: [0; CANON_BUF_SIZE + 1],
            utils,
            _strings: strings,
            _cbinding: cbinding,
        });
        let params_ptr = Box::into_raw(boxed);
        let plug = mech.plug();
        let mut context: *mut c_void = ptr::null_mut();
        let new = plug.mech_new.expect("checked at registration");
        // SAFETY: the plugin's mech_new with its glob_context and our boxed
        // params, which outlive the exchange.
        let rc = with_current(params_ptr, || unsafe {
            new(plug.glob_context, ptr::addr_of_mut!((*params_ptr).cparams), &mut context)
        });
        if rc != SASL_OK {
            // SAFETY: from Box::into_raw above; the plugin kept no context.
            drop(unsafe { Box::from_raw(params_ptr) });
            return Err(plugin_error(rc, "could not start"));
        }
        let shared = Arc::new(Shared { mech, context, params: params_ptr });
        Ok(Exchange { shared, stepped: false, input: Vec::new(), identity: None })
    }

    fn params(&self) -> *mut ConnParams {
        self.shared.params
    }

    /// The identities the plugin has set so far (through `canon_user`).
    fn names(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        // SAFETY: our boxed params; the plugin is not running.
        let o = unsafe { &(*self.params()).oparams };
        if o.user.is_null() || o.authid.is_null() {
            return Ok(None);
        }
        // SAFETY: pointers the plugin set (to our buffers through canon_user,
        // or its own memory) with their lengths, bounded below.
        let name = |p: *const c_char, len: c_uint| -> Result<Vec<u8>> {
            if len as usize > CANON_BUF_SIZE {
                return Err(Error::bad_prot(format!("the plugin set a user name of {len} bytes")));
            }
            Ok(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len as usize) }.to_vec())
        };
        Ok(Some((name(o.user, o.ulen)?, name(o.authid, o.alen)?)))
    }
}

fn empty_oparams() -> sasl_out_params_t {
    sasl_out_params {
        doneflag: 0,
        user: ptr::null(),
        authid: ptr::null(),
        ulen: 0,
        alen: 0,
        maxoutbuf: 0,
        mech_ssf: 0,
        encode_context: ptr::null_mut(),
        encode: None,
        decode_context: ptr::null_mut(),
        decode: None,
        client_creds: ptr::null_mut(),
        gss_peer_name: ptr::null(),
        gss_local_name: ptr::null(),
        cbindingname: ptr::null(),
        spare_fptr1: None,
        spare_fptr2: None,
        cbindingdisp: 0,
        spare_int2: 0,
        spare_int3: 0,
        spare_int4: 0,
        param_version: 0,
    }
}

/// The client's host name, as Cyrus gives plugins (without a DNS lookup).
fn client_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The core code for a plugin's failure; codes outside sasl.h are SASL_FAIL.
pub(crate) fn plugin_code(rc: c_int) -> Code {
    match rc {
        SASL_FAIL => Code::Fail,
        SASL_NOMEM => Code::NoMem,
        SASL_BUFOVER => Code::BufOver,
        SASL_NOMECH => Code::NoMech,
        SASL_BADPROT => Code::BadProt,
        SASL_NOTDONE => Code::NotDone,
        SASL_BADPARAM => Code::BadParam,
        SASL_TRYAGAIN => Code::TryAgain,
        SASL_BADMAC => Code::BadMac,
        SASL_BADSERV => Code::BadServ,
        SASL_WRONGMECH => Code::WrongMech,
        SASL_BADAUTH => Code::BadAuth,
        SASL_NOAUTHZ => Code::NoAuthz,
        SASL_TOOWEAK => Code::TooWeak,
        SASL_ENCRYPT => Code::Encrypt,
        SASL_BADBINDING => Code::BadBinding,
        SASL_NOTINIT | SASL_TRANS | SASL_EXPIRED | SASL_DISABLED | SASL_NOUSER | SASL_BADVERS | SASL_UNAVAIL
        | SASL_NOVERIFY | SASL_PWLOCK | SASL_NOCHANGE | SASL_WEAKPASS | SASL_NOUSERPASS | SASL_NEED_OLD_PASSWD
        | SASL_CONSTRAINT_VIOLAT | SASL_CONFIGERR => Code::Application(rc),
        _ => Code::Fail,
    }
}

/// sasl_errstring's text for a code a plugin returned.
pub(crate) fn plugin_code_text(rc: c_int) -> String {
    // SAFETY: sasl_errstring returns a static string for any code.
    unsafe { CStr::from_ptr(crate::capi::common::sasl_errstring(rc, ptr::null(), ptr::null_mut())) }
        .to_string_lossy()
        .into_owned()
}

fn plugin_error(rc: c_int, what: &str) -> Error {
    let code = plugin_code(rc);
    let unknown = if code == Code::Fail && rc != SASL_FAIL { format!(" (unknown result code {rc})") } else { String::new() };
    Error::new(code, format!("the plugin {what}: {}{unknown}", plugin_code_text(rc)))
}

/// Copies a plugin's output (None for NULL), refusing impossible lengths.
///
/// # Safety
/// `out` is NULL or points to `len` readable bytes (the plugin's contract).
unsafe fn take_output(out: *const c_char, len: c_uint) -> Result<Option<Vec<u8>>> {
    let len = len as usize;
    if out.is_null() {
        return if len == 0 { Ok(None) } else { Err(Error::bad_prot(format!("the plugin output NULL with length {len}"))) };
    }
    if len > MAX_OUTPUT {
        return Err(Error::bad_prot(format!("the plugin output {len} bytes")));
    }
    // SAFETY: per the function contract.
    Ok(Some(unsafe { std::slice::from_raw_parts(out.cast::<u8>(), len) }.to_vec()))
}

impl ClientMech for Exchange {
    fn step(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step> {
        let host = host(session.host()).ok_or_else(|| Error::fail("plugin mechanisms run only through the C API"))?;
        // The prompt list the application filled, handed back to the plugin
        // that made it (Cyrus passes the application's prompt_need through).
        let mut prompts = host.prompts.filled;
        let prompt_need: *mut *mut sasl_interact_t = if host.prompts.given { &mut prompts } else { ptr::null_mut() };
        let serverin: *const c_char = if !self.stepped && input.is_empty() {
            ptr::null()
        } else {
            self.input.clear();
            self.input.extend_from_slice(input);
            self.input.push(0);
            self.input.as_ptr().cast()
        };
        let inlen = c_uint::try_from(input.len()).map_err(|_| Error::bad_prot("server input too large"))?;
        let params = self.params();
        let plug = self.shared.mech.plug();
        let step = plug.mech_step.expect("checked at registration");
        let mut out: *const c_char = ptr::null();
        let mut outlen: c_uint = 0;
        // SAFETY: the plugin's mech_step on its own context, with our boxed
        // params and valid out-pointers.
        let rc = with_current(params, || unsafe {
            step(
                self.shared.context,
                ptr::addr_of_mut!((*params).cparams),
                serverin,
                inlen,
                prompt_need,
                &mut out,
                &mut outlen,
                ptr::addr_of_mut!((*params).oparams),
            )
        });
        if rc == SASL_INTERACT {
            if prompts.is_null() {
                return Err(Error::fail("the plugin asked for interaction without a prompt list"));
            }
            host.prompts.out.set(prompts);
            return Err(Error::interact());
        }
        self.stepped = true;
        // SAFETY: the plugin's output with its length.
        let output = unsafe { take_output(out, outlen) }?;
        let names = self.names()?;
        match rc {
            SASL_OK => Ok(Step::Done(output)),
            SASL_CONTINUE => {
                self.identity = names;
                Ok(Step::Continue(output.unwrap_or_default()))
            }
            rc => Err(plugin_error(rc, "failed")),
        }
    }

    fn outcome(&mut self) -> Result<Outcome> {
        let Some((user, authid)) = self.names()? else {
            return Err(Error::bad_prot("mech did not call canon_user for both authzid and authid"));
        };
        // SAFETY: our boxed params; the plugin is not running.
        let o = unsafe { &(*self.params()).oparams };
        let layer: Option<Box<dyn SecurityLayer>> = match (o.encode, o.decode) {
            // SASL_SSF would say 0 while encode and decode applied the
            // layer (Cyrus does that); an application that trusts SSF 0
            // would not frame its data, and the peer would take it apart.
            (Some(_), Some(_)) if o.mech_ssf == 0 => {
                return Err(Error::fail("the plugin set a security layer but reported SSF 0"));
            }
            (Some(encode), Some(decode)) => {
                // SAFETY: our boxed params; the plugin is not running.
                let told = unsafe { (*self.params()).cparams.props.maxbufsize };
                let max_recv = told.min(MAX_PACKET) as usize;
                Some(Box::new(PluginLayer { shared: self.shared.clone(), encode, decode, max_recv, packet: Vec::new() }))
            }
            (None, None) if o.mech_ssf > 0 => {
                return Err(Error::fail(format!("the plugin reported SSF {} without a security layer", o.mech_ssf)));
            }
            (None, None) => None,
            _ => return Err(Error::fail("the plugin set only one of its layer's encode and decode functions")),
        };
        Ok(Outcome {
            user: (user != authid).then_some(user),
            authid,
            ssf: o.mech_ssf,
            maxoutbuf: o.maxoutbuf,
            layer,
        })
    }

    fn identity(&self) -> Option<(&[u8], &[u8])> {
        self.identity.as_ref().map(|(u, a)| (u.as_slice(), a.as_slice()))
    }

    fn own_prompts(&self) -> bool {
        true
    }

    fn keep(&self) -> bool {
        true
    }
}

type Encode = unsafe extern "C" fn(*mut c_void, *const iovec, c_uint, *mut *const c_char, *mut c_uint) -> c_int;
type Decode = unsafe extern "C" fn(*mut c_void, *const c_char, c_uint, *mut *const c_char, *mut c_uint) -> c_int;

/// A plugin's security layer. The core frames packets and bounds their
/// size; each call hands the plugin one whole packet (as RFC 4422 frames
/// them: a 4-byte length and the payload), so the plugin never buffers.
struct PluginLayer {
    shared: Arc<Shared>,
    encode: Encode,
    decode: Decode,
    /// What the plugin was told it may advertise (bounded by 2^24 - 1, the
    /// most a SASL buffer size field can hold): no packet is longer.
    max_recv: usize,
    /// A packet being handed to `decode`, reused.
    packet: Vec<u8>,
}

impl SecurityLayer for PluginLayer {
    fn max_recv(&self) -> usize {
        self.max_recv
    }

    fn judges_empty_packets(&self) -> bool {
        true
    }

    fn wrap(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let iov = iovec { iov_base: plain.as_ptr().cast_mut().cast(), iov_len: plain.len() };
        let (mut output, mut len): (*const c_char, c_uint) = (ptr::null(), 0);
        // SAFETY: the plugin's encode on its context (Cyrus passes the
        // connection context), one iovec over `plain`, valid out-pointers.
        let rc = unsafe { (self.encode)(self.shared.context, &iov, 1, &mut output, &mut len) };
        if rc != SASL_OK {
            return Err(plugin_error(rc, "could not encode"));
        }
        // SAFETY: the plugin's output with its length.
        let packet = unsafe { take_output(output, len) }?.unwrap_or_default();
        let payload = packet
            .get(4..)
            .filter(|p| packet[..4] == (p.len() as u32).to_be_bytes())
            .ok_or_else(|| Error::fail("the plugin's encode did not produce one length-framed packet"))?;
        out.extend_from_slice(payload);
        Ok(())
    }

    fn unwrap(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.packet.clear();
        self.packet.extend_from_slice(&(packet.len() as u32).to_be_bytes());
        self.packet.extend_from_slice(packet);
        let len = c_uint::try_from(self.packet.len()).map_err(|_| Error::fail("packet too large"))?;
        let (mut output, mut outlen): (*const c_char, c_uint) = (ptr::null(), 0);
        // SAFETY: the plugin's decode on its context with one whole packet.
        let rc = unsafe { (self.decode)(self.shared.context, self.packet.as_ptr().cast(), len, &mut output, &mut outlen) };
        if rc != SASL_OK {
            return Err(plugin_error(rc, "could not decode"));
        }
        // SAFETY: the plugin's output with its length.
        if let Some(plain) = unsafe { take_output(output, outlen) }? {
            out.extend_from_slice(&plain);
        }
        Ok(())
    }
}

/// `cparams->canon_user`: canonicalises a name for the running plugin and
/// stores it in its out-params, as Cyrus's `_sasl_canon_user` does (the
/// application's SASL_CB_CANON_USER, then the canon_user plugin chosen by
/// the `canon_user_plugin` option, INTERNAL by default).
unsafe extern "C" fn canon_user(
    conn: *mut sasl_conn_t,
    input: *const c_char,
    len: c_uint,
    flags: c_uint,
    oparams: *mut sasl_out_params_t,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        let params = CURRENT.with(Cell::get);
        // Only our own exchange's out-params, during its plugin's call.
        // SAFETY (addr_of): params is non-NULL when compared.
        if conn.is_null() || input.is_null() || params.is_null() || !ptr::eq(oparams, unsafe { ptr::addr_of!((*params).oparams) }) {
            return SASL_BADPARAM;
        }
        let len = if len == 0 {
            // SAFETY: NUL-terminated when no length is given (saslplug.h).
            unsafe { CStr::from_ptr(input) }.to_bytes().len()
        } else {
            len as usize
        };
        // SAFETY: `len` bytes at `input`; copied, since it may be one of our buffers.
        let name = unsafe { std::slice::from_raw_parts(input.cast::<u8>(), len) }.to_vec();
        let mut buf = [0u8; CANON_BUF_SIZE + 1];
        // SAFETY: our boxed params, alive during the plugin's call; a raw
        // pointer, since the callback and the canon_user plugin called here
        // can call in again. Until this returns, that finds no current
        // exchange (BADPARAM), so no second reference to it is made.
        let cparams = unsafe { ptr::addr_of_mut!((*params).cparams) };
        // SAFETY: read-only field of our params.
        let lists = [unsafe { (*cparams).prompt_supp }, crate::capi::global_callbacks()];
        let result = with_current(ptr::null_mut(), || canon::canonicalize(conn, lists, cparams, &name, flags, &mut buf));
        let n = match result {
            Ok(n) => n,
            Err(rc) => return rc,
        };
        // SAFETY: our boxed params; nothing else refers to them now (the
        // plugin waits for this call).
        let p = unsafe { &mut *params };
        if flags & SASL_CU_AUTHID != 0 {
            p.authid_buf[..=n].copy_from_slice(&buf[..=n]);
            p.oparams.authid = p.authid_buf.as_ptr().cast();
            p.oparams.alen = n as c_uint;
        }
        if flags & SASL_CU_AUTHZID != 0 {
            p.user_buf[..=n].copy_from_slice(&buf[..=n]);
            p.oparams.user = p.user_buf.as_ptr().cast();
            p.oparams.ulen = n as c_uint;
        }
        // SAFETY: conn is the connection the plugin runs on (its utilities').
        if let Some(c) = unsafe { crate::capi::conn::sasl_conn::from_ptr(conn) } {
            // Cyrus's getprop reads the out-params the plugin just set.
            c.state.borrow_mut().shown.update(crate::core::Progress::Name(flags, &buf[..n]));
        }
        SASL_OK
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_plugins_bearer_token_mechanism_is_a_last_resort() {
        // KDE's XOAUTH2 plugin ranks beside PLAIN; the password must still
        // not go out as a token while PLAIN is offered.
        for (name, last) in [("XOAUTH2", true), ("oauthbearer", true), ("PLAIN", false), ("X-OAUTH", false)] {
            assert_eq!(super::intern("test-bearer", name, 0, 0x30, 0).info.last_resort, last, "{name}");
        }
    }
}
