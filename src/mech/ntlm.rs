//! NTLM (MS-NLMP), client side, as Cyrus's NTLM plugin speaks it over SASL.
//!
//! The client sends a NEGOTIATE message (as the initial response when the
//! protocol has one), the server a CHALLENGE, the client an AUTHENTICATE
//! message, and the client is done. There is no security layer, so no
//! session key is derived or sent.
//!
//! What goes on the wire, as observed from Cyrus 2.1.28's client:
//! * NEGOTIATE: Cyrus's 32 bytes exactly (Unicode, OEM, request target,
//!   NTLM; no domain, no workstation).
//! * AUTHENTICATE: the user name as given; the domain is the server's target
//!   name, upper-cased (servers verify NTLMv2 with the domain as sent, and
//!   Cyrus's server upper-cases it); no workstation, no session key; the
//!   fields in Cyrus's order; strings in UTF-16LE when the server chose
//!   Unicode. The realm callback is not asked, as in Cyrus.
//! * Responses: NTLMv2 (LMv2 and NTv2) by default. The `ntlm_v2` option set
//!   to no/false/off/0 gives the NTLMv1 response alone, byte for byte what
//!   Cyrus sends. Cyrus defaults to v1, and its v2 is LMv2 alone.
//!
//! Deliberate differences: an LM-hash response is never sent (Cyrus sends
//! one when the server leaves out the NTLM flag); when the target name is
//! empty the NetBIOS domain from the target info is used; non-ASCII names
//! and passwords are converted to UTF-16 as Windows does (Cyrus widens each
//! UTF-8 byte, which only its own server understands).
use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

use super::*;

pub static INFO: MechInfo = MechInfo {
    name: "NTLM",
    max_ssf: 0,
    security_flags: sec::NOPLAINTEXT | sec::NOANONYMOUS,
    features: feat::WANT_CLIENT_FIRST | feat::SUPPORTS_HTTP,
    required: NEEDS_USER_PASS,
    last_resort: false,
    factory: &(new as NewFn),
};

fn new(_: &Params<'_>) -> Result<Box<dyn ClientMech>> {
    Ok(Box::new(Ntlm { state: State::Negotiate, outcome: None }))
}

/// The option that selects NTLMv1 (no, false, off, 0) instead of NTLMv2.
pub const V2_OPTION: &str = "ntlm_v2";

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
const NEGOTIATE_TYPE: u32 = 1;
const CHALLENGE_TYPE: u32 = 2;
const AUTHENTICATE_TYPE: u32 = 3;

// NegotiateFlags (MS-NLMP 2.2.2.5).
const UNICODE: u32 = 0x0000_0001;
const OEM: u32 = 0x0000_0002;
const REQUEST_TARGET: u32 = 0x0000_0004;
const NTLM: u32 = 0x0000_0200;
const TARGET_INFO: u32 = 0x0080_0000;
/// What we ask for, and all we confirm: Cyrus's flags.
const REQUESTED: u32 = UNICODE | OEM | REQUEST_TARGET | NTLM;

/// A CHALLENGE up to its server challenge; what every server sends.
const CHALLENGE_HEADER: usize = 32;
/// A CHALLENGE with its reserved and target-info fields.
const CHALLENGE_HEADER_WITH_INFO: usize = 48;
/// An AUTHENTICATE message without the optional version and MIC, as Cyrus
/// sends it.
const AUTHENTICATE_HEADER: usize = 64;

// AV pair ids of the target info (MS-NLMP 2.2.2.1).
const AV_EOL: u16 = 0;
const AV_NB_DOMAIN_NAME: u16 = 2;
const AV_TIMESTAMP: u16 = 7;

/// An NTLM response in its 24-byte form (NTLMv1, LMv2).
const RESPONSE_LEN: usize = 24;

type Key16 = Zeroizing<[u8; 16]>;

enum State {
    Negotiate,
    Challenge,
    Done,
}

struct Ntlm {
    state: State,
    outcome: Option<Outcome>,
}

