//! A client connection: its parameters and properties, the mechanism in
//! progress, what authentication established, and the security layer.

use std::any::Any;

use super::callbacks::{self, Answer, AppCallbacks, Prompt};
use super::layer::Framing;
use super::select::{self, Choice, Context};
use crate::mech::gss::CredHandle;
use crate::mech::{
    self, conn_flags, CbDisposition, ChannelBinding, ClientMech, Code, Credentials, Error, LogLevel,
    MechInfo, Params, Request, Result, Secret, SecurityProps, Session, Step,
};

/// Where the connection is in its exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Created; no mechanism started yet.
    New,
    /// A mechanism is running.
    Running,
    /// The mechanism completed on the client side.
    Done,
    /// The mechanism failed; only a new start can follow.
    Failed,
}

/// The status of a start or step that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Continue,
    /// Prompts are pending: see [`ClientConn::prompts`].
    Interact,
}

struct Active {
    info: &'static MechInfo,
    mech: Box<dyn ClientMech>,
}

pub struct ClientConn {
    pub service: String,
    pub server_fqdn: Option<String>,
    pub local_addr: Option<String>,
    pub remote_addr: Option<String>,
    pub flags: u32,
    pub props: SecurityProps,
    pub external_ssf: u32,
    pub external_authid: Option<Vec<u8>>,
    /// Boxed: rarely set, and connections should stay small.
    pub channel_binding: Option<Box<ChannelBinding>>,
    /// `SASL_GSS_CREDS`: the application's GSS-API credential.
    pub gss_creds: Option<CredHandle>,
    /// The `client_mech_list` option's mechanisms, or None for all.
    mechs: Option<Vec<&'static MechInfo>>,
    active: Option<Active>,
    /// The selected mechanism's name as reported to the application (with
    /// -PLUS when binding), set as soon as it is chosen.
    mech_name: Option<std::borrow::Cow<'static, str>>,
    phase: Phase,
    prompts: Vec<Prompt>,
    hostname: Option<String>,
    /// Set when the mechanism has sent them (at the latest on completion).
    pub user: Option<Vec<u8>>,
    pub authid: Option<Vec<u8>>,
    /// The security layer: set only on completion, never dropped while the
    /// connection lives (a completed connection cannot be restarted), and the
    /// only source of what SASL_SSF and SASL_MAXOUTBUF report.
    ssf: u32,
    maxoutbuf: u32,
    framing: Option<Box<Framing>>,
}

impl ClientConn {
    /// `mech_list` is the `client_mech_list` option, if the application set
    /// one. The addresses are the C API's strings, checked by the caller.
    pub fn new(
        service: &str,
        server_fqdn: Option<&str>,
        local_addr: Option<&str>,
        remote_addr: Option<&str>,
        flags: u32,
        mech_list: Option<&str>,
    ) -> Result<Self> {
        let mechs = match mech_list {
            None => None,
            Some(list) => {
                let chosen: Vec<&'static MechInfo> = list
                    .split_ascii_whitespace()
                    .filter_map(|name| mech::find(name.strip_suffix("-PLUS").unwrap_or(name)))
                    .collect();
                if chosen.is_empty() {
                    return Err(Error::new(
                        Code::NoMech,
                        format!("No worthy mechs found: client_mech_list \"{list}\" names no supported mechanism"),
                    ));
                }
                Some(chosen)
            }
        };
        Ok(ClientConn {
            service: service.to_owned(),
            // Host names compare case-insensitively; Cyrus keeps them lower-case
            // (DIGEST-MD5's digest-uri and SASL_SERVERFQDN show it).
            server_fqdn: server_fqdn.map(str::to_ascii_lowercase),
            local_addr: local_addr.map(str::to_owned),
            remote_addr: remote_addr.map(str::to_owned),
            flags,
            props: SecurityProps::default(),
            external_ssf: 0,
            external_authid: None,
            channel_binding: None,
            gss_creds: None,
            mechs,
            active: None,
            mech_name: None,
            phase: Phase::New,
            prompts: Vec::new(),
            hostname: None,
            user: None,
            authid: None,
            ssf: 0,
            maxoutbuf: 0,
            framing: None,
        })
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// SASL_SSF: the strength of the layer `encode`/`decode` apply (0: none).
    /// A reference, because C callers get a pointer to it.
    pub fn ssf(&self) -> &u32 {
        &self.ssf
    }

    /// SASL_MAXOUTBUF: the largest plaintext `encode` puts in one packet.
    pub fn maxoutbuf(&self) -> &u32 {
        &self.maxoutbuf
    }

    /// The selected mechanism's name, once one is selected.
    pub fn mech_name(&self) -> Option<&str> {
        self.mech_name.as_deref()
    }

    /// Prompts to show after a [`Status::Interact`].
    pub fn prompts(&self) -> &[Prompt] {
        &self.prompts
    }

    fn available(&self) -> &[&'static MechInfo] {
        match &self.mechs {
            Some(list) => list,
            None => mech::mechanisms(),
        }
    }

    /// The mechanism chosen by the last start, once one is.
    pub fn mech_info(&self) -> Option<&'static MechInfo> {
        self.active.as_ref().map(|a| a.info)
    }

