//! OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's predecessor): a bearer token,
//! given as the password, sent in the client's first message.
//!
//! Both are client-first. The server answers a rejected token with a
//! challenge holding a JSON error document; the client must then send a
//! single `0x01` so that the server can finish (RFC 7628 section 3.2.3), and
//! the exchange fails. The error is remembered and reported (with the
//! server's status, scope and discovery URL, never the token) on the next
//! call, which normally is the one made when the server's failure arrives.
//!
//! A challenge that is not a well-formed JSON error object still means the
//! server rejected the token (a server sends no other challenge), so it is
//! answered the same way and the failure is `BadAuth` too; its detail says
//! the error document was malformed. Only a challenge that breaks the
//! exchange's shape — data before our first message, a second challenge
//! after our `0x01` — is `BadProt`.
use super::*;

pub static OAUTHBEARER: MechInfo = MechInfo {
    name: "OAUTHBEARER",
    max_ssf: 0,
    security_flags: sec::NOANONYMOUS | sec::PASS_CREDENTIALS,
    features: feat::WANT_CLIENT_FIRST | feat::ALLOWS_PROXY,
    required: NEEDS_USER_PASS,
    last_resort: true,
    factory: &(new_bearer as NewFn),
};

/// Whether `name` is a bearer-token mechanism's, whoever serves it: a C
/// plugin's XOAUTH2 (KDE's, in Debian's libsasl2-modules-kdexoauth2) is as
/// much a last resort as ours.
pub(crate) fn is_bearer_mechanism(name: &str) -> bool {
    [OAUTHBEARER.name, XOAUTH2.name].iter().any(|n| n.eq_ignore_ascii_case(name))
}

fn new_bearer(params: &Params<'_>) -> Result<Box<dyn ClientMech>> {
    Ok(Box::new(OAuth::new(Kind::Bearer, params)))
}

pub static XOAUTH2: MechInfo = MechInfo {
    name: "XOAUTH2",
    max_ssf: 0,
    security_flags: sec::NOANONYMOUS | sec::PASS_CREDENTIALS,
    features: feat::WANT_CLIENT_FIRST,
    required: NEEDS_USER_PASS,
    last_resort: true,
    factory: &(new_xoauth2 as NewFn),
};

fn new_xoauth2(params: &Params<'_>) -> Result<Box<dyn ClientMech>> {
    Ok(Box::new(OAuth::new(Kind::XOAuth2, params)))
}

/// The key-value separator of both mechanisms (`kvsep`, control-A).
const KVSEP: u8 = 0x01;
/// Largest error document we parse; RFC 7628's are a few hundred bytes.
pub const MAX_ERROR_LEN: usize = 4096;
/// Deepest nesting of objects and arrays accepted in an error document.
pub const MAX_DEPTH: usize = 16;
/// Longest server-supplied value quoted in an error detail, in characters.
const MAX_SHOWN: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bearer,
    XOAuth2,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bearer => "OAUTHBEARER",
            Kind::XOAuth2 => "XOAUTH2",
        }
    }
}

enum State {
    /// Nothing sent yet.
    Start,
    /// Our message is sent; identities for the outcome.
    Sent { user: Vec<u8>, authid: Vec<u8> },
    /// The server rejected the token and we answered 0x01; what it said.
    ErrorReplied { detail: String },
    /// Finished successfully.
    Done,
    /// Failed: every further call returns this.
    Failed(Error),
}

struct OAuth {
    kind: Kind,
    host: Option<String>,
    port: Option<u16>,
    state: State,
    outcome: Option<Outcome>,
}

impl OAuth {
    fn new(kind: Kind, params: &Params<'_>) -> Self {
        OAuth {
            kind,
            host: params.server_fqdn.filter(|h| !h.is_empty()).map(str::to_owned),
            port: params.remote_addr.and_then(port_of),
            state: State::Start,
            outcome: None,
        }
    }

    fn fail(&mut self, error: Error) -> Result<Step> {
        self.state = State::Failed(error.clone());
        Err(error)
    }
}

/// The port of an address string as given to `sasl_client_new`
/// (`a.b.c.d;port` or `ipv6;port`); `None` when absent or malformed.
fn port_of(addr: &str) -> Option<u16> {
    let (_, port) = addr.rsplit_once(';')?;
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    port.parse().ok().filter(|&p| p != 0)
}