impl ClientMech for Ntlm {
    fn step(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step> {
        match self.state {
            // Like Cyrus, anything the server sent before our first message
            // is ignored.
            State::Negotiate => {
                self.state = State::Challenge;
                Ok(Step::Continue(negotiate_message()))
            }
            State::Challenge => {
                let challenge = parse_challenge(input)?;
                let creds = session.credentials(&Request { authzid: false, ..Request::USER_PASS })?;
                let user = creds.authname.unwrap_or_default();
                let password = creds.password.unwrap_or_default();
                // Names are bytes; one that is not UTF-8 is taken as Latin-1.
                let out = answer(&challenge, &oem_text(&user), &password, session)?;
                self.state = State::Done;
                self.outcome = Some(Outcome::without_layer(None, user));
                Ok(Step::Done(Some(out)))
            }
            State::Done => Err(Error::bad_prot("NTLM has no further steps")),
        }
    }

    fn outcome(&mut self) -> Result<Outcome> {
        self.outcome.take().ok_or_else(|| Error::new(Code::NotDone, "NTLM has not run"))
    }
}

/// The NEGOTIATE message: empty domain and workstation fields pointing at
/// the end of the message, as Cyrus writes them.
fn negotiate_message() -> Vec<u8> {
    let mut msg = Vec::with_capacity(32);
    msg.extend_from_slice(SIGNATURE);
    msg.extend_from_slice(&NEGOTIATE_TYPE.to_le_bytes());
    msg.extend_from_slice(&REQUESTED.to_le_bytes());
    for _ in 0..2 {
        msg.extend_from_slice(&[0, 0, 0, 0]);
        msg.extend_from_slice(&32u32.to_le_bytes());
    }
    msg
}

/// What we use from the server's CHALLENGE message.
#[derive(Debug)]
struct Challenge {
    flags: u32,
    server_challenge: [u8; 8],
    /// The domain to authenticate in, as the server named it.
    domain: String,
    /// The server's target info (AV pairs), echoed in the NTLMv2 response.
    target_info: Vec<u8>,
    /// The server's time (MsvAvTimestamp), a Windows FILETIME.
    timestamp: Option<[u8; 8]>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The bytes of the (length, max length, offset) field at `at`: empty, or
/// inside the message and past its fixed header `header`.
fn field(msg: &[u8], at: usize, header: usize, what: &str) -> Result<Range<usize>> {
    let len = usize::from(u16_at(msg, at));
    if len == 0 {
        return Ok(0..0);
    }
    let start = usize::try_from(u32_at(msg, at + 4)).unwrap_or(usize::MAX);
    match start.checked_add(len) {
        Some(end) if start >= header && end <= msg.len() => Ok(start..end),
        _ => Err(Error::bad_prot(format!("NTLM challenge: the {what} lies outside the message"))),
    }
}

fn utf16_text(bytes: &[u8], what: &str) -> Result<String> {
    if bytes.len() % 2 != 0 {
        return Err(Error::bad_prot(format!("NTLM challenge: the {what} is not UTF-16 (odd length)")));
    }
    char::decode_utf16(bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])))
        .collect::<std::result::Result<String, _>>()
        .map_err(|_| Error::bad_prot(format!("NTLM challenge: the {what} is not valid UTF-16")))
}

/// An OEM string: UTF-8 when it is, else one character per byte (Latin-1).
fn oem_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

fn parse_challenge(msg: &[u8]) -> Result<Challenge> {
    if msg.len() < CHALLENGE_HEADER || &msg[..8] != SIGNATURE || u32_at(msg, 8) != CHALLENGE_TYPE {
        return Err(Error::bad_prot("the server's message is not an NTLM challenge"));
    }
    let flags = u32_at(msg, 20);
    let mut server_challenge = [0u8; 8];
    server_challenge.copy_from_slice(&msg[24..32]);
    // The target-info fields exist only when the server says so: older
    // servers put the target name's bytes right after the server challenge.
    let has_info = flags & TARGET_INFO != 0;
    if has_info && msg.len() < CHALLENGE_HEADER_WITH_INFO {
        return Err(Error::bad_prot("NTLM challenge: too short for its target info"));
    }
    let header = if has_info { CHALLENGE_HEADER_WITH_INFO } else { CHALLENGE_HEADER };
    let name = field(msg, 12, header, "target name")?;
    let info = if has_info { field(msg, 40, header, "target info")? } else { 0..0 };
    if !name.is_empty() && !info.is_empty() && name.start < info.end && info.start < name.end {
        return Err(Error::bad_prot("NTLM challenge: the target name and target info overlap"));
    }
    let name = &msg[name];
    let mut domain = if flags & UNICODE != 0 { utf16_text(name, "target name")? } else { oem_text(name) };
    let target_info = msg[info].to_vec();
    let av = parse_target_info(&target_info)?;
    if domain.is_empty() {
        domain = av.nb_domain.unwrap_or_default();
    }
    Ok(Challenge { flags, server_challenge, domain, target_info, timestamp: av.timestamp })
}