    fn context<'a>(&'a self, host: Option<&'a dyn Any>, prepare: bool) -> Context<'a> {
        Context { available: self.available(), params: self.params(CbDisposition::None, host), prepare }
    }

    /// The connection as a mechanism sees it when it starts.
    fn params<'a>(&'a self, cb_disposition: CbDisposition, host: Option<&'a dyn Any>) -> Params<'a> {
        Params {
            service: &self.service,
            server_fqdn: self.server_fqdn.as_deref(),
            local_addr: self.local_addr.as_deref(),
            remote_addr: self.remote_addr.as_deref(),
            props: self.props,
            external_ssf: self.external_ssf,
            external_authid: self.external_authid.as_deref(),
            flags: self.flags,
            channel_binding: self.channel_binding.as_deref(),
            cb_disposition,
            gss_creds: self.gss_creds,
            host,
        }
    }

    /// Chooses a mechanism from the server's list and, when `want_output`,
    /// runs its first step (unless the mechanism waits for the server).
    pub fn start(
        &mut self,
        mechlist: &str,
        callbacks: &mut dyn AppCallbacks,
        want_output: bool,
    ) -> Result<(Status, Option<Vec<u8>>)> {
        if self.phase == Phase::Done {
            // Restarting would drop the security layer (and the identity) of
            // a connection the application already treats as authenticated.
            // Cyrus refuses too (SASL_FAIL), though it frees the layer's state
            // while doing so. A failed or unfinished exchange may restart.
            return Err(Error::fail(
                "authentication on this connection has already completed; a new exchange needs a new connection",
            ));
        }
        self.reset();
        let choice = match select::select(&self.context(callbacks.host(), true), mechlist, callbacks) {
            Ok(choice) => choice,
            Err(why) => {
                callbacks.log(LogLevel::Fail, &why);
                return Err(Error::new(Code::NoMech, why));
            }
        };
        if callbacks.log_enabled() {
            let origin = choice.info.factory.origin();
            callbacks.log(LogLevel::Debug, &format!("{}: selected, served by {origin}", choice.info.name));
        }
        self.begin(choice, callbacks.host())?;
        if !want_output {
            return Ok((Status::Continue, None));
        }
        let server_first = self.active.as_ref().is_some_and(|a| a.info.features & mech::feat::SERVER_FIRST != 0);
        if server_first {
            return Ok((Status::Continue, None));
        }
        self.step(None, callbacks, &[])
    }

    fn begin(&mut self, choice: Choice, host: Option<&dyn Any>) -> Result<()> {
        let Choice { info, cb, plus } = choice;
        // Reported even if the mechanism cannot start (as Cyrus: svn reads
        // it after a failed start to drop the mechanism and try another).
        self.mech_name = Some(if plus { format!("{}-PLUS", info.name).into() } else { info.name.into() });
        let mut params = self.params(cb, host);
        if cb == CbDisposition::None {
            params.channel_binding = None;
        }
        let mech = info.start(&params)?;
        if let Some(name) = mech.name() {
            self.mech_name = Some(name.to_owned().into());
        }
        self.active = Some(Active { info, mech });
        self.phase = Phase::Running;
        Ok(())
    }

