//! SASL mechanisms, client side, as small pure-Rust state machines.
//!
//! A mechanism knows nothing of C: it reads server input as bytes, asks its
//! [`Session`] for credentials, randomness and options, and returns bytes to
//! send. The connection core (`crate::core`) implements [`Session`] on top of
//! the application's callbacks and prompts, picks a mechanism from
//! [`mechanisms()`] (the built-in [`MECHANISMS`] and any C plugins loaded, see
//! [`registry`]), and does the security-layer framing for [`SecurityLayer`]s.
//!
//! Retrying after prompts: when a credential must be prompted for,
//! [`Session::credentials`] returns an error with [`Code::Interact`]. The
//! mechanism returns it unchanged (`?`) *before changing any of its state*; the
//! application fills the prompts and the core calls [`ClientMech::step`] again
//! with the same input, and this time the answers are there.
#![forbid(unsafe_code)]

use std::fmt;

use zeroize::Zeroizing;

pub mod anonymous;
pub mod cram_md5;
pub mod digest_md5;
pub mod external;
pub mod gs2;
pub mod gss;
pub mod gssapi;
mod hi;
pub mod login;
pub mod ntlm;
pub mod oauth;
pub mod plain;
pub mod registry;
pub mod saslprep;
pub mod scram;

pub use registry::{find, mechanisms};

/// Bytes that must not outlive their use: passwords, keys, tokens.
pub type Secret = Zeroizing<Vec<u8>>;

/// Security properties a mechanism provides (the `SASL_SEC_*` values).
pub mod sec {
    pub const NOPLAINTEXT: u32 = 0x0001;
    pub const NOACTIVE: u32 = 0x0002;
    pub const NODICTIONARY: u32 = 0x0004;
    pub const FORWARD_SECRECY: u32 = 0x0008;
    pub const NOANONYMOUS: u32 = 0x0010;
    pub const PASS_CREDENTIALS: u32 = 0x0020;
    pub const MUTUAL_AUTH: u32 = 0x0040;
    /// Hash strength in bits, stored in bytes above bit 16 (as Cyrus does).
    pub const fn hash_strength_bits(bits: u32) -> u32 {
        (bits / 8) << 16
    }
}

/// Mechanism features (the `SASL_FEAT_*` values of Cyrus's plugin API).
pub mod feat {
    pub const NEED_SERVER_FQDN: u32 = 0x0001;
    pub const WANT_CLIENT_FIRST: u32 = 0x0002;
    pub const SERVER_FIRST: u32 = 0x0010;
    pub const ALLOWS_PROXY: u32 = 0x0020;
    pub const CHANNEL_BINDING: u32 = 0x0800;
    pub const SUPPORTS_HTTP: u32 = 0x1000;
}

/// Connection flags given to `sasl_client_new` (the `SASL_*` usage flags).
pub mod conn_flags {
    pub const SUCCESS_DATA: u32 = 0x0004;
    pub const NEED_PROXY: u32 = 0x0008;
    pub const NEED_HTTP: u32 = 0x0010;
}

/// SASL result codes a mechanism can fail with; the core maps them to the
/// C values of sasl.h (`SASL_BADPROT` ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Prompts are pending: return this unchanged, state untouched.
    Interact,
    Fail,
    NoMem,
    BufOver,
    NoMech,
    /// Malformed or unexpected server input.
    BadProt,
    NotDone,
    BadParam,
    TryAgain,
    /// Integrity check failed in a security layer.
    BadMac,
    /// The server failed mutual authentication.
    BadServ,
    WrongMech,
    /// The server said authentication failed.
    BadAuth,
    NoAuthz,
    TooWeak,
    Encrypt,
    /// Channel binding failed or is impossible.
    BadBinding,
    /// A failure code an application callback returned, handed back to the
    /// application unchanged.
    Application(i32),
}

/// A mechanism failure: a SASL code and a human-readable detail for
/// `sasl_errdetail`. Details never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub detail: String,
}

