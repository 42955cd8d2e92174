//! What a C client plugin returns, through the library's real plugin
//! adapter and C API, under AddressSanitizer. The plugin is defined here
//! (extern "C" functions, registered once with sasl_client_add_plugin): a
//! client-first and a server-first mechanism whose mech_new, mech_step,
//! encode and decode follow a fuzzed script: result codes (sasl.h's, and
//! codes that are not), NULL or real outputs with their lengths (always
//! within what the plugin allocated: a longer one breaks the C contract,
//! except past the 16 MiB the library refuses without reading), prompt
//! lists, canon_user calls with any names and flags, user names set in its
//! own memory with any length, SSF, MAXOUTBUF and layer functions, error
//! texts; its layer's outputs honest or misframed. Entry points that fail
//! are fuzzed too.
//!
//! A model computes what every call must return from the same script: codes
//! outside sasl.h become SASL_FAIL, every value the library can check is
//! checked (NULL with a length, impossible lengths, names over 1024 bytes,
//! half a layer, an SSF without one, a layer below the minimum SSF), the
//! plugin gets NUL-terminated input and whole length-framed packets no
//! longer than advertised, and what sasl_getprop reports (SSF, MAXOUTBUF,
//! USERNAME, AUTHUSER) is what sasl_encode and sasl_decode do.
#![no_main]

use std::cell::RefCell;
use std::ffi::{CStr, c_char, c_int, c_uint, c_ulong, c_void};
use std::ptr::{null, null_mut};
use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use sasl2::capi::client::*;
use sasl2::capi::common::*;
use sasl2::capi::layer::*;
use sasl2::capi::plugin::sasl_client_add_plugin;
use sasl2::capi::*;
use sasl2::plugin::abi::*;
use sasl2_fuzz::*;

fuzz_target!(|data: &[u8]| run(&mut Unstructured::new(data)));

fn pick<T: Copy>(u: &mut Unstructured<'_>, from: &[T]) -> T {
    from[u.choose_index(from.len()).unwrap_or(0)]
}

/// Every result code of sasl.h but SASL_OK, SASL_CONTINUE and SASL_INTERACT.
const FAILURES: [c_int; 31] = [
    SASL_FAIL, SASL_NOMEM, SASL_BUFOVER, SASL_NOMECH, SASL_BADPROT, SASL_NOTDONE, SASL_BADPARAM, SASL_TRYAGAIN,
    SASL_BADMAC, SASL_NOTINIT, SASL_BADSERV, SASL_WRONGMECH, SASL_BADAUTH, SASL_NOAUTHZ, SASL_TOOWEAK,
    SASL_ENCRYPT, SASL_TRANS, SASL_EXPIRED, SASL_DISABLED, SASL_NOUSER, SASL_BADVERS, SASL_UNAVAIL, SASL_NOVERIFY,
    SASL_PWLOCK, SASL_NOCHANGE, SASL_WEAKPASS, SASL_NOUSERPASS, SASL_NEED_OLD_PASSWD, SASL_CONSTRAINT_VIOLAT,
    SASL_BADBINDING, SASL_CONFIGERR,
];

/// What an application sees when a plugin fails with `rc`.
fn mapped(rc: c_int) -> c_int {
    if FAILURES.contains(&rc) { rc } else { SASL_FAIL }
}

/// A result code a hostile plugin may return.
fn code(u: &mut Unstructured<'_>) -> c_int {
    match u.int_in_range(0..=3u8).unwrap_or(0) {
        0 => pick(u, &FAILURES),
        1 => pick(u, &[3, 4, 42, -25, -31, -33, -99, -101, c_int::MIN, c_int::MAX]),
        2 => u.arbitrary().unwrap_or(-1),
        _ => pick(u, &[SASL_OK, SASL_CONTINUE, SASL_INTERACT]),
    }
}

/// Lengths past this the library refuses without reading (16 MiB).
const HUGE: c_uint = (1 << 24) + 1;

/// A plugin output: NULL with a length, or bytes with a length no longer
/// than them (or HUGE).
#[derive(Debug, Clone)]
struct Out {
    bytes: Option<Vec<u8>>,
    len: c_uint,
}

impl Out {
    fn fuzzed(u: &mut Unstructured<'_>, max: usize) -> Out {
        if u.ratio(1, 6).unwrap_or(false) {
            return Out { bytes: None, len: pick(u, &[0, 0, 1, 100, HUGE]) };
        }
        let bytes = bytes(u, 0, max);
        let len = match u.int_in_range(0..=7u8).unwrap_or(0) {
            0 => u.int_in_range(0..=bytes.len()).unwrap_or(0) as c_uint,
            1 => HUGE,
            _ => bytes.len() as c_uint,
        };
        Out { bytes: Some(bytes), len }
    }

