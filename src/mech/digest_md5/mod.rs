//! DIGEST-MD5 (RFC 2831), client side, with its integrity and
//! confidentiality layers, speaking as Cyrus SASL 2.1.28 does.
//!
//! The exchange: the server's challenge (realms, nonce, qop and cipher
//! options, maxbuf...), our digest-response, the server's `rspauth`, which
//! proves that it knows the password too. A later connection to the same
//! server answers at once from the remembered nonce when the application
//! asks for an initial response (fast re-authentication, [`reauth`]).
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::*;

mod layer;
mod mac;
mod md5_block;
mod rc4;
mod reauth;
mod parse;

use layer::{Cipher, Key};

pub static INFO: MechInfo = MechInfo {
    name: "DIGEST-MD5",
    max_ssf: 128,
    security_flags: sec::NOANONYMOUS | sec::NOPLAINTEXT | sec::MUTUAL_AUTH,
    // Not server-first, as in Cyrus: asked for an initial response, the
    // first step answers from the re-authentication memory, or sends
    // nothing and waits for the challenge.
    features: feat::ALLOWS_PROXY | feat::NEED_SERVER_FQDN | feat::SUPPORTS_HTTP,
    required: NEEDS_USER_PASS,
    last_resort: false,
    factory: &(new_client as NewFn),
};

/// RFC 2831: maxbuf defaults to 65536 when not given.
const DEFAULT_MAXBUF: u32 = 65536;
/// The largest maxbuf Cyrus accepts (the 4-byte length leaves 24 bits).
const MAX_MAXBUF: u32 = 0xFF_FFFF;
/// RFC 2831 2.1.2: "The size of a digest-response MUST be less than 4096
/// bytes"; Cyrus's server refuses more.
const MAX_RESPONSE: usize = 4096;
/// Random bytes in our cnonce (as Cyrus: 32, base64-encoded).
const CNONCE_BYTES: usize = 32;

fn new_client(params: &Params<'_>) -> Result<Box<dyn ClientMech>> {
    let fqdn = params
        .server_fqdn
        .filter(|f| !f.is_empty())
        .ok_or_else(|| Error::bad_param("DIGEST-MD5 needs the server's fully qualified domain name"))?;
    Ok(Box::new(DigestMd5 {
        digest_uri: format!("{}/{}", params.service, fqdn),
        service: params.service.to_owned(),
        server_fqdn: fqdn.to_owned(),
        props: params.props,
        external_ssf: params.external_ssf,
        state: State::Start,
        held: None,
        outcome: None,
    }))
}

/// The security layer chosen from the server's offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protection {
    /// qop=auth
    None,
    /// qop=auth-int
    Integrity,
    /// qop=auth-conf with this cipher
    Privacy(Cipher),
}

impl Protection {
    fn qop(self) -> &'static str {
        match self {
            Protection::None => "auth",
            Protection::Integrity => "auth-int",
            Protection::Privacy(_) => "auth-conf",
        }
    }
    fn ssf(self) -> u32 {
        match self {
            Protection::None => 0,
            Protection::Integrity => 1,
            Protection::Privacy(c) => c.ssf(),
        }
    }
    fn cipher(self) -> Option<Cipher> {
        match self {
            Protection::Privacy(c) => Some(c),
            _ => None,
        }
    }
}

const QOP_AUTH: u8 = 1;
const QOP_INT: u8 = 2;
const QOP_CONF: u8 = 4;

/// What the server's challenge says.
#[derive(Debug)]
struct Challenge {
    realms: Vec<String>,
    nonce: String,
    offer: Offer,
}

/// The server's terms: kept for re-authentication, which answers without
/// a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Offer {
    /// `QOP_*` bits offered.
    qops: u8,
    /// Ciphers offered that we know.
    ciphers: Vec<Cipher>,
    /// The largest packet the server accepts.
    maxbuf: u32,
    /// The server sent charset=utf-8.
    utf8: bool,
}