    /// One step of the running mechanism with the server's challenge (None
    /// when the application passed none). `answers` are the prompts the
    /// application filled after the previous [`Status::Interact`].
    pub fn step(
        &mut self,
        input: Option<&[u8]>,
        callbacks: &mut dyn AppCallbacks,
        answers: &[Answer],
    ) -> Result<(Status, Option<Vec<u8>>)> {
        match self.phase {
            Phase::Running => {}
            Phase::New => return Err(Error::fail("no mechanism was started (call sasl_client_start first)")),
            // sasl_client_step(3): after the protocol's success the client
            // "should still be called one more time with a serverinlen of
            // zero". That confirms the completed exchange; data does not.
            Phase::Done if input.is_none_or(<[u8]>::is_empty) => {
                let out = (self.flags & conn_flags::SUCCESS_DATA == 0).then(Vec::new);
                return Ok((Status::Ok, out));
            }
            Phase::Done => {
                return Err(Error::fail("authentication already completed; the server sent more data"));
            }
            Phase::Failed => return Err(Error::fail("the authentication exchange already failed; start again")),
        }
        self.prompts.clear();
        let active = self.active.as_mut().expect("running implies a mechanism");
        if input.is_none() && active.info.features & mech::feat::SERVER_FIRST != 0 {
            // Like Cyrus: a server-first mechanism needs the server's message.
            self.phase = Phase::Failed;
            return Err(Error::bad_prot(format!("{} expects a challenge from the server, and got none", active.info.name)));
        }
        let input = input.unwrap_or_default();
        let mut session = ConnSession {
            callbacks,
            answers,
            prompts: &mut self.prompts,
            server_fqdn: self.server_fqdn.as_deref(),
            hostname: &mut self.hostname,
            mech: active.info.name,
        };
        match active.mech.step(input, &mut session) {
            Ok(Step::AwaitServer) => Ok((Status::Continue, None)),
            Ok(Step::Continue(out)) => {
                if let Some((user, authid)) = active.mech.identity() {
                    self.user = Some(user.to_vec());
                    self.authid = Some(authid.to_vec());
                }
                Ok((Status::Continue, Some(out)))
            }
            Ok(Step::Done(out)) => {
                let outcome = active.mech.outcome();
                let outcome = match outcome {
                    Ok(o) => o,
                    Err(e) => {
                        self.phase = Phase::Failed;
                        return Err(e);
                    }
                };
                // Whatever a mechanism (a C plugin's, GSS-SPNEGO over HTTP)
                // settled on, no exchange completes below the minimum SSF
                // the application set: selection only knew the best each
                // mechanism can do.
                let ssf = outcome.ssf.saturating_add(self.external_ssf);
                if ssf < self.props.min_ssf {
                    self.phase = Phase::Failed;
                    let name = active.info.name;
                    return Err(Error::new(
                        Code::TooWeak,
                        format!("{name} completed at SSF {ssf}, below the minimum SSF {} (SASL_SEC_PROPS)", self.props.min_ssf),
                    ));
                }
                self.user = Some(outcome.user.unwrap_or_else(|| outcome.authid.clone()));
                self.authid = Some(outcome.authid);
                self.ssf = outcome.ssf;
                self.maxoutbuf = if outcome.maxoutbuf == 0 { self.props.maxbufsize } else { outcome.maxoutbuf };
                self.framing = outcome.layer.map(|l| Box::new(Framing::new(l, self.maxoutbuf)));
                self.phase = Phase::Done;
                let out = match out {
                    None if self.flags & conn_flags::SUCCESS_DATA == 0 => Some(Vec::new()),
                    other => other,
                };
                Ok((Status::Ok, out))
            }
            Err(e) if e.code == Code::Interact => {
                if self.prompts.is_empty() && !active.mech.own_prompts() {
                    // A mechanism must only return Interact from credentials().
                    self.phase = Phase::Failed;
                    return Err(Error::fail("mechanism asked for interaction without prompts"));
                }
                Ok((Status::Interact, None))
            }
            Err(e) => {
                self.phase = Phase::Failed;
                Err(e)
            }
        }
    }

    /// Forgets an unfinished or failed exchange (a new start on the same
    /// connection). No layer exists before completion, so none is dropped.
    fn reset(&mut self) {
        debug_assert!(self.phase != Phase::Done && self.framing.is_none());
        self.active = None;
        self.mech_name = None;
        self.phase = Phase::New;
        self.prompts.clear();
        self.user = None;
        self.authid = None;
    }

