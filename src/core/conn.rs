//! A client connection: its parameters and properties, the mechanism in
//! progress, what authentication established, and the security layer.

use std::any::Any;

use super::callbacks::{self, Answer, AppCallbacks, Progress, Prompt, CANON_AUTHID, CANON_AUTHZID};
use super::layer::Framing;
use super::select::{self, Choice, Context};
use crate::mech::gss::CredHandle;
use crate::mech::{
    self, conn_flags, CbDisposition, ChannelBinding, ClientMech, Code, Credentials, Error, LogLevel,
    MechInfo, Params, Request, Result, Secret, SecurityProps, Session, Step,
};

/// Where the connection is in its exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Created; no mechanism started yet.
    #[default]
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

/// What the application set on a connection, at `sasl_client_new` and
/// with `sasl_setprop`. Starts and steps read it and never change it, so
/// the C layer can keep it apart from the exchange ([`ClientConn`]) and let
/// a callback read it while a step runs.
pub struct Settings {
    /// The service and the server's name in one allocation, each followed
    /// by a NUL (names from C strings hold none), so that the C layer can
    /// hand out pointers to them; the server's name starts at `fqdn_at`
    /// (0: none given).
    names: Box<str>,
    service_len: u32,
    fqdn_at: u32,
    pub flags: u32,
    pub props: SecurityProps,
    pub external_ssf: u32,
    /// What most connections never set, boxed on first use.
    extras: Option<Box<Extras>>,
    /// The `client_mech_list` option's mechanisms, or None for all.
    mechs: Option<Box<[&'static MechInfo]>>,
}

/// Settings most connections never make.
#[derive(Default)]
pub struct Extras {
    /// "a.b.c.d;port" or IPv6 form, as given to sasl_client_new or set.
    pub local_addr: Option<String>,
    pub remote_addr: Option<String>,
    pub external_authid: Option<Vec<u8>>,
    pub channel_binding: Option<ChannelBinding>,
    /// `SASL_GSS_CREDS`: the application's GSS-API credential.
    pub gss_creds: Option<CredHandle>,
}

static NO_EXTRAS: Extras =
    Extras { local_addr: None, remote_addr: None, external_authid: None, channel_binding: None, gss_creds: None };

impl Settings {
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
                let chosen: Box<[&'static MechInfo]> = list
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
        // Names come from C strings: they hold no NUL, which separates them.
        let mut names = String::with_capacity(service.len() + server_fqdn.map_or(0, |f| f.len() + 1) + 1);
        names.push_str(service);
        names.push('\0');
        let mut fqdn_at = 0;
        if let Some(fqdn) = server_fqdn {
            fqdn_at = names.len() as u32;
            names.push_str(fqdn);
            names.push('\0');
            // Host names compare case-insensitively; Cyrus keeps them
            // lower-case (DIGEST-MD5's digest-uri and SASL_SERVERFQDN show
            // it). One branch-free pass, cheaper than looking first.
            names[fqdn_at as usize..].make_ascii_lowercase();
        }
        let mut settings = Settings {
            names: names.into_boxed_str(),
            service_len: service.len() as u32,
            fqdn_at,
            flags,
            props: SecurityProps::default(),
            external_ssf: 0,
            extras: None,
            mechs,
        };
        if local_addr.is_some() || remote_addr.is_some() {
            let extras = settings.extras_mut();
            extras.local_addr = local_addr.map(str::to_owned);
            extras.remote_addr = remote_addr.map(str::to_owned);
        }
        Ok(settings)
    }

    pub fn service(&self) -> &str {
        &self.names[..self.service_len as usize]
    }

    pub fn server_fqdn(&self) -> Option<&str> {
        let at = self.fqdn_at as usize;
        (at != 0).then(|| &self.names[at..self.names.len() - 1])
    }

    /// The service followed by its NUL.
    pub fn service_with_nul(&self) -> &str {
        &self.names[..=self.service_len as usize]
    }

    /// The server's name followed by its NUL.
    pub fn server_fqdn_with_nul(&self) -> Option<&str> {
        let at = self.fqdn_at as usize;
        (at != 0).then(|| &self.names[at..])
    }

    pub fn extras(&self) -> &Extras {
        self.extras.as_deref().unwrap_or(&NO_EXTRAS)
    }

    pub fn extras_mut(&mut self) -> &mut Extras {
        self.extras.get_or_insert_with(Default::default)
    }

