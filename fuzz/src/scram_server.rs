//! A SCRAM server (RFC 5802, 7677) for tests only: reads the client's
//! messages, answers them, and checks the client's proof and channel
//! binding. Deliberately simple and written from the RFC, not from the
//! library's client: a straightforward PBKDF2 loop over `hmac`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sasl2::mech::MechInfo;
use sasl2::mech::scram;

/// The five SCRAM hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

macro_rules! with_hash {
    ($h:expr, $t:ident => $body:expr) => {
        match $h {
            Hash::Sha1 => {
                type $t = sha1::Sha1;
                $body
            }
            Hash::Sha224 => {
                type $t = sha2::Sha224;
                $body
            }
            Hash::Sha256 => {
                type $t = sha2::Sha256;
                $body
            }
            Hash::Sha384 => {
                type $t = sha2::Sha384;
                $body
            }
            Hash::Sha512 => {
                type $t = sha2::Sha512;
                $body
            }
        }
    };
}

impl Hash {
    pub const ALL: [Hash; 5] = [Hash::Sha1, Hash::Sha224, Hash::Sha256, Hash::Sha384, Hash::Sha512];

    pub fn info(self) -> &'static MechInfo {
        match self {
            Hash::Sha1 => &scram::SCRAM_SHA_1,
            Hash::Sha224 => &scram::SCRAM_SHA_224,
            Hash::Sha256 => &scram::SCRAM_SHA_256,
            Hash::Sha384 => &scram::SCRAM_SHA_384,
            Hash::Sha512 => &scram::SCRAM_SHA_512,
        }
    }

    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        with_hash!(self, D => {
            let mut mac = <Hmac<D> as Mac>::new_from_slice(key).unwrap();
            for p in parts {
                mac.update(p);
            }
            mac.finalize().into_bytes().to_vec()
        })
    }

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        with_hash!(self, D => {
            use sha2::Digest;
            D::digest(data).to_vec()
        })
    }

    /// Hi() of RFC 5802: PBKDF2 with one output block, the textbook loop.
    pub fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut u = self.hmac(password, &[salt, &1u32.to_be_bytes()]);
        let mut out = u.clone();
        for _ in 1..iterations {
            u = self.hmac(password, &[&u]);
            out.iter_mut().zip(&u).for_each(|(o, x)| *o ^= x);
        }
        out
    }
}

/// `saslname` unescaping: `=2C` is `,` and `=3D` is `=`; any other `=` is
/// an error.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// SASLprep, or the string unprepared where SASLprep refuses it (what the
/// library does with its `scram_saslprep` option; without it, strings are
/// sent as they are).
pub fn prep(s: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(s).ok().and_then(|t| stringprep::saslprep(t).ok()) {
        Some(p) => p.as_bytes().to_vec(),
        None => s.to_vec(),
    }
}

/// What the server expects of the client and what it answers.
pub struct Server {
    pub hash: Hash,
    /// The user name the client must send (prepared).
    pub user: Vec<u8>,
    /// The authzid the client must send, if any.
    pub authzid: Option<String>,
    /// The password, prepared as the client will.
    pub password: Vec<u8>,
    pub snonce: String,
    pub salt: Vec<u8>,
    pub iterations: u32,
    /// Text appended to the server-first-message (an extension).
    pub extension: Option<String>,
    /// The GS2 flag the client must send: `n`, `y` or `p=name`.
    pub gs2_flag: String,
    /// Channel-binding data the client must send with `p=`.
    pub cb_data: Vec<u8>,
    // State of the exchange.
    gs2_header: String,
    first_bare: String,
    nonce: String,
    server_first: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Server {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        hash: Hash,
        user: &str,
        authzid: Option<&str>,
        password: &[u8],
        snonce: &str,
        salt: &[u8],
        iterations: u32,
        gs2_flag: &str,
        cb_data: &[u8],
        saslprep: bool,
    ) -> Self {
        let prepared = |s: &[u8]| if saslprep { prep(s) } else { s.to_vec() };
        Server {
            hash,
            user: prepared(user.as_bytes()),
            authzid: authzid.map(str::to_owned),
            password: prepared(password),
            snonce: snonce.to_owned(),
            salt: salt.to_vec(),
            iterations,
            extension: None,
            gs2_flag: gs2_flag.to_owned(),
            cb_data: cb_data.to_vec(),
            gs2_header: String::new(),
            first_bare: String::new(),
            nonce: String::new(),
            server_first: Vec::new(),
            signature: Vec::new(),
        }
    }

