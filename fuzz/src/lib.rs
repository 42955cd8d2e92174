//! Support for the fuzz targets in `fuzz_targets/`: a scripted [`Session`]
//! and [`AppCallbacks`], fuzz-chosen edits of valid messages, and small
//! test-only server models (SCRAM, DIGEST-MD5 with its security layers)
//! written from the RFCs on the same crates the library uses, so that every
//! target can check behaviour (a correct answer is accepted, a corrupted one
//! refused, data round-trips) and not only the absence of crashes.

pub mod digest_server;
pub mod ntlm_server;
pub mod scram_server;
pub mod stream;

pub use libfuzzer_sys::arbitrary::{self, Unstructured};

use sasl2::core::callbacks::{CANON_AUTHID, CANON_AUTHZID};
use sasl2::core::{AppCallbacks, Availability, CallbackId, Lookup, Progress};
use sasl2::mech::{CbDisposition, Canon, Code, Credentials, Error, LogLevel, Params, Request, Secret, SecurityProps, Session};
use zeroize::Zeroizing;

/// Longest error detail or log message any fuzz input may produce. Real
/// ones are a few hundred bytes; server text quoted in them is cut.
pub const MAX_DETAIL: usize = 4096;

/// A [`Session`] that answers from values the fuzz input chose.
#[derive(Default)]
pub struct FuzzSession {
    pub authzid: Option<String>,
    pub authname: String,
    pub password: Vec<u8>,
    /// Answer to a realm request (None: the request gets no answer).
    pub realm: Option<String>,
    /// The realm lists the mechanism offered.
    pub realm_requests: Vec<Vec<String>>,
    /// When set, the first credentials() call answers Interact.
    pub interact_first: bool,
    pub options: Vec<(&'static str, String)>,
    pub hostname: String,
    /// Seed of the deterministic "random" bytes.
    pub random_seed: u8,
    pub logs: usize,
}

impl Session for FuzzSession {
    fn credentials(&mut self, request: &Request<'_>) -> sasl2::mech::Result<Credentials> {
        if std::mem::take(&mut self.interact_first) {
            return Err(Error::interact());
        }
        if let Some(realms) = request.realm {
            self.realm_requests.push(realms.to_vec());
        }
        // As the core answers (its canonicalisation is the identity here):
        // an established identity (EXTERNAL's, a Kerberos principal) and
        // ANONYMOUS's fixed one as the authname, no
        // authzid that is empty or equal to the authname, ANONYMOUS's trace
        // as given.
        let bytes = |s: &Option<String>| s.clone().map(String::into_bytes);
        let authname = match request.canon {
            Canon::Trace(id) | Canon::Established { authid: id, .. } => Some(id.to_vec()),
            _ => request.authname.then(|| self.authname.clone().into_bytes()),
        };
        let authzid = if request.authzid { bytes(&self.authzid) } else { None };
        let authzid = match request.canon {
            // The authzid as given, canonicalised later with Established.
            Canon::Trace(_) | Canon::Deferred => authzid,
            Canon::Established { authzid, .. } => {
                authzid.map(<[u8]>::to_vec).filter(|z| !z.is_empty() && Some(z) != authname.as_ref())
            }
            _ => authzid.filter(|z| !z.is_empty() && Some(z) != authname.as_ref()),
        };
        Ok(Credentials {
            authzid,
            authname,
            password: request.password.then(|| Zeroizing::new(self.password.clone())),
            realm: if request.realm.is_some() { bytes(&self.realm) } else { None },
        })
    }
    fn random(&mut self, buf: &mut [u8]) -> sasl2::mech::Result<()> {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.random_seed.wrapping_add(i as u8).wrapping_mul(167);
        }
        Ok(())
    }
    fn option(&mut self, name: &str) -> Option<String> {
        self.options.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    }
    fn client_hostname(&mut self) -> String {
        self.hostname.clone()
    }
    fn log(&mut self, _level: LogLevel, message: &str) {
        assert!(message.len() <= MAX_DETAIL, "log message of {} bytes", message.len());
        self.logs += 1;
    }
}

