//! What the Kerberos mechanisms (GSSAPI, GSS-SPNEGO, GS2-KRB5) need from a
//! GSS-API implementation (RFC 2743), as Rust traits: the mechanisms stay
//! safe state machines, and their tests drive them with a fake provider.
//! The real provider is `crate::gss`, the binding to the system's library.
//!
//! Statuses keep GSS-API's major and minor codes so that error texts come
//! from the library itself ([`Provider::display_status`]), as in Cyrus.

use std::num::NonZeroUsize;

use super::{Code, Error, Params};

/// An application's GSS-API credential handle (`SASL_GSS_CREDS`, a
/// `gss_cred_id_t` the application owns and keeps alive), carried opaquely:
/// only the provider interprets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredHandle(pub NonZeroUsize);

/// The GSS-API mechanism a SASL mechanism runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GssMech {
    /// Kerberos V5 (1.2.840.113554.1.2.2): GSSAPI and GS2-KRB5.
    Krb5,
    /// SPNEGO (1.3.6.1.5.5.2): GSS-SPNEGO.
    Spnego,
}

/// Context flags (`GSS_C_*_FLAG`, RFC 2744 section 3.9).
pub mod flags {
    pub const DELEG: u32 = 1;
    pub const MUTUAL: u32 = 2;
    pub const REPLAY: u32 = 4;
    pub const SEQUENCE: u32 = 8;
    pub const CONF: u32 = 16;
    pub const INTEG: u32 = 32;
}

/// A GSS-API major and minor status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub major: u32,
    pub minor: u32,
}

/// What one `GSS_Init_sec_context` call produced.
#[derive(Debug, Default)]
pub struct InitOutput {
    /// The token for the server (possibly empty).
    pub token: Vec<u8>,
    /// `GSS_S_COMPLETE` rather than `GSS_S_CONTINUE_NEEDED`.
    pub complete: bool,
    /// The context's flags (`ret_flags`).
    pub flags: u32,
}

/// A GSS-API implementation.
pub trait Provider: Sync {
    /// Whether a Kerberos initiator credential is usable now (what every
    /// mechanism here needs, GSS-SPNEGO included): the application's `cred`,
    /// else the default one (the ticket cache, or a client keytab). Must be
    /// cheap and must not contact the KDC; `Err` says why not.
    fn check_credential(&self, cred: Option<CredHandle>) -> Result<(), String>;
    /// A context to `service@host` (a host-based service name) with `cred`,
    /// or the default credential.
    fn new_context(
        &'static self,
        mech: GssMech,
        service: &str,
        host: &str,
        cred: Option<CredHandle>,
    ) -> Result<Box<dyn SecContext>, Status>;
    /// The library's text for a status: the major code's messages, then the
    /// minor code's in parentheses.
    fn display_status(&self, status: Status) -> String;
}

/// An initiator's security context, released when dropped.
pub trait SecContext: Send {
    /// One `GSS_Init_sec_context` call: `input` is None on the first one;
    /// `channel_binding` is the application data of the channel bindings.
    fn init(&mut self, req_flags: u32, channel_binding: Option<&[u8]>, input: Option<&[u8]>)
    -> Result<InitOutput, Status>;
    /// Deletes the context built so far: the next [`init`](Self::init)
    /// starts a new one.
    fn restart(&mut self);
    /// Protects `msg` (with confidentiality when `conf`) and appends the
    /// token to `out`; returns whether confidentiality was applied.
    fn wrap(&mut self, conf: bool, msg: &[u8], out: &mut Vec<u8>) -> Result<bool, Status>;
    /// Checks a token and appends its message to `out` (nothing on
    /// failure); returns whether it was encrypted.
    fn unwrap(&mut self, token: &[u8], out: &mut Vec<u8>) -> Result<bool, Status>;
    /// The largest message whose token fits in `max_token` bytes.
    fn wrap_size_limit(&self, conf: bool, max_token: u32) -> Result<u32, Status>;
    /// The SSF of confidentiality on this context
    /// (`GSS_C_SEC_CONTEXT_SASL_SSF`), None when the library cannot say.
    fn sasl_ssf(&self) -> Result<Option<u32>, Status>;
    /// The initiator's name (the client principal), once established.
    fn initiator_name(&self) -> Result<String, Status>;
}

/// How a mechanism reaches its provider: loading the system's library can
/// fail (none installed), and that is a reason to pass the mechanism over.
pub type ProviderFn = fn() -> Result<&'static dyn Provider, String>;

