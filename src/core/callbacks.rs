//! The application's callbacks as the core sees them, and the credential
//! lookup that turns them (or filled-in prompts) into what a mechanism asked
//! for, the way Cyrus's plugins do it.

use zeroize::Zeroizing;

use crate::mech::{Code, Credentials, Error, LogLevel, Request, Result, Secret};

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
/// `sasl_callback_t` arrays (per connection first, then global).
pub trait AppCallbacks {
    fn availability(&self, id: CallbackId) -> Availability;
    /// `sasl_getsimple_t` ids: User, AuthName, Language, CNonce.
    fn simple(&mut self, id: CallbackId) -> Lookup<String>;
    fn secret(&mut self) -> Lookup<Secret>;
    fn realm(&mut self, offered: &[String]) -> Lookup<String>;
    /// `SASL_CB_GETOPT`: `plugin` is None for library options.
    fn option(&mut self, plugin: Option<&str>, name: &str) -> Option<String>;
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
    /// The application's own canonicalisation of a user name (a canon_user
    /// callback or plugin), or None for the library's default (surrounding
    /// white space removed).
    fn canon_user(&mut self, _name: &str, _authid: bool) -> Option<Result<String>> {
        None
    }
}

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
pub(crate) fn resolve(
    request: &Request<'_>,
    answers: &[Answer],
    callbacks: &mut dyn AppCallbacks,
    prompts: &mut Vec<Prompt>,
    anonymous: bool,
) -> Result<Credentials> {
    let mut creds = Credentials::default();
    let mut pending = Vec::new();

    if request.authzid {
        let prompt_text = if anonymous {
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
                    defresult: anonymous.then(String::new),
                });
                None
            }
            // Optional: no callback means no authorization identity.
            Lookup::Absent => None,
            Lookup::Failed(code) => return Err(callback_failed(code, "authorization name")),
        };
    }

    if request.authname {
        creds.authname = match text(CallbackId::AuthName, answers, callbacks)? {
            Lookup::Value(v) => Some(v),
            Lookup::Prompt => {
                pending.push(Prompt {
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

    if request.password {
        let answered = answers.iter().find(|a| a.id == CallbackId::Pass);
        creds.password = match answered {
            Some(Answer { value: Some(v), .. }) => Some(v.clone()),
            Some(Answer { value: None, .. }) => {
                return Err(Error::bad_param("the password prompt was left unanswered"));
            }
            None => match callbacks.secret() {
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
        let answered = answers.iter().find(|a| a.id == CallbackId::GetRealm);
        creds.realm = match answered {
            Some(a) => Some(a.value.as_ref().map(|v| lossy(v)).unwrap_or_default()),
            None => match callbacks.realm(offered) {
                Lookup::Value(v) => Some(v),
                Lookup::Prompt => {
                    pending.push(Prompt {
                        id: CallbackId::GetRealm,
                        challenge: Some(offered.join(", ")).filter(|s| !s.is_empty()),
                        prompt: "Please enter your realm".into(),
                        defresult: offered.first().cloned(),
                    });
                    None
                }
                // Without a realm callback, take the server's first realm.
                Lookup::Absent => Some(offered.first().cloned().unwrap_or_default()),
                Lookup::Failed(code) => return Err(callback_failed(code, "realm")),
            },
        };
    }

    creds.authzid = match creds.authzid.take() {
        Some(z) => Some(canonicalize(callbacks, z, false)?).filter(|z| !z.is_empty()),
        None => None,
    };
    if let Some(name) = creds.authname.take() {
        let name = canonicalize(callbacks, name, true)?;
        if name.is_empty() {
            return Err(Error::fail("the authentication name is empty"));
        }
        creds.authname = Some(name);
    }

    if pending.is_empty() {
        Ok(creds)
    } else {
        prompts.extend(pending);
        Err(Error::interact())
    }
}

/// A text credential from a filled prompt, or else from its callback.
fn text(id: CallbackId, answers: &[Answer], callbacks: &mut dyn AppCallbacks) -> Result<Lookup<String>> {
    match answers.iter().find(|a| a.id == id) {
        Some(Answer { value: Some(v), .. }) => Ok(Lookup::Value(lossy(v))),
        Some(Answer { value: None, .. }) if id == CallbackId::User => Ok(Lookup::Absent),
        Some(Answer { value: None, .. }) => Err(Error::bad_param("a required prompt was left unanswered")),
        None => Ok(callbacks.simple(id)),
    }
}

/// A user name through the application's canonicalisation, if it has one,
/// else the library's.
fn canonicalize(callbacks: &mut dyn AppCallbacks, name: String, authid: bool) -> Result<String> {
    match callbacks.canon_user(&name, authid) {
        Some(result) => result,
        None => canonical_name(name, if authid { "authentication" } else { "authorization" }),
    }
}

/// User names as Cyrus's client canonicalises them: surrounding white space
/// removed, at most [`MAX_NAME`] bytes.
fn canonical_name(name: String, what: &str) -> Result<String> {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r');
    let trimmed = name.trim_matches(is_space);
    if trimmed.len() > MAX_NAME {
        return Err(Error::new(Code::BufOver, format!("the {what} name is longer than {MAX_NAME} bytes")));
    }
    Ok(if trimmed.len() == name.len() { name } else { trimmed.to_owned() })
}

/// Cyrus's limit on a canonical user name.
const MAX_NAME: usize = 1024;

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn callback_failed(code: Code, what: &str) -> Error {
    let code = if code == Code::Interact { Code::Fail } else { code };
    Error::new(code, format!("the application's callback gave no {what}"))
}

/// Cyrus's default authentication name: $USER, else $USERNAME.
fn default_authname() -> Option<String> {
    ["USER", "USERNAME"].iter().find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
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