fn parse_challenge(input: &[u8], session: &mut dyn Session) -> Result<Challenge> {
    let mut ch = Challenge {
        realms: Vec::new(),
        nonce: String::new(),
        offer: Offer { qops: 0, ciphers: Vec::new(), maxbuf: DEFAULT_MAXBUF, utf8: false },
    };
    let (mut nonce, mut stale, mut maxbuf, mut charset, mut algorithm, mut cipher, mut qop) =
        (false, false, false, false, false, false, false);
    let once = |seen: &mut bool, name: &str| {
        if std::mem::replace(seen, true) {
            Err(Error::bad_prot(format!("DIGEST-MD5 challenge has more than one {name} directive")))
        } else {
            Ok(())
        }
    };
    for d in parse::directives(input)? {
        let value = d.value;
        match d.name.to_ascii_lowercase().as_str() {
            "realm" => ch.realms.push(value),
            "nonce" => {
                once(&mut nonce, "nonce")?;
                if value.is_empty() {
                    return Err(Error::bad_prot("DIGEST-MD5 challenge has an empty nonce"));
                }
                ch.nonce = value;
            }
            "qop" => {
                // Several qop directives are merged, as Cyrus does.
                qop = true;
                for q in parse::list(&value) {
                    match q.to_ascii_lowercase().as_str() {
                        "auth" => ch.offer.qops |= QOP_AUTH,
                        "auth-int" => ch.offer.qops |= QOP_INT,
                        "auth-conf" => ch.offer.qops |= QOP_CONF,
                        _ => session.log(LogLevel::Debug, &format!("DIGEST-MD5: server offers unknown qop {q}")),
                    }
                }
            }
            "cipher" => {
                once(&mut cipher, "cipher")?;
                for c in parse::list(&value) {
                    match Cipher::ALL.iter().find(|k| k.name().eq_ignore_ascii_case(c)) {
                        Some(&k) => ch.offer.ciphers.push(k),
                        None => session.log(LogLevel::Debug, &format!("DIGEST-MD5: server offers unknown cipher {c}")),
                    }
                }
            }
            "stale" => once(&mut stale, "stale")?,
            "maxbuf" => {
                once(&mut maxbuf, "maxbuf")?;
                let n = (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| value.parse::<u32>().ok())
                    .flatten()
                    .ok_or_else(|| Error::bad_prot("DIGEST-MD5 challenge has an invalid maxbuf"))?;
                // Cyrus: more than the 16 bytes of an empty integrity
                // packet, at most 2^24 - 1.
                if n <= 16 || n > MAX_MAXBUF {
                    return Err(Error::bad_prot(format!("DIGEST-MD5 challenge has an unusable maxbuf {n}")));
                }
                ch.offer.maxbuf = n;
            }
            "charset" => {
                once(&mut charset, "charset")?;
                if !value.eq_ignore_ascii_case("utf-8") {
                    return Err(Error::bad_prot("DIGEST-MD5 challenge names a charset other than utf-8"));
                }
                ch.offer.utf8 = true;
            }
            "algorithm" => {
                once(&mut algorithm, "algorithm")?;
                if !value.eq_ignore_ascii_case("md5-sess") {
                    return Err(Error::bad_prot("DIGEST-MD5 challenge names an algorithm other than md5-sess"));
                }
            }
            other => session.log(LogLevel::Debug, &format!("DIGEST-MD5: ignoring unknown directive {other}")),
        }
    }
    if !nonce {
        return Err(Error::bad_prot("DIGEST-MD5 challenge has no nonce"));
    }
    if !algorithm {
        return Err(Error::bad_prot("DIGEST-MD5 challenge has no algorithm=md5-sess"));
    }
    if !qop {
        // RFC 2831: qop-options defaults to "auth".
        ch.offer.qops = QOP_AUTH;
    } else if ch.offer.qops == 0 {
        return Err(Error::bad_prot("DIGEST-MD5 server offers no known qop"));
    }
    Ok(ch)
}