    fn available(&self) -> &[&'static MechInfo] {
        match &self.mechs {
            Some(list) => list,
            None => mech::mechanisms(),
        }
    }

    /// The connection as a mechanism sees it when it starts.
    fn params<'a>(&'a self, cb_disposition: CbDisposition, host: Option<&'a dyn Any>) -> Params<'a> {
        let extras = self.extras();
        Params {
            service: self.service(),
            server_fqdn: self.server_fqdn(),
            local_addr: extras.local_addr.as_deref(),
            remote_addr: extras.remote_addr.as_deref(),
            props: self.props,
            external_ssf: self.external_ssf,
            external_authid: extras.external_authid.as_deref(),
            flags: self.flags,
            channel_binding: extras.channel_binding.as_ref(),
            cb_disposition,
            gss_creds: extras.gss_creds,
            host,
        }
    }

    fn context<'a>(&'a self, host: Option<&'a dyn Any>, prepare: bool) -> Context<'a> {
        Context { available: self.available(), params: self.params(CbDisposition::None, host), prepare }
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
}

struct Active {
    info: &'static MechInfo,
    /// Reported with its -PLUS name (it binds the channel).
    plus: bool,
    /// Dropped when a built-in mechanism completes (see `ClientMech::keep`).
    mech: Option<Box<dyn ClientMech>>,
}

/// A client connection's exchange: the mechanism in progress, what
/// authentication established, and the security layer. What the exchange
/// establishes for the application to read (the identities, the mechanism)
/// is told to it as it happens ([`Progress`]); the layer's strength and
/// buffer size are here.
#[derive(Default)]
pub struct ClientConn {
    active: Option<Active>,
    phase: Phase,
    prompts: Vec<Prompt>,
    /// A password kept while the application fills prompts (see
    /// `Request::keep_password`); wiped when the step ends otherwise.
    kept_password: Option<mech::Secret>,
    /// The security layer: set only on completion, never dropped while the
    /// connection lives (a completed connection cannot be restarted), and the
    /// only source of what SASL_SSF and SASL_MAXOUTBUF report.
    ssf: u32,
    maxoutbuf: u32,
    framing: Option<Box<Framing>>,
}

impl ClientConn {
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// SASL_SSF: the strength of the layer `encode`/`decode` apply (0: none).
    pub fn ssf(&self) -> u32 {
        self.ssf
    }

    /// SASL_MAXOUTBUF: the largest plaintext `encode` puts in one packet.
    pub fn maxoutbuf(&self) -> u32 {
        self.maxoutbuf
    }

    /// The selected mechanism, and whether it is reported with its -PLUS
    /// name, once one is selected.
    pub fn mech(&self) -> Option<(&'static MechInfo, bool)> {
        self.active.as_ref().map(|a| (a.info, a.plus))
    }

    /// The selected mechanism's name as reported to the application.
    pub fn mech_name(&self) -> Option<std::borrow::Cow<'static, str>> {
        self.mech().map(|(info, plus)| if plus { format!("{}-PLUS", info.name).into() } else { info.name.into() })
    }

    /// Prompts to show after a [`Status::Interact`].
    pub fn prompts(&self) -> &[Prompt] {
        &self.prompts
    }

    /// The mechanism chosen by the last start, once one is.
    pub fn mech_info(&self) -> Option<&'static MechInfo> {
        self.active.as_ref().map(|a| a.info)
    }

    /// Chooses a mechanism from the server's list and, when `want_output`,
    /// runs its first step (unless the mechanism waits for the server).
    pub fn start(
        &mut self,
        settings: &Settings,
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
        self.reset(callbacks);
        let choice = match select::select(&settings.context(callbacks.host(), true), mechlist, callbacks) {
            Ok(choice) => choice,
            Err(why) => {
                callbacks.log(LogLevel::Fail, &why);
                return Err(Error::new(Code::NoMech, why));
            }
        };
        if callbacks.log_enabled() && mech::debug_wanted(callbacks.option(None, mech::LOG_LEVEL_OPTION).as_deref()) {
            let origin = choice.info.factory.origin();
            callbacks.log(LogLevel::Debug, &format!("{}: selected, served by {origin}", choice.info.name));
        }
        self.begin(settings, choice, callbacks)?;
        if !want_output {
            return Ok((Status::Continue, None));
        }
        let server_first = self.active.as_ref().is_some_and(|a| a.info.features & mech::feat::SERVER_FIRST != 0);
        if server_first {
            return Ok((Status::Continue, None));
        }
        self.step(settings, None, callbacks, &[])
    }