/// The selection check shared by the Kerberos mechanisms: a provider (none
/// is as if the mechanism were not there, like Cyrus without its plugin).
pub fn check(provider: ProviderFn) -> Result<(), String> {
    provider().map(|_| ())
}

/// The credential check shared by the Kerberos mechanisms (see
/// `Factory::credential`).
pub fn credential(provider: ProviderFn, params: &Params<'_>) -> Result<(), String> {
    let provider = provider()?;
    provider.check_credential(params.gss_creds).map_err(|why| format!("no usable Kerberos credential: {why}"))
}

/// The provider, or the failure `name`'s start reports when there is none.
pub fn provider_for(provider: ProviderFn, name: &str) -> super::Result<&'static dyn Provider> {
    provider().map_err(|why| Error::new(Code::NoMech, format!("{name}: {why}")))
}

/// A GSS-API failure as Cyrus reports it (`<prefix> Error: major (minor)`;
/// the C edge logs it, as every failure); the code is Cyrus's `SASL_FAIL`.
pub fn failure(provider: &dyn Provider, prefix: &str, status: Status) -> Error {
    Error::fail(format!("{prefix} Error: {}", provider.display_status(status)))
}

/// The same for a failure in a security layer.
pub fn layer_failure(provider: &dyn Provider, status: Status) -> Error {
    Error::fail(format!("GSSAPI Error: {}", provider.display_status(status)))
}

// Compiled for the unit tests and for the fuzz targets (`--cfg fuzzing`,
// which only fuzz/run.sh and cargo-fuzz pass), never into the library.
#[cfg(any(test, fuzzing))]
pub mod fake {
    //! A toy GSS-API for the mechanisms' tests. Tokens are readable text;
    //! "wrapping" XORs with a per-context key byte (when `conf`) and appends a
    //! one-byte flag and a one-byte checksum, so tampering is detected.
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What the fake server does and what the tests observe.
    #[derive(Default, Debug)]
    pub struct Script {
        /// Refuse credentials (selection's check) with this reason.
        pub no_credential: Option<String>,
        /// Fail `new_context` (e.g. a bad target name).
        pub bad_name: bool,
        /// Flags the completed context reports; None: the requested ones
        /// plus CONF and INTEG when INTEG was asked for (as MIT's krb5 does).
        pub ret_flags: Option<u32>,
        /// Round trips before the context completes (1: the server's first
        /// token completes it, as Kerberos with mutual authentication).
        pub rounds: usize,
        /// The library cannot say the SASL SSF (else it is 256).
        pub no_ssf: bool,
        /// Wrap never encrypts (a library without confidentiality).
        pub no_conf: bool,
        /// The first token has RFC 2743 framing, as a real Kerberos one.
        pub frame_first: bool,
        /// Observed: the flags and channel bindings of the last init call.
        pub req_flags: u32,
        pub channel_binding: Option<Vec<u8>>,
        pub inits: usize,
        pub restarts: usize,
        pub contexts_alive: i32,
        pub target: String,
        pub cred: Option<CredHandle>,
    }

    /// The script a test shares with its fake provider.
    pub type Shared = Arc<Mutex<Script>>;

    pub struct FakeGss {
        pub script: Arc<Mutex<Script>>,
    }

    impl FakeGss {
        /// A leaked provider (providers are 'static) and its script. Each
        /// stays reachable from a static, so Miri's leak check (which
        /// spares what statics reach) keeps watching everything else.
        pub fn new(script: Script) -> (&'static FakeGss, Shared) {
            static ALL: Mutex<Vec<&'static FakeGss>> = Mutex::new(Vec::new());
            let script = Arc::new(Mutex::new(Script { rounds: 1, ..script }));
            let fake: &'static FakeGss = Box::leak(Box::new(FakeGss { script: script.clone() }));
            ALL.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(fake);
            (fake, script)
        }
    }

    /// An RFC 2743 initial context token of the Kerberos mechanism.
    pub fn frame(inner: &[u8]) -> Vec<u8> {
        let oid = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
        let body: Vec<u8> = oid.iter().chain(inner).copied().collect();
        let mut t = vec![0x60];
        if body.len() < 0x80 {
            t.push(body.len() as u8);
        } else {
            t.extend_from_slice(&[0x82, (body.len() >> 8) as u8, body.len() as u8]);
        }
        t.extend_from_slice(&body);
        t
    }

    /// A major code for a failure (GSS_S_FAILURE), minor code `n`.
    pub fn fail(n: u32) -> Status {
        Status { major: 0x000d_0000, minor: n }
    }