/// An application's callbacks as the core sees them, answering from values
/// the fuzz input chose. Prompts are never answered (availability
/// `Prompt` leads to `Status::Interact`).
pub struct FuzzApp {
    pub user: Lookup<String>,
    pub authname: Lookup<String>,
    pub pass: Lookup<Secret>,
    pub realm: Lookup<String>,
    pub options: Vec<(&'static str, String)>,
    pub logged: usize,
    /// Longest log message allowed.
    pub max_log: usize,
    /// The identities the exchange established (as the C layer's
    /// SASL_AUTHUSER and SASL_USERNAME see them).
    pub authid: Option<Vec<u8>>,
    pub username: Option<Vec<u8>>,
}

impl FuzzApp {
    /// An application with callbacks for a user name and password.
    pub fn with_password(authname: &str, password: &[u8]) -> Self {
        FuzzApp {
            user: Lookup::Absent,
            authname: Lookup::Value(authname.to_owned()),
            pass: Lookup::Value(Zeroizing::new(password.to_vec())),
            realm: Lookup::Absent,
            options: Vec::new(),
            logged: 0,
            max_log: MAX_DETAIL,
            authid: None,
            username: None,
        }
    }
}

fn availability<T>(l: &Lookup<T>) -> Availability {
    match l {
        Lookup::Value(_) | Lookup::Failed(_) => Availability::Callback,
        Lookup::Prompt => Availability::Prompt,
        Lookup::Absent => Availability::Absent,
    }
}

fn copy<T: Clone, U: From<T>>(l: &Lookup<T>) -> Lookup<U> {
    match l {
        Lookup::Value(v) => Lookup::Value(v.clone().into()),
        Lookup::Prompt => Lookup::Prompt,
        Lookup::Absent => Lookup::Absent,
        Lookup::Failed(c) => Lookup::Failed(*c),
    }
}

impl AppCallbacks for FuzzApp {
    fn availability(&self, id: CallbackId) -> Availability {
        match id {
            CallbackId::User => availability(&self.user),
            CallbackId::AuthName => availability(&self.authname),
            CallbackId::Pass => availability(&self.pass),
            CallbackId::GetRealm => availability(&self.realm),
            _ => Availability::Absent,
        }
    }
    fn simple(&mut self, id: CallbackId) -> Lookup<Vec<u8>> {
        match id {
            CallbackId::User => copy(&self.user),
            CallbackId::AuthName => copy(&self.authname),
            _ => Lookup::Absent,
        }
    }
    fn secret(&mut self) -> Lookup<Secret> {
        copy(&self.pass)
    }
    fn realm(&mut self, _offered: &[String]) -> Lookup<Vec<u8>> {
        copy(&self.realm)
    }
    fn canon_user(&mut self, _name: &[u8], _flags: u32) -> Lookup<Vec<u8>> {
        Lookup::Absent
    }
    fn option(&mut self, _plugin: Option<&str>, name: &str) -> Option<String> {
        self.options.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())
    }
    fn log(&mut self, _level: LogLevel, message: &str) {
        assert!(message.len() <= self.max_log, "log message of {} bytes", message.len());
        self.logged += 1;
    }
    fn progress(&mut self, p: Progress<'_>) {
        match p {
            Progress::Reset => (self.authid, self.username) = (None, None),
            Progress::Selected { .. } => {}
            Progress::Name(flags, name) => {
                if flags & CANON_AUTHID != 0 {
                    self.authid = Some(name.to_vec());
                }
                if flags & CANON_AUTHZID != 0 {
                    self.username = Some(name.to_vec());
                }
            }
        }
    }
}

/// Ends every password and token the targets use, so that one can be
/// recognised in an error text (a short fuzzed password could be any word).
pub const SECRET_MARK: &[u8] = b"s3cr3tZq9xQ7";

/// `fuzzed` with [`SECRET_MARK`] appended.
pub fn secret(fuzzed: &[u8]) -> Vec<u8> {
    [fuzzed, SECRET_MARK].concat()
}

