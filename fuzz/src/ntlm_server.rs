//! An NTLM server (MS-NLMP) for tests only: builds CHALLENGE messages,
//! reads any CHALLENGE as the client's documented rules read it (to say
//! whether an edited one may be accepted and what must then be answered),
//! and verifies the AUTHENTICATE message: NTLMv1, or NTLMv2 with LMv2.
//! Written from MS-NLMP on `md4`, `hmac`, `md-5` and `des`, independently of
//! the library's client.

use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use md4::{Digest, Md4};
use md5::Md5;

pub const UNICODE: u32 = 0x0000_0001;
pub const OEM: u32 = 0x0000_0002;
pub const REQUEST_TARGET: u32 = 0x0000_0004;
pub const NTLM: u32 = 0x0000_0200;
pub const TARGET_INFO: u32 = 0x0080_0000;
/// The flags a client may confirm (those it asks for).
pub const CONFIRMABLE: u32 = UNICODE | OEM | REQUEST_TARGET | NTLM;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

pub const AV_EOL: u16 = 0;
pub const AV_NB_DOMAIN: u16 = 2;
pub const AV_TIMESTAMP: u16 = 7;

/// The NEGOTIATE message every client sends (Cyrus's 32 bytes).
pub const NEGOTIATE: [u8; 32] = [
    b'N', b'T', b'L', b'M', b'S', b'S', b'P', 0, 1, 0, 0, 0, 0x07, 0x02, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 0, 0, 0, 0,
    32, 0, 0, 0,
];

/// How an honest server lays out its CHALLENGE.
#[derive(Debug, Clone)]
pub struct Spec {
    pub flags: u32,
    pub server_challenge: [u8; 8],
    /// The target name's bytes (UTF-16LE when `flags` has UNICODE).
    pub target_name: Vec<u8>,
    /// AV pairs, EOL included; sent when `flags` has TARGET_INFO.
    pub target_info: Vec<u8>,
    /// A 32-byte header with the name right after it (an old server; only
    /// without target info).
    pub short_header: bool,
    /// Target info before the name in the payload.
    pub info_first: bool,
    /// Bytes between the header and the payload.
    pub padding: usize,
}

/// AV pairs from (id, value) entries, then EOL.
pub fn av_pairs(entries: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, value) in entries {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        out.extend_from_slice(value);
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out
}

pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

impl Spec {
    pub fn message(&self) -> Vec<u8> {
        let has_info = self.flags & TARGET_INFO != 0;
        let header = if self.short_header && !has_info { 32 } else { 48 };
        let start = header + self.padding;
        let (name_at, info_at) = if self.info_first {
            (start + self.target_info.len(), start)
        } else {
            (start, start + self.target_name.len())
        };
        let mut m = Vec::new();
        m.extend_from_slice(SIGNATURE);
        m.extend_from_slice(&2u32.to_le_bytes());
        let field = |m: &mut Vec<u8>, len: usize, at: usize| {
            m.extend_from_slice(&(len as u16).to_le_bytes());
            m.extend_from_slice(&(len as u16).to_le_bytes());
            m.extend_from_slice(&(at as u32).to_le_bytes());
        };
        field(&mut m, self.target_name.len(), name_at);
        m.extend_from_slice(&self.flags.to_le_bytes());
        m.extend_from_slice(&self.server_challenge);
        if header == 48 {
            m.extend_from_slice(&[0; 8]);
            if has_info { field(&mut m, self.target_info.len(), info_at) } else { m.extend_from_slice(&[0; 8]) }
        }
        m.resize(start, 0xee);
        if self.info_first && has_info {
            m.extend_from_slice(&self.target_info);
        }
        m.extend_from_slice(&self.target_name);
        if !self.info_first && has_info {
            m.extend_from_slice(&self.target_info);
        }
        m
    }
}

/// What a careful client takes from a CHALLENGE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub flags: u32,
    pub server_challenge: [u8; 8],
    /// The domain the client must name, before upper-casing.
    pub domain: String,
    /// The target info the NTLMv2 blob must echo.
    pub target_info: Vec<u8>,
    pub timestamp: Option<[u8; 8]>,
}