impl Error {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Error { code, detail: detail.into() }
    }
    pub fn interact() -> Self {
        Error::new(Code::Interact, "user interaction needed")
    }
    pub fn bad_prot(detail: impl Into<String>) -> Self {
        Error::new(Code::BadProt, detail)
    }
    pub fn bad_serv(detail: impl Into<String>) -> Self {
        Error::new(Code::BadServ, detail)
    }
    pub fn bad_auth(detail: impl Into<String>) -> Self {
        Error::new(Code::BadAuth, detail)
    }
    pub fn bad_param(detail: impl Into<String>) -> Self {
        Error::new(Code::BadParam, detail)
    }
    pub fn fail(detail: impl Into<String>) -> Self {
        Error::new(Code::Fail, detail)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.detail)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// A credential a mechanism can ask for; each maps to a Cyrus callback id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Authorization identity (`SASL_CB_USER`). Optional: absent when the
    /// application has no such callback.
    AuthzId,
    /// Authentication identity (`SASL_CB_AUTHNAME`). Required.
    AuthName,
    /// Password or bearer token (`SASL_CB_PASS`). Required.
    Password,
    /// Realm (`SASL_CB_GETREALM`), chosen among the realms the server offered.
    Realm,
}

/// What a mechanism asks for in one [`Session::credentials`] call.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub authzid: bool,
    pub authname: bool,
    pub password: bool,
    /// Ask for a realm, offering these (possibly none) to the user.
    pub realm: Option<&'a [String]>,
    /// How the identities are canonicalised.
    pub canon: Canon<'a>,
    /// The default answer the authzid's prompt offers (Cyrus's EXTERNAL
    /// and ANONYMOUS offer ""; the others none).
    pub authzid_default: Option<&'a str>,
    /// A password the application's callback gave while other items had to
    /// be prompted for is kept for the retry, not asked for again (Cyrus's
    /// SCRAM and DIGEST-MD5 keep it; its other mechanisms ask again).
    pub keep_password: bool,
}

impl Request<'_> {
    /// authzid (optional), authname and password: what most mechanisms need.
    pub const USER_PASS: Request<'static> = Request {
        authzid: true,
        authname: true,
        password: true,
        realm: None,
        canon: Canon::AuthidFirst,
        authzid_default: None,
        keep_password: false,
    };
}

/// Which identities the core canonicalises (the application's
/// `SASL_CB_CANON_USER`, then white space trimmed), and in which order: the
/// order of Cyrus's plugins, which an application's callback can observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canon<'a> {
    /// The authentication name, then the authzid (DIGEST-MD5, SCRAM; and
    /// mechanisms without an authzid).
    AuthidFirst,
    /// The authzid, then the authentication name (PLAIN).
    AuthzidFirst,
    /// This fixed identity (ANONYMOUS); the authzid is a trace, not a name,
    /// and comes back as the application gave it.
    Trace(&'a [u8]),
    /// Nothing yet: the authzid comes back as the application gave it, for
    /// [`Canon::Established`] once the exchange has named the client (Cyrus's
    /// GSSAPI asks for the authzid first and canonicalises both names when
    /// the context is established).
    Deferred,
    /// The identity established outside the application's answers (a
    /// Kerberos principal, EXTERNAL's) and an authzid asked for with
    /// [`Canon::Deferred`]: the authzid, then the identity, each with its
    /// own flag; with no authzid, the identity with both. The authzid is
    /// not looked up again.
    Established { authid: &'a [u8], authzid: Option<&'a [u8]> },
}

/// Answers to a [`Request`]. A field is `Some` for everything requested,
/// except `authzid`, which is `None` when the application offers none or
/// it is the authentication identity, and `realm`, which is `None` when the
/// application chose none. Names are bytes, as the application gave them
/// (not necessarily UTF-8), canonicalised; `authname` is the canonical
/// identity of [`Canon::Established`] and [`Canon::Trace`] too.
#[derive(Default)]
pub struct Credentials {
    pub authzid: Option<Vec<u8>>,
    pub authname: Option<Vec<u8>>,
    pub password: Option<Secret>,
    pub realm: Option<Vec<u8>>,
}