#[derive(Default)]
struct AvPairs {
    nb_domain: Option<String>,
    timestamp: Option<[u8; 8]>,
}

/// Checks the AV pair list (each pair inside it, ending with MsvAvEOL) and
/// picks out what we use.
fn parse_target_info(mut rest: &[u8]) -> Result<AvPairs> {
    let mut found = AvPairs::default();
    if rest.is_empty() {
        return Ok(found);
    }
    loop {
        if rest.len() < 4 {
            return Err(Error::bad_prot("NTLM challenge: the target info has no end marker"));
        }
        let id = u16_at(rest, 0);
        let end = 4 + usize::from(u16_at(rest, 2));
        let value = rest
            .get(4..end)
            .ok_or_else(|| Error::bad_prot("NTLM challenge: a target info entry runs past its end"))?;
        match id {
            AV_EOL => return Ok(found),
            AV_NB_DOMAIN_NAME if found.nb_domain.is_none() => {
                found.nb_domain = Some(utf16_text(value, "target info's domain name")?);
            }
            AV_TIMESTAMP => {
                let time = value
                    .try_into()
                    .map_err(|_| Error::bad_prot("NTLM challenge: the target info's timestamp is not 8 bytes"))?;
                found.timestamp = Some(time);
            }
            _ => {}
        }
        rest = &rest[end..];
    }
}

/// The AUTHENTICATE message for `challenge`.
fn answer(challenge: &Challenge, user: &str, password: &[u8], session: &mut dyn Session) -> Result<Vec<u8>> {
    let domain = upper(&challenge.domain);
    let nt_hash = nt_hash(password);
    let (lm, nt) = if flag_option(session, "NTLM", V2_OPTION, true) {
        let mut client_challenge = [0u8; 8];
        session.random(&mut client_challenge)?;
        let key = ntowf_v2(&nt_hash, user, &domain);
        // MS-NLMP 3.1.5.1.2: with the server's time, use it and send no LM
        // response (zeros).
        let (time, lm) = match challenge.timestamp {
            Some(time) => (time, [0u8; RESPONSE_LEN]),
            None => (filetime_now(), lm_v2_response(&key, &challenge.server_challenge, &client_challenge)),
        };
        let nt = nt_v2_response(&key, &challenge.server_challenge, &client_challenge, time, &challenge.target_info);
        session.debug("NTLM: sending NTLMv2 responses");
        (lm.to_vec(), nt)
    } else {
        // Cyrus answers a server without the NTLM flag with an LM-hash
        // response, which gives away a hash cracked in minutes.
        if challenge.flags & NTLM == 0 {
            return Err(Error::new(
                Code::TooWeak,
                "the NTLM server asks for LM authentication only, which is not sent (it exposes the password)",
            ));
        }
        session.debug("NTLM: sending the NTLMv1 response (ntlm_v2 is off)");
        (Vec::new(), nt_v1_response(&nt_hash, &challenge.server_challenge).to_vec())
    };
    let mut flags = challenge.flags & REQUESTED;
    if flags & UNICODE != 0 {
        flags &= !OEM;
    }
    let text = |s: &str| if flags & UNICODE != 0 { utf16le(s) } else { s.as_bytes().to_vec() };
    authenticate_message(flags, [&lm, &nt, &text(&domain), &text(user), &[], &[]])
}

/// The AUTHENTICATE message: `fields` are the LM and NT responses, domain,
/// user, workstation and session key, written in that order after the
/// header, as Cyrus does.
fn authenticate_message(flags: u32, fields: [&[u8]; 6]) -> Result<Vec<u8>> {
    let total = AUTHENTICATE_HEADER + fields.iter().map(|f| f.len()).sum::<usize>();
    let mut msg = Vec::with_capacity(total);
    msg.extend_from_slice(SIGNATURE);
    msg.extend_from_slice(&AUTHENTICATE_TYPE.to_le_bytes());
    let mut offset = AUTHENTICATE_HEADER as u32;
    for f in fields {
        let len = u16::try_from(f.len()).map_err(|_| Error::bad_prot("NTLM: a field is too long for the message"))?;
        msg.extend_from_slice(&len.to_le_bytes());
        msg.extend_from_slice(&len.to_le_bytes());
        msg.extend_from_slice(&offset.to_le_bytes());
        offset += u32::from(len);
    }
    msg.extend_from_slice(&flags.to_le_bytes());
    for f in fields {
        msg.extend_from_slice(f);
    }
    Ok(msg)
}