/// Checks a token against RFC 6750's `b64token`:
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub fn is_bearer_token(token: &[u8]) -> bool {
    let body = token.iter().position(|&b| b == b'=').unwrap_or(token.len());
    body > 0
        && token[..body]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/'))
        && token[body..].iter().all(|&b| b == b'=')
}

/// RFC 7628 `value = *(VCHAR / SP / HTAB / CR / LF)`.
fn is_kv_value(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, 0x21..=0x7e | b' ' | b'\t' | b'\r' | b'\n'))
}

/// The OAUTHBEARER initial client response (RFC 7628 section 3.1).
/// Fails with `BadParam` when a value cannot be carried.
pub fn oauthbearer_message(
    authzid: Option<&[u8]>,
    host: Option<&str>,
    port: Option<u16>,
    token: &[u8],
) -> Result<Secret> {
    if !is_bearer_token(token) {
        return Err(Error::bad_param("OAUTHBEARER: the token is not a valid bearer token (RFC 6750 b64token)"));
    }
    // Room for everything, so that no growth leaves a copy of the token
    // behind (an authzid's saslname escapes triple a byte at most), and
    // for the NUL the C layer appends.
    let room = authzid.map_or(0, |z| 2 + 3 * z.len()) + host.map_or(0, |h| h.len() + 6) + token.len() + 64;
    let mut out = Secret::new(Vec::with_capacity(room));
    out.extend_from_slice(b"n,");
    if let Some(z) = authzid.filter(|z| !z.is_empty()) {
        if z.iter().any(|&b| b == 0 || b == KVSEP) {
            return Err(Error::bad_param("OAUTHBEARER: the authorization identity contains a control character"));
        }
        out.extend_from_slice(b"a=");
        push_saslname(&mut out, z);
    }
    out.push(b',');
    out.push(KVSEP);
    if let Some(host) = host {
        if !is_kv_value(host) {
            return Err(Error::bad_param("OAUTHBEARER: the server name contains characters it cannot carry"));
        }
        out.extend_from_slice(b"host=");
        out.extend_from_slice(host.as_bytes());
        out.push(KVSEP);
    }
    if let Some(port) = port {
        out.extend_from_slice(format!("port={port}").as_bytes());
        out.push(KVSEP);
    }
    out.extend_from_slice(b"auth=Bearer ");
    out.extend_from_slice(token);
    out.push(KVSEP);
    out.push(KVSEP);
    Ok(out)
}

/// The XOAUTH2 initial client response: `user=U ^A auth=Bearer T ^A ^A`.
pub fn xoauth2_message(user: &[u8], token: &[u8]) -> Result<Secret> {
    if !is_bearer_token(token) {
        return Err(Error::bad_param("XOAUTH2: the token is not a valid bearer token (RFC 6750 b64token)"));
    }
    if user.is_empty() {
        return Err(Error::bad_param("XOAUTH2: a user name is needed"));
    }
    if user.iter().any(u8::is_ascii_control) {
        return Err(Error::bad_param("XOAUTH2: the user name contains a control character"));
    }
    // Room for everything and the NUL the C layer appends (see above).
    let mut out = Secret::new(Vec::with_capacity(user.len() + token.len() + 24));
    out.extend_from_slice(b"user=");
    out.extend_from_slice(user);
    out.push(KVSEP);
    out.extend_from_slice(b"auth=Bearer ");
    out.extend_from_slice(token);
    out.push(KVSEP);
    out.push(KVSEP);
    Ok(out)
}