    /// Mechanisms this connection could use, strongest first, as
    /// `sasl_listmech` reports them.
    pub fn usable_mechs(&self, callbacks: &dyn AppCallbacks) -> Vec<&'static str> {
        let ctx = self.context(callbacks.host(), false);
        self.available()
            .iter()
            .filter(|m| select::select(&ctx, m.name, callbacks).is_ok())
            .map(|m| m.name)
            .collect()
    }

    fn layer_check(&self, what: &str) -> Result<()> {
        if self.props.maxbufsize == 0 {
            return Err(Error::new(
                Code::TooWeak,
                format!("called {what} with application that does not support security layers"),
            ));
        }
        Ok(())
    }

    /// `sasl_encode[v]`: the concatenated parts, protected and framed if a
    /// layer is in effect, else unchanged.
    pub fn encode(&mut self, parts: &[&[u8]], out: &mut Vec<u8>) -> Result<()> {
        self.layer_check("sasl_encode[v]")?;
        out.clear();
        match &mut self.framing {
            None => parts.iter().for_each(|p| out.extend_from_slice(p)),
            Some(framing) if parts.len() == 1 => framing.encode(parts[0], out)?,
            Some(framing) => framing.encode(&parts.concat(), out)?,
        }
        Ok(())
    }

    /// `sasl_decode`: the plaintext of every packet `input` completes.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.layer_check("sasl_decode")?;
        out.clear();
        match &mut self.framing {
            None if input.len() > self.props.maxbufsize as usize => {
                return Err(Error::new(
                    Code::BufOver,
                    format!("input of {} bytes is larger than maxbufsize ({})", input.len(), self.props.maxbufsize),
                ));
            }
            None => out.extend_from_slice(input),
            Some(framing) => framing.decode(input, out)?,
        }
        Ok(())
    }
}

/// The connection as a mechanism sees it during one step.
struct ConnSession<'a> {
    callbacks: &'a mut dyn AppCallbacks,
    answers: &'a [Answer],
    prompts: &'a mut Vec<Prompt>,
    server_fqdn: Option<&'a str>,
    hostname: &'a mut Option<String>,
    mech: &'static str,
}