/// Upper case as Windows compares names: each character's one-to-one upper
/// case; a character whose upper case is longer (ß) stays as it is.
fn upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut u = c.to_uppercase();
            match (u.next(), u.next()) {
                (Some(one), None) => one,
                _ => c,
            }
        })
        .collect()
}

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// The password in UTF-16LE: from UTF-8 when it is valid, else one
/// character per byte (Latin-1, which is also what Cyrus does).
fn password_utf16le(password: &[u8]) -> Secret {
    // UTF-16 takes at most twice the bytes of UTF-8 (or Latin-1): sized once,
    // so no partial copy is left behind by a reallocation.
    let mut out = Secret::new(Vec::with_capacity(2 * password.len()));
    match std::str::from_utf8(password) {
        Ok(s) => s.encode_utf16().for_each(|u| out.extend_from_slice(&u.to_le_bytes())),
        Err(_) => password.iter().for_each(|&b| out.extend_from_slice(&[b, 0])),
    }
    out
}

/// NTOWFv1, the NT hash: MD4 of the UTF-16LE password.
fn nt_hash(password: &[u8]) -> Key16 {
    md4(&password_utf16le(password))
}

/// NTOWFv2: HMAC-MD5 keyed with the NT hash over UTF-16LE(upper(user) +
/// domain), the domain as given.
fn ntowf_v2(nt_hash: &[u8; 16], user: &str, domain: &str) -> Key16 {
    let mut who = utf16le(&upper(user));
    who.extend_from_slice(&utf16le(domain));
    hmac_md5(nt_hash, &[&who])
}

/// The NTLMv1 response: the server challenge DES-encrypted under each 7
/// bytes of the NT hash padded to 21 bytes.
fn nt_v1_response(nt_hash: &[u8; 16], server_challenge: &[u8; 8]) -> [u8; RESPONSE_LEN] {
    let mut key = Zeroizing::new([0u8; 21]);
    key[..16].copy_from_slice(nt_hash);
    let mut out = [0u8; RESPONSE_LEN];
    for (part, seven) in out.chunks_exact_mut(8).zip(key.chunks_exact(7)) {
        part.copy_from_slice(&des_encrypt(seven, server_challenge));
    }
    out
}

/// LMv2: HMAC-MD5(NTOWFv2, server challenge + client challenge) + client
/// challenge.
fn lm_v2_response(key: &[u8; 16], server_challenge: &[u8; 8], client_challenge: &[u8; 8]) -> [u8; RESPONSE_LEN] {
    let mut out = [0u8; RESPONSE_LEN];
    out[..16].copy_from_slice(&hmac_md5(key, &[server_challenge, client_challenge])[..]);
    out[16..].copy_from_slice(client_challenge);
    out
}

/// NTv2: NTProofStr + temp, where temp is the blob (version 1.1, the time,
/// the client challenge, the server's target info) and NTProofStr is
/// HMAC-MD5(NTOWFv2, server challenge + temp).
fn nt_v2_response(
    key: &[u8; 16],
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
    time: [u8; 8],
    target_info: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + 28 + target_info.len() + 4);
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&time);
    out.extend_from_slice(client_challenge);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(target_info);
    out.extend_from_slice(&[0; 4]);
    let proof = hmac_md5(key, &[server_challenge, &out[16..]]);
    out[..16].copy_from_slice(&proof[..]);
    out
}

/// Now as a Windows FILETIME: 100 ns ticks since 1601, little-endian.
fn filetime_now() -> [u8; 8] {
    const UNIX_EPOCH_TICKS: u64 = 116_444_736_000_000_000;
    let since_unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let ticks = UNIX_EPOCH_TICKS + since_unix.as_secs() * 10_000_000 + u64::from(since_unix.subsec_nanos() / 100);
    ticks.to_le_bytes()
}

// The RustCrypto primitives, in one place so that a crate upgrade touches
// only these three functions.