impl ClientMech for OAuth {
    fn step(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step> {
        let name = self.kind.name();
        match &self.state {
            State::Start => {
                if !input.is_empty() {
                    return self.fail(Error::bad_prot(format!(
                        "{name}: the server sent data before the client's first message"
                    )));
                }
                // Interact returns here, before any state changes.
                let creds = session.credentials(&Request::USER_PASS)?;
                let authname = creds.authname.unwrap_or_default();
                let token = creds.password.unwrap_or_default();
                let authzid = creds.authzid;
                let (msg, user) = match self.kind {
                    Kind::Bearer => {
                        // The GS2 authzid names the user: the authzid when
                        // the application gives one, otherwise the
                        // authentication identity, as servers (Dovecot,
                        // Gmail) require a user there to match the token to.
                        let user = authzid.unwrap_or_else(|| authname.clone());
                        let msg = oauthbearer_message(Some(&user), self.host.as_deref(), self.port, &token)?;
                        (msg, user)
                    }
                    Kind::XOAuth2 => {
                        // XOAUTH2 carries one identity only (an authzid
                        // equal to the authid never reaches here).
                        if authzid.is_some() {
                            return Err(Error::new(
                                Code::NoAuthz,
                                "XOAUTH2 cannot authorize as a user other than the authenticated one",
                            ));
                        }
                        (xoauth2_message(&authname, &token)?, authname.clone())
                    }
                };
                self.state = State::Sent { user, authid: authname };
                Ok(Step::Continue(into_output(msg)))
            }
            State::Sent { user, authid } => {
                if input.is_empty() {
                    // Success, with no additional data.
                    self.outcome = Some(Outcome::without_layer(Some(user.clone()), authid.clone()));
                    self.state = State::Done;
                    return Ok(Step::Done(None));
                }
                // Logged with the failure that follows, by the C edge.
                let detail = describe_rejection(self.kind, input);
                self.state = State::ErrorReplied { detail };
                Ok(Step::Continue(vec![KVSEP]))
            }
            State::ErrorReplied { detail } => {
                let error = if input.is_empty() {
                    Error::bad_auth(detail.clone())
                } else {
                    Error::bad_prot(format!("{name}: another challenge after the error reply; {detail}"))
                };
                self.fail(error)
            }
            State::Done => self.fail(Error::bad_prot(format!("{name}: the exchange is already complete"))),
            State::Failed(error) => Err(error.clone()),
        }
    }

    fn identity(&self) -> Option<(&[u8], &[u8])> {
        match &self.state {
            State::Sent { user, authid } => Some((user, authid)),
            _ => None,
        }
    }

    fn outcome(&mut self) -> Result<Outcome> {
        self.outcome
            .take()
            .ok_or_else(|| Error::new(Code::NotDone, format!("{} has not completed", self.kind.name())))
    }
}

/// The error detail for a rejected token, from the server's challenge.
fn describe_rejection(kind: Kind, challenge: &[u8]) -> String {
    let name = kind.name();
    let fields: &[&str] = match kind {
        Kind::Bearer => &["status", "scope", "openid-configuration"],
        Kind::XOAuth2 => &["status", "schemes", "scope"],
    };
    match parse_object(challenge) {
        Ok(members) => {
            let mut detail = format!("{name}: server rejected the token:");
            let mut any = false;
            for field in fields {
                if let Some((_, value)) = members.iter().find(|(k, _)| k == field) {
                    if let Some(text) = value.text() {
                        detail.push(' ');
                        detail.push_str(field);
                        detail.push('=');
                        detail.push_str(&shown(text));
                        any = true;
                    }
                }
            }
            if !any {
                detail.push_str(" (no status given)");
            }
            detail
        }
        Err(why) => format!("{name}: server rejected the token (its error response is not a valid JSON object: {why})"),
    }
}

/// A server-supplied value made safe and short for an error detail: control
/// characters become `?`, long values are cut, values with spaces quoted.
fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(MAX_SHOWN)
        .map(|c| if c.is_control() || c == '"' { '?' } else { c })
        .collect();
    if value.chars().count() > MAX_SHOWN {
        out.push_str("...");
    }
    if out.is_empty() || out.contains(char::is_whitespace) {
        out = format!("\"{out}\"");
    }
    out
}

/// A member value of the top-level object: strings and numbers are kept
/// (a status may be either), anything else is only validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    String(String),
    /// A number, as written.
    Number(String),
    Other,
}

impl Value {
    fn text(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::Number(s) => Some(s),
            Value::Other => None,
        }
    }
}

/// Parses a JSON (RFC 8259) document that must be one object, of at most
/// [`MAX_ERROR_LEN`] bytes and [`MAX_DEPTH`] levels, into its members.
/// Strict: no trailing commas or garbage, no lone surrogates, no duplicate
/// member names at the top level.
pub fn parse_object(input: &[u8]) -> std::result::Result<Vec<(String, Value)>, &'static str> {
    if input.len() > MAX_ERROR_LEN {
        return Err("too long");
    }
    if std::str::from_utf8(input).is_err() {
        return Err("not UTF-8");
    }
    let mut p = Parser { s: input, pos: 0 };
    p.ws();
    if p.peek() != Some(b'{') {
        return Err("not an object");
    }
    let mut members = Vec::new();
    p.object(1, Some(&mut members))?;
    p.ws();
    if p.pos != p.s.len() {
        return Err("trailing data");
    }
    Ok(members)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