fn u16_at(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// Strict UTF-16LE: even length, no lone surrogate.
fn from_utf16(b: &[u8]) -> Option<String> {
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = b.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16(&units).ok()
}

/// UTF-8 when valid, else Latin-1.
pub fn oem(b: &[u8]) -> String {
    std::str::from_utf8(b).map_or_else(|_| b.iter().map(|&c| char::from(c)).collect(), str::to_owned)
}

/// Reads a CHALLENGE by the client's rules: the fixed header (48 bytes with
/// TARGET_INFO, else 32), each non-empty field inside the message and past
/// the header, name and info not overlapping, a Unicode name strict
/// UTF-16, the AV pairs each inside the list up to EOL (the first
/// NetBIOS domain strict UTF-16, every timestamp 8 bytes, the last one
/// counting). The domain is the name, else the first NetBIOS domain.
pub fn parse(m: &[u8]) -> Result<Challenge, String> {
    if m.len() < 32 || &m[..8] != SIGNATURE || u32_at(m, 8) != 2 {
        return Err("not a CHALLENGE".into());
    }
    let flags = u32_at(m, 20) as u32;
    let has_info = flags & TARGET_INFO != 0;
    if has_info && m.len() < 48 {
        return Err("too short for target info".into());
    }
    let header = if has_info { 48 } else { 32 };
    let field = |at: usize| -> Result<std::ops::Range<usize>, String> {
        let (len, start) = (u16_at(m, at), u32_at(m, at + 4));
        if len == 0 {
            Ok(0..0)
        } else if start >= header && start + len <= m.len() {
            Ok(start..start + len)
        } else {
            Err(format!("field at {at} outside"))
        }
    };
    let name = field(12)?;
    let info = if has_info { field(40)? } else { 0..0 };
    if !name.is_empty() && !info.is_empty() && name.start < info.end && info.start < name.end {
        return Err("overlap".into());
    }
    let mut domain = if flags & UNICODE != 0 {
        from_utf16(&m[name]).ok_or("name not UTF-16")?
    } else {
        oem(&m[name])
    };
    let target_info = m[info].to_vec();
    let (mut nb_domain, mut timestamp) = (None, None);
    // A non-empty list must end with EOL, even right after a whole pair.
    let mut rest = &target_info[..];
    while !target_info.is_empty() {
        if rest.len() < 4 {
            return Err("no EOL".into());
        }
        let (id, end) = (u16_at(rest, 0) as u16, 4 + u16_at(rest, 2));
        let value = rest.get(4..end).ok_or("AV pair past the end")?;
        match id {
            AV_EOL => break,
            AV_NB_DOMAIN if nb_domain.is_none() => nb_domain = Some(from_utf16(value).ok_or("AV domain not UTF-16")?),
            AV_TIMESTAMP => timestamp = Some(<[u8; 8]>::try_from(value).map_err(|_| "timestamp not 8 bytes")?),
            _ => {}
        }
        rest = &rest[end..];
    }
    if domain.is_empty() {
        domain = nb_domain.unwrap_or_default();
    }
    Ok(Challenge { flags, server_challenge: m[24..32].try_into().unwrap(), domain, target_info, timestamp })
}

/// Each character's upper case where it is one character (Windows' rule).
pub fn upper(s: &str) -> String {
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

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// NTOWFv1: MD4 of the UTF-16LE password (UTF-8 when valid, else Latin-1).
pub fn nt_hash(password: &[u8]) -> [u8; 16] {
    Md4::digest(utf16le(&oem(password))).into()
}

/// The 24-byte NTLMv1 response.
pub fn v1_response(password: &[u8], server_challenge: &[u8; 8]) -> [u8; 24] {
    let mut key = [0u8; 21];
    key[..16].copy_from_slice(&nt_hash(password));
    let mut out = [0u8; 24];
    for (i, seven) in key.chunks(7).enumerate() {
        let des = des::Des::new(GenericArray::from_slice(&crate::digest_server::des_key(seven)));
        let mut block = GenericArray::clone_from_slice(server_challenge);
        des.encrypt_block(&mut block);
        out[8 * i..8 * i + 8].copy_from_slice(&block);
    }
    out
}

/// The account the server checks, and the client's options.
pub struct Account<'a> {
    pub user: &'a str,
    pub password: &'a [u8],
    /// NTLMv2 (else NTLMv1).
    pub v2: bool,
}

/// FILETIME of 2020-01-01: our own clock in a blob is after it.
const FILETIME_2020: u64 = 132_223_104_000_000_000;

/// Checks an AUTHENTICATE message answering `ch` for `account`. Returns the
/// NTLMv2 client challenge (None for v1).
pub fn verify(ch: &Challenge, account: &Account<'_>, msg: &[u8]) -> Result<Option<[u8; 8]>, String> {
    if msg.len() < 64 || &msg[..8] != SIGNATURE || u32_at(msg, 8) != 3 {
        return Err("not an AUTHENTICATE message".into());
    }
    // Six fields (LM, NT, domain, user, workstation, session key), laid out
    // in order right after the header, nothing else after them.
    let mut next = 64;
    let mut fields = Vec::new();
    for i in 0..6 {
        let at = 12 + 8 * i;
        let (len, max, off) = (u16_at(msg, at), u16_at(msg, at + 2), u32_at(msg, at + 4));
        if len != max || off != next || off + len > msg.len() {
            return Err(format!("field {i}: length {len}/{max} at {off}, expected at {next}"));
        }
        fields.push(&msg[off..off + len]);
        next += len;
    }
    if next != msg.len() {
        return Err("bytes after the fields".into());
    }
    let flags = u32_at(msg, 60) as u32;
    let mut want_flags = ch.flags & CONFIRMABLE;
    if want_flags & UNICODE != 0 {
        want_flags &= !OEM;
    }
    if flags != want_flags {
        return Err(format!("flags {flags:#x}, expected {want_flags:#x}"));
    }
    let unicode = flags & UNICODE != 0;
    let text = |s: &str| if unicode { utf16le(s) } else { s.as_bytes().to_vec() };
    let domain = upper(&ch.domain);
    let [lm, nt, dom, user, ws, key] = fields[..] else { unreachable!() };
    if dom != text(&domain) || user != text(account.user) || !ws.is_empty() || !key.is_empty() {
        return Err("wrong domain, user, workstation or session key".into());
    }
    if !account.v2 {
        if !lm.is_empty() || nt != v1_response(account.password, &ch.server_challenge) {
            return Err("wrong NTLMv1 response".into());
        }
        return Ok(None);
    }
    // NTLMv2: NTProofStr, then the blob: 1.1, reserved, time, client
    // challenge, reserved, the target info, reserved.
    if nt.len() != 16 + 28 + ch.target_info.len() + 4 {
        return Err(format!("NTLMv2 response of {} bytes", nt.len()));
    }
    let blob = &nt[16..];
    let cc: [u8; 8] = blob[16..24].try_into().unwrap();
    if blob[..8] != [1, 1, 0, 0, 0, 0, 0, 0] || blob[24..28] != [0; 4] || blob[28..blob.len() - 4] != ch.target_info[..] || blob[blob.len() - 4..] != [0; 4] {
        return Err("malformed NTLMv2 blob".into());
    }
    let time: [u8; 8] = blob[8..16].try_into().unwrap();
    match ch.timestamp {
        Some(ts) if time != ts => return Err("the blob's time is not the server's".into()),
        None if u64::from_le_bytes(time) < FILETIME_2020 => return Err("the blob's time is not now".into()),
        _ => {}
    }
    let who = [utf16le(&upper(account.user)), utf16le(&domain)].concat();
    let ntowf = hmac_md5(&nt_hash(account.password), &[&who]);
    if nt[..16] != hmac_md5(&ntowf, &[&ch.server_challenge, blob]) {
        return Err("wrong NTProofStr".into());
    }
    let want_lm: Vec<u8> = match ch.timestamp {
        Some(_) => vec![0; 24],
        None => [&hmac_md5(&ntowf, &[&ch.server_challenge, &cc])[..], &cc].concat(),
    };
    if lm != want_lm {
        return Err("wrong LMv2 response".into());
    }
    Ok(Some(cc))
}