    /// What the library must make of it: Err(code) or the bytes taken.
    fn taken(&self) -> Result<Option<Vec<u8>>, c_int> {
        match &self.bytes {
            None if self.len == 0 => Ok(None),
            None => Err(SASL_BADPROT),
            Some(_) if self.len >= HUGE => Err(SASL_BADPROT),
            Some(b) => Ok(Some(b[..self.len as usize].to_vec())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prompts {
    None,
    /// SASL_INTERACT with a new list.
    List,
    /// SASL_INTERACT without writing a list.
    Unwritten,
}

#[derive(Debug, Clone)]
struct Canon {
    name: Vec<u8>,
    /// Passed with length 0 (NUL-terminated) rather than its length.
    nul: bool,
    flags: c_uint,
    /// Passed someone else's out-params (the library must refuse).
    wrong_oparams: bool,
}

#[derive(Debug, Clone)]
struct StepPlan {
    rc: c_int,
    out: Out,
    prompts: Prompts,
    canon: Vec<Canon>,
    /// user and authid set to the plugin's own memory: (bytes, length
    /// reported) each.
    own_names: Option<(Vec<u8>, Vec<u8>)>,
    /// mech_ssf, maxoutbuf, encode set, decode set.
    layer: Option<(u32, u32, bool, bool)>,
    error: Option<Vec<u8>>,
}

impl StepPlan {
    /// What the plugin does once its script has no more steps.
    fn exhausted() -> StepPlan {
        StepPlan {
            rc: SASL_FAIL,
            out: Out { bytes: None, len: 0 },
            prompts: Prompts::None,
            canon: Vec::new(),
            own_names: None,
            layer: None,
            error: None,
        }
    }

    fn fuzzed(u: &mut Unstructured<'_>, last: bool) -> StepPlan {
        let rc = if u.ratio(1, 5).unwrap_or(false) {
            code(u)
        } else if last {
            SASL_OK
        } else {
            SASL_CONTINUE
        };
        let name = |u: &mut Unstructured<'_>| -> Vec<u8> {
            match u.int_in_range(0..=7u8).unwrap_or(0) {
                0 => vec![b' '; u.int_in_range(0..=3).unwrap_or(0)],
                1 => vec![b'a'; u.int_in_range(1020..=1030).unwrap_or(1024)],
                2 => bytes(u, 0, 12),
                _ => format!(" {} ", string(u, 10, Some(ALNUM))).into_bytes(),
            }
        };
        let canon = (0..u.int_in_range(0..=3).unwrap_or(0))
            .map(|_| {
                let mut name = name(u);
                let nul = u.arbitrary().unwrap_or(false);
                if nul {
                    name.retain(|&b| b != 0);
                }
                Canon {
                    name,
                    nul,
                    flags: pick(u, &[SASL_CU_AUTHID | SASL_CU_AUTHZID, SASL_CU_AUTHID, SASL_CU_AUTHZID, 0, 0x10]),
                    wrong_oparams: u.ratio(1, 16).unwrap_or(false),
                }
            })
            .collect();
        StepPlan {
            rc,
            out: Out::fuzzed(u, 64),
            prompts: match u.int_in_range(0..=15u8).unwrap_or(0) {
                0 => Prompts::List,
                1 => Prompts::Unwritten,
                _ => Prompts::None,
            },
            canon,
            own_names: u.ratio(1, 6).unwrap_or(false).then(|| (name(u), name(u))),
            layer: (last || u.ratio(1, 8).unwrap_or(false)).then(|| {
                let both = !u.ratio(1, 8).unwrap_or(false);
                let encode = both || u.arbitrary().unwrap_or(false);
                (
                    pick(u, &[0, 0, 1, 56, 128, 256, u32::MAX]),
                    pick(u, &[0, 1, 5, 64, 4096, 65536, u32::MAX]),
                    encode,
                    if both { encode } else { !encode },
                )
            }),
            error: u.ratio(1, 8).unwrap_or(false).then(|| string(u, 40, Some(PRINTABLE)).into_bytes()),
        }
    }
}

/// How the plugin's layer answers one call.
#[derive(Debug, Clone)]
enum LayerPlan {
    Honest,
    Code(c_int),
    /// An output of its own (encode: framed with this error in its length).
    Out(Out, i8),
}

impl LayerPlan {
    fn fuzzed(u: &mut Unstructured<'_>) -> LayerPlan {
        match u.int_in_range(0..=15u8).unwrap_or(0) {
            0 => LayerPlan::Code(code(u)),
            1 | 2 => LayerPlan::Out(Out::fuzzed(u, 40), pick(u, &[0, 0, -1, 1, -4])),
            _ => LayerPlan::Honest,
        }
    }
}

/// The plugin's toy protection: XOR and a sum.
fn seal(plain: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = plain.iter().map(|b| b ^ 0x55).collect();
    out.push(plain.iter().fold(0u8, |a, b| a.wrapping_add(*b)));
    out
}

fn unseal(sealed: &[u8]) -> Option<Vec<u8>> {
    let (body, sum) = sealed.split_last().map(|(s, b)| (b, *s))?;
    let plain: Vec<u8> = body.iter().map(|b| b ^ 0x55).collect();
    (plain.iter().fold(0u8, |a, b| a.wrapping_add(*b)) == sum).then_some(plain)
}

/// What the plugin does, and what it saw.
#[derive(Default)]
struct Script {
    new_rc: c_int,
    steps: Vec<StepPlan>,
    encode: Vec<LayerPlan>,
    decode: Vec<LayerPlan>,
    // Observed.
    contexts: i32,
    step_calls: usize,
    /// Per step call: serverin was NULL, its bytes, NUL-terminated after
    /// them, prompt_need was NULL, what it pointed to.
    inputs: Vec<(bool, Vec<u8>, bool, bool, usize)>,
    canon_rcs: Vec<c_int>,
    encoded: Vec<Vec<u8>>,
    decoded: Vec<Vec<u8>>,
    /// The prompt list the plugin handed out last, and the answers the
    /// application put in it.
    list: usize,
    answers: Vec<(usize, c_uint)>,
    cparams_ok: bool,
}

thread_local! {
    static SCRIPT: RefCell<Script> = RefCell::new(Script::default());
}

/// The plugin's state for one connection.
#[derive(Default)]
struct Ctx {
    out: Vec<u8>,
    names: (Vec<u8>, Vec<u8>),
    prompts: Vec<sasl_interact_t>,
    layer_out: Vec<u8>,
}

unsafe extern "C" fn mech_new(_glob: *mut c_void, params: *mut sasl_client_params_t, context: *mut *mut c_void) -> c_int {
    // SAFETY: the library's params, alive during the call.
    let p = unsafe { &*params };
    SCRIPT.with_borrow_mut(|s| {
        // SAFETY: C strings the library passes with their lengths.
        let service = unsafe { CStr::from_ptr(p.service) }.to_bytes();
        let fqdn = unsafe { CStr::from_ptr(p.serverFQDN) }.to_bytes();
        s.cparams_ok = service == b"imap"
            && p.servicelen == 4
            && fqdn == b"h.example.org"
            && p.slen as usize == fqdn.len()
            && p.canon_user.is_some()
            && !p.utils.is_null();
        if s.new_rc != SASL_OK {
            return s.new_rc;
        }
        s.contexts += 1;
        // SAFETY: a writable out-pointer.
        unsafe { *context = Box::into_raw(Box::<Ctx>::default()).cast() };
        SASL_OK
    })
}

unsafe extern "C" fn mech_dispose(context: *mut c_void, _utils: *const sasl_utils_t) {
    assert!(!context.is_null(), "dispose of a context mech_new never made");
    // SAFETY: from mech_new, disposed once.
    drop(unsafe { Box::from_raw(context.cast::<Ctx>()) });
    SCRIPT.with_borrow_mut(|s| s.contexts -= 1);
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn mech_step(
    context: *mut c_void,
    params: *mut sasl_client_params_t,
    serverin: *const c_char,
    serverinlen: c_uint,
    prompt_need: *mut *mut sasl_interact_t,
    clientout: *mut *const c_char,
    clientoutlen: *mut c_uint,
    oparams: *mut sasl_out_params_t,
) -> c_int {
    // SAFETY: our context; the library's params, out-params and pointers.
    let (ctx, p, o) = unsafe { (&mut *context.cast::<Ctx>(), &*params, &mut *oparams) };
    let filled = if prompt_need.is_null() { null_mut() } else { unsafe { *prompt_need } };
    let plan = SCRIPT.with_borrow_mut(|s| {
        let input = if serverin.is_null() {
            (true, Vec::new(), true)
        } else {
            // SAFETY: serverinlen bytes, then (as Cyrus gives them) a NUL.
            let b = unsafe { std::slice::from_raw_parts(serverin.cast::<u8>(), serverinlen as usize + 1) };
            (false, b[..serverinlen as usize].to_vec(), b[serverinlen as usize] == 0)
        };
        s.inputs.push((input.0, input.1, input.2, prompt_need.is_null(), filled as usize));
        if !filled.is_null() && filled as usize == s.list {
            // The application's answers, as it put them.
            // SAFETY: our own list, filled by the application.
            let got: Vec<(usize, c_uint)> = ctx.prompts.iter().take_while(|p| p.id != SASL_CB_LIST_END).map(|p| (p.result as usize, p.len)).collect();
            assert_eq!(got, s.answers, "the prompt answers the plugin got back");
        }
        let plan = s.steps.get(s.step_calls).cloned().unwrap_or_else(StepPlan::exhausted);
        s.step_calls += 1;
        plan
    });
    // SAFETY: the utilities the library gave, with its connection.
    let utils = unsafe { &*p.utils };
    for c in &plan.canon {
        let name = [&c.name[..], &[0]].concat();
        let mut other = std::mem::MaybeUninit::<sasl_out_params_t>::zeroed();
        let target = if c.wrong_oparams { other.as_mut_ptr() } else { oparams };
        let len = if c.nul { 0 } else { c.name.len() as c_uint };
        // SAFETY: the library's canon_user with a NUL-terminated name.
        let rc = unsafe { (p.canon_user.unwrap())(utils.conn, name.as_ptr().cast(), len, c.flags, target) };
        SCRIPT.with_borrow_mut(|s| s.canon_rcs.push(rc));
    }
    if let Some((user, authid)) = &plan.own_names {
        ctx.names = (user.clone(), authid.clone());
        o.user = ctx.names.0.as_ptr().cast();
        o.ulen = ctx.names.0.len() as c_uint;
        o.authid = ctx.names.1.as_ptr().cast();
        o.alen = ctx.names.1.len() as c_uint;
    }
    if let Some((ssf, maxout, encode, decode)) = plan.layer {
        o.mech_ssf = ssf;
        o.maxoutbuf = maxout;
        o.encode = encode.then_some(layer_encode as _);
        o.decode = decode.then_some(layer_decode as _);
    }
    if let Some(text) = &plan.error {
        let text = [&text[..], &[0]].concat();
        // SAFETY: the library's seterror with a format and its argument.
        unsafe { (utils.seterror.unwrap())(utils.conn, 0, c"%s".as_ptr(), text.as_ptr()) };
    }
    if plan.prompts != Prompts::None {
        if plan.prompts == Prompts::List && !prompt_need.is_null() {
            let prompt = |id| sasl_interact_t { id, challenge: null(), prompt: c"Name".as_ptr(), defresult: null(), result: null(), len: 0 };
            ctx.prompts = vec![prompt(SASL_CB_AUTHNAME), prompt(SASL_CB_PASS), prompt(SASL_CB_LIST_END)];
            // SAFETY: non-NULL, the application's slot.
            unsafe { *prompt_need = ctx.prompts.as_mut_ptr() };
            SCRIPT.with_borrow_mut(|s| s.list = ctx.prompts.as_ptr() as usize);
        }
        return SASL_INTERACT;
    }
    ctx.out = plan.out.bytes.clone().unwrap_or_default();
    // SAFETY: the library's out-pointers.
    unsafe {
        *clientout = if plan.out.bytes.is_some() { ctx.out.as_ptr().cast() } else { null() };
        *clientoutlen = plan.out.len;
    }
    plan.rc
}

unsafe extern "C" fn layer_encode(
    context: *mut c_void,
    iov: *const iovec,
    numiov: c_uint,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    // SAFETY: our context; numiov iovecs of readable memory.
    let ctx = unsafe { &mut *context.cast::<Ctx>() };
    let vecs = unsafe { std::slice::from_raw_parts(iov, numiov as usize) };
    let input: Vec<u8> =
        vecs.iter().flat_map(|v| unsafe { std::slice::from_raw_parts(v.iov_base.cast::<u8>(), v.iov_len) }.to_vec()).collect();
    let plan = SCRIPT.with_borrow_mut(|s| {
        s.encoded.push(input.clone());
        s.encode.get(s.encoded.len() - 1).cloned().unwrap_or(LayerPlan::Honest)
    });
    let (rc, out) = encode_result(&plan, &input);
    ctx.layer_out = out.bytes.clone().unwrap_or_default();
    // SAFETY: the library's out-pointers.
    unsafe {
        *output = if out.bytes.is_some() { ctx.layer_out.as_ptr().cast() } else { null() };
        *outputlen = out.len;
    }
    rc
}

/// The encode plan's answer to `input`.
fn encode_result(plan: &LayerPlan, input: &[u8]) -> (c_int, Out) {
    let framed = |payload: &[u8], error: i8| {
        let len = (payload.len() as i64 + i64::from(error)).max(0) as u32;
        let bytes = [&len.to_be_bytes()[..], payload].concat();
        Out { len: bytes.len() as c_uint, bytes: Some(bytes) }
    };
    match plan {
        LayerPlan::Honest => (SASL_OK, framed(&seal(input), 0)),
        LayerPlan::Code(rc) => (*rc, Out { bytes: None, len: 0 }),
        LayerPlan::Out(out, 0) => (SASL_OK, out.clone()),
        LayerPlan::Out(_, error) => (SASL_OK, framed(&seal(input), *error)),
    }
}

unsafe extern "C" fn layer_decode(
    context: *mut c_void,
    input: *const c_char,
    inputlen: c_uint,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    // SAFETY: our context; inputlen readable bytes.
    let ctx = unsafe { &mut *context.cast::<Ctx>() };
    let input = unsafe { std::slice::from_raw_parts(input.cast::<u8>(), inputlen as usize) }.to_vec();
    let plan = SCRIPT.with_borrow_mut(|s| {
        s.decoded.push(input.clone());
        s.decode.get(s.decoded.len() - 1).cloned().unwrap_or(LayerPlan::Honest)
    });
    let payload = input.get(4..).unwrap_or_default();
    let (rc, out) = decode_result(&plan, payload);
    ctx.layer_out = out.bytes.clone().unwrap_or_default();
    // SAFETY: the library's out-pointers.
    unsafe {
        *output = if out.bytes.is_some() { ctx.layer_out.as_ptr().cast() } else { null() };
        *outputlen = out.len;
    }
    rc
}

/// The decode plan's answer to a packet's payload.
fn decode_result(plan: &LayerPlan, payload: &[u8]) -> (c_int, Out) {
    match plan {
        LayerPlan::Honest => match unseal(payload) {
            Some(plain) => (SASL_OK, Out { len: plain.len() as c_uint, bytes: Some(plain) }),
            None => (SASL_BADMAC, Out { bytes: None, len: 0 }),
        },
        LayerPlan::Code(rc) => (*rc, Out { bytes: None, len: 0 }),
        LayerPlan::Out(out, _) => (SASL_OK, out.clone()),
    }
}

/// The plug table's strings and lists, alive for the process.
static NO_PROMPTS: [c_ulong; 1] = [SASL_CB_LIST_END];

fn plug(name: &'static CStr, features: c_uint) -> sasl_client_plug_t {
    sasl_client_plug_t {
        mech_name: name.as_ptr(),
        max_ssf: 256,
        security_flags: 0,
        features,
        required_prompts: NO_PROMPTS.as_ptr(),
        glob_context: null_mut(),
        mech_new: Some(mech_new),
        mech_step: Some(mech_step),
        mech_dispose: Some(mech_dispose),
        mech_free: None,
        idle: None,
        spare_fptr1: None,
        spare_fptr2: None,
    }
}

unsafe extern "C" fn plug_init(
    _utils: *const sasl_utils_t,
    max_version: c_int,
    out_version: *mut c_int,
    list: *mut *mut sasl_client_plug_t,
    count: *mut c_int,
) -> c_int {
    assert!(max_version >= SASL_CLIENT_PLUG_VERSION);
    let plugs = vec![plug(c"FUZZ-CF", SASL_FEAT_WANT_CLIENT_FIRST), plug(c"FUZZ-SF", SASL_FEAT_SERVER_FIRST)];
    // SAFETY: the library's out-pointers.
    unsafe {
        *out_version = SASL_CLIENT_PLUG_VERSION;
        *list = Box::leak(plugs.into_boxed_slice()).as_mut_ptr();
        *count = 2;
    }
    SASL_OK
}

/// Mechanisms the library must skip: a bad name, no mech_step.
unsafe extern "C" fn broken_init(
    _utils: *const sasl_utils_t,
    _max_version: c_int,
    out_version: *mut c_int,
    list: *mut *mut sasl_client_plug_t,
    count: *mut c_int,
) -> c_int {
    let mut no_step = plug(c"FUZZ-NO-STEP", 0);
    no_step.mech_step = None;
    let plugs = vec![plug(c"fuzz lower case", 0), no_step];
    // SAFETY: the library's out-pointers.
    unsafe {
        *out_version = SASL_CLIENT_PLUG_VERSION;
        *list = Box::leak(plugs.into_boxed_slice()).as_mut_ptr();
        *count = 2;
    }
    SASL_OK
}

thread_local! {
    /// A failing entry point's answer: code, version, list given, count.
    static INIT: RefCell<(c_int, c_int, bool, c_int)> = const { RefCell::new((0, 0, false, 0)) };
}

unsafe extern "C" fn failing_init(
    _utils: *const sasl_utils_t,
    _max_version: c_int,
    out_version: *mut c_int,
    list: *mut *mut sasl_client_plug_t,
    count: *mut c_int,
) -> c_int {
    static ONE: [usize; 16] = [0; 16];
    let (rc, version, given, n) = INIT.with_borrow(|i| *i);
    // SAFETY: the library's out-pointers; the list is never read when the
    // count is out of range.
    unsafe {
        *out_version = version;
        *list = if given { ONE.as_ptr().cast_mut().cast() } else { null_mut() };
        *count = n;
    }
    rc
}

fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: no global callbacks; the entry points have the C types.
        unsafe {
            assert_eq!(sasl_client_init(null()), SASL_OK);
            assert_eq!(sasl_client_add_plugin(c"fuzzplug".as_ptr(), Some(plug_init)), SASL_OK);
            assert_eq!(sasl_client_add_plugin(c"fuzzbroken".as_ptr(), Some(broken_init)), SASL_OK);
        }
    });
}

/// A plugin whose entry point fails: the application gets why, nothing is
/// registered.
fn failing_plugin(u: &mut Unstructured<'_>) {
    let rc = if u.arbitrary().unwrap_or(false) { code(u) } else { SASL_OK };
    let version = if u.arbitrary().unwrap_or(false) { SASL_CLIENT_PLUG_VERSION } else { u.arbitrary().unwrap_or(3) };
    let given = u.arbitrary().unwrap_or(false);
    let count = pick(u, &[-1, 65, 100, c_int::MIN, 1]);
    INIT.with_borrow_mut(|i| *i = (rc, version, given, count));
    let want = if rc != SASL_OK {
        rc
    } else if version != SASL_CLIENT_PLUG_VERSION {
        SASL_BADVERS
    } else if !given || !(0..=64).contains(&count) {
        SASL_BADPROT
    } else {
        return;
    };
    // SAFETY: a C string and an entry point of the C type.
    let got = unsafe { sasl_client_add_plugin(c"fuzzfailing".as_ptr(), Some(failing_init)) };
    assert_eq!(got, want, "sasl_client_add_plugin of an entry point returning {rc}, version {version}, count {count}");
}

fn read_buf(p: *const c_char, len: c_uint) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    assert!(!p.is_null());
    // SAFETY: the library promises len readable bytes.
    unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len as usize) }.to_vec()
}