/// Picks the strongest layer the server offers within our SSF bounds, as
/// Cyrus does: bounds are relative to the external SSF; no layer at all
/// when the application accepts none (maxbufsize 0).
fn choose_protection(ch: &Offer, props: &SecurityProps, external_ssf: u32) -> Result<Protection> {
    let (need, limit) = if props.maxbufsize == 0 {
        (0, 0)
    } else {
        (props.min_ssf.saturating_sub(external_ssf), props.max_ssf.saturating_sub(external_ssf))
    };
    if limit > 1 && ch.qops & QOP_CONF != 0 {
        let best = ch
            .ciphers
            .iter()
            .copied()
            .filter(|c| (need..=limit).contains(&c.ssf()))
            .max_by_key(|c| c.ssf());
        if let Some(c) = best {
            return Ok(Protection::Privacy(c));
        }
    }
    if limit >= 1 && need <= 1 && ch.qops & QOP_INT != 0 {
        Ok(Protection::Integrity)
    } else if need == 0 {
        if ch.qops & QOP_AUTH != 0 {
            Ok(Protection::None)
        } else {
            // Cyrus fails with SASL_FAIL here.
            Err(Error::fail("DIGEST-MD5 server requires a security layer the application does not allow"))
        }
    } else {
        Err(Error::new(Code::TooWeak, "DIGEST-MD5 server offers no security layer strong enough"))
    }
}

/// Whether `s` is UTF-8 text entirely within ISO 8859-1: every byte below
/// 0xC0, or a 0xC0..=0xC3 lead byte followed by one continuation byte.
/// Applied to raw bytes (passwords need not be UTF-8), as Cyrus does.
fn in_latin1(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            0xC0..=0xC3 if matches!(s.get(i + 1), Some(0x80..=0xBF)) => i += 2,
            0xC0.. => return false,
            _ => i += 1,
        }
    }
    true
}

/// Hashes `s`, converted from UTF-8 to ISO 8859-1 when it fits (RFC 2831
/// 2.1.2.1 and its section 8 sample code, per string as Cyrus does).
fn update_latin1(h: &mut Md5, s: &[u8]) {
    if !in_latin1(s) {
        h.update(s);
        return;
    }
    let mut rest = s;
    while let Some(lead) = rest.iter().position(|&b| b >= 0xC0) {
        h.update(&rest[..lead]);
        h.update([(rest[lead] & 0x03) << 6 | (rest[lead + 1] & 0x3F)]);
        rest = &rest[lead + 2..];
    }
    h.update(rest);
}

fn hex(bytes: &[u8]) -> Zeroizing<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = Zeroizing::new(String::with_capacity(bytes.len() * 2));
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn unhex16(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        let d = |c: u8| (c as char).to_digit(16).map(|v| v as u8);
        *o = d(pair[0])? << 4 | d(pair[1])?;
    }
    Some(out)
}

fn md5(parts: &[&[u8]]) -> Key {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    let mut k = Zeroizing::new([0u8; 16]);
    k.copy_from_slice(&h.finalize());
    k
}

/// The inputs of one digest computation (RFC 2831 2.1.2.1).
struct Inputs<'a> {
    username: &'a [u8],
    /// nonce-count, 8 hex digits.
    nc: &'a str,
    realm: &'a [u8],
    password: &'a [u8],
    authzid: Option<&'a [u8]>,
    nonce: &'a str,
    cnonce: &'a str,
    qop: &'a str,
    digest_uri: &'a str,
}

/// The session key H(A1) and the hex `response` and expected `rspauth`.
struct Computed {
    ha1: Key,
    response: Zeroizing<String>,
    rspauth: Key,
}