    fn begin(&mut self, settings: &Settings, choice: Choice, callbacks: &mut dyn AppCallbacks) -> Result<()> {
        let Choice { info, cb, plus } = choice;
        // Reported even if the mechanism cannot start (as Cyrus: svn reads
        // it after a failed start to drop the mechanism and try another).
        self.active = Some(Active { info, plus, mech: None });
        callbacks.progress(Progress::Selected { info, plus });
        let mut params = settings.params(cb, callbacks.host());
        if cb == CbDisposition::None {
            params.channel_binding = None;
        }
        let mech = info.start(&params)?;
        let active = self.active.as_mut().expect("set above");
        if mech.name().is_some() && !active.plus {
            active.plus = true;
            callbacks.progress(Progress::Selected { info, plus: true });
        }
        active.mech = Some(mech);
        self.phase = Phase::Running;
        Ok(())
    }

    /// One step of the running mechanism with the server's challenge (None
    /// when the application passed none). `answers` are the prompts the
    /// application filled after the previous [`Status::Interact`].
    pub fn step(
        &mut self,
        settings: &Settings,
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
                let out = (settings.flags & conn_flags::SUCCESS_DATA == 0).then(Vec::new);
                return Ok((Status::Ok, out));
            }
            Phase::Done => {
                return Err(Error::fail("authentication already completed; the server sent more data"));
            }
            Phase::Failed => return Err(Error::fail("the authentication exchange already failed; start again")),
        }
        self.prompts.clear();
        let active = self.active.as_mut().expect("running implies a mechanism");
        let mech = active.mech.as_mut().expect("running implies a mechanism");
        if input.is_none() && active.info.features & mech::feat::SERVER_FIRST != 0 {
            // Like Cyrus: a server-first mechanism needs the server's message.
            self.phase = Phase::Failed;
            return Err(Error::bad_prot(format!("{} expects a challenge from the server, and got none", active.info.name)));
        }
        let input = input.unwrap_or_default();
        let mut session = ConnSession {
            callbacks: &mut *callbacks,
            answers,
            prompts: &mut self.prompts,
            kept_password: &mut self.kept_password,
            server_fqdn: settings.server_fqdn(),
            mech: active.info.name,
        };
        let result = mech.step(input, &mut session);
        if !matches!(&result, Err(e) if e.code == Code::Interact) {
            self.kept_password = None;
        }
        match result {
            Ok(Step::AwaitServer) => Ok((Status::Continue, None)),
            Ok(Step::Continue(out)) => {
                if let Some((user, authid)) = mech.identity() {
                    show_identity(callbacks, (user != authid).then_some(user), authid);
                }
                Ok((Status::Continue, Some(out)))
            }
            Ok(Step::Done(out)) => {
                let outcome = mech.outcome();
                self.complete(settings, callbacks, out, outcome)
            }
            Ok(Step::DoneWith(out, outcome)) => self.complete(settings, callbacks, out, Ok(outcome)),
            Err(e) if e.code == Code::Interact => {
                if self.prompts.is_empty() && !mech.own_prompts() {
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

    /// Completes the exchange with what the mechanism established, unless
    /// it falls short of the application's minimum strength.
    fn complete(
        &mut self,
        settings: &Settings,
        callbacks: &mut dyn AppCallbacks,
        out: Option<Vec<u8>>,
        outcome: Result<mech::Outcome>,
    ) -> Result<(Status, Option<Vec<u8>>)> {
        let active = self.active.as_mut().expect("running implies a mechanism");
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
        let ssf = outcome.ssf.saturating_add(settings.external_ssf);
        if ssf < settings.props.min_ssf {
            self.phase = Phase::Failed;
            return Err(Error::new(
                Code::TooWeak,
                format!(
                    "{} completed at SSF {ssf}, below the minimum SSF {} (SASL_SEC_PROPS)",
                    active.info.name, settings.props.min_ssf
                ),
            ));
        }
        show_identity(callbacks, outcome.user.as_deref(), &outcome.authid);
        self.ssf = outcome.ssf;
        self.maxoutbuf = if outcome.maxoutbuf == 0 { settings.props.maxbufsize } else { outcome.maxoutbuf };
        self.framing = outcome.layer.map(|l| Box::new(Framing::new(l, self.maxoutbuf)));
        self.phase = Phase::Done;
        if !active.mech.as_ref().is_some_and(|m| m.keep()) {
            // What it held (keys, names) is wiped now rather than at
            // sasl_dispose: the exchange is over, the layer has its own.
            active.mech = None;
        }
        let out = match out {
            None if settings.flags & conn_flags::SUCCESS_DATA == 0 => Some(Vec::new()),
            other => other,
        };
        Ok((Status::Ok, out))
    }

    /// Forgets an unfinished or failed exchange (a new start on the same
    /// connection). No layer exists before completion, so none is dropped.
    fn reset(&mut self, callbacks: &mut dyn AppCallbacks) {
        debug_assert!(self.phase != Phase::Done && self.framing.is_none());
        self.active = None;
        self.phase = Phase::New;
        self.prompts.clear();
        self.kept_password = None;
        callbacks.progress(Progress::Reset);
    }

    /// `sasl_encode[v]`: the concatenated parts, protected and framed if a
    /// layer is in effect, else unchanged.
    pub fn encode(&mut self, settings: &Settings, parts: &[&[u8]], out: &mut Vec<u8>) -> Result<()> {
        settings.layer_check("sasl_encode[v]")?;
        out.clear();
        match &mut self.framing {
            None => parts.iter().for_each(|p| out.extend_from_slice(p)),
            Some(framing) if parts.len() == 1 => framing.encode(parts[0], out)?,
            Some(framing) => framing.encode(&parts.concat(), out)?,
        }
        Ok(())
    }

    /// `sasl_decode`: the plaintext of every packet `input` completes.
    pub fn decode(&mut self, settings: &Settings, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        settings.layer_check("sasl_decode")?;
        out.clear();
        let maxbufsize = settings.props.maxbufsize;
        match &mut self.framing {
            None if input.len() > maxbufsize as usize => {
                return Err(Error::new(
                    Code::BufOver,
                    format!("input of {} bytes is larger than maxbufsize ({maxbufsize})", input.len()),
                ));
            }
            None => out.extend_from_slice(input),
            Some(framing) => framing.decode(input, out)?,
        }
        Ok(())
    }
}

/// Tells the application side the identities an exchange established:
/// the authorization identity is the authentication one when `user` is None.
fn show_identity(callbacks: &mut dyn AppCallbacks, user: Option<&[u8]>, authid: &[u8]) {
    match user {
        None => callbacks.progress(Progress::Name(CANON_AUTHID | CANON_AUTHZID, authid)),
        Some(user) => {
            callbacks.progress(Progress::Name(CANON_AUTHID, authid));
            callbacks.progress(Progress::Name(CANON_AUTHZID, user));
        }
    }
}

/// The connection as a mechanism sees it during one step.
struct ConnSession<'a> {
    callbacks: &'a mut dyn AppCallbacks,
    answers: &'a [Answer],
    prompts: &'a mut Vec<Prompt>,
    kept_password: &'a mut Option<mech::Secret>,
    server_fqdn: Option<&'a str>,
    mech: &'static str,
}

impl Session for ConnSession<'_> {
    fn credentials(&mut self, request: &Request<'_>) -> Result<Credentials> {
        callbacks::resolve(request, self.answers, self.callbacks, self.prompts, self.kept_password, self.server_fqdn)
    }

    fn random(&mut self, buf: &mut [u8]) -> Result<()> {
        super::random::fill(buf).map_err(|e| Error::fail(format!("the system's random source failed: {e}")))
    }

    fn option(&mut self, name: &str) -> Option<String> {
        self.callbacks.option(Some(self.mech), name)
    }

    fn client_hostname(&mut self) -> String {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned())
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

    /// An application with a password callback and a prompt for the user;
    /// it keeps what the connection shows it, as the C layer does.
    #[derive(Default)]
    struct App {
        mech: Option<&'static str>,
        user: Option<Vec<u8>>,
        authid: Option<Vec<u8>>,
    }
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
        fn progress(&mut self, what: Progress<'_>) {
            match what {
                Progress::Reset => *self = App::default(),
                Progress::Selected { info, .. } => self.mech = Some(info.name),
                Progress::Name(flags, name) => {
                    if flags & CANON_AUTHID != 0 {
                        self.authid = Some(name.to_vec());
                    }
                    if flags & CANON_AUTHZID != 0 {
                        self.user = Some(name.to_vec());
                    }
                }
            }
        }
    }

    fn settings() -> Settings {
        Settings::new("imap", Some("Mail.Example.ORG"), None, None, 0, None).unwrap()
    }

    #[test]
    fn prompts_then_completion_then_the_man_pages_final_step() {
        let s = settings();
        assert_eq!((s.service(), s.server_fqdn()), ("imap", Some("mail.example.org")));
        assert_eq!((s.service_with_nul(), s.server_fqdn_with_nul()), ("imap\0", Some("mail.example.org\0")));
        let mut conn = ClientConn::default();
        let mut app = App::default();
        let (status, out) = conn.start(&s, "PLAIN", &mut app, true).unwrap();
        assert_eq!((status, out), (Status::Interact, None));
        assert_eq!((app.mech, app.authid.as_deref()), (Some("PLAIN"), None));
        assert_eq!(conn.prompts()[0].id, CallbackId::AuthName);
        let answers = [Answer::new(CallbackId::AuthName, Some(b"  tim ".as_slice()))];
        let (status, out) = conn.step(&s, None, &mut app, &answers).unwrap();
        // The name is canonicalised (trimmed) before it is sent.
        assert_eq!((status, out.as_deref()), (Status::Ok, Some(&b"\0tim\0pw"[..])));
        assert_eq!((app.user.as_deref(), app.authid.as_deref()), (Some(&b"tim"[..]), Some(&b"tim"[..])));
        // sasl_client_step(3): one more call with no data confirms.
        assert_eq!(conn.step(&s, Some(b""), &mut app, &[]).unwrap(), (Status::Ok, Some(Vec::new())));
        assert_eq!(conn.step(&s, Some(b"x"), &mut app, &[]).unwrap_err().code, Code::Fail);
    }

    #[test]
    fn a_completed_connection_cannot_restart() {
        let s = settings();
        let mut conn = ClientConn::default();
        let mut app = App::default();
        let answers = [Answer::new(CallbackId::AuthName, Some(b"tim".as_slice()))];
        assert_eq!(conn.start(&s, "PLAIN", &mut app, true).unwrap().0, Status::Interact);
        assert_eq!(conn.step(&s, None, &mut app, &answers).unwrap().0, Status::Ok);
        for again in ["PLAIN", "CRAM-MD5", "NOSUCH"] {
            assert_eq!(conn.start(&s, again, &mut app, true).unwrap_err().code, Code::Fail);
            assert_eq!((conn.phase(), conn.mech_name().as_deref()), (Phase::Done, Some("PLAIN")));
            assert_eq!(app.user.as_deref(), Some(&b"tim"[..]));
        }
        // An unfinished exchange may be abandoned for another, as in Cyrus.
        let mut conn = ClientConn::default();
        assert_eq!(conn.start(&s, "CRAM-MD5", &mut app, true).unwrap().0, Status::Continue);
        assert_eq!(app.mech, Some("CRAM-MD5"));
        assert_eq!(conn.start(&s, "PLAIN", &mut app, true).unwrap().0, Status::Interact);
        assert_eq!((conn.mech_name().as_deref(), app.mech), (Some("PLAIN"), Some("PLAIN")));
    }

    #[test]
    fn server_first_mechanisms_need_a_challenge() {
        let s = settings();
        let mut conn = ClientConn::default();
        assert_eq!(conn.start(&s, "CRAM-MD5", &mut App::default(), true).unwrap(), (Status::Continue, None));
        assert_eq!(conn.step(&s, None, &mut App::default(), &[]).unwrap_err().code, Code::BadProt);
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
            Ok(mech::Outcome::without_layer(None, b"tim".to_vec()))
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
            let mut s = settings();
            s.mechs = Some(Box::new([&NO_LAYER]));
            s.props = SecurityProps { min_ssf, max_ssf: 256, maxbufsize: 65536, security_flags: 0 };
            s.external_ssf = external;
            let mut conn = ClientConn::default();
            let mut app = App::default();
            assert_eq!(conn.start(&s, "X-NO-LAYER", &mut app, false).unwrap().0, Status::Continue);
            match conn.step(&s, None, &mut app, &[]) {
                Ok((status, _)) => {
                    assert!(ok, "completed at SSF 0 + {external} with a minimum of {min_ssf}");
                    assert_eq!((status, conn.ssf()), (Status::Ok, 0));
                }
                Err(e) => {
                    assert!(!ok, "{e}");
                    assert_eq!(e.code, Code::TooWeak, "{e}");
                    assert_eq!((conn.phase(), app.user.as_deref()), (Phase::Failed, None));
                }
            }
        }
    }
}