/// The most random bytes a client nonce takes (DIGEST-MD5's cnonce).
const MAX_NONCE_BYTES: usize = 32;

/// A fresh client nonce: `len` (at most [`MAX_NONCE_BYTES`]) random bytes,
/// base64-encoded.
pub fn client_nonce(session: &mut dyn Session, len: usize) -> Result<String> {
    #[cfg(test)]
    if let Some(fixed) = session.fixed_nonce() {
        return Ok(fixed);
    }
    use base64::Engine as _;
    // On the stack: drawn on every start, so no allocation for it.
    let mut raw = Zeroizing::new([0u8; MAX_NONCE_BYTES]);
    let raw = &mut raw[..len];
    session.random(raw)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(raw))
}

/// A yes/no option through `SASL_CB_GETOPT`: `default` when unset, or
/// (with a warning naming `mech`) when the value is neither.
pub fn flag_option(session: &mut dyn Session, mech: &str, name: &str, default: bool) -> bool {
    let Some(value) = session.option(name) else { return default };
    match value.trim().to_ascii_lowercase().as_str() {
        "no" | "n" | "false" | "f" | "off" | "0" => false,
        "yes" | "y" | "true" | "t" | "on" | "1" => true,
        _ => {
            let shown = if default { "yes" } else { "no" };
            session.log(LogLevel::Warn, &format!("{mech}: invalid {name} value {value:?}; using {shown}"));
            default
        }
    }
}

/// A message that holds a secret, handed over as a step's output: moved
/// out of its zeroizing buffer rather than copied (a copy would be left
/// unwiped), since the C layer wipes every output it replaces or drops.
/// Built with a spare byte, it also takes the C layer's NUL in place.
pub fn into_output(mut message: Secret) -> Vec<u8> {
    std::mem::take(&mut *message)
}

/// Appends `name` as an RFC 5802 `saslname` (GS2 and SCRAM): `,` becomes
/// `=2C` and `=` becomes `=3D`; other bytes are copied as they are.
pub fn push_saslname(out: &mut Vec<u8>, name: &[u8]) {
    if !name.iter().any(|&b| b == b',' || b == b'=') {
        // Most names: nothing to escape, one copy.
        out.extend_from_slice(name);
        return;
    }
    for &b in name {
        match b {
            b',' => out.extend_from_slice(b"=2C"),
            b'=' => out.extend_from_slice(b"=3D"),
            b => out.push(b),
        }
    }
}

/// Log levels (`SASL_LOG_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Err = 1,
    Fail = 2,
    Warn = 3,
    Note = 4,
    Debug = 5,
    Trace = 6,
}

/// Cyrus's option for how much plugins log (a `SASL_LOG_*` number).
pub const LOG_LEVEL_OPTION: &str = "log_level";

/// Whether a `log_level` value asks for `SASL_LOG_DEBUG` messages. The
/// library's own debug messages (which mechanism served a start, which
/// layer was chosen) wait for it: many applications show every message
/// they get (librdkafka prints `SASL_LOG_DEBUG` as a notice, sssd sends it
/// to syslog), and Cyrus's one per-step debug line ("GSSAPI client step")
/// is a known nuisance there already.
pub fn debug_wanted(log_level: Option<&str>) -> bool {
    log_level.and_then(|v| v.trim().parse::<i32>().ok()).is_some_and(|l| l >= LogLevel::Debug as i32)
}