fn uint_prop(conn: *mut sasl_conn_t, prop: c_int) -> c_uint {
    let mut v: *const c_void = null();
    // SAFETY: a live connection and a writable out-pointer.
    assert_eq!(unsafe { sasl_getprop(conn, prop, &mut v) }, SASL_OK);
    // SAFETY: SSF and MAXOUTBUF point at an unsigned.
    unsafe { v.cast::<c_uint>().read() }
}

fn string_prop(conn: *mut sasl_conn_t, prop: c_int) -> Option<Vec<u8>> {
    let mut v: *const c_void = null();
    // SAFETY: a live connection and a writable out-pointer.
    if unsafe { sasl_getprop(conn, prop, &mut v) } != SASL_OK {
        return None;
    }
    // SAFETY: a C string.
    Some(unsafe { CStr::from_ptr(v.cast()) }.to_bytes().to_vec())
}

fn errdetail(conn: *mut sasl_conn_t) -> Vec<u8> {
    // SAFETY: a live connection; a C string back.
    unsafe { CStr::from_ptr(sasl_errdetail(conn)) }.to_bytes().to_vec()
}

/// The model's view of the exchange so far.
struct Model {
    /// Whether the plugin has stepped without asking for prompts.
    stepped: bool,
    user: Option<Vec<u8>>,
    authid: Option<Vec<u8>>,
    layer: Option<(u32, u32, bool, bool)>,
    props: sasl_security_properties_t,
    external: u32,
}