type Parsed<T> = std::result::Result<T, &'static str>;

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn next(&mut self) -> Parsed<u8> {
        let b = self.peek().ok_or("truncated")?;
        self.pos += 1;
        Ok(b)
    }

    fn expect(&mut self, b: u8) -> Parsed<()> {
        if self.next()? == b { Ok(()) } else { Err("unexpected character") }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Parses a value at nesting `depth` (the value itself counts if it is
    /// an object or array).
    fn value(&mut self, depth: usize) -> Parsed<Value> {
        match self.peek().ok_or("truncated")? {
            b'{' => self.object(depth, None).map(|()| Value::Other),
            b'[' => self.array(depth).map(|()| Value::Other),
            b'"' => self.string().map(Value::String),
            b'-' | b'0'..=b'9' => self.number().map(Value::Number),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => Err("unexpected character"),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Parsed<Value> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(Value::Other)
        } else {
            Err("unexpected character")
        }
    }

    fn object(&mut self, depth: usize, mut members: Option<&mut Vec<(String, Value)>>) -> Parsed<()> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply");
        }
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err("expected a member name");
            }
            let key = self.string()?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            let value = self.value(depth + 1)?;
            if let Some(members) = members.as_deref_mut() {
                if members.iter().any(|(k, _)| *k == key) {
                    return Err("duplicate member");
                }
                members.push((key, value));
            }
            self.ws();
            match self.next()? {
                b',' => continue,
                b'}' => return Ok(()),
                _ => return Err("unexpected character"),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Parsed<()> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply");
        }
        self.expect(b'[')?;
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.value(depth + 1)?;
            self.ws();
            match self.next()? {
                b',' => continue,
                b']' => return Ok(()),
                _ => return Err("unexpected character"),
            }
        }
    }

    fn hex4(&mut self) -> Parsed<u32> {
        let mut v = 0;
        for _ in 0..4 {
            let d = (self.next()? as char).to_digit(16).ok_or("bad \\u escape")?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    /// A string; the input is known to be UTF-8 and we only split it at
    /// ASCII bytes, so the bytes copied stay UTF-8.
    fn string(&mut self) -> Parsed<String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.next()? {
                b'"' => break,
                b'\\' => {
                    let c = match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = match hi {
                                0xD800..=0xDBFF => {
                                    self.expect(b'\\').map_err(|_| "lone surrogate")?;
                                    self.expect(b'u').map_err(|_| "lone surrogate")?;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..=0xDFFF).contains(&lo) {
                                        return Err("lone surrogate");
                                    }
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                }
                                0xDC00..=0xDFFF => return Err("lone surrogate"),
                                c => c,
                            };
                            char::from_u32(code).ok_or("bad \\u escape")?
                        }
                        _ => return Err("bad escape"),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                b if b < 0x20 => return Err("control character in a string"),
                b => out.push(b),
            }
        }
        String::from_utf8(out).map_err(|_| "not UTF-8")
    }

    fn digits(&mut self) -> Parsed<()> {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        if self.pos == start { Err("bad number") } else { Ok(()) }
    }

    fn number(&mut self) -> Parsed<String> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits()?,
            _ => return Err("bad number"),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digits()?;
        }
        // ASCII only, so this cannot fail.
        Ok(String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::testing::{params, FakeSession};

    const TOKEN: &[u8] = b"vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";

    fn session(authzid: Option<&str>, authname: &str, token: &[u8]) -> FakeSession {
        FakeSession {
            authzid: authzid.map(Into::into),
            authname: Some(authname.into()),
            password: Some(token.to_vec()),
            ..Default::default()
        }
    }

    fn start(info: &MechInfo, fqdn: Option<&str>, remote: Option<&str>, s: &mut FakeSession) -> (Box<dyn ClientMech>, Vec<u8>) {
        let mut p = params();
        p.server_fqdn = fqdn;
        p.remote_addr = remote;
        let mut m = info.start(&p).unwrap();
        match m.step(b"", s).unwrap() {
            Step::Continue(msg) => (m, msg),
            other => panic!("expected Continue, got {other:?}"),
        }
    }

    #[test]
    fn rfc7628_example() {
        // RFC 7628 section 4.1.
        let mut s = session(None, "user@example.com", TOKEN);
        let (mut m, msg) = start(&OAUTHBEARER, Some("server.example.com"), Some("192.0.2.5;143"), &mut s);
        assert_eq!(
            msg,
            b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01\
              auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        assert_eq!(m.step(b"", &mut s).unwrap(), Step::Done(None));
        let o = m.outcome().unwrap();
        assert_eq!((o.user(), &o.authid[..], o.ssf, o.layer.is_none()), (&b"user@example.com"[..], &b"user@example.com"[..], 0, true));
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::BadProt);
    }

    #[test]
    fn oauthbearer_without_host_port_and_with_ipv6() {
        let mut s = session(None, "u", b"abc");
        let (_, msg) = start(&OAUTHBEARER, None, None, &mut s);
        assert_eq!(msg, b"n,a=u,\x01auth=Bearer abc\x01\x01");
        let (_, msg) = start(&OAUTHBEARER, Some("h"), Some("2001:db8::1;993"), &mut s);
        assert_eq!(msg, b"n,a=u,\x01host=h\x01port=993\x01auth=Bearer abc\x01\x01");
        // Unparseable port: left out.
        let (_, msg) = start(&OAUTHBEARER, Some("h"), Some("192.0.2.5;x"), &mut s);
        assert_eq!(msg, b"n,a=u,\x01host=h\x01auth=Bearer abc\x01\x01");
        // Neither authzid nor authname: no gs2 authzid at all.
        let mut s = session(None, "", b"abc");
        let (_, msg) = start(&OAUTHBEARER, None, None, &mut s);
        assert_eq!(msg, b"n,,\x01auth=Bearer abc\x01\x01");
    }

    #[test]
    fn port_parsing() {
        assert_eq!(port_of("127.0.0.1;143"), Some(143));
        assert_eq!(port_of("::1;65535"), Some(65535));
        assert_eq!(port_of("127.0.0.1;65536"), None);
        assert_eq!(port_of("127.0.0.1;0"), None);
        assert_eq!(port_of("127.0.0.1;"), None);
        assert_eq!(port_of("127.0.0.1"), None);
        assert_eq!(port_of("127.0.0.1;+1"), None);
        assert_eq!(port_of("127.0.0.1;0000143"), None);
    }

    #[test]
    fn authzid_is_escaped_and_is_the_user() {
        let mut escaped = Vec::new();
        push_saslname(&mut escaped, b"a,b=c,,==");
        assert_eq!(escaped, b"a=2Cb=3Dc=2C=2C=3D=3D");
        let mut s = session(Some("admin,x=y"), "tim", b"t0k-en.~_+/==");
        let (mut m, msg) = start(&OAUTHBEARER, None, None, &mut s);
        assert_eq!(msg, b"n,a=admin=2Cx=3Dy,\x01auth=Bearer t0k-en.~_+/==\x01\x01");
        assert_eq!(m.step(b"", &mut s).unwrap(), Step::Done(None));
        let o = m.outcome().unwrap();
        assert_eq!((o.user(), &o.authid[..]), (&b"admin,x=y"[..], &b"tim"[..]));
    }

    #[test]
    fn xoauth2_message_and_outcome() {
        let mut s = session(None, "someuser@example.com", b"ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg");
        let (mut m, msg) = start(&XOAUTH2, Some("imap.example.com"), Some("127.0.0.1;993"), &mut s);
        assert_eq!(msg, b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg\x01\x01");
        assert_eq!(m.step(b"", &mut s).unwrap(), Step::Done(None));
        let o = m.outcome().unwrap();
        assert_eq!((o.user(), &o.authid[..]), (&b"someuser@example.com"[..], &b"someuser@example.com"[..]));
        // The same authzid is fine, another is not.
        let mut s = session(Some("u"), "u", b"t");
        let (_, msg) = start(&XOAUTH2, None, None, &mut s);
        assert_eq!(msg, b"user=u\x01auth=Bearer t\x01\x01");
        let mut s = session(Some("other"), "u", b"t");
        let mut m = XOAUTH2.start(&params()).unwrap();
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::NoAuthz);
    }

    #[test]
    fn bad_tokens_and_values_are_refused() {
        for token in [&b""[..], b"a b", b"abc\x01", b"=abc", b"ab=c", b"abc\n", b"t\xc3\xa9", b"a,b", b"a\0"] {
            for info in [&OAUTHBEARER, &XOAUTH2] {
                let mut s = session(None, "u", token);
                let e = info.start(&params()).unwrap().step(b"", &mut s).unwrap_err();
                assert_eq!(e.code, Code::BadParam, "{token:?}");
            }
        }
        assert!(is_bearer_token(b"A-Za-z0-9._~+/"));
        assert!(is_bearer_token(b"x==="));
        let mut s = session(Some("a\x01b"), "u", b"t");
        assert_eq!(OAUTHBEARER.start(&params()).unwrap().step(b"", &mut s).unwrap_err().code, Code::BadParam);
        let mut s = session(None, "a\x01b", b"t");
        assert_eq!(OAUTHBEARER.start(&params()).unwrap().step(b"", &mut s).unwrap_err().code, Code::BadParam);
        let mut s = session(None, "a\x01b", b"t");
        assert_eq!(XOAUTH2.start(&params()).unwrap().step(b"", &mut s).unwrap_err().code, Code::BadParam);
        let mut s = session(None, "", b"t");
        assert_eq!(XOAUTH2.start(&params()).unwrap().step(b"", &mut s).unwrap_err().code, Code::BadParam);
        let mut s = session(None, "u", b"t");
        let mut p = params();
        p.server_fqdn = Some("bad\x01host");
        assert_eq!(OAUTHBEARER.start(&p).unwrap().step(b"", &mut s).unwrap_err().code, Code::BadParam);
    }

    #[test]
    fn interaction_leaves_state_untouched() {
        let mut s = session(None, "u", b"tok");
        s.interact_first = true;
        let mut m = OAUTHBEARER.start(&params()).unwrap();
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::Interact);
        assert_eq!(
            m.step(b"", &mut s).unwrap(),
            Step::Continue(b"n,a=u,\x01host=elwood.innosoft.com\x01auth=Bearer tok\x01\x01".to_vec())
        );
    }

    #[test]
    fn rfc7628_error_flow() {
        // RFC 7628 section 4.3 (server's error, then the client's 0x01).
        let mut s = session(None, "user@example.com", TOKEN);
        let (mut m, _) = start(&OAUTHBEARER, Some("server.example.com"), Some("192.0.2.5;143"), &mut s);
        let challenge = br#"{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}"#;
        assert_eq!(m.step(challenge, &mut s).unwrap(), Step::Continue(vec![1]));
        let e = m.step(b"", &mut s).unwrap_err();
        assert_eq!(e.code, Code::BadAuth);
        assert_eq!(
            e.detail,
            "OAUTHBEARER: server rejected the token: status=invalid_token scope=example_scope \
             openid-configuration=https://example.com/.well-known/openid-configuration"
        );
        assert!(!e.detail.contains("vF9dft"));
        // Sticky; and no outcome.
        assert_eq!(m.step(b"", &mut s).unwrap_err(), e);
        assert_eq!(m.step(b"x", &mut s).unwrap_err(), e);
        assert_eq!(m.outcome().unwrap_err().code, Code::NotDone);
        assert!(s.logs.iter().all(|(_, l)| !l.contains("vF9dft")));
    }

    #[test]
    fn xoauth2_google_error() {
        let mut s = session(None, "someuser@example.com", b"ya29.abc");
        let (mut m, _) = start(&XOAUTH2, None, None, &mut s);
        let challenge = br#"{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}"#;
        assert_eq!(m.step(challenge, &mut s).unwrap(), Step::Continue(vec![1]));
        let e = m.step(b"", &mut s).unwrap_err();
        assert_eq!(e.code, Code::BadAuth);
        assert_eq!(
            e.detail,
            "XOAUTH2: server rejected the token: status=401 schemes=\"bearer mac\" scope=https://mail.google.com/"
        );
    }

    #[test]
    fn second_challenge_after_error_reply_is_a_protocol_error() {
        let mut s = session(None, "u", b"t");
        let (mut m, _) = start(&OAUTHBEARER, None, None, &mut s);
        assert_eq!(m.step(br#"{"status":"invalid_token"}"#, &mut s).unwrap(), Step::Continue(vec![1]));
        let e = m.step(br#"{"status":"invalid_token"}"#, &mut s).unwrap_err();
        assert_eq!(e.code, Code::BadProt);
        assert!(e.detail.contains("status=invalid_token"));
        assert_eq!(m.step(b"", &mut s).unwrap_err(), e);
    }

    #[test]
    fn challenge_before_first_message_is_a_protocol_error() {
        let mut s = session(None, "u", b"t");
        let mut m = OAUTHBEARER.start(&params()).unwrap();
        assert_eq!(m.step(b"{}", &mut s).unwrap_err().code, Code::BadProt);
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::BadProt);
        assert_eq!(s.requests, 0);
    }

    #[test]
    fn malformed_error_documents_still_fail_cleanly() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let big = format!("{{\"status\":\"{}\"}}", "x".repeat(MAX_ERROR_LEN));
        let cases: Vec<Vec<u8>> = vec![
            b"not json".to_vec(),
            b"[1,2]".to_vec(),
            b"\"str\"".to_vec(),
            b"{".to_vec(),
            b"{\"status\":\"x\"".to_vec(),
            b"{\"status\":\"x\",}".to_vec(),
            b"{\"status\":\"x\"} x".to_vec(),
            b"{\"status\":'x'}".to_vec(),
            b"{\"status\":\"a\x01b\"}".to_vec(),
            b"{\"status\":\"\\ud800\"}".to_vec(),
            b"{\"status\":\"\xff\"}".to_vec(),
            b"{\"status\":01}".to_vec(),
            b"{\"status\":\"x\",\"status\":\"y\"}".to_vec(),
            b"{status:1}".to_vec(),
            b"\x00".to_vec(),
            deep.into_bytes(),
            big.into_bytes(),
            "{".repeat(100_000).into_bytes(),
        ];
        for challenge in cases {
            for info in [&OAUTHBEARER, &XOAUTH2] {
                let mut s = session(None, "u", b"t");
                let (mut m, _) = start(info, None, None, &mut s);
                assert_eq!(m.step(&challenge, &mut s).unwrap(), Step::Continue(vec![1]));
                let e = m.step(b"", &mut s).unwrap_err();
                assert_eq!(e.code, Code::BadAuth);
                assert!(e.detail.contains("not a valid JSON object"), "{e:?} for {:?}", String::from_utf8_lossy(&challenge[..challenge.len().min(40)]));
            }
        }
    }

    #[test]
    fn json_parser() {
        let doc = br#" { "status" : "invalid_token", "n": -1.5e+3, "nested": {"a": [true, false, null, {"b": []}]},
                       "esc": "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00", "empty": {} } "#;
        let m = parse_object(doc).unwrap();
        assert_eq!(m[0], ("status".into(), Value::String("invalid_token".into())));
        assert_eq!(m[1], ("n".into(), Value::Number("-1.5e+3".into())));
        assert_eq!(m[2], ("nested".into(), Value::Other));
        assert_eq!(m[3], ("esc".into(), Value::String("a\"b\\c/d\u{8}\u{c}\n\r\t\u{e9}\u{1F600}".into())));
        assert_eq!(m.len(), 5);
        assert_eq!(parse_object(b"{}").unwrap(), vec![]);
        // Depth: exactly the limit passes, one more fails.
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(parse_object(ok.as_bytes()).is_ok());
        let too_deep = format!("{{\"a\":{}1{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(parse_object(too_deep.as_bytes()), Err("nested too deeply"));
        for bad in [&b"{\"a\":tru}"[..], b"{\"a\":1.}", b"{\"a\":-}", b"{\"a\":1e}", b"{\"a\":\"\\x\"}", b"{\"a\":\"\\u12\"}",
                    b"{\"a\":[1,]}", b"{\"a\" 1}", b"{,}", b"\xef\xbb\xbf{}", b"{\"a\":\"\\udc00\"}", b"{\"a\":\"\\ud800\\u0041\"}"] {
            assert!(parse_object(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn shown_values_are_sanitized() {
        let mut s = session(None, "u", b"t");
        let (mut m, _) = start(&OAUTHBEARER, None, None, &mut s);
        let long = "y".repeat(1000);
        let doc = format!("{{\"status\":\"a\\nb\\\"c\",\"scope\":\"{long}\"}}");
        m.step(doc.as_bytes(), &mut s).unwrap();
        let e = m.step(b"", &mut s).unwrap_err();
        assert!(e.detail.contains("status=a?b?c"), "{}", e.detail);
        assert!(e.detail.len() < 400);
        assert!(e.detail.ends_with("..."));
        // An object without any of the fields.
        let (mut m, _) = start(&OAUTHBEARER, None, None, &mut s);
        m.step(b"{\"other\":1}", &mut s).unwrap();
        assert_eq!(m.step(b"", &mut s).unwrap_err().detail, "OAUTHBEARER: server rejected the token: (no status given)");
    }
}