    impl Provider for FakeGss {
        fn check_credential(&self, _: Option<CredHandle>) -> Result<(), String> {
            match &self.script.lock().unwrap().no_credential {
                Some(why) => Err(why.clone()),
                None => Ok(()),
            }
        }
        fn new_context(
            &'static self,
            mech: GssMech,
            service: &str,
            host: &str,
            cred: Option<CredHandle>,
        ) -> Result<Box<dyn SecContext>, Status> {
            let mut s = self.script.lock().unwrap();
            if s.bad_name {
                return Err(fail(1));
            }
            s.target = format!("{service}@{host}/{mech:?}");
            s.cred = cred;
            s.contexts_alive += 1;
            Ok(Box::new(FakeContext { script: self.script.clone(), round: 0, flags: 0, key: 0x5a }))
        }
        fn display_status(&self, status: Status) -> String {
            format!("Unspecified GSS failure (fake minor {})", status.minor)
        }
    }

    pub struct FakeContext {
        script: Arc<Mutex<Script>>,
        round: usize,
        flags: u32,
        key: u8,
    }

    impl Drop for FakeContext {
        fn drop(&mut self) {
            self.script.lock().unwrap_or_else(|p| p.into_inner()).contexts_alive -= 1;
        }
    }

    /// The fake peer's side of the toy layer: wraps like the context does.
    pub fn peer_wrap(conf: bool, msg: &[u8]) -> Vec<u8> {
        let mut out: Vec<u8> = msg.iter().map(|b| if conf { b ^ 0x5a } else { *b }).collect();
        out.push(conf as u8);
        out.push(msg.iter().fold(0u8, |a, b| a.wrapping_add(*b)));
        out
    }

    /// Unwraps a token the context made: (message, was it encrypted).
    pub fn peer_unwrap(token: &[u8]) -> Option<(Vec<u8>, bool)> {
        let (body, tail) = token.split_at(token.len().checked_sub(2)?);
        let conf = tail[0] == 1;
        let msg: Vec<u8> = body.iter().map(|b| if conf { b ^ 0x5a } else { *b }).collect();
        (msg.iter().fold(0u8, |a, b| a.wrapping_add(*b)) == tail[1]).then_some((msg, conf))
    }

    impl SecContext for FakeContext {
        fn init(&mut self, req: u32, cb: Option<&[u8]>, input: Option<&[u8]>) -> Result<InitOutput, Status> {
            let mut s = self.script.lock().unwrap();
            s.inits += 1;
            s.req_flags = req;
            s.channel_binding = cb.map(<[u8]>::to_vec);
            match (self.round, input) {
                (0, None) => {}
                (0, Some(_)) => return Err(fail(2)),
                (_, Some(t)) if t == format!("server-token-{}", self.round).as_bytes() => {}
                _ => return Err(fail(3)),
            }
            self.round += 1;
            let complete = self.round > s.rounds;
            self.flags = s.ret_flags.unwrap_or(if req & flags::INTEG != 0 { req | flags::CONF } else { req });
            let mut token = if complete { Vec::new() } else { format!("client-token-{}", self.round).into_bytes() };
            if self.round == 1 && s.frame_first {
                token = frame(&token);
            }
            Ok(InitOutput { token, complete, flags: self.flags })
        }
        fn restart(&mut self) {
            self.script.lock().unwrap().restarts += 1;
            self.round = 0;
        }
        fn wrap(&mut self, conf: bool, msg: &[u8], out: &mut Vec<u8>) -> Result<bool, Status> {
            let conf = conf && !self.script.lock().unwrap().no_conf;
            out.extend(msg.iter().map(|b| if conf { b ^ self.key } else { *b }));
            out.push(conf as u8);
            out.push(msg.iter().fold(0u8, |a, b| a.wrapping_add(*b)));
            Ok(conf)
        }
        fn unwrap(&mut self, token: &[u8], out: &mut Vec<u8>) -> Result<bool, Status> {
            let (msg, conf) = peer_unwrap(token).ok_or(fail(4))?;
            out.extend_from_slice(&msg);
            Ok(conf)
        }
        fn wrap_size_limit(&self, _: bool, max_token: u32) -> Result<u32, Status> {
            Ok(max_token.saturating_sub(2))
        }
        fn sasl_ssf(&self) -> Result<Option<u32>, Status> {
            Ok((!self.script.lock().unwrap().no_ssf).then_some(256))
        }
        fn initiator_name(&self) -> Result<String, Status> {
            Ok("user@EXAMPLE.ORG".into())
        }
    }
}