/// What a mechanism may ask of the connection it runs on.
pub trait Session {
    /// Gets the requested credentials from callbacks or filled prompts.
    /// Returns `Code::Interact` when prompts must be shown first (all the
    /// missing ones are collected into one prompt list), and `BadParam` or
    /// the callback's failure when the application refuses.
    fn credentials(&mut self, request: &Request<'_>) -> Result<Credentials>;
    /// Fills `buf` from the operating system's secure random source.
    fn random(&mut self, buf: &mut [u8]) -> Result<()>;
    /// A fixed client nonce, so that unit tests can reproduce published
    /// exchanges. It exists only in `cargo test` builds: the library has no
    /// way, from any callback, option or environment, to fix a nonce
    /// (applications that register `SASL_CB_CNONCE`, which Cyrus never
    /// calls, must not get it used).
    #[cfg(test)]
    fn fixed_nonce(&mut self) -> Option<String> {
        None
    }
    /// An option for this mechanism from `SASL_CB_GETOPT`.
    fn option(&mut self, name: &str) -> Option<String>;
    /// The client host's name (looked up lazily, only when a mechanism asks).
    fn client_hostname(&mut self) -> String;
    /// Logs through `SASL_CB_LOG`. Never pass secrets.
    fn log(&mut self, level: LogLevel, message: &str);
    /// Logs one of this library's own messages (one Cyrus does not log) at
    /// `SASL_LOG_DEBUG`, only when the application asks for debug messages
    /// (see [`debug_wanted`]). Never pass secrets.
    fn debug(&mut self, message: &str) {
        if debug_wanted(self.option(LOG_LEVEL_OPTION).as_deref()) {
            self.log(LogLevel::Debug, message);
        }
    }
    /// The C side of this call (see [`Params::host`]); None for Rust callers.
    fn host(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// Re-authentication memory of this process (the core's `reauth`): the
    /// value an earlier exchange stored under `id`, every part of which must
    /// match; with `take` it is removed. `id` starts with the mechanism's
    /// name and may hold secrets: only a keyed hash of it is kept.
    fn recall(&mut self, _id: &[&[u8]], _take: bool) -> Option<Secret> {
        None
    }
    /// Stores `value` under `id` for a later [`Session::recall`].
    fn remember(&mut self, _id: &[&[u8]], _value: &[u8]) {}
    /// Removes what is stored under `id`.
    fn forget(&mut self, _id: &[&[u8]]) {}
}

/// Channel-binding data set by the application (`SASL_CHANNEL_BINDING`).
#[derive(Clone, Debug)]
pub struct ChannelBinding {
    /// Binding type, e.g. `tls-unique`, `tls-server-end-point`, `tls-exporter`.
    pub name: String,
    /// When critical, authentication must fail rather than go unbound.
    pub critical: bool,
    pub data: Vec<u8>,
}

/// How the selected mechanism uses channel binding (RFC 5056 via GS2 flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CbDisposition {
    /// No binding data, or binding not used: GS2 flag `n`.
    None,
    /// Client could bind but the server did not offer -PLUS: GS2 flag `y`.
    Want,
    /// Binding is used (a -PLUS mechanism was chosen): GS2 flag `p=<name>`.
    Used,
}

/// Security properties of the connection (`sasl_security_properties_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityProps {
    pub min_ssf: u32,
    pub max_ssf: u32,
    /// Largest security-layer packet we accept (our receive buffer).
    pub maxbufsize: u32,
    pub security_flags: u32,
}

impl Default for SecurityProps {
    /// Cyrus's defaults for a new connection (all zero): no security layer
    /// until the application says what it accepts.
    fn default() -> Self {
        SecurityProps { min_ssf: 0, max_ssf: 0, maxbufsize: 0, security_flags: 0 }
    }
}