fn md4(data: &[u8]) -> Key16 {
    use md4::Digest as _;
    Zeroizing::new(md4::Md4::digest(data).into())
}

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> Key16 {
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// DES (ECB, one block) under a 56-bit key given as 7 bytes. The key
/// schedule is wiped on drop (the des crate's `zeroize` feature).
fn des_encrypt(key56: &[u8], block: &[u8; 8]) -> [u8; 8] {
    use des::cipher::BlockCipherEncrypt;
    let key = Zeroizing::new(des_key(key56));
    let cipher = des::Des::new((&*key).into());
    let mut out = *block;
    cipher.encrypt_block((&mut out).into());
    out
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;
    use crate::mech::testing::{params, unhex, FakeSession};

    /// MS-NLMP 4.2.1: the examples' user, domain, password and challenges.
    const SERVER_CHALLENGE: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
    const CLIENT_CHALLENGE: [u8; 8] = [0xaa; 8];
    /// MS-NLMP 4.2.4.3: the CHALLENGE's target info (NetBIOS domain
    /// "Domain", NetBIOS computer "Server", end).
    const SPEC_TARGET_INFO: &str = "02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000";

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    fn session(user: &str, password: &str) -> FakeSession {
        FakeSession {
            authname: Some(user.into()),
            password: Some(password.as_bytes().to_vec()),
            random_byte: 0xaa,
            ..Default::default()
        }
    }

    fn with_option(mut s: FakeSession, value: &str) -> FakeSession {
        s.options.push((V2_OPTION.into(), value.into()));
        s
    }

    /// A CHALLENGE message with the 48-byte header and the given target
    /// name and target info (the latter announced by its flag).
    fn challenge(flags: u32, name: &[u8], info: Option<&[u8]>) -> Vec<u8> {
        let flags = if info.is_some() { flags | TARGET_INFO } else { flags };
        let info = info.unwrap_or_default();
        let mut m = Vec::new();
        m.extend_from_slice(SIGNATURE);
        m.extend_from_slice(&CHALLENGE_TYPE.to_le_bytes());
        m.extend_from_slice(&(name.len() as u16).to_le_bytes());
        m.extend_from_slice(&(name.len() as u16).to_le_bytes());
        m.extend_from_slice(&48u32.to_le_bytes());
        m.extend_from_slice(&flags.to_le_bytes());
        m.extend_from_slice(&SERVER_CHALLENGE);
        m.extend_from_slice(&[0; 8]);
        m.extend_from_slice(&(info.len() as u16).to_le_bytes());
        m.extend_from_slice(&(info.len() as u16).to_le_bytes());
        m.extend_from_slice(&(48 + name.len() as u32).to_le_bytes());
        m.extend_from_slice(name);
        m.extend_from_slice(info);
        m
    }

    /// The six payload fields and the flags of an AUTHENTICATE message,
    /// checked to lie in order right after the header.
    fn fields(msg: &[u8]) -> ([Vec<u8>; 6], u32) {
        assert_eq!(&msg[..8], SIGNATURE);
        assert_eq!(u32_at(msg, 8), AUTHENTICATE_TYPE);
        let mut next = AUTHENTICATE_HEADER;
        let out = std::array::from_fn(|i| {
            let at = 12 + 8 * i;
            let len = usize::from(u16_at(msg, at));
            assert_eq!(u16_at(msg, at + 2) as usize, len);
            assert_eq!(u32_at(msg, at + 4) as usize, next);
            next += len;
            msg[next - len..next].to_vec()
        });
        assert_eq!(next, msg.len());
        (out, u32_at(msg, 60))
    }

    fn run(s: &mut FakeSession, challenge: &[u8]) -> Result<Vec<u8>> {
        let mut m = INFO.start(&params()).unwrap();
        assert_eq!(m.step(b"", s).unwrap(), Step::Continue(negotiate_message()));
        match m.step(challenge, s)? {
            Step::Done(Some(out)) => {
                assert_eq!(m.outcome().unwrap().user(), s.authname.as_deref().unwrap());
                Ok(out)
            }
            other => panic!("expected Done, got {other:?}"),
        }
    }

    #[test]
    fn ms_nlmp_ntlm_v1_vectors() {
        // 4.2.2.1.2 NTOWFv1, 4.2.2.2.1 NTLMv1 response.
        let nt = nt_hash(b"Password");
        assert_eq!(nt[..], unhex("a4f49c406510bdcab6824ee7c30fd852")[..]);
        assert_eq!(
            nt_v1_response(&nt, &SERVER_CHALLENGE)[..],
            unhex("67c43011f30298a2ad35ece64f16331c44bdbed927841f94")[..]
        );
    }

    #[test]
    fn ms_nlmp_ntlm_v2_vectors() {
        // 4.2.4.1.1 NTOWFv2, 4.2.4.2.1 LMv2 response, 4.2.4.2.2 NTLMv2
        // response (NTProofStr + temp, time 0).
        let key = ntowf_v2(&nt_hash(b"Password"), "User", "Domain");
        assert_eq!(key[..], unhex("0c868a403bfd7a93a3001ef22ef02e3f")[..]);
        assert_eq!(
            lm_v2_response(&key, &SERVER_CHALLENGE, &CLIENT_CHALLENGE)[..],
            unhex("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa")[..]
        );
        let info = unhex(SPEC_TARGET_INFO);
        let nt = nt_v2_response(&key, &SERVER_CHALLENGE, &CLIENT_CHALLENGE, [0; 8], &info);
        let want = format!(
            "68cd0ab851e51c96aabc927bebef6a1c 0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000 {SPEC_TARGET_INFO} 00000000"
        );
        assert_eq!(nt, unhex(&want));
    }

    #[test]
    fn negotiate_is_cyruss() {
        // Observed from Cyrus 2.1.28's client (sasl_client_start's output).
        assert_eq!(negotiate_message(), unhex("4e544c4d53535000 01000000 07020000 0000000020000000 0000000020000000"));
    }

    #[test]
    fn v1_answer_is_cyruss_byte_for_byte() {
        // Cyrus's sample server challenged Cyrus's sample client (user
        // "user", password "secret"), which answered this.
        let challenge = b64("TlRMTVNTUAACAAAAEgASADAAAAAFAgIAcG1fHGpNa6oAAAAAAAAAAAAAAAAAAAAATABPAEMAQQBMAEgATwBTAFQA");
        let cyrus = b64(
            "TlRMTVNTUAADAAAAAAAAAEAAAAAYABgAQAAAABIAEgBYAAAACAAIAGoAAAAAAAAAcgAAAAAAAAByAAAABQIAACbKRnuCqHbeBNZ3iAslzbc0+wmQRLOrFEwATwBDAEEATABIAE8AUwBUAHUAcwBlAHIA",
        );
        for off in ["no", "No", "false", "off", "0", " n "] {
            let mut s = with_option(session("user", "secret"), off);
            s.options.push((LOG_LEVEL_OPTION.into(), "5".into()));
            assert_eq!(run(&mut s, &challenge).unwrap(), cyrus, "{off}");
            assert!(s.logs.iter().any(|(_, m)| m.contains("NTLMv1")));
        }
        // The library's own debug message waits for log_level 5 or more.
        for level in [None, Some("4"), Some("debug")] {
            let mut s = with_option(session("user", "secret"), "no");
            s.options.extend(level.map(|l| (LOG_LEVEL_OPTION.to_owned(), l.to_owned())));
            assert_eq!(run(&mut s, &challenge).unwrap(), cyrus);
            assert!(s.logs.is_empty(), "{level:?}");
        }
    }

    #[test]
    fn v2_answer() {
        // The server's time is used and the LM response is zeros; the
        // target name is upper-cased into the domain, the user is sent as
        // given and upper-cased in the hash only.
        let mut info = unhex("07000800 0102030405060708");
        info.extend_from_slice(&unhex(SPEC_TARGET_INFO));
        let msg = challenge(UNICODE | REQUEST_TARGET | NTLM | 0x0001_0000, &utf16le("Domain"), Some(&info));
        let out = run(&mut session("User", "Password"), &msg).unwrap();
        let ([lm, nt, domain, user, workstation, key], flags) = fields(&out);
        assert_eq!(flags, UNICODE | REQUEST_TARGET | NTLM);
        assert_eq!(lm, [0; 24]);
        let ntowf = ntowf_v2(&nt_hash(b"Password"), "USER", "DOMAIN");
        let time = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(nt, nt_v2_response(&ntowf, &SERVER_CHALLENGE, &CLIENT_CHALLENGE, time, &info));
        assert_eq!(&nt[16..44], &unhex("0101000000000000 0102030405060708 aaaaaaaaaaaaaaaa 00000000")[..]);
        assert_eq!((domain, user), (utf16le("DOMAIN"), utf16le("User")));
        assert!(workstation.is_empty() && key.is_empty());

        // Without a timestamp: LMv2, and our own time in the blob.
        for on in [None, Some("yes"), Some("on"), Some("1"), Some("true")] {
            let mut s = session("User", "Password");
            if let Some(on) = on {
                s = with_option(s, on);
            }
            let out = run(&mut s, &challenge(UNICODE | NTLM, &utf16le("Domain"), None)).unwrap();
            let ([lm, nt, ..], _) = fields(&out);
            assert_eq!(lm, lm_v2_response(&ntowf, &SERVER_CHALLENGE, &CLIENT_CHALLENGE));
            let mut time = [0u8; 8];
            time.copy_from_slice(&nt[24..32]);
            assert_ne!(time, [0; 8]);
            assert_eq!(nt, nt_v2_response(&ntowf, &SERVER_CHALLENGE, &CLIENT_CHALLENGE, time, &[]));
        }
    }

    #[test]
    fn domain_and_strings() {
        // OEM strings when the server did not choose Unicode.
        let out = run(&mut session("user", "pw"), &challenge(OEM | NTLM, b"corp", None)).unwrap();
        let ([.., domain, user, _, _], flags) = fields(&out);
        assert_eq!((domain, user, flags), (b"CORP".to_vec(), b"user".to_vec(), OEM | NTLM));
        // An empty target name: the NetBIOS domain of the target info.
        let info = unhex(SPEC_TARGET_INFO);
        let out = run(&mut session("user", "pw"), &challenge(UNICODE | NTLM, b"", Some(&info))).unwrap();
        assert_eq!(fields(&out).0[2], utf16le("DOMAIN"));
        // Neither: no domain.
        let out = run(&mut session("user", "pw"), &challenge(UNICODE | NTLM, b"", None)).unwrap();
        assert!(fields(&out).0[2].is_empty());
        // Non-ASCII names are proper UTF-16.
        let out = run(&mut session("jürgen", "pw"), &challenge(UNICODE | NTLM, &utf16le("straße"), None)).unwrap();
        assert_eq!((fields(&out).0[2].clone(), fields(&out).0[3].clone()), (utf16le("STRAßE"), utf16le("jürgen")));
        // A name that is not UTF-8 is Latin-1, as for passwords.
        let mut s = FakeSession { authname: Some(b"j\xfcrgen".to_vec()), ..session("x", "pw") };
        let out = run(&mut s, &challenge(UNICODE | NTLM, b"", None)).unwrap();
        assert_eq!(fields(&out).0[3], utf16le("jürgen"));
    }

    #[test]
    fn password_encoding() {
        // UTF-8 becomes UTF-16; other bytes are taken as Latin-1 (as Cyrus
        // takes every byte).
        assert_eq!(nt_hash("été".as_bytes())[..], nt_hash(b"\xe9t\xe9")[..]);
        assert_ne!(nt_hash("été".as_bytes())[..], nt_hash(b"ete")[..]);
        assert_eq!(upper("User straße ǆ"), "USER STRAßE Ǆ");
    }

    #[test]
    fn v1_refuses_an_lm_only_server() {
        let mut s = with_option(session("user", "pw"), "off");
        let err = run(&mut s, &challenge(UNICODE, b"", None)).unwrap_err();
        assert_eq!(err.code, Code::TooWeak);
        // NTLMv2 does not depend on the flag.
        run(&mut session("user", "pw"), &challenge(UNICODE, b"", None)).unwrap();
    }

    #[test]
    fn invalid_option_warns_and_keeps_v2() {
        let mut s = with_option(session("user", "pw"), "maybe");
        let out = run(&mut s, &challenge(UNICODE | NTLM, b"", None)).unwrap();
        assert!(fields(&out).0[1].len() > RESPONSE_LEN);
        assert!(s.logs.iter().any(|(l, m)| *l == LogLevel::Warn && m.contains("maybe")));
    }

    #[test]
    fn prompts_then_the_same_challenge() {
        let mut s = FakeSession { interact_first: true, ..session("user", "pw") };
        let mut m = INFO.start(&params()).unwrap();
        m.step(b"", &mut s).unwrap();
        let msg = challenge(UNICODE | NTLM, b"", None);
        assert_eq!(m.step(&msg, &mut s).unwrap_err().code, Code::Interact);
        assert!(matches!(m.step(&msg, &mut s).unwrap(), Step::Done(Some(_))));
        assert_eq!(m.step(&msg, &mut s).unwrap_err().code, Code::BadProt);
    }

    #[test]
    fn hostile_challenges_are_bad_prot() {
        let good = challenge(UNICODE | NTLM, &utf16le("D"), Some(&unhex(SPEC_TARGET_INFO)));
        let set = |at: usize, bytes: &[u8]| {
            let mut m = good.clone();
            m[at..at + bytes.len()].copy_from_slice(bytes);
            m
        };
        let not_ntlm = "not an NTLM challenge";
        let outside = "outside the message";
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", Vec::new(), not_ntlm),
            ("short", good[..31].to_vec(), not_ntlm),
            ("signature", set(0, b"NTLMSSQ\0"), not_ntlm),
            ("type 1", set(8, &[1, 0, 0, 0]), not_ntlm),
            ("type 3", set(8, &[3, 0, 0, 0]), not_ntlm),
            ("name past the end", set(16, &[0xf0, 0, 0, 0]), outside),
            ("name offset huge", set(16, &[0xff, 0xff, 0xff, 0xff]), outside),
            ("name inside the header", set(16, &[40, 0, 0, 0]), outside),
            ("name length past the end", set(12, &[0xff, 0xff]), outside),
            ("odd UTF-16 name", set(12, &[1, 0]), "odd length"),
            ("lone surrogate", set(48, &[0x00, 0xd8]), "not valid UTF-16"),
            ("info past the end", set(44, &[0xf0, 0, 0, 0]), outside),
            ("info length huge", set(40, &[0xff, 0xff]), outside),
            ("info inside the header", set(44, &[20, 0, 0, 0]), outside),
            ("info overlaps the name", set(44, &[49, 0, 0, 0]), "overlap"),
            ("info entry runs past its end", set(52, &[0x40, 0]), "runs past"),
            (
                "info without end marker",
                {
                    let mut m = good.clone();
                    m.truncate(m.len() - 4);
                    m[40] -= 4;
                    m
                },
                "no end marker",
            ),
            (
                "info with a short timestamp",
                challenge(UNICODE | NTLM, b"", Some(&unhex("07000400 01020304 00000000"))),
                "timestamp",
            ),
            (
                "target info flag in a 32-byte message",
                {
                    let mut m = good[..32].to_vec();
                    m[12..20].fill(0);
                    m
                },
                "too short",
            ),
        ];
        for (name, msg, detail) in cases {
            let mut m = INFO.start(&params()).unwrap();
            let mut s = session("user", "pw");
            m.step(b"", &mut s).unwrap();
            let err = m.step(&msg, &mut s).unwrap_err();
            assert_eq!(err.code, Code::BadProt, "{name}: {err}");
            assert!(err.detail.contains(detail), "{name}: {err}");
            assert_eq!(s.requests, 0, "{name}: credentials asked before the challenge was checked");
        }
        // The good one, and a 32-byte challenge without target-info fields.
        run(&mut session("user", "pw"), &good).unwrap();
        let mut old = good[..32].to_vec();
        old[12..20].fill(0);
        old[20..24].copy_from_slice(&(UNICODE | NTLM).to_le_bytes());
        run(&mut session("user", "pw"), &old).unwrap();
    }

    #[test]
    fn mutated_challenges_never_panic() {
        let good = challenge(UNICODE | NTLM, &utf16le("DOMAIN"), Some(&unhex(SPEC_TARGET_INFO)));
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut variants: Vec<Vec<u8>> = (0..good.len()).step_by(if cfg!(miri) { 17 } else { 1 }).map(|n| good[..n].to_vec()).collect();
        for _ in 0..if cfg!(miri) { 50 } else { 5000 } {
            let mut m = good.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % m.len() as u64) as usize;
                m[at] = next() as u8;
            }
            variants.push(m);
        }
        for msg in variants {
            let mut m = INFO.start(&params()).unwrap();
            let mut s = session("user", "pw");
            m.step(b"", &mut s).unwrap();
            if let Ok(Step::Done(Some(out))) = m.step(&msg, &mut s) {
                assert!(out.len() < AUTHENTICATE_HEADER + 2 * msg.len() + 200);
            }
        }
    }
}