    /// Checks the client-first-message; returns the server-first-message.
    pub fn first(&mut self, msg: &[u8]) -> Result<Vec<u8>, String> {
        let msg = std::str::from_utf8(msg).map_err(|_| "client-first is not UTF-8")?;
        // gs2-header = flag "," [authzid] ","
        let (flag, rest) = msg.split_once(',').ok_or("no GS2 flag")?;
        let (authz, bare) = rest.split_once(',').ok_or("no GS2 authzid field")?;
        if flag != self.gs2_flag {
            return Err(format!("GS2 flag {flag:?}, expected {:?}", self.gs2_flag));
        }
        let authz = match authz {
            "" => None,
            a => Some(unescape(a.strip_prefix("a=").ok_or("bad authzid field")?).ok_or("bad escape")?),
        };
        if authz != self.authzid {
            return Err(format!("authzid {authz:?}, expected {:?}", self.authzid));
        }
        let (n, r) = bare.split_once(",r=").ok_or("no r=")?;
        let name = unescape(n.strip_prefix("n=").ok_or("no n=")?).ok_or("bad escape in n=")?;
        if name.as_bytes() != self.user {
            return Err("wrong user name".into());
        }
        if r.is_empty() || !r.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',') {
            return Err("bad client nonce".into());
        }
        self.gs2_header = format!("{flag},{},", rest.split_once(',').unwrap().0);
        self.first_bare = bare.to_owned();
        self.nonce = format!("{r}{}", self.snonce);
        let mut out = format!("r={},s={},i={}", self.nonce, B64.encode(&self.salt), self.iterations);
        if let Some(ext) = &self.extension {
            out.push(',');
            out.push_str(ext);
        }
        self.server_first = out.clone().into_bytes();
        Ok(self.server_first.clone())
    }

    /// Takes `msg` as the server-first-message actually sent (perhaps an
    /// edited one): reads its nonce, salt and count as a careful client
    /// must. Fails where such a client must refuse it.
    /// Extensions after the count are not read (the signature covers them).
    pub fn adopt(&mut self, msg: &[u8], max_iterations: u32) -> Result<(), String> {
        let mut fields = msg.split(|&b| b == b',');
        let mut take = |key: &str| {
            let field = fields.next().and_then(|f| f.strip_prefix(key.as_bytes())).ok_or(format!("no {key}"))?;
            std::str::from_utf8(field).map_err(|_| format!("{key} is not UTF-8"))
        };
        let nonce = take("r=")?;
        let salt = take("s=")?;
        let count = take("i=")?;
        let cnonce = &self.nonce[..self.nonce.len() - self.snonce.len()];
        if !nonce.starts_with(cnonce) || nonce.len() <= cnonce.len() {
            return Err("nonce does not extend the client's".into());
        }
        if !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',') {
            return Err("bad nonce characters".into());
        }
        let salt = B64.decode(salt).map_err(|_| "bad salt")?;
        if salt.is_empty() {
            return Err("empty salt".into());
        }
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err("bad count".into());
        }
        let count: u32 = count.parse().map_err(|_| "count overflows")?;
        if count == 0 || count > max_iterations {
            return Err("count out of range".into());
        }
        self.nonce = nonce.to_owned();
        self.salt = salt;
        self.iterations = count;
        self.server_first = msg.to_vec();
        Ok(())
    }

    /// Checks the client-final-message (binding, nonce, proof); returns the
    /// server-final-message.
    pub fn finish(&mut self, msg: &[u8]) -> Result<Vec<u8>, String> {
        let text = std::str::from_utf8(msg).map_err(|_| "client-final is not UTF-8")?;
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or("no proof")?;
        let (c, r) = without_proof.split_once(",r=").ok_or("no r=")?;
        let c = B64.decode(c.strip_prefix("c=").ok_or("no c=")?).map_err(|_| "bad c=")?;
        let mut want = self.gs2_header.clone().into_bytes();
        if self.gs2_flag.starts_with("p=") {
            want.extend_from_slice(&self.cb_data);
        }
        if c != want {
            return Err("wrong channel binding".into());
        }
        if r != self.nonce {
            return Err("wrong nonce".into());
        }
        let proof = B64.decode(proof).map_err(|_| "bad proof encoding")?;
        let h = self.hash;
        let salted = h.hi(&self.password, &self.salt, self.iterations);
        let stored = h.hash(&h.hmac(&salted, &[b"Client Key"]));
        let auth: [&[u8]; 5] = [self.first_bare.as_bytes(), b",", &self.server_first, b",", without_proof.as_bytes()];
        let client_signature = h.hmac(&stored, &auth);
        if proof.len() != client_signature.len() {
            return Err("proof of the wrong size".into());
        }
        let client_key: Vec<u8> = proof.iter().zip(&client_signature).map(|(a, b)| a ^ b).collect();
        if h.hash(&client_key) != stored {
            return Err("wrong proof".into());
        }
        self.signature = h.hmac(&h.hmac(&salted, &[b"Server Key"]), &auth);
        Ok(format!("v={}", B64.encode(&self.signature)).into_bytes())
    }
}