/// SASL_CU_* canonicalisation by the library's INTERNAL canon_user.
fn canon_result(c: &Canon) -> Result<Vec<u8>, c_int> {
    if c.wrong_oparams {
        return Err(SASL_BADPARAM);
    }
    if c.flags & (SASL_CU_AUTHID | SASL_CU_AUTHZID) == 0 {
        return Err(SASL_BADPARAM);
    }
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = c.name.iter().position(|b| !space(b)).ok_or(SASL_FAIL)?;
    let end = c.name.iter().rposition(|b| !space(b)).unwrap() + 1;
    let name = &c.name[start..end];
    if name.len() > 1024 { Err(SASL_BUFOVER) } else { Ok(name.to_vec()) }
}

/// What one plugin step must give the application: the code and output.
fn expect_step(plan: &StepPlan, m: &mut Model, pn_given: bool, filled: bool) -> (c_int, Option<Vec<u8>>) {
    for c in &plan.canon {
        if let Ok(name) = canon_result(c) {
            if c.flags & SASL_CU_AUTHID != 0 {
                m.authid = Some(name.clone());
            }
            if c.flags & SASL_CU_AUTHZID != 0 {
                m.user = Some(name);
            }
        }
    }
    if let Some((user, authid)) = &plan.own_names {
        (m.user, m.authid) = (Some(user.clone()), Some(authid.clone()));
    }
    if plan.layer.is_some() {
        m.layer = plan.layer;
    }
    if plan.prompts != Prompts::None || plan.rc == SASL_INTERACT {
        let listed = (plan.prompts == Prompts::List && pn_given) || filled;
        return (if listed { SASL_INTERACT } else { SASL_FAIL }, None);
    }
    m.stepped = true;
    let out = match plan.out.taken() {
        Ok(out) => out,
        Err(rc) => return (rc, None),
    };
    let names = match (&m.user, &m.authid) {
        (Some(u), Some(a)) if u.len() > 1024 || a.len() > 1024 => return (SASL_BADPROT, None),
        (Some(_), Some(_)) => true,
        _ => false,
    };
    match plan.rc {
        SASL_OK => {
            if !names {
                return (SASL_BADPROT, None);
            }
            match m.layer {
                // Half a layer, a layer at SSF 0, an SSF without a layer.
                Some((_, _, true, false) | (_, _, false, true) | (0, _, true, true)) => return (SASL_FAIL, None),
                Some((ssf, _, false, false)) if ssf > 0 => return (SASL_FAIL, None),
                _ => {}
            }
            let ssf = m.layer.map_or(0, |l| l.0);
            if ssf.saturating_add(m.external) < m.props.min_ssf {
                return (SASL_TOOWEAK, None);
            }
            (SASL_OK, Some(out.unwrap_or_default()))
        }
        SASL_CONTINUE => (SASL_CONTINUE, Some(out.unwrap_or_default())),
        rc => (mapped(rc), None),
    }
}