impl Inputs<'_> {
    fn compute(&self) -> Computed {
        // H({ username-value, ":", realm-value, ":", passwd })
        let mut h = Md5::new();
        update_latin1(&mut h, self.username);
        h.update(b":");
        update_latin1(&mut h, self.realm);
        h.update(b":");
        update_latin1(&mut h, self.password);
        let mut urp = Zeroizing::new([0u8; 16]);
        urp.copy_from_slice(&h.finalize());
        // A1 = { H(...), ":", nonce-value, ":", cnonce-value [":", authzid-value] }
        let mut h = Md5::new();
        h.update(&urp[..]);
        h.update(b":");
        h.update(self.nonce.as_bytes());
        h.update(b":");
        h.update(self.cnonce.as_bytes());
        if let Some(z) = self.authzid {
            h.update(b":");
            h.update(z);
        }
        let mut ha1 = Zeroizing::new([0u8; 16]);
        ha1.copy_from_slice(&h.finalize());
        let ha1_hex = hex(&ha1[..]);
        let digest = |a2_prefix: &str| {
            // A2 = { [method] ":", digest-uri-value [":" 32 zeros] }
            let mut a2 = Md5::new();
            a2.update(a2_prefix.as_bytes());
            a2.update(self.digest_uri.as_bytes());
            if self.qop != "auth" {
                a2.update(b":00000000000000000000000000000000");
            }
            let ha2 = hex(&a2.finalize());
            md5(&[
                ha1_hex.as_bytes(),
                b":",
                self.nonce.as_bytes(),
                b":",
                self.nc.as_bytes(),
                b":",
                self.cnonce.as_bytes(),
                b":",
                self.qop.as_bytes(),
                b":",
                ha2.as_bytes(),
            ])
        };
        let response = hex(&digest("AUTHENTICATE:")[..]);
        let rspauth = digest(":");
        Computed { ha1, response, rspauth }
    }
}