/// Everything a mechanism learns about its connection when it is created.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    pub service: &'a str,
    pub server_fqdn: Option<&'a str>,
    /// "a.b.c.d;port" or IPv6 form, as given to sasl_client_new.
    pub local_addr: Option<&'a str>,
    pub remote_addr: Option<&'a str>,
    pub props: SecurityProps,
    /// SSF of an external layer (TLS), `SASL_SSF_EXTERNAL`.
    pub external_ssf: u32,
    /// Identity established externally (TLS client cert), `SASL_AUTH_EXTERNAL`.
    pub external_authid: Option<&'a [u8]>,
    /// `conn_flags::*` given to sasl_client_new.
    pub flags: u32,
    pub channel_binding: Option<&'a ChannelBinding>,
    pub cb_disposition: CbDisposition,
    /// The application's GSS-API credential (`SASL_GSS_CREDS`), used by
    /// the Kerberos mechanisms instead of the default ticket cache.
    pub gss_creds: Option<gss::CredHandle>,
    /// The C side of the connection, opaque here: mechanisms that are C
    /// plugins (`crate::plugin`) find the C connection and callbacks in it.
    /// None for Rust callers and in tests.
    pub host: Option<&'a dyn std::any::Any>,
}

/// The result of one successful step.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Send this and expect another challenge (`SASL_CONTINUE`).
    Continue(Vec<u8>),
    /// Nothing to send yet: the first step of a mechanism whose exchange
    /// may start from either side (DIGEST-MD5), when it has no initial
    /// response. `SASL_CONTINUE` with no output; the server speaks first.
    AwaitServer,
    /// Authentication is complete on the client side (`SASL_OK`); send the
    /// bytes if there are any. The outcome must be ready.
    Done(Option<Vec<u8>>),
    /// As `Done`, with the outcome at once: a mechanism that completes in
    /// one step then keeps nothing, and starts without a heap allocation
    /// (a stateless one is boxed for free).
    DoneWith(Option<Vec<u8>>, Outcome),
}

/// What a completed authentication established.
pub struct Outcome {
    /// Authorization identity in effect, `SASL_USERNAME`: the authzid if
    /// one was sent; None when it is the authentication identity.
    pub user: Option<Vec<u8>>,
    /// Authentication identity: `SASL_AUTHUSER`.
    pub authid: Vec<u8>,
    /// Security strength factor of the negotiated layer (0 = none).
    pub ssf: u32,
    /// Largest plaintext the layer can encode in one packet (0 = no layer).
    pub maxoutbuf: u32,
    pub layer: Option<Box<dyn SecurityLayer>>,
}

impl Outcome {
    /// The outcome of a mechanism without a security layer: the
    /// authorization identity (None: the authentication one) and the
    /// authentication identity.
    pub fn without_layer(authzid: Option<Vec<u8>>, authid: Vec<u8>) -> Self {
        Outcome { user: authzid, authid, ssf: 0, maxoutbuf: 0, layer: None }
    }

    /// The authorization identity in effect (`SASL_USERNAME`).
    pub fn user(&self) -> &[u8] {
        self.user.as_deref().unwrap_or(&self.authid)
    }
}

/// Equal when they report the same identities, strength and buffer size,
/// and both or neither have a layer (layers themselves do not compare).
impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        (&self.user, &self.authid, self.ssf, self.maxoutbuf, self.layer.is_some())
            == (&other.user, &other.authid, other.ssf, other.maxoutbuf, other.layer.is_some())
    }
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcome")
            .field("user", &self.user)
            .field("authid", &self.authid)
            .field("ssf", &self.ssf)
            .field("maxoutbuf", &self.maxoutbuf)
            .field("layer", &self.layer.is_some())
            .finish()
    }
}