struct Conn(*mut sasl_conn_t);

impl Drop for Conn {
    fn drop(&mut self) {
        // SAFETY: a live connection, disposed once.
        unsafe { sasl_dispose(&mut self.0) };
    }
}

fn run(u: &mut Unstructured<'_>) {
    setup();
    if u.ratio(1, 32).unwrap_or(false) {
        failing_plugin(u);
    }
    let server_first = u.arbitrary().unwrap_or(false);
    let nsteps = u.int_in_range(1..=4).unwrap_or(1);
    let mut script = Script {
        new_rc: if u.ratio(1, 16).unwrap_or(false) { code(u) } else { SASL_OK },
        steps: (0..nsteps).map(|i| StepPlan::fuzzed(u, i + 1 == nsteps)).collect(),
        ..Script::default()
    };
    for _ in 0..u.int_in_range(0..=6).unwrap_or(0) {
        script.encode.push(LayerPlan::fuzzed(u));
        script.decode.push(LayerPlan::fuzzed(u));
    }
    SCRIPT.with_borrow_mut(|s| *s = script);
    let props = sasl_security_properties_t {
        min_ssf: pick(u, &[0, 0, 0, 1, 56, 257]),
        max_ssf: pick(u, &[0, 1, 256, u32::MAX]),
        maxbufsize: pick(u, &[0, 1, 5, 17, 100, 4096, 65536, 0xFF_FFFF, u32::MAX]),
        security_flags: 0,
        property_names: null_mut(),
        property_values: null_mut(),
    };
    let external: u32 = pick(u, &[0, 0, 1, 56]);
    // A minimum SSF without layers is refused; the defaults (all 0) stay.
    let refused = props.min_ssf > 0 && props.maxbufsize == 0;

    let mut conn = Conn(null_mut());
    // SAFETY: C strings, no callbacks, a writable out-pointer; then
    // property values of their types.
    unsafe {
        assert_eq!(sasl_client_new(c"imap".as_ptr(), c"h.example.org".as_ptr(), null(), null(), null(), 0, &mut conn.0), SASL_OK);
        let want = if refused { SASL_TOOWEAK } else { SASL_OK };
        assert_eq!(sasl_setprop(conn.0, SASL_SEC_PROPS, (&raw const props).cast()), want);
        assert_eq!(sasl_setprop(conn.0, SASL_SSF_EXTERNAL, (&raw const external).cast()), SASL_OK);
    }
    let props = if refused { sasl_security_properties_t { min_ssf: 0, max_ssf: 0, ..props } } else { props };
    let mut m = Model { stepped: false, user: None, authid: None, layer: None, props, external };

    // Start.
    let mech = if server_first { c"FUZZ-SF" } else { c"FUZZ-CF" };
    let want_out = u.arbitrary().unwrap_or(true);
    let pn_given = !u.ratio(1, 8).unwrap_or(false);
    let mut pn: *mut sasl_interact_t = null_mut();
    let mut out: *const c_char = null();
    let mut outlen: c_uint = 0;
    let mut chosen: *const c_char = null();
    let pn_arg = |pn: &mut *mut sasl_interact_t| if pn_given { pn as *mut _ } else { null_mut() };
    // SAFETY: a live connection, C strings, writable out-pointers.
    let mut rc = unsafe {
        sasl_client_start(conn.0, mech.as_ptr(), pn_arg(&mut pn), if want_out { &mut out } else { null_mut() }, &mut outlen, &mut chosen)
    };
    if props.min_ssf.saturating_sub(external) > 256 {
        assert_eq!(rc, SASL_NOMECH, "selected a mechanism too weak for the minimum SSF");
        return finish(conn);
    }
    // SAFETY: the mechanism's name, a C string.
    assert_eq!(unsafe { CStr::from_ptr(chosen) }, mech);
    assert!(SCRIPT.with_borrow(|s| s.cparams_ok), "the connection as mech_new saw it");
    let new_rc = SCRIPT.with_borrow(|s| s.new_rc);
    if new_rc != SASL_OK {
        assert_eq!(rc, mapped(new_rc), "mech_new returned {new_rc}");
        return finish(conn);
    }
    // The plugin steps at the start only for a client-first mechanism asked
    // for an initial response; the application's calls go on from there.
    let mut plugin_stepped = !server_first && want_out;
    let mut input: Vec<u8> = Vec::new();
    let mut in_start = true;
    let mut calls = 0;
    let mut last_plan = None;
    loop {
        let expected = if plugin_stepped {
            let plan = SCRIPT.with_borrow(|s| s.steps.get(calls).cloned()).unwrap_or_else(StepPlan::exhausted);
            let (seen, canon_rcs, step_calls) =
                SCRIPT.with_borrow_mut(|s| (s.inputs.last().cloned(), std::mem::take(&mut s.canon_rcs), s.step_calls));
            assert_eq!(step_calls, calls + 1, "plugin step calls");
            let (null_in, got, nul, pn_null, filled) = seen.expect("the plugin stepped");
            assert_eq!(null_in, !m.stepped && input.is_empty(), "serverin NULL on the first step only");
            assert_eq!(got, input, "the server's data as the plugin saw it");
            assert!(nul, "serverin not NUL-terminated");
            let want_rcs: Vec<c_int> = plan.canon.iter().map(|c| canon_result(c).map_or_else(|e| e, |_| SASL_OK)).collect();
            assert_eq!(canon_rcs, want_rcs, "canon_user's answers");
            calls += 1;
            last_plan = Some(plan.clone());
            expect_step(&plan, &mut m, !pn_null, filled != 0)
        } else {
            assert_eq!(SCRIPT.with_borrow(|s| s.step_calls), calls, "the plugin stepped when it must not");
            (SASL_CONTINUE, None)
        };
        assert_eq!(rc, expected.0, "call {calls}: {}; {last_plan:?}", String::from_utf8_lossy(&errdetail(conn.0)));
        if let Some(want) = &expected.1
            && (want_out || !in_start)
        {
            assert_eq!(read_buf(out, outlen), *want, "client output");
        }
        match rc {
            SASL_INTERACT => {
                // The application answers in the plugin's list, and calls
                // again with the same arguments.
                static ANSWER: [u8; 8] = *b"answer\0\0";
                assert!(!pn.is_null());
                // SAFETY: the plugin's list of two prompts and the end.
                unsafe {
                    (*pn).result = ANSWER.as_ptr().cast();
                    (*pn).len = 5;
                    (*pn.add(1)).result = ANSWER.as_ptr().cast();
                    (*pn.add(1)).len = 6;
                }
                SCRIPT.with_borrow_mut(|s| s.answers = vec![(ANSWER.as_ptr() as usize, 5), (ANSWER.as_ptr() as usize, 6)]);
                plugin_stepped = true;
                // SAFETY: as above.
                rc = unsafe {
                    if in_start {
                        sasl_client_start(conn.0, mech.as_ptr(), &mut pn, if want_out { &mut out } else { null_mut() }, &mut outlen, &mut chosen)
                    } else {
                        sasl_client_step(conn.0, input.as_ptr().cast(), input.len() as c_uint, &mut pn, &mut out, &mut outlen)
                    }
                };
            }
            SASL_CONTINUE => {
                // The server's next message (or none).
                in_start = false;
                pn = null_mut();
                let null_input = u.ratio(1, 8).unwrap_or(false);
                input = if null_input { Vec::new() } else { bytes(u, 0, 40) };
                let boxed: Box<[u8]> = input.clone().into();
                // SAFETY: exact-size input, writable out-pointers.
                rc = unsafe {
                    let serverin = if null_input { null() } else { boxed.as_ptr().cast() };
                    sasl_client_step(conn.0, serverin, boxed.len() as c_uint, pn_arg(&mut pn), &mut out, &mut outlen)
                };
                // A server-first mechanism needs the server's message.
                plugin_stepped = !(server_first && null_input);
                if !plugin_stepped {
                    assert_eq!(rc, SASL_BADPROT, "a server-first mechanism stepped without the server's message");
                    return finish(conn);
                }
            }
            SASL_OK => break,
            _ => {
                if let Some(text) = SCRIPT.with_borrow(|s| calls.checked_sub(1).and_then(|i| s.steps.get(i)?.error.clone())) {
                    assert!(contains(&errdetail(conn.0), &text), "the plugin's error text is lost");
                }
                // A failed exchange goes no further.
                let (mut o, mut ol): (*const c_char, c_uint) = (null(), 0);
                // SAFETY: a live connection, writable out-pointers.
                let again = unsafe { sasl_client_step(conn.0, c"x".as_ptr(), 1, null_mut(), &mut o, &mut ol) };
                assert_eq!(again, SASL_FAIL);
                assert_eq!(SCRIPT.with_borrow(|s| s.step_calls), calls, "the plugin stepped after a failure");
                return finish(conn);
            }
        }
    }
    // sasl_client_step(3)'s last call, without data: done, no plugin call.
    let (mut o, mut ol): (*const c_char, c_uint) = (null(), 0);
    // SAFETY: a live connection, writable out-pointers.
    assert_eq!(unsafe { sasl_client_step(conn.0, null(), 0, null_mut(), &mut o, &mut ol) }, SASL_OK);
    assert_eq!(SCRIPT.with_borrow(|s| s.step_calls), calls, "the plugin stepped after SASL_OK");
    established(u, &conn, &m);
    finish(conn)
}