/// Checks what every failure must satisfy: a bounded detail that names no
/// secret (unless the server itself sent those bytes, which may be quoted).
pub fn check_error(e: &Error, secrets: &[&[u8]], server_sent: &[&[u8]]) {
    assert_ne!(e.code, Code::Interact, "Interact escaped a mechanism: {e}");
    assert!(e.detail.len() <= MAX_DETAIL, "error detail of {} bytes", e.detail.len());
    for s in secrets.iter().filter(|s| s.ends_with(SECRET_MARK)) {
        // Quoted server bytes may be shown lossily (invalid UTF-8 as
        // U+FFFD) and with control characters as '?', which can spell a
        // secret that itself holds U+FFFD or '?'.
        let shown = |m: &[u8]| -> String {
            String::from_utf8_lossy(m).chars().map(|c| if c.is_control() { '?' } else { c }).collect()
        };
        let echoed = server_sent.iter().any(|m| {
            contains(m, s) || contains(String::from_utf8_lossy(m).as_bytes(), s) || contains(shown(m).as_bytes(), s)
        });
        assert!(echoed || !contains(e.detail.as_bytes(), s), "error detail shows a secret: {e}");
    }
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Applies up to four fuzz-chosen edits to `msg` (bit flips, replaced,
/// inserted or deleted bytes, truncation, appended bytes). Returns whether
/// the message changed.
pub fn edit(u: &mut Unstructured<'_>, msg: &mut Vec<u8>) -> bool {
    let before = msg.clone();
    let edits = u.int_in_range(0..=4u8).unwrap_or(0);
    for _ in 0..edits {
        let kind = u.int_in_range(0..=5u8).unwrap_or(0);
        let at = u.int_in_range(0..=msg.len()).unwrap_or(0);
        let byte: u8 = u.arbitrary().unwrap_or(0);
        match kind {
            0 if at < msg.len() => msg[at] ^= 1 << (byte & 7),
            1 if at < msg.len() => msg[at] = byte,
            2 => msg.insert(at, byte),
            3 if at < msg.len() => {
                msg.remove(at);
            }
            4 => msg.truncate(at),
            5 => {
                let n = usize::from(byte % 16);
                msg.extend_from_slice(u.bytes(n).unwrap_or_default());
            }
            _ => {}
        }
    }
    *msg != before
}

/// A string of at most `max` characters from the input, drawn from
/// `alphabet` when given (else any UTF-8).
pub fn string(u: &mut Unstructured<'_>, max: usize, alphabet: Option<&[u8]>) -> String {
    let len = u.int_in_range(0..=max).unwrap_or(0);
    match alphabet {
        Some(chars) => (0..len)
            .map(|_| chars[u.choose_index(chars.len()).unwrap_or(0)] as char)
            .collect(),
        None => {
            let s: String = u.arbitrary().unwrap_or_default();
            s.chars().take(len).collect()
        }
    }
}

/// Printable ASCII (0x20..0x7e): what the simpler models accept everywhere.
pub const PRINTABLE: &[u8] =
    b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
/// Letters and digits.
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A non-empty user name: printable ASCII, or any UTF-8 without NUL.
pub fn user_name(u: &mut Unstructured<'_>) -> String {
    let ascii = u.arbitrary().unwrap_or(true);
    let mut s = string(u, 24, ascii.then_some(PRINTABLE));
    s.retain(|c| c != '\0');
    if s.trim().is_empty() { "user".into() } else { s }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One step of `mech`; when the session answers Interact first (as an
/// application with prompts does), checks that the mechanism passes it on
/// and then runs the step again with the same input, as the core does.
pub fn step(
    mech: &mut dyn sasl2::mech::ClientMech,
    input: &[u8],
    session: &mut FuzzSession,
) -> sasl2::mech::Result<sasl2::mech::Step> {
    let interact = session.interact_first;
    match mech.step(input, session) {
        Err(e) if e.code == Code::Interact => {
            assert!(interact, "Interact without a prompt: {e}");
            mech.step(input, session)
        }
        other => other,
    }
}

/// Between `min` and `max` bytes of the input (fewer when it runs out).
pub fn bytes(u: &mut Unstructured<'_>, min: usize, max: usize) -> Vec<u8> {
    let len = u.int_in_range(min..=max).unwrap_or(min);
    u.bytes(len.min(u.len())).unwrap_or_default().to_vec()
}

/// What a mechanism is started with in the targets: an IMAP client of
/// mail.example.org with no layer, binding or external identity; each
/// target changes what it fuzzes (`Params { ..params() }`).
pub fn params() -> Params<'static> {
    Params {
        service: "imap",
        server_fqdn: Some("mail.example.org"),
        local_addr: None,
        remote_addr: None,
        props: SecurityProps::default(),
        external_ssf: 0,
        external_authid: None,
        flags: 0,
        channel_binding: None,
        cb_disposition: CbDisposition::None,
        gss_creds: None,
        host: None,
    }
}