/// Appends `,name="value"` with `"` and `\` escaped; other bytes (names
/// need not be UTF-8) as they are.
fn push_quoted(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    if !out.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    for &b in value {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn push_token(out: &mut Vec<u8>, name: &str, value: &str) {
    if !out.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    out.extend_from_slice(value.as_bytes());
}

enum State {
    /// Nothing sent yet. An empty step may re-authenticate from memory; a
    /// challenge starts a full authentication.
    Start,
    /// Nothing sent, nothing to re-authenticate with: the server's challenge
    /// is next, and an empty one is refused (as Cyrus does) rather than
    /// answered with nothing, round after round.
    Challenge,
    /// A re-authentication response was sent: the server answers with
    /// rspauth, or refuses with a fresh challenge.
    Reauth(Box<Pending>),
    /// Response sent; waiting for rspauth.
    Rspauth(Box<Pending>),
    Done,
}

/// What the rspauth check needs, and then the outcome.
struct Pending {
    rspauth: Key,
    ha1: Key,
    protection: Protection,
    server_maxbuf: u32,
    /// The maxbuf we announced: the largest packet we accept.
    our_maxbuf: u32,
    user: Vec<u8>,
    authid: Vec<u8>,
    /// What a later connection re-authenticates with, once this succeeds.
    remember: reauth::Entry,
}

struct DigestMd5 {
    digest_uri: String,
    service: String,
    server_fqdn: String,
    props: SecurityProps,
    external_ssf: u32,
    state: State,
    /// What a re-authentication attempt got from the application, for the
    /// full authentication that follows when the server refuses it (or
    /// when this user has no memory to use): Cyrus asks the application
    /// once per exchange, which matters to one that prompts its user.
    held: Option<Held>,
    outcome: Option<Outcome>,
}

/// Canonical identities and the password, as the application gave them.
struct Held {
    authid: Vec<u8>,
    authzid: Option<Vec<u8>>,
    password: Secret,
}

/// One digest-response to build.
struct Answer<'a> {
    authid: Vec<u8>,
    password: &'a [u8],
    authzid: Option<Vec<u8>>,
    realm: Vec<u8>,
    nonce: &'a str,
    cnonce: String,
    nc: u32,
    offer: &'a Offer,
    protection: Protection,
}

impl DigestMd5 {
    fn check_props(&self) -> Result<()> {
        if self.props.min_ssf > self.props.max_ssf {
            return Err(Error::bad_param("minimum SSF is above the maximum SSF"));
        }
        Ok(())
    }

    /// The layer for `offer`, and whether the server's maxbuf leaves room
    /// for it.
    fn protection(&self, offer: &Offer) -> Result<Protection> {
        let protection = choose_protection(offer, &self.props, self.external_ssf)?;
        let overhead = match protection {
            Protection::None => 0,
            Protection::Integrity => layer::INTEGRITY_OVERHEAD,
            Protection::Privacy(_) => Cipher::OVERHEAD,
        };
        if offer.maxbuf <= overhead {
            return Err(Error::bad_prot("DIGEST-MD5 server maxbuf is too small for the security layer"));
        }
        Ok(protection)
    }

    /// A full authentication: the response to the server's challenge.
    fn respond(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step> {
        if input.is_empty() {
            return Err(Error::bad_prot("DIGEST-MD5 expects a challenge from the server"));
        }
        self.check_props()?;
        let ch = parse_challenge(input, session)?;
        let protection = self.protection(&ch.offer)?;

        // As Cyrus: one realm is taken as it is; among several the user
        // chooses (SASL_CB_GETREALM or a prompt); with none, or when the
        // user chooses none (a failing callback, a NULL answer), the
        // server's name.
        let choose_realm = ch.realms.len() > 1;
        let realm_only = Request { authzid: false, authname: false, password: false, ..Request::USER_PASS };
        let request = match &self.held {
            Some(_) if !choose_realm => None,
            Some(_) => Some(realm_only),
            None => Some(Request { keep_password: true, ..Request::USER_PASS }),
        };
        let creds = match request {
            Some(r) => session.credentials(&Request { realm: choose_realm.then_some(&ch.realms[..]), ..r })?,
            None => Credentials::default(),
        };
        // Nothing above changed our state: after Interact we run again.
        // The memory of this server is replaced whatever the outcome, as in
        // Cyrus (whose client drops it when a challenge comes instead).
        reauth::Entry::forget(session, &self.service, &self.server_fqdn);
        let Held { authid, authzid, password } = self.held.take().unwrap_or_else(|| Held {
            authid: creds.authname.unwrap_or_default(),
            authzid: creds.authzid,
            password: creds.password.unwrap_or_default(),
        });
        let realm = match &ch.realms[..] {
            [one] => one.as_bytes().to_vec(),
            _ => creds.realm.unwrap_or_else(|| self.server_fqdn.as_bytes().to_vec()),
        };
        let answer = Answer {
            cnonce: client_nonce(session, CNONCE_BYTES)?,
            authid,
            password: &password,
            authzid,
            realm,
            nonce: &ch.nonce,
            nc: 1,
            offer: &ch.offer,
            protection,
        };
        let (pending, out) = self.answer(answer, session)?;
        self.state = State::Rspauth(pending);
        Ok(Step::Continue(out))
    }

    /// The first step without a challenge: a re-authentication from the
    /// memory of an earlier exchange with this server, if there is one for
    /// this user and its terms suit this connection; else nothing to send.
    fn reauthenticate(&mut self, session: &mut dyn Session) -> Result<Step> {
        let Some(entry) = reauth::Entry::peek(session, &self.service, &self.server_fqdn) else {
            return Ok(Step::AwaitServer);
        };
        self.check_props()?;
        let creds = session.credentials(&Request { keep_password: true, ..Request::USER_PASS })?;
        // Nothing above changed our state: after Interact we run again.
        let authid = creds.authname.unwrap_or_default();
        let same_user = authid == entry.authid;
        self.held = Some(Held { authid, authzid: creds.authzid, password: creds.password.unwrap_or_default() });
        let Ok(protection) = self.protection(&entry.offer) else {
            return Ok(Step::AwaitServer);
        };
        if !same_user {
            return Ok(Step::AwaitServer);
        }
        // Taken and put back with the count this connection uses, so that
        // no other uses it; kept if this connection goes no further, as in
        // Cyrus, and dropped if the server refuses it.
        let Some(entry) = reauth::Entry::take(session, &self.service, &self.server_fqdn).filter(|e| *e == entry)
        else {
            return Ok(Step::AwaitServer);
        };
        let next = reauth::Entry { nc: entry.nc.wrapping_add(1), ..entry.clone() };
        next.store(session, &self.service, &self.server_fqdn);
        let held = self.held.as_ref().expect("inserted above");
        let answer = Answer {
            authzid: held.authzid.clone(),
            authid: held.authid.clone(),
            password: &held.password,
            realm: entry.realm.clone(),
            nonce: &entry.nonce,
            // A fresh one, for fresh layer keys: see reauth.rs.
            cnonce: client_nonce(session, CNONCE_BYTES)?,
            nc: entry.nc.wrapping_add(1),
            offer: &entry.offer,
            protection,
        };
        let (pending, out) = self.answer(answer, session)?;
        let nc = pending.remember.nc;
        session.debug(&format!("DIGEST-MD5: re-authenticating with nonce-count {nc}"));
        self.state = State::Reauth(pending);
        Ok(Step::Continue(out))
    }

    /// Builds the digest-response, and what its rspauth check needs.
    fn answer(&self, a: Answer<'_>, session: &mut dyn Session) -> Result<(Box<Pending>, Vec<u8>)> {
        let qop = a.protection.qop();
        let nc = format!("{:08x}", a.nc);
        let computed = Inputs {
            username: &a.authid,
            nc: &nc,
            realm: &a.realm,
            password: a.password,
            authzid: a.authzid.as_deref(),
            nonce: a.nonce,
            cnonce: &a.cnonce,
            qop,
            digest_uri: &self.digest_uri,
        }
        .compute();

        // Our receive buffer, announced as Cyrus does whenever a layer is
        // possible at all (even when it is the default 65536).
        let our_maxbuf = self.props.maxbufsize.min(MAX_MAXBUF);
        let mut out = Vec::new();
        // Only a server that announced charset=utf-8 may be told so, and only
        // of UTF-8 (RFC 2831 2.1.2.1): a server may decode the name by it.
        let utf8 = |b: &[u8]| std::str::from_utf8(b).is_ok();
        if a.offer.utf8 && utf8(&a.authid) && utf8(&a.realm) && utf8(a.password) {
            push_token(&mut out, "charset", "utf-8");
        }
        push_quoted(&mut out, "username", &a.authid);
        push_quoted(&mut out, "realm", &a.realm);
        if let Some(z) = &a.authzid {
            push_quoted(&mut out, "authzid", z);
        }
        push_quoted(&mut out, "nonce", a.nonce.as_bytes());
        push_quoted(&mut out, "cnonce", a.cnonce.as_bytes());
        push_token(&mut out, "nc", &nc);
        push_token(&mut out, "qop", qop);
        if let Some(c) = a.protection.cipher() {
            push_token(&mut out, "cipher", c.name());
        }
        if our_maxbuf != 0 {
            push_token(&mut out, "maxbuf", &our_maxbuf.to_string());
        }
        push_quoted(&mut out, "digest-uri", self.digest_uri.as_bytes());
        push_token(&mut out, "response", &computed.response);
        if out.len() >= MAX_RESPONSE {
            return Err(Error::fail("DIGEST-MD5 response would exceed 4096 bytes"));
        }
        session.debug(&format!("DIGEST-MD5: qop={qop}, ssf {}", a.protection.ssf()));
        let remember = reauth::Entry {
            authid: a.authid.clone(),
            realm: a.realm,
            nonce: a.nonce.to_owned(),
            nc: a.nc,
            offer: a.offer.clone(),
        };
        let pending = Box::new(Pending {
            rspauth: computed.rspauth,
            ha1: computed.ha1,
            protection: a.protection,
            server_maxbuf: a.offer.maxbuf,
            our_maxbuf,
            user: a.authzid.unwrap_or_else(|| a.authid.clone()),
            authid: a.authid,
            remember,
        });
        Ok((pending, out))
    }

    fn verify(pending: &Pending, input: &[u8]) -> Result<Outcome> {
        if input.is_empty() {
            return Err(Error::bad_serv("DIGEST-MD5 server did not prove that it knows the password (no rspauth)"));
        }
        let mut rspauth = None;
        for d in parse::directives(input)? {
            if d.name.eq_ignore_ascii_case("rspauth") && rspauth.replace(d.value).is_some() {
                return Err(Error::bad_prot("DIGEST-MD5 server sent more than one rspauth"));
            }
        }
        let rspauth = rspauth.ok_or_else(|| Error::bad_prot("DIGEST-MD5 server's final message has no rspauth"))?;
        let got = unhex16(&rspauth).ok_or_else(|| Error::bad_prot("DIGEST-MD5 rspauth is not 32 hex digits"))?;
        if !bool::from(got.ct_eq(&pending.rspauth[..])) {
            return Err(Error::bad_serv("DIGEST-MD5 server's rspauth is wrong: it does not know the password"));
        }
        let p = pending.protection;
        let (maxoutbuf, layer): (u32, Option<Box<dyn SecurityLayer>>) = match p {
            // Cyrus reports the server's maxbuf even without a layer.
            Protection::None => (pending.server_maxbuf, None),
            Protection::Integrity | Protection::Privacy(_) => {
                let overhead =
                    if p == Protection::Integrity { layer::INTEGRITY_OVERHEAD } else { Cipher::OVERHEAD };
                let (c2s, s2c) = layer::derive_keys(&pending.ha1, p.cipher());
                (
                    pending.server_maxbuf - overhead,
                    Some(Box::new(layer::Layer::new(&c2s, &s2c, p.cipher(), pending.our_maxbuf))),
                )
            }
        };
        Ok(Outcome {
            user: Some(pending.user.clone()),
            authid: pending.authid.clone(),
            ssf: p.ssf(),
            maxoutbuf,
            layer,
        })
    }
}

impl ClientMech for DigestMd5 {
    fn step(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step> {
        if input.len() > parse::MAX_MESSAGE {
            return Err(Error::bad_prot(format!("DIGEST-MD5 server message exceeds {} bytes", parse::MAX_MESSAGE)));
        }
        match &self.state {
            State::Start if input.is_empty() => {
                let step = self.reauthenticate(session)?;
                if matches!(step, Step::AwaitServer) {
                    self.state = State::Challenge;
                }
                Ok(step)
            }
            State::Challenge if input.is_empty() => Err(Error::bad_prot("DIGEST-MD5: the server's challenge is empty")),
            State::Start | State::Challenge => self.respond(input, session),
            // A server that does not take the re-authentication sends a
            // fresh challenge (Cyrus's, also for a wrong password or an old
            // nonce): answer it in full, which drops the memory.
            State::Reauth(_) if !is_rspauth(input) => {
                let why = "DIGEST-MD5: the server refused re-authentication; authenticating in full";
                session.debug(why);
                self.state = State::Start;
                self.respond(input, session)
            }
            State::Reauth(pending) | State::Rspauth(pending) => {
                let outcome = Self::verify(pending, input);
                if outcome.is_ok() {
                    pending.remember.store(session, &self.service, &self.server_fqdn);
                } else if matches!(self.state, State::Reauth(_)) {
                    reauth::Entry::forget(session, &self.service, &self.server_fqdn);
                }
                // Whatever the answer, the session key is no longer needed.
                self.state = State::Done;
                self.outcome = Some(outcome?);
                Ok(Step::Done(None))
            }
            State::Done => Err(Error::bad_prot("DIGEST-MD5 has no further steps")),
        }
    }

    fn outcome(&mut self) -> Result<Outcome> {
        self.outcome.take().ok_or_else(|| Error::new(Code::NotDone, "DIGEST-MD5 has not completed"))
    }
}

/// Whether a server message is the final one (`rspauth=...`) rather than
/// a challenge, as Cyrus tells them apart.
fn is_rspauth(input: &[u8]) -> bool {
    input.len() >= 8 && input[..8].eq_ignore_ascii_case(b"rspauth=")
}

#[cfg(test)]
mod tests;