/// After SASL_OK: what getprop reports, and what encode and decode do.
fn established(u: &mut Unstructured<'_>, conn: &Conn, m: &Model) {
    let c = conn.0;
    let cut = |v: &[u8]| v[..v.iter().position(|&b| b == 0).unwrap_or(v.len())].to_vec();
    assert_eq!(string_prop(c, SASL_USERNAME), m.user.as_deref().map(cut), "USERNAME");
    assert_eq!(string_prop(c, SASL_AUTHUSER), m.authid.as_deref().map(cut), "AUTHUSER");
    assert_eq!(string_prop(c, SASL_AUTHSOURCE).as_deref(), Some(&b"fuzzplug"[..]));
    let layer = m.layer.filter(|l| l.2 && l.3);
    let ssf = uint_prop(c, SASL_SSF);
    let maxoutbuf = uint_prop(c, SASL_MAXOUTBUF);
    assert_eq!(ssf, m.layer.map_or(0, |l| l.0), "SSF");
    let plugin_max = m.layer.map_or(0, |l| l.1);
    assert_eq!(maxoutbuf, if plugin_max == 0 { m.props.maxbufsize } else { plugin_max }, "MAXOUTBUF");
    let max_in = m.props.maxbufsize.min(0xFF_FFFF) as usize;
    let mut broken = false;
    for _ in 0..u.int_in_range(1..=5).unwrap_or(1) {
        if u.arbitrary().unwrap_or(false) {
            encode(u, c, ssf, maxoutbuf, layer.is_some(), m.props.maxbufsize);
        } else if ssf == 0 || layer.is_none() {
            assert!(layer.is_none(), "SSF {ssf} reported for a layer the plugin set");
            let data: Box<[u8]> = bytes(u, 1, 100).into();
            let (mut o, mut ol): (*const c_char, c_uint) = (null(), 0);
            // SAFETY: exact-size input, writable out-pointers.
            let rc = unsafe { sasl_decode(c, data.as_ptr().cast(), data.len() as c_uint, &mut o, &mut ol) };
            if m.props.maxbufsize == 0 {
                assert_eq!(rc, SASL_TOOWEAK);
            } else if data.len() > m.props.maxbufsize as usize {
                assert_eq!(rc, SASL_BUFOVER);
            } else {
                assert_eq!((rc, read_buf(o, ol)), (SASL_OK, data.to_vec()), "SSF 0, yet decode changed the data");
            }
        } else if !broken {
            if m.props.maxbufsize == 0 {
                continue;
            }
            let payloads: Vec<Vec<u8>> = (0..u.int_in_range(1..=4).unwrap_or(1))
                .map(|_| {
                    if u.ratio(1, 4).unwrap_or(false) {
                        bytes(u, 0, max_in.min(40))
                    } else {
                        seal(&bytes(u, 0, max_in.saturating_sub(1).min(200)))
                    }
                })
                .collect();
            let first = SCRIPT.with_borrow(|s| s.decoded.len());
            let mut judged = first;
            let mut judge = |payload: &[u8]| {
                let plan = SCRIPT.with_borrow(|s| s.decode.get(judged).cloned()).unwrap_or(LayerPlan::Honest);
                judged += 1;
                let (rc, out) = decode_result(&plan, payload);
                if rc != SASL_OK { None } else { out.taken().ok().map(Option::unwrap_or_default) }
            };
            let mut decode = |chunk: &[u8]| {
                let chunk: Box<[u8]> = chunk.into();
                let (mut o, mut ol): (*const c_char, c_uint) = (null(), 0);
                // SAFETY: exact-size input, writable out-pointers.
                match unsafe { sasl_decode(c, chunk.as_ptr().cast(), chunk.len() as c_uint, &mut o, &mut ol) } {
                    SASL_OK => Ok(read_buf(o, ol)),
                    _ => Err(String::from_utf8_lossy(&errdetail(c)).into_owned()),
                }
            };
            broken = stream::deliver(u, &payloads, max_in, &mut judge, &mut decode);
            // Each call got one whole packet no longer than advertised.
            SCRIPT.with_borrow(|s| {
                for p in &s.decoded[first..] {
                    assert!(p.len() >= 4 && p[..4] == ((p.len() - 4) as u32).to_be_bytes(), "a packet not framed whole");
                    assert!(p.len() - 4 <= max_in, "a packet above the advertised size");
                }
            });
        }
    }
}

