//! A DIGEST-MD5 server (RFC 2831) for tests only: builds a challenge,
//! checks the client's digest-response, answers `rspauth`, and runs the
//! server's side of the integrity and confidentiality layers. Written from
//! the RFC (and Cyrus's observed key layout for DES) on `md-5`, `hmac`,
//! `rc4` and `des`, independently of the library's client.

use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use rc4::StreamCipher;

/// The confidentiality ciphers: name, SSF, bytes of H(A1) in the key.
pub const CIPHERS: [(&str, u32, usize); 5] =
    [("rc4-40", 40, 5), ("rc4-56", 56, 7), ("rc4", 128, 16), ("des", 55, 16), ("3des", 112, 16)];

/// What the server offers.
#[derive(Debug, Clone)]
pub struct Offer {
    pub realms: Vec<String>,
    pub nonce: String,
    /// Offered qops, in order (`auth`, `auth-int`, `auth-conf`).
    pub qops: Vec<&'static str>,
    /// Offered cipher names.
    pub ciphers: Vec<&'static str>,
    /// Announced maxbuf (None: not sent, 65536 applies).
    pub maxbuf: Option<u32>,
    pub utf8: bool,
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl Offer {
    pub fn challenge(&self) -> Vec<u8> {
        let mut parts: Vec<String> = self.realms.iter().map(|r| format!("realm={}", quote(r))).collect();
        parts.push(format!("nonce={}", quote(&self.nonce)));
        if !self.qops.is_empty() {
            parts.push(format!("qop={}", quote(&self.qops.join(","))));
        }
        if !self.ciphers.is_empty() {
            parts.push(format!("cipher={}", quote(&self.ciphers.join(","))));
        }
        if let Some(m) = self.maxbuf {
            parts.push(format!("maxbuf={m}"));
        }
        if self.utf8 {
            parts.push("charset=utf-8".into());
        }
        parts.push("algorithm=md5-sess".into());
        parts.join(",").into_bytes()
    }

    pub fn server_maxbuf(&self) -> u32 {
        self.maxbuf.unwrap_or(65536)
    }
}

/// Splits `name=value` directives (token or quoted-string values, commas
/// between, white space around); None on a syntax error.
pub fn directives(msg: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(msg).ok()?;
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_ascii_whitespace() || c == ',' {
                break;
            }
            name.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        if name.is_empty() || chars.next() != Some('=') {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_ascii_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((name, value));
    }
}

/// The bytes RFC 2831 hashes for a string: ISO 8859-1 when every character
/// fits in it, else the UTF-8 itself.
fn latin1(s: &str) -> Vec<u8> {
    if s.chars().all(|c| (c as u32) < 256) { s.chars().map(|c| c as u8).collect() } else { s.as_bytes().to_vec() }
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// What the server knows of the user.
pub struct Account {
    pub authname: String,
    pub password: String,
    /// The authzid the client must send (None: it must send none).
    pub authzid: Option<String>,
    /// The realm the client must answer with.
    pub realm: String,
    pub digest_uri: String,
}

/// The outcome of a checked response: the rspauth message to send, the
/// negotiated qop and cipher, the client's announced maxbuf, and the
/// server's side of the layer, if any.
pub struct Verified {
    pub rspauth: Vec<u8>,
    pub qop: String,
    pub cipher: Option<&'static str>,
    pub client_maxbuf: u32,
    pub layer: Option<ServerLayer>,
}

/// Checks a digest-response against the offer and the account.
pub fn verify(offer: &Offer, account: &Account, response: &[u8]) -> Result<Verified, String> {
    if response.len() >= 4096 {
        return Err("response too long".into());
    }
    let ds = directives(response).ok_or("response syntax")?;
    for (i, (name, _)) in ds.iter().enumerate() {
        if ds[..i].iter().any(|(n, _)| n == name) {
            return Err(format!("{name} repeated"));
        }
    }
    let get = |n: &str| ds.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let need = |n: &str| get(n).ok_or(format!("no {n}"));
    if need("username")? != account.authname {
        return Err("wrong username".into());
    }
    if need("realm")? != account.realm {
        return Err(format!("realm {:?}, expected {:?}", get("realm"), account.realm));
    }
    if get("authzid") != account.authzid.as_deref() {
        return Err("wrong authzid".into());
    }
    if need("nonce")? != offer.nonce || need("nc")? != "00000001" {
        return Err("wrong nonce or nc".into());
    }
    if need("digest-uri")? != account.digest_uri {
        return Err("wrong digest-uri".into());
    }
    // (The accounts here are UTF-8 text; for other bytes the client says
    // no charset at all.)
    if get("charset").is_some() != offer.utf8 {
        return Err("charset sent to a server that did not announce it, or not sent".into());
    }
    let qop = get("qop").unwrap_or("auth");
    if !offer.qops.contains(&qop) && !(offer.qops.is_empty() && qop == "auth") {
        return Err(format!("qop {qop} was not offered"));
    }
    let cipher = match (qop, get("cipher")) {
        ("auth-conf", Some(c)) => {
            Some(*offer.ciphers.iter().find(|o| **o == c).ok_or(format!("cipher {c} was not offered"))?)
        }
        ("auth-conf", None) => return Err("auth-conf without a cipher".into()),
        (_, None) => None,
        (_, Some(_)) => return Err("cipher without auth-conf".into()),
    };
    let client_maxbuf = match get("maxbuf") {
        None => 65536,
        Some(m) => m.parse().map_err(|_| "bad maxbuf")?,
    };
    let cnonce = need("cnonce")?;
    // H(A1) with md5-sess.
    let urp = md5(&[&latin1(&account.authname), b":", &latin1(&account.realm), b":", &latin1(&account.password)]);
    let mut a1 = vec![&urp[..], b":", offer.nonce.as_bytes(), b":", cnonce.as_bytes()];
    if let Some(z) = &account.authzid {
        a1.extend_from_slice(&[b":", z.as_bytes()]);
    }
    let ha1 = md5(&a1);
    let kd = |method: &str| {
        let mut a2 = format!("{method}:{}", account.digest_uri);
        if qop != "auth" {
            a2.push_str(":00000000000000000000000000000000");
        }
        let ha2 = crate::hex(&md5(&[a2.as_bytes()]));
        crate::hex(&md5(&[
            crate::hex(&ha1).as_bytes(),
            b":",
            offer.nonce.as_bytes(),
            b":00000001:",
            cnonce.as_bytes(),
            b":",
            qop.as_bytes(),
            b":",
            ha2.as_bytes(),
        ]))
    };
    if need("response")? != kd("AUTHENTICATE") {
        return Err("wrong response".into());
    }
    let layer = (qop != "auth").then(|| ServerLayer::new(&ha1, cipher));
    Ok(Verified {
        rspauth: format!("rspauth={}", kd("")).into_bytes(),
        qop: qop.to_owned(),
        cipher,
        client_maxbuf,
        layer,
    })
}

/// The bytes a DES key is made of: 56 bits spread 7 to a byte, high bits.
pub(crate) fn des_key(seven: &[u8]) -> [u8; 8] {
    let mut key = [0u8; 8];
    for (i, k) in key.iter_mut().enumerate() {
        // Bits 7i .. 7i+7 of the 56-bit string.
        let mut v = 0u8;
        for bit in 0..7 {
            let n = 7 * i + bit;
            let b = (seven[n / 8] >> (7 - n % 8)) & 1;
            v = v << 1 | b;
        }
        *k = v << 1;
    }
    key
}

enum Seal {
    Rc4(rc4::Rc4<rc4::consts::U16>),
    Des(des::Des, [u8; 8]),
    Tdes(des::TdesEde2, [u8; 8]),
}

impl Seal {
    fn new(cipher: &str, kc: &[u8; 16]) -> Seal {
        let iv: [u8; 8] = kc[8..].try_into().unwrap();
        match cipher {
            "des" => Seal::Des(des::Des::new(GenericArray::from_slice(&des_key(&kc[..7]))), iv),
            "3des" => {
                let mut k = [0u8; 16];
                k[..8].copy_from_slice(&des_key(&kc[..7]));
                k[8..].copy_from_slice(&des_key(&kc[7..14]));
                Seal::Tdes(des::TdesEde2::new(GenericArray::from_slice(&k)), iv)
            }
            _ => Seal::Rc4(rc4::Rc4::new(GenericArray::from_slice(kc))),
        }
    }

    fn block(&self) -> usize {
        if matches!(self, Seal::Rc4(_)) { 1 } else { 8 }
    }

    fn encrypt(&mut self, data: &mut [u8]) {
        fn cbc<C: BlockEncrypt>(c: &C, iv: &mut [u8; 8], data: &mut [u8]) {
            for b in data.chunks_mut(8) {
                b.iter_mut().zip(iv.iter()).for_each(|(x, v)| *x ^= v);
                c.encrypt_block(GenericArray::from_mut_slice(b));
                iv.copy_from_slice(b);
            }
        }
        match self {
            Seal::Rc4(c) => c.apply_keystream(data),
            Seal::Des(c, iv) => cbc(c, iv, data),
            Seal::Tdes(c, iv) => cbc(c, iv, data),
        }
    }

    fn decrypt(&mut self, data: &mut [u8]) {
        fn cbc<C: BlockDecrypt>(c: &C, iv: &mut [u8; 8], data: &mut [u8]) {
            for b in data.chunks_mut(8) {
                let next: [u8; 8] = b.try_into().unwrap();
                c.decrypt_block(GenericArray::from_mut_slice(b));
                b.iter_mut().zip(iv.iter()).for_each(|(x, v)| *x ^= v);
                *iv = next;
            }
        }
        match self {
            Seal::Rc4(c) => c.apply_keystream(data),
            Seal::Des(c, iv) => cbc(c, iv, data),
            Seal::Tdes(c, iv) => cbc(c, iv, data),
        }
    }
}

struct Direction {
    ki: [u8; 16],
    seal: Option<Seal>,
    seq: u32,
}

impl Direction {
    fn mac(&self, seq: u32, msg: &[u8]) -> [u8; 10] {
        let mut m = <Hmac<Md5> as Mac>::new_from_slice(&self.ki).unwrap();
        m.update(&seq.to_be_bytes());
        m.update(msg);
        m.finalize().into_bytes()[..10].try_into().unwrap()
    }
}

/// The server's side of a negotiated layer: wraps what it sends, checks
/// what the client sent.
pub struct ServerLayer {
    send: Direction,
    recv: Direction,
}

impl ServerLayer {
    fn new(ha1: &[u8; 16], cipher: Option<&str>) -> Self {
        let n = cipher.map_or(16, |c| CIPHERS.iter().find(|k| k.0 == c).unwrap().2);
        let dir = |sign: &str, seal: &str| Direction {
            ki: md5(&[ha1, sign.as_bytes()]),
            seal: cipher.map(|c| Seal::new(c, &md5(&[&ha1[..n], seal.as_bytes()]))),
            seq: 0,
        };
        ServerLayer {
            send: dir(
                "Digest session key to server-to-client signing key magic constant",
                "Digest H(A1) to server-to-client sealing key magic constant",
            ),
            recv: dir(
                "Digest session key to client-to-server signing key magic constant",
                "Digest H(A1) to client-to-server sealing key magic constant",
            ),
        }
    }

    /// One protected payload (without the length prefix).
    pub fn wrap(&mut self, msg: &[u8]) -> Vec<u8> {
        let d = &mut self.send;
        let mac = d.mac(d.seq, msg);
        let mut out = msg.to_vec();
        if let Some(seal) = &mut d.seal {
            let bs = seal.block();
            if bs > 1 {
                let pad = bs - (msg.len() + 10) % bs;
                out.extend(std::iter::repeat_n(pad as u8, pad));
            }
            out.extend_from_slice(&mac);
            seal.encrypt(&mut out);
        } else {
            out.extend_from_slice(&mac);
        }
        out.extend_from_slice(&[0, 1]);
        out.extend_from_slice(&d.seq.to_be_bytes());
        d.seq += 1;
        out
    }

    /// Checks one payload from the client; its plaintext, or why not.
    pub fn unwrap(&mut self, packet: &[u8]) -> Result<Vec<u8>, String> {
        let d = &mut self.recv;
        if packet.len() < 16 {
            return Err("short packet".into());
        }
        let (body, trailer) = packet.split_at(packet.len() - 6);
        if trailer[..2] != [0, 1] || trailer[2..] != d.seq.to_be_bytes() {
            return Err("bad version or sequence number".into());
        }
        let mut body = body.to_vec();
        let mut msg_len = body.len() - 10;
        if let Some(seal) = &mut d.seal {
            if body.len() % seal.block() != 0 {
                return Err("not whole blocks".into());
            }
            seal.decrypt(&mut body);
            if seal.block() > 1 {
                let pad = usize::from(body[msg_len - 1]);
                if !(1..=8).contains(&pad) || pad > msg_len || body[msg_len - pad..msg_len].iter().any(|&b| usize::from(b) != pad) {
                    return Err("bad padding".into());
                }
                msg_len -= pad;
            }
        }
        let (msg, mac) = (&body[..msg_len], &body[body.len() - 10..]);
        if d.mac(d.seq, msg) != mac {
            return Err("bad MAC".into());
        }
        d.seq += 1;
        Ok(msg.to_vec())
    }
}

/// Plaintext bytes per packet lost to the layer, as the client counts them.
pub fn overhead(cipher: Option<&str>) -> u32 {
    if cipher.is_some() { 25 } else { 16 }
}
