//! The application's callbacks as the core sees them, and the credential
//! lookup that turns them (or filled-in prompts) into what a mechanism asked
//! for, the way Cyrus's plugins do it.

use zeroize::Zeroizing;

use crate::mech::{Canon, Code, Credentials, Error, LogLevel, MechInfo, Request, Result, Secret};

/// Callback ids the core asks for (the `SASL_CB_*` values in the C API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackId {
    User,
    AuthName,
    Language,
    Pass,
    EchoPrompt,
    NoEchoPrompt,
    CNonce,
    GetRealm,
}

/// How the application can answer a callback id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// A callback function is registered.
    Callback,
    /// Registered with a NULL function: ask through `SASL_INTERACT`.
    Prompt,
    /// Not registered at all.
    Absent,
}

/// The answer of one callback lookup.
pub enum Lookup<T> {
    Value(T),
    /// Ask the user through a prompt.
    Prompt,
    /// No such callback.
    Absent,
    /// The callback returned this failure (or a NULL result meaning cancel).
    Failed(Code),
}

/// The application side of a connection: implemented by the C-ABI layer over
/// `sasl_callback_t` arrays (per connection first, then global). Names and
/// realms are bytes, as the application gave them.
pub trait AppCallbacks {
    fn availability(&self, id: CallbackId) -> Availability;
    /// `sasl_getsimple_t` ids: User, AuthName, Language.
    fn simple(&mut self, id: CallbackId) -> Lookup<Vec<u8>>;
    fn secret(&mut self) -> Lookup<Secret>;
    /// A realm among `offered`. `Failed` when the callback fails or
    /// answers NULL.
    fn realm(&mut self, offered: &[String]) -> Lookup<Vec<u8>>;
    /// `SASL_CB_GETOPT`: `plugin` is None for library options.
    fn option(&mut self, plugin: Option<&str>, name: &str) -> Option<String>;
    /// `SASL_CB_CANON_USER` on `name` with the `CANON_*` `flags`: `Absent`
    /// when the application has none.
    fn canon_user(&mut self, name: &[u8], flags: u32) -> Lookup<Vec<u8>>;
    fn log(&mut self, level: LogLevel, message: &str);
    /// Whether [`AppCallbacks::log`] reaches anyone, so that messages nobody
    /// reads are not even formatted.
    fn log_enabled(&self) -> bool {
        true
    }
    /// The C side of the call, handed to mechanisms that are C plugins
    /// (`Params::host`); None for Rust callers.
    fn host(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// A canon_user plugin's canonicalisation of `name` (after the
    /// callback), in place of the library's own (surrounding white space
    /// removed); None when no plugin is chosen.
    fn canon_plugin(&mut self, _name: &[u8], _flags: u32) -> Option<Result<Vec<u8>>> {
        None
    }
    /// What the exchange has established so far, told as it happens (see
    /// [`Progress`]).
    fn progress(&mut self, _: Progress<'_>) {}
}

/// What an exchange has established, told to the application side as it
/// happens: Cyrus keeps it in the connection's out-params, which
/// `sasl_getprop` reads, from inside a callback too while a step runs.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A new exchange: no mechanism and no identity yet.
    Reset,
    /// The mechanism chosen, before it starts; `plus` when it binds the
    /// channel (reported with its -PLUS name).
    Selected { info: &'static MechInfo, plus: bool },
    /// A canonical identity: the authentication one (`CANON_AUTHID`), the
    /// authorization one (`CANON_AUTHZID`), or both.
    Name(u32, &'a [u8]),
}

/// The `flags` of a canon_user call (`SASL_CU_*`).
pub const CANON_AUTHID: u32 = 0x01;
pub const CANON_AUTHZID: u32 = 0x02;

/// One prompt for the application to fill (`sasl_interact_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub id: CallbackId,
    pub challenge: Option<String>,
    pub prompt: String,
    pub defresult: Option<String>,
}

/// A prompt the application filled: its id and the bytes it gave.
pub struct Answer {
    pub id: CallbackId,
    /// None when the application left `result` NULL.
    pub value: Option<Secret>,
}

/// Resolves a mechanism's [`Request`] against filled prompts first, then the
/// callbacks; whatever must be prompted for is collected into `prompts`.
/// The names are then canonicalised as Cyrus's client library does (see
/// [`canonicalise`]). `server_fqdn` is offered as the realm prompt's default.
pub(crate) fn resolve(
    request: &Request<'_>,
    answers: &[Answer],
    callbacks: &mut dyn AppCallbacks,
    prompts: &mut Vec<Prompt>,
    kept_password: &mut Option<Secret>,
    server_fqdn: Option<&str>,
) -> Result<Credentials> {
    let mut creds = Credentials::default();
    let mut pending = Vec::new();
    let trace = matches!(request.canon, Canon::Trace(_));

    // Cyrus's mechanisms ask for the authentication name, then the
    // authorization name, then the password (an application answering
    // from a script in turn depends on it), and list their prompts with the
    // authorization name first.
    let mut authname_prompt = None;
    if request.authname {
        creds.authname = match text(CallbackId::AuthName, answers, callbacks)? {
            Lookup::Value(v) => Some(v),
            Lookup::Prompt => {
                authname_prompt = Some(Prompt {
                    id: CallbackId::AuthName,
                    challenge: Some("Authentication Name".into()),
                    prompt: "Please enter your authentication name".into(),
                    defresult: None,
                });
                None
            }
            // Cyrus's library default: the login name from the environment.
            Lookup::Absent => match default_authname() {
                Some(name) => Some(name),
                None => return Err(Error::fail("no authentication name: no SASL_CB_AUTHNAME callback and USER is unset")),
            },
            Lookup::Failed(code) => return Err(callback_failed(code, "authentication name")),
        };
    }

    if request.authzid {
        let prompt_text = if trace {
            "Please enter anonymous identification"
        } else {
            "Please enter your authorization name"
        };
        creds.authzid = match text(CallbackId::User, answers, callbacks)? {
            Lookup::Value(v) => Some(v),
            Lookup::Prompt => {
                pending.push(Prompt {
                    id: CallbackId::User,
                    challenge: Some("Authorization Name".into()),
                    prompt: prompt_text.into(),
                    defresult: request.authzid_default.map(str::to_owned),
                });
                None
            }
            // Optional: no callback means no authorization identity.
            Lookup::Absent => None,
            Lookup::Failed(code) => return Err(callback_failed(code, "authorization name")),
        };
    }

    pending.extend(authname_prompt);

    if request.password {
        let answered = answers.iter().find(|a| a.id == CallbackId::Pass);
        creds.password = match answered {
            Some(Answer { value: Some(v), .. }) => Some(v.clone()),
            Some(Answer { value: None, .. }) => {
                return Err(Error::bad_param("the password prompt was left unanswered"));
            }
            None => match kept_password.take().map_or_else(|| callbacks.secret(), Lookup::Value) {
                Lookup::Value(v) => Some(v),
                Lookup::Prompt => {
                    pending.push(Prompt {
                        id: CallbackId::Pass,
                        challenge: Some("Password".into()),
                        prompt: "Please enter your password".into(),
                        defresult: None,
                    });
                    None
                }
                Lookup::Absent => {
                    return Err(Error::fail("no password: the application has no SASL_CB_PASS callback"));
                }
                Lookup::Failed(code) => return Err(callback_failed(code, "password")),
            },
        };
    }

    if let Some(offered) = request.realm {
        // No answer (a prompt left NULL, a failing or NULL-answering
        // callback, no callback at all) leaves the choice to the mechanism.
        let answered = answers.iter().find(|a| a.id == CallbackId::GetRealm);
        creds.realm = match answered {
            Some(a) => a.value.as_ref().map(|v| v.to_vec()),
            None => match callbacks.realm(offered) {
                Lookup::Value(v) => Some(v),
                Lookup::Prompt => {
                    pending.push(Prompt {
                        id: CallbackId::GetRealm,
                        challenge: Some(realm_challenge(offered)),
                        prompt: "Please enter your realm".into(),
                        defresult: server_fqdn.map(str::to_owned),
                    });
                    None
                }
                Lookup::Absent | Lookup::Failed(_) => None,
            },
        };
    }

    if !pending.is_empty() {
        if request.keep_password {
            *kept_password = creds.password.take();
        }
        prompts.extend(pending);
        return Err(Error::interact());
    }
    canonicalise(&mut creds, request.canon, callbacks)?;
    Ok(creds)
}

/// The realm prompt's challenge, as Cyrus words it.
fn realm_challenge(offered: &[String]) -> String {
    let listed: Vec<String> = offered.iter().map(|r| format!("{{{r}}}")).collect();
    format!("Available realms: {}.", listed.join(", "))
}

/// Canonicalises the identities as Cyrus's client library does for its
/// plugins: each name goes through the application's SASL_CB_CANON_USER,
/// with the flags and in the order of the mechanism (`canon`), then loses
/// its surrounding white space. One call covers both identities when there
/// is no authzid. An authzid that ends up empty or equal to the
/// authentication identity is left out: it says nothing more, and servers
/// may read it as a request to act as another user (dovecot's master
/// users).
fn canonicalise(creds: &mut Credentials, canon: Canon<'_>, callbacks: &mut dyn AppCallbacks) -> Result<()> {
    let authid = match canon {
        Canon::Deferred => return Ok(()),
        Canon::Trace(id) | Canon::Established { authid: id, .. } => Some(id.to_vec()),
        Canon::AuthidFirst | Canon::AuthzidFirst => creds.authname.take(),
    };
    let authzid = match canon {
        // A trace, not a name: sent as the user gave it.
        Canon::Trace(_) => None,
        Canon::Established { authzid, .. } => authzid.map(<[u8]>::to_vec),
        _ => creds.authzid.take(),
    }
    .filter(|z| !z.is_empty());
    let (authid, authzid) = match (authid, authzid) {
        (Some(a), None) => (Some(canonical_name(callbacks, a, CANON_AUTHID | CANON_AUTHZID)?), None),
        (None, Some(z)) => (None, Some(canonical_name(callbacks, z, CANON_AUTHZID)?)),
        (None, None) => (None, None),
        (Some(a), Some(z)) if canon == Canon::AuthidFirst => {
            let a = canonical_name(callbacks, a, CANON_AUTHID)?;
            (Some(a), Some(canonical_name(callbacks, z, CANON_AUTHZID)?))
        }
        (Some(a), Some(z)) => {
            let z = canonical_name(callbacks, z, CANON_AUTHZID)?;
            (Some(canonical_name(callbacks, a, CANON_AUTHID)?), Some(z))
        }
    };
    if authid.as_ref().is_some_and(Vec::is_empty) {
        return Err(Error::fail("the authentication name is empty"));
    }
    if !matches!(canon, Canon::Trace(_)) {
        creds.authzid = authzid.filter(|z| !z.is_empty() && Some(z) != authid.as_ref());
    }
    creds.authname = authid;
    Ok(())
}

/// One name through the application's canon_user callback, then trimmed of
/// surrounding white space and held to [`MAX_NAME`] bytes (or, when the
/// `canon_user_plugin` option chooses one, through a canon_user plugin).
fn canonical_name(callbacks: &mut dyn AppCallbacks, name: Vec<u8>, flags: u32) -> Result<Vec<u8>> {
    let what = if flags & CANON_AUTHID != 0 { "authentication" } else { "authorization" };
    let mut name = match callbacks.canon_user(&name, flags) {
        Lookup::Value(v) => v,
        Lookup::Absent | Lookup::Prompt => name,
        Lookup::Failed(code) => {
            let code = if code == Code::Interact { Code::Fail } else { code };
            return Err(Error::new(code, format!("the application's canon_user callback refused the {what} name")));
        }
    };
    if let Some(canonical) = callbacks.canon_plugin(&name, flags) {
        let name = canonical?;
        callbacks.progress(Progress::Name(flags, &name));
        return Ok(name);
    }
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let end = name.iter().rposition(|b| !is_space(b)).map_or(0, |i| i + 1);
    name.truncate(end);
    let start = name.iter().position(|b| !is_space(b)).unwrap_or(name.len());
    name.drain(..start);
    if name.len() > MAX_NAME {
        return Err(Error::new(Code::BufOver, format!("the {what} name is longer than {MAX_NAME} bytes")));
    }
    // Cyrus stores each name in its out-params as soon as it is canonical.
    callbacks.progress(Progress::Name(flags, &name));
    Ok(name)
}

/// A text credential from a filled prompt, or else from its callback.
fn text(id: CallbackId, answers: &[Answer], callbacks: &mut dyn AppCallbacks) -> Result<Lookup<Vec<u8>>> {
    match answers.iter().find(|a| a.id == id) {
        Some(Answer { value: Some(v), .. }) => Ok(Lookup::Value(v.to_vec())),
        Some(Answer { value: None, .. }) if id == CallbackId::User => Ok(Lookup::Absent),
        Some(Answer { value: None, .. }) => Err(Error::bad_param("a required prompt was left unanswered")),
        None => Ok(callbacks.simple(id)),
    }
}

/// Cyrus's limit on a canonical user name.
pub const MAX_NAME: usize = 1024;

fn callback_failed(code: Code, what: &str) -> Error {
    let code = if code == Code::Interact { Code::Fail } else { code };
    Error::new(code, format!("the application's callback gave no {what}"))
}

/// Cyrus's default authentication name: $USER, else $USERNAME, as bytes.
fn default_authname() -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    ["USER", "USERNAME"].iter().find_map(|var| std::env::var_os(var).map(OsStringExt::into_vec).filter(|v| !v.is_empty()))
}

/// Whether the application can supply `need` at all (Cyrus's `have_prompts`):
/// the authentication name always can, through the library's default.
pub(crate) fn can_supply(callbacks: &dyn AppCallbacks, need: crate::mech::Need) -> bool {
    use crate::mech::Need;
    let id = match need {
        Need::AuthName => return true,
        Need::AuthzId => CallbackId::User,
        Need::Password => CallbackId::Pass,
        Need::Realm => CallbackId::GetRealm,
    };
    callbacks.availability(id) != Availability::Absent
}

impl Answer {
    pub fn new(id: CallbackId, value: Option<&[u8]>) -> Self {
        Answer { id, value: value.map(|v| Zeroizing::new(v.to_vec())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An application with callbacks for every name, a canon_user callback
    /// that logs its calls, and a scripted realm answer.
    #[derive(Default)]
    struct App {
        user: Option<&'static [u8]>,
        realm: Option<Lookup<Vec<u8>>>,
        /// The canon_user result is this prefix and the name; None: no callback.
        canon_prefix: Option<&'static [u8]>,
        canon_calls: Vec<(Vec<u8>, u32)>,
        user_asked: usize,
        secret_asked: usize,
    }

    impl AppCallbacks for App {
        fn availability(&self, id: CallbackId) -> Availability {
            if id == CallbackId::GetRealm && self.realm.is_none() { Availability::Absent } else { Availability::Callback }
        }
        fn simple(&mut self, id: CallbackId) -> Lookup<Vec<u8>> {
            match id {
                CallbackId::AuthName => Lookup::Value(b" tim ".to_vec()),
                CallbackId::User => {
                    self.user_asked += 1;
                    self.user.map_or(Lookup::Absent, |u| Lookup::Value(u.to_vec()))
                }
                _ => Lookup::Absent,
            }
        }
        fn secret(&mut self) -> Lookup<Secret> {
            self.secret_asked += 1;
            Lookup::Value(Secret::new(b"pw".to_vec()))
        }
        fn realm(&mut self, _: &[String]) -> Lookup<Vec<u8>> {
            match self.realm.take() {
                None => Lookup::Absent,
                Some(Lookup::Value(v)) => Lookup::Value(v),
                Some(Lookup::Prompt) => Lookup::Prompt,
                Some(Lookup::Absent) => Lookup::Absent,
                Some(Lookup::Failed(c)) => Lookup::Failed(c),
            }
        }
        fn option(&mut self, _: Option<&str>, _: &str) -> Option<String> {
            None
        }
        fn canon_user(&mut self, name: &[u8], flags: u32) -> Lookup<Vec<u8>> {
            let Some(prefix) = self.canon_prefix else { return Lookup::Absent };
            self.canon_calls.push((name.to_vec(), flags));
            Lookup::Value([prefix, name].concat())
        }
        fn log(&mut self, _: LogLevel, _: &str) {}
    }

    fn run(app: &mut App, request: Request<'_>) -> Result<Credentials> {
        resolve(&request, &[], app, &mut Vec::new(), &mut None, Some("mail.example.org"))
    }

    #[test]
    fn canon_user_order_and_flags_follow_the_mechanism() {
        let both = CANON_AUTHID | CANON_AUTHZID;
        let calls = |user: Option<&'static [u8]>, canon: Canon<'static>, authname: bool| {
            let mut app = App { user, canon_prefix: Some(b"C-"), ..App::default() };
            let creds = run(&mut app, Request { canon, authname, ..Request::USER_PASS }).unwrap();
            (app.canon_calls, creds.authzid, creds.authname)
        };
        let (log, z, a) = calls(Some(b"bob"), Canon::AuthidFirst, true);
        assert_eq!(log, [(b" tim ".to_vec(), CANON_AUTHID), (b"bob".to_vec(), CANON_AUTHZID)]);
        assert_eq!((z.as_deref(), a.as_deref()), (Some(&b"C-bob"[..]), Some(&b"C- tim"[..])));
        let (log, ..) = calls(Some(b"bob"), Canon::AuthzidFirst, true);
        assert_eq!(log, [(b"bob".to_vec(), CANON_AUTHZID), (b" tim ".to_vec(), CANON_AUTHID)]);
        let established = Canon::Established { authid: b"cn=ext", authzid: Some(b"bob") };
        let (log, _, a) = calls(None, established, false);
        assert_eq!(log, [(b"bob".to_vec(), CANON_AUTHZID), (b"cn=ext".to_vec(), CANON_AUTHID)]);
        assert_eq!(a.as_deref(), Some(&b"C-cn=ext"[..]));
        // One call for both when there is no authzid (an empty one is none).
        let (log, z, _) = calls(Some(b""), Canon::AuthidFirst, true);
        assert_eq!((log, z), (vec![(b" tim ".to_vec(), both)], None));
        // ANONYMOUS: its identity is canonicalised, the trace left as given.
        let (log, z, a) = calls(Some(b" trace "), Canon::Trace(b"anonymous"), false);
        assert_eq!(log, [(b"anonymous".to_vec(), both)]);
        assert_eq!((z.as_deref(), a.as_deref()), (Some(&b" trace "[..]), Some(&b"C-anonymous"[..])));
    }

    /// GSSAPI, as Cyrus's: the authzid is asked for first and canonicalised
    /// only with the principal, the authzid first, each with its own flag.
    #[test]
    fn a_deferred_authzid_is_canonicalised_with_the_established_identity() {
        let mut app = App { user: Some(b" boss "), canon_prefix: Some(b"C-"), ..App::default() };
        let ask = Request { authname: false, password: false, canon: Canon::Deferred, ..Request::USER_PASS };
        let raw = run(&mut app, ask).unwrap().authzid;
        assert_eq!((raw.as_deref(), app.canon_calls.len()), (Some(&b" boss "[..]), 0));
        let established = |authzid| Request {
            authzid: false,
            authname: false,
            password: false,
            realm: None,
            canon: Canon::Established { authid: b"tim@EXAMPLE.ORG", authzid },
            authzid_default: None,
            keep_password: false,
        };
        let creds = run(&mut app, established(raw.as_deref())).unwrap();
        let log = [(b" boss ".to_vec(), CANON_AUTHZID), (b"tim@EXAMPLE.ORG".to_vec(), CANON_AUTHID)];
        assert_eq!(app.canon_calls, log);
        assert_eq!((creds.authzid.as_deref(), creds.authname.as_deref()), (Some(&b"C- boss"[..]), Some(&b"C-tim@EXAMPLE.ORG"[..])));
        // The callback for the authzid is not asked again.
        assert_eq!(app.user_asked, 1);
        // No authzid (or an empty one): the principal alone, with both flags.
        for none in [None, Some(&b""[..])] {
            let mut app = App { canon_prefix: Some(b""), ..App::default() };
            let creds = run(&mut app, established(none)).unwrap();
            assert_eq!(app.canon_calls, [(b"tim@EXAMPLE.ORG".to_vec(), CANON_AUTHID | CANON_AUTHZID)]);
            assert_eq!(creds.authzid, None);
        }
        // An authzid naming the principal says nothing more: left out.
        let mut app = App::default();
        let creds = run(&mut app, established(Some(b"tim@EXAMPLE.ORG"))).unwrap();
        assert_eq!(creds.authzid, None);
    }

    #[test]
    fn names_are_trimmed_bytes_and_a_redundant_authzid_is_dropped() {
        // Without a canon_user callback: trimmed, bytes kept as they are.
        let mut app = App { user: Some(b" t\xe9st"), ..App::default() };
        let creds = run(&mut app, Request::USER_PASS).unwrap();
        assert_eq!((creds.authzid.as_deref(), creds.authname.as_deref()), (Some(&b"t\xe9st"[..]), Some(&b"tim"[..])));
        // Equal after canonicalisation: no authzid.
        let mut app = App { user: Some(b"tim\t"), ..App::default() };
        assert_eq!(run(&mut app, Request::USER_PASS).unwrap().authzid, None);
        // An ANONYMOUS trace equal to the identity is kept.
        let mut app = App { user: Some(b"anonymous"), ..App::default() };
        let request = Request { authname: false, canon: Canon::Trace(b"anonymous"), ..Request::USER_PASS };
        assert_eq!(run(&mut app, request).unwrap().authzid.as_deref(), Some(&b"anonymous"[..]));
        // Too long after canonicalisation.
        let mut app = App { canon_prefix: Some(&[b'x'; MAX_NAME]), ..App::default() };
        assert_eq!(run(&mut app, Request::USER_PASS).err().unwrap().code, Code::BufOver);
    }

    #[test]
    fn no_realm_chosen_leaves_the_choice_to_the_mechanism() {
        let offered = ["r1".to_string(), "r2".to_string()];
        let request = Request { realm: Some(&offered), ..Request::USER_PASS };
        for answer in [Lookup::Failed(Code::Application(1)), Lookup::Failed(Code::BadParam), Lookup::Absent] {
            let mut app = App { realm: Some(answer), ..App::default() };
            assert_eq!(run(&mut app, request).unwrap().realm, None);
        }
        let mut app = App { realm: Some(Lookup::Value(b"r2".to_vec())), ..App::default() };
        assert_eq!(run(&mut app, request).unwrap().realm.as_deref(), Some(&b"r2"[..]));
        // A prompt offers the server's name by default; left NULL, no realm.
        let mut app = App { realm: Some(Lookup::Prompt), ..App::default() };
        let mut prompts = Vec::new();
        let err = resolve(&request, &[], &mut app, &mut prompts, &mut None, Some("mail.example.org")).err().unwrap();
        assert_eq!(err.code, Code::Interact);
        assert_eq!(prompts[0].defresult.as_deref(), Some("mail.example.org"));
        assert_eq!(prompts[0].challenge.as_deref(), Some("Available realms: {r1}, {r2}."));
        let answers = [Answer::new(CallbackId::GetRealm, None)];
        let creds = resolve(&request, &answers, &mut app, &mut Vec::new(), &mut None, None).unwrap();
        assert_eq!(creds.realm, None);
    }

    /// SCRAM and DIGEST-MD5, as Cyrus's: a password the callback gave while
    /// something else is prompted for is not asked for again; other
    /// mechanisms ask again.
    #[test]
    fn a_password_is_kept_across_prompts_when_the_mechanism_keeps_it() {
        let offered = ["r1".to_string(), "r2".to_string()];
        let answers = [Answer::new(CallbackId::GetRealm, Some(b"r2"))];
        for keep in [true, false] {
            let request = Request { realm: Some(&offered), keep_password: keep, ..Request::USER_PASS };
            let mut app = App { realm: Some(Lookup::Prompt), ..App::default() };
            let mut kept = None;
            let err = resolve(&request, &[], &mut app, &mut Vec::new(), &mut kept, None).err().unwrap();
            assert_eq!((err.code, kept.is_some()), (Code::Interact, keep));
            let creds = resolve(&request, &answers, &mut app, &mut Vec::new(), &mut kept, None).unwrap();
            assert_eq!(creds.password.as_deref().map(|p| &p[..]), Some(&b"pw"[..]));
            assert_eq!((app.secret_asked, kept.is_none()), (if keep { 1 } else { 2 }, true));
        }
    }
}