impl Session for ConnSession<'_> {
    fn credentials(&mut self, request: &Request<'_>) -> Result<Credentials> {
        callbacks::resolve(request, self.answers, self.callbacks, self.prompts, self.server_fqdn)
    }

    fn random(&mut self, buf: &mut [u8]) -> Result<()> {
        getrandom::fill(buf).map_err(|e| Error::fail(format!("the system's random source failed: {e}")))
    }

    fn option(&mut self, name: &str) -> Option<String> {
        self.callbacks.option(Some(self.mech), name)
    }

    fn client_hostname(&mut self) -> String {
        self.hostname
            .get_or_insert_with(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| "localhost".to_owned())
            })
            .clone()
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        self.callbacks.log(level, message);
    }

    fn host(&self) -> Option<&dyn Any> {
        self.callbacks.host()
    }

    fn recall(&mut self, id: &[&[u8]], take: bool) -> Option<Secret> {
        super::reauth::recall(id, take)
    }

    fn remember(&mut self, id: &[&[u8]], value: &[u8]) {
        super::reauth::remember(id, value);
    }

    fn forget(&mut self, id: &[&[u8]]) {
        super::reauth::forget(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::callbacks::{Availability, CallbackId, Lookup};
    use crate::mech::Secret;

    /// An application with a password callback and a prompt for the user.
    struct App;
    impl AppCallbacks for App {
        fn availability(&self, id: CallbackId) -> Availability {
            match id {
                CallbackId::Pass => Availability::Callback,
                CallbackId::AuthName => Availability::Prompt,
                _ => Availability::Absent,
            }
        }
        fn simple(&mut self, id: CallbackId) -> Lookup<Vec<u8>> {
            if id == CallbackId::AuthName { Lookup::Prompt } else { Lookup::Absent }
        }
        fn secret(&mut self) -> Lookup<Secret> {
            Lookup::Value(Secret::new(b"pw".to_vec()))
        }
        fn realm(&mut self, _: &[String]) -> Lookup<Vec<u8>> {
            Lookup::Absent
        }
        fn option(&mut self, _: Option<&str>, _: &str) -> Option<String> {
            None
        }
        fn canon_user(&mut self, _: &[u8], _: u32) -> Lookup<Vec<u8>> {
            Lookup::Absent
        }
        fn log(&mut self, _: LogLevel, _: &str) {}
    }

    #[test]
    fn prompts_then_completion_then_the_man_pages_final_step() {
        let mut conn = ClientConn::new("imap", Some("Mail.Example.ORG"), None, None, 0, None).unwrap();
        assert_eq!(conn.server_fqdn.as_deref(), Some("mail.example.org"));
        let (status, out) = conn.start("PLAIN", &mut App, true).unwrap();
        assert_eq!((status, out), (Status::Interact, None));
        assert_eq!(conn.prompts()[0].id, CallbackId::AuthName);
        let answers = [Answer::new(CallbackId::AuthName, Some(b"  tim ".as_slice()))];
        let (status, out) = conn.step(None, &mut App, &answers).unwrap();
        // The name is canonicalised (trimmed) before it is sent.
        assert_eq!((status, out.as_deref()), (Status::Ok, Some(&b"\0tim\0pw"[..])));
        assert_eq!((conn.user.as_deref(), conn.authid.as_deref()), (Some(&b"tim"[..]), Some(&b"tim"[..])));
        // sasl_client_step(3): one more call with no data confirms.
        assert_eq!(conn.step(Some(b""), &mut App, &[]).unwrap(), (Status::Ok, Some(Vec::new())));
        assert_eq!(conn.step(Some(b"x"), &mut App, &[]).unwrap_err().code, Code::Fail);
    }

    #[test]
    fn a_completed_connection_cannot_restart() {
        let mut conn = ClientConn::new("imap", Some("h"), None, None, 0, None).unwrap();
        let answers = [Answer::new(CallbackId::AuthName, Some(b"tim".as_slice()))];
        assert_eq!(conn.start("PLAIN", &mut App, true).unwrap().0, Status::Interact);
        assert_eq!(conn.step(None, &mut App, &answers).unwrap().0, Status::Ok);
        for again in ["PLAIN", "CRAM-MD5", "NOSUCH"] {
            assert_eq!(conn.start(again, &mut App, true).unwrap_err().code, Code::Fail);
            assert_eq!((conn.phase(), conn.mech_name()), (Phase::Done, Some("PLAIN")));
            assert_eq!(conn.user.as_deref(), Some(&b"tim"[..]));
        }
        // An unfinished exchange may be abandoned for another, as in Cyrus.
        let mut conn = ClientConn::new("imap", Some("h"), None, None, 0, None).unwrap();
        assert_eq!(conn.start("CRAM-MD5", &mut App, true).unwrap().0, Status::Continue);
        assert_eq!(conn.start("PLAIN", &mut App, true).unwrap().0, Status::Interact);
        assert_eq!(conn.mech_name(), Some("PLAIN"));
    }

    #[test]
    fn server_first_mechanisms_need_a_challenge() {
        let mut conn = ClientConn::new("imap", Some("h"), None, None, 0, None).unwrap();
        assert_eq!(conn.start("CRAM-MD5", &mut App, true).unwrap(), (Status::Continue, None));
        assert_eq!(conn.step(None, &mut App, &[]).unwrap_err().code, Code::BadProt);
        assert_eq!(conn.phase(), Phase::Failed);
    }

    /// A mechanism that could give a layer (so selection keeps it) but
    /// completes without one, as GSS-SPNEGO over HTTP or a C plugin may.
    struct NoLayer;
    impl ClientMech for NoLayer {
        fn step(&mut self, _: &[u8], _: &mut dyn Session) -> Result<Step> {
            Ok(Step::Done(None))
        }
        fn outcome(&mut self) -> Result<mech::Outcome> {
            Ok(mech::plain::simple_outcome(None, b"tim".to_vec()))
        }
    }
    fn start_no_layer(_: &Params<'_>) -> Result<Box<dyn ClientMech>> {
        Ok(Box::new(NoLayer))
    }
    static NO_LAYER: MechInfo = MechInfo {
        name: "X-NO-LAYER",
        max_ssf: 256,
        security_flags: 0,
        features: 0,
        required: &[],
        last_resort: false,
        factory: &(start_no_layer as mech::NewFn),
    };

    #[test]
    fn no_exchange_completes_below_the_minimum_ssf() {
        // Found by the gssapi fuzz target: GSS-SPNEGO over HTTP completed
        // at SSF 0 with a minimum of 2.
        for (min_ssf, external, ok) in [(0, 0, true), (1, 0, false), (56, 0, false), (56, 56, true), (57, 56, false)] {
            let mut conn = ClientConn::new("imap", Some("h"), None, None, 0, None).unwrap();
            conn.mechs = Some(vec![&NO_LAYER]);
            conn.props = SecurityProps { min_ssf, max_ssf: 256, maxbufsize: 65536, security_flags: 0 };
            conn.external_ssf = external;
            assert_eq!(conn.start("X-NO-LAYER", &mut App, false).unwrap().0, Status::Continue);
            match conn.step(None, &mut App, &[]) {
                Ok((status, _)) => {
                    assert!(ok, "completed at SSF 0 + {external} with a minimum of {min_ssf}");
                    assert_eq!((status, *conn.ssf()), (Status::Ok, 0));
                }
                Err(e) => {
                    assert!(!ok, "{e}");
                    assert_eq!(e.code, Code::TooWeak, "{e}");
                    assert_eq!((conn.phase(), conn.user.as_deref()), (Phase::Failed, None));
                }
            }
        }
    }
}