/// sasl_encode or sasl_encodev of fuzzed data, checked against SSF,
/// MAXOUTBUF and the plugin's encode plans.
fn encode(u: &mut Unstructured<'_>, c: *mut sasl_conn_t, ssf: u32, maxoutbuf: u32, layer: bool, maxbufsize: u32) {
    let data = bytes(u, 1, 300);
    if data.is_empty() {
        return;
    }
    let cut = u.int_in_range(0..=data.len()).unwrap_or(0);
    let parts: Vec<Box<[u8]>> = if u.arbitrary().unwrap_or(false) {
        vec![data[..cut].into(), data[cut..].into()]
    } else {
        vec![data.clone().into()]
    };
    let first = SCRIPT.with_borrow(|s| s.encoded.len());
    let (mut o, mut ol): (*const c_char, c_uint) = (null(), 0);
    // SAFETY: exact-size parts, writable out-pointers.
    let rc = unsafe {
        if parts.len() == 1 {
            sasl_encode(c, parts[0].as_ptr().cast(), parts[0].len() as c_uint, &mut o, &mut ol)
        } else {
            let iov: Box<[iovec]> =
                parts.iter().map(|p| iovec { iov_base: p.as_ptr().cast_mut().cast(), iov_len: p.len() }).collect();
            sasl_encodev(c, iov.as_ptr(), iov.len() as c_uint, &mut o, &mut ol)
        }
    };
    let chunks: Vec<Vec<u8>> = SCRIPT.with_borrow(|s| s.encoded[first..].to_vec());
    if maxbufsize == 0 {
        assert_eq!(rc, SASL_TOOWEAK);
        return;
    }
    if ssf == 0 || !layer {
        assert!(chunks.is_empty(), "the plugin's encode ran with SSF {ssf} reported");
        assert_eq!((rc, read_buf(o, ol)), (SASL_OK, data), "SSF 0, yet encode changed the data");
        return;
    }
    // Chunks of at most MAXOUTBUF, in order; each plugin answer checked.
    let max = maxoutbuf.max(1) as usize;
    let mut want = Vec::new();
    let mut want_rc = SASL_OK;
    let mut tried = 0;
    for (i, chunk) in data.chunks(max).enumerate() {
        tried = i + 1;
        assert_eq!(chunks.get(i).map(Vec::as_slice), Some(chunk), "chunk {i} the plugin got");
        let plan = SCRIPT.with_borrow(|s| s.encode.get(first + i).cloned()).unwrap_or(LayerPlan::Honest);
        let (prc, out) = encode_result(&plan, chunk);
        let packet = match (prc, out.taken()) {
            (SASL_OK, Ok(p)) => p.unwrap_or_default(),
            (SASL_OK, Err(rc)) => {
                want_rc = rc;
                break;
            }
            (rc, _) => {
                want_rc = mapped(rc);
                break;
            }
        };
        if packet.len() < 4 || packet[..4] != ((packet.len() - 4) as u32).to_be_bytes() {
            want_rc = SASL_FAIL;
            break;
        }
        want.extend_from_slice(&packet);
    }
    assert_eq!(rc, want_rc, "sasl_encode");
    assert_eq!(chunks.len(), tried, "chunks the plugin encoded");
    if rc == SASL_OK {
        assert_eq!(read_buf(o, ol), want, "the packets sent");
    }
}

fn finish(conn: Conn) {
    drop(conn);
    assert_eq!(SCRIPT.with_borrow(|s| s.contexts), 0, "the plugin's context was not disposed (or twice)");
}