/// Per-packet protection of a negotiated security layer. The core does the
/// 4-byte length framing, the splitting at `maxoutbuf` and the reassembly of
/// packets split across reads; a layer only protects and checks one payload.
pub trait SecurityLayer: Send {
    /// Appends the protected form of `plain` (without the length prefix)
    /// to `out`.
    fn wrap(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<()>;
    /// Checks one received payload (without the length prefix) and appends
    /// its plaintext to `out`. On failure nothing may be appended.
    fn unwrap(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<()>;
    /// The largest payload we told the peer we accept (the maxbuf the
    /// mechanism advertised). The core refuses a longer packet as soon as its
    /// length arrives, so a peer can never make it buffer more than this.
    fn max_recv(&self) -> usize;
    /// Whether a packet of length 0 is the layer's to judge. The built-in
    /// layers' packets always hold a MAC or a token, so the framing refuses
    /// an empty one by its length (as Cyrus's own layers do, without
    /// logging it); a plugin's layer decides for itself.
    fn judges_empty_packets(&self) -> bool {
        false
    }
}

/// A client mechanism in progress on one connection.
pub trait ClientMech: Send {
    /// One step: `input` is the server's challenge (empty on the first step
    /// and when the server sent nothing).
    fn step(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step>;
    /// Takes what the exchange established; called once after [`Step::Done`]
    /// (never after [`Step::DoneWith`], which carries it).
    fn outcome(&mut self) -> Result<Outcome>;
    /// The name to report as the selected mechanism, when it differs from
    /// [`MechInfo::name`] (a -PLUS variant).
    fn name(&self) -> Option<&str> {
        None
    }
    /// `(user, authid)` once they have been sent, before the exchange is
    /// complete: for mechanisms whose last message the server answers only
    /// with success, after which the application never steps again.
    fn identity(&self) -> Option<(&[u8], &[u8])> {
        None
    }
    /// Whether the mechanism builds its own prompt list and hands it to the
    /// application through the host (a C plugin's `sasl_interact_t` array),
    /// so that [`Code::Interact`] comes without prompts from the core.
    fn own_prompts(&self) -> bool {
        false
    }
    /// Whether the exchange must live until the connection is disposed of
    /// once it is complete (a C plugin's, whose `mech_dispose` Cyrus calls
    /// then); others are dropped at completion, and what they held with them.
    fn keep(&self) -> bool {
        false
    }
}

/// Static facts about a mechanism, what Cyrus plugins declare: used by the
/// core for selection exactly as Cyrus uses them.
pub struct MechInfo {
    pub name: &'static str,
    pub max_ssf: u32,
    /// `sec::*` properties the mechanism provides.
    pub security_flags: u32,
    /// `feat::*` bits.
    pub features: u32,
    /// Credentials the application must be able to supply (by callback or
    /// prompt) for the mechanism to be considered.
    pub required: &'static [Need],
    /// Bearer-token mechanisms: chosen only when the server's list leaves no
    /// other acceptable mechanism (or the application names only them), so a
    /// password is never sent as a token in place of a real mechanism.
    pub last_resort: bool,
    /// Starts the mechanism, and says whether it can run here at all.
    pub factory: &'static dyn Factory,
}

impl MechInfo {
    /// A new exchange of this mechanism.
    pub fn start(&self, params: &Params<'_>) -> Result<Box<dyn ClientMech>> {
        self.factory.start(params)
    }
}

/// How a mechanism is started. Built-in mechanisms are plain functions
/// ([`NewFn`]); mechanisms that depend on the system (a Kerberos credential,
/// a loaded plugin) implement [`Factory::check`] too.
pub trait Factory: Sync {
    fn start(&self, params: &Params<'_>) -> Result<Box<dyn ClientMech>>;
    /// Whether the mechanism can run on this connection at all, checked
    /// during selection, so that an unusable mechanism is passed over (with
    /// this reason) instead of being chosen and failing. Must be cheap: it
    /// runs for every candidate of every `sasl_client_start`.
    fn check(&self, _params: &Params<'_>) -> std::result::Result<(), String> {
        Ok(())
    }
    /// Whether the connection has the credential the mechanism runs on (a
    /// Kerberos ticket), read without contacting anyone. Without it the
    /// mechanism is chosen only when nothing else the server offers
    /// qualifies, and then fails in its first step as Cyrus's does.
    fn credential(&self, _params: &Params<'_>) -> std::result::Result<(), String> {
        Ok(())
    }
    /// Makes the mechanism ready to start, once it is about to be chosen
    /// (not when mechanisms are only listed): a plugin is opened here. An
    /// error passes the mechanism over, with this reason.
    fn prepare(&self) -> std::result::Result<(), String> {
        Ok(())
    }
    /// Which implementation serves the mechanism, for logs and
    /// `sasl_client_plugin_info`.
    fn origin(&self) -> String {
        "built in".to_owned()
    }
}

/// A built-in mechanism's constructor.
pub type NewFn = fn(&Params<'_>) -> Result<Box<dyn ClientMech>>;

impl Factory for NewFn {
    fn start(&self, params: &Params<'_>) -> Result<Box<dyn ClientMech>> {
        self(params)
    }
}

impl fmt::Debug for MechInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MechInfo").field("name", &self.name).finish_non_exhaustive()
    }
}

/// What most password mechanisms require (Cyrus's default).
pub const NEEDS_USER_PASS: &[Need] = &[Need::AuthName, Need::Password];

/// Every mechanism built into this library, strongest first (the order of
/// `sasl_global_listmech` is the reverse, as in Cyrus): Cyrus 2.1.28's
/// order as Debian's build lists it (`sasl_client_plugin_info`), the
/// Kerberos mechanisms first and GS2-KRB5 after SCRAM. Plugins add to it:
/// selection reads [`mechanisms()`].
pub static MECHANISMS: &[&MechInfo] = &[
    &gssapi::GSS_SPNEGO,
    &gssapi::GSSAPI,
    &scram::SCRAM_SHA_512,
    &scram::SCRAM_SHA_384,
    &scram::SCRAM_SHA_256,
    &scram::SCRAM_SHA_224,
    &scram::SCRAM_SHA_1,
    &gs2::GS2_KRB5,
    &digest_md5::INFO,
    &external::INFO,
    &cram_md5::INFO,
    &ntlm::INFO,
    &oauth::OAUTHBEARER,
    &oauth::XOAUTH2,
    &plain::INFO,
    &login::INFO,
    &anonymous::INFO,
];

/// Spreads 56 key bits over 8 bytes, 7 bits to a byte in the high bits,
/// leaving the low (parity) bit clear, as DES keys are laid out (DIGEST-MD5's
/// des and 3des layers, NTLMv1's responses).
pub(crate) fn des_key(seven: &[u8]) -> [u8; 8] {
    let mut bits = 0u64;
    for &b in &seven[..7] {
        bits = bits << 8 | u64::from(b);
    }
    let mut key = [0u8; 8];
    for (n, k) in key.iter_mut().enumerate() {
        *k = ((bits >> (49 - 7 * n)) as u8 & 0x7f) << 1;
    }
    zeroize::Zeroize::zeroize(&mut bits);
    key
}

#[cfg(test)]
pub(crate) mod testing {
    //! A scripted [`Session`] for mechanism unit tests.
    use super::*;

    #[derive(Default)]
    pub struct FakeSession {
        pub authzid: Option<Vec<u8>>,
        pub authname: Option<Vec<u8>>,
        pub password: Option<Vec<u8>>,
        pub realm: Option<Vec<u8>>,
        /// When set, credentials() answers Interact once, then the values.
        pub interact_first: bool,
        pub cnonce: Option<String>,
        pub options: Vec<(String, String)>,
        pub hostname: String,
        /// Byte used to fill random buffers (deterministic tests).
        pub random_byte: u8,
        pub logs: Vec<(LogLevel, String)>,
        pub requests: usize,
        /// The re-authentication memory, by id parts joined with NUL.
        pub memory: Vec<(Vec<u8>, Vec<u8>)>,
    }

    fn joined(id: &[&[u8]]) -> Vec<u8> {
        id.join(&0u8)
    }

    impl Session for FakeSession {
        fn credentials(&mut self, request: &Request<'_>) -> Result<Credentials> {
            self.requests += 1;
            if self.interact_first {
                self.interact_first = false;
                return Err(Error::interact());
            }
            let missing = |what: &str| Error::bad_param(format!("test session has no {what}"));
            // As the core answers: the fixed identity of EXTERNAL and
            // ANONYMOUS as the authname, no authzid equal to the authname.
            let authname = match request.canon {
                Canon::Trace(id) | Canon::Established { authid: id, .. } => Some(id.to_vec()),
                _ if request.authname => Some(self.authname.clone().ok_or_else(|| missing("authname"))?),
                _ => None,
            };
            let authzid = if request.authzid { self.authzid.clone() } else { None };
            let authzid = match request.canon {
                Canon::Trace(_) | Canon::Deferred => authzid,
                Canon::Established { authzid, .. } => {
                    authzid.map(<[u8]>::to_vec).filter(|z| !z.is_empty() && Some(z) != authname.as_ref())
                }
                _ => authzid.filter(|z| !z.is_empty() && Some(z) != authname.as_ref()),
            };
            Ok(Credentials {
                authzid,
                authname,
                password: if request.password {
                    Some(Zeroizing::new(self.password.clone().ok_or_else(|| missing("password"))?))
                } else {
                    None
                },
                realm: if request.realm.is_some() { self.realm.clone() } else { None },
            })
        }
        fn random(&mut self, buf: &mut [u8]) -> Result<()> {
            buf.fill(self.random_byte);
            Ok(())
        }
        fn fixed_nonce(&mut self) -> Option<String> {
            self.cnonce.clone()
        }
        fn option(&mut self, name: &str) -> Option<String> {
            self.options.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        }
        fn client_hostname(&mut self) -> String {
            self.hostname.clone()
        }
        fn log(&mut self, level: LogLevel, message: &str) {
            self.logs.push((level, message.to_owned()));
        }
        fn recall(&mut self, id: &[&[u8]], take: bool) -> Option<Secret> {
            let at = self.memory.iter().position(|(k, _)| *k == joined(id))?;
            let value = Zeroizing::new(self.memory[at].1.clone());
            if take {
                self.memory.remove(at);
            }
            Some(value)
        }
        fn remember(&mut self, id: &[&[u8]], value: &[u8]) {
            self.forget(id);
            self.memory.push((joined(id), value.to_vec()));
        }
        fn forget(&mut self, id: &[&[u8]]) {
            self.memory.retain(|(k, _)| *k != joined(id));
        }
    }

    pub fn params() -> Params<'static> {
        Params {
            service: "imap",
            server_fqdn: Some("elwood.innosoft.com"),
            local_addr: None,
            remote_addr: None,
            // An application that supports security layers.
            props: SecurityProps { max_ssf: u32::MAX, maxbufsize: 65536, ..SecurityProps::default() },
            external_ssf: 0,
            external_authid: None,
            flags: 0,
            channel_binding: None,
            cb_disposition: CbDisposition::None,
            gss_creds: None,
            host: None,
        }
    }

    /// Bytes from hex, ignoring whitespace (test vectors).
    pub fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::unhex;
    use super::*;

    #[test]
    fn des_key_expansion() {
        // Computed independently as bit strings: 7-bit groups, parity 0:
        //   python3 -c 's="".join(format(b,"08b") for b in bytes.fromhex("0123456789abcd"));
        //     print(bytes(int(s[i:i+7]+"0",2) for i in range(0,56,7)).hex())'
        assert_eq!(des_key(&unhex("0123456789abcd")), unhex("0090d0ac784cae9a")[..]);
        assert_eq!(des_key(&unhex("ffffffffffffff")), [0xfe; 8]);
        assert_eq!(des_key(&unhex("80000000000001")), unhex("8000000000000002")[..]);
    }

    #[test]
    fn saslname_escapes() {
        // RFC 5802 section 5.1: "," as "=2C", "=" as "=3D".
        for (name, escaped) in [(&b"user"[..], &b"user"[..]), (b"a,b=c", b"a=2Cb=3Dc"), (b"=,", b"=3D=2C"), (b"", b"")] {
            let mut out = b"n=".to_vec();
            push_saslname(&mut out, name);
            assert_eq!(&out[2..], escaped);
        }
    }
}
