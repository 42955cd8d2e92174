//! Fast re-authentication ("subsequent authentication", RFC 2831 section
//! 2.2), as Cyrus's client does it: after a successful authentication the
//! client remembers the server's nonce and offer; the next connection to the
//! same server (service and host name) as the same user sends its response
//! at once, with the same nonce and the next nonce-count, saving the
//! server's challenge. A server that does not accept it sends a fresh
//! challenge, and the exchange goes on as a full authentication.
//!
//! Unlike Cyrus's client, each re-authentication has a fresh cnonce. The
//! session key H(A1) covers nonce and cnonce but not the nonce-count, so
//! with Cyrus's reused cnonce every re-authenticated connection has the same
//! layer keys: the same RC4 key stream, MACs that replay from one connection
//! into another. Cyrus's server does not compare cnonces (nor does RFC 2831
//! ask it to); a server that did would answer with a fresh challenge, and
//! the exchange would go on in full.
//!
//! The entry lives in the process's re-authentication memory (the core's,
//! through [`Session::recall`]), one per server as in Cyrus. It holds no
//! secret: the password is asked for again and the response recomputed.

use super::{Cipher, Offer};
use crate::mech::Session;

/// The memory's id for `service` on `server`.
pub(super) fn id<'a>(service: &'a str, server: &'a str) -> [&'a [u8]; 3] {
    [b"DIGEST-MD5", service.as_bytes(), server.as_bytes()]
}

/// What a later connection needs to answer without a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub authid: Vec<u8>,
    pub realm: Vec<u8>,
    pub nonce: String,
    /// The last nonce-count used.
    pub nc: u32,
    pub offer: Offer,
}

impl Entry {
    /// Length-prefixed strings, then the numbers.
    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for s in [&self.authid[..], &self.realm, self.nonce.as_bytes()] {
            v.extend_from_slice(&(s.len() as u32).to_be_bytes());
            v.extend_from_slice(s);
        }
        v.extend_from_slice(&self.nc.to_be_bytes());
        v.extend_from_slice(&self.offer.maxbuf.to_be_bytes());
        v.push(self.offer.qops);
        v.push(u8::from(self.offer.utf8));
        v.extend(self.offer.ciphers.iter().map(|c| c.code()));
        v
    }

    /// The inverse of [`Entry::to_bytes`]; None for anything else.
    pub(super) fn from_bytes(mut v: &[u8]) -> Option<Entry> {
        let mut take = |n: usize| -> Option<&[u8]> {
            let (head, rest) = (v.get(..n)?, v.get(n..)?);
            v = rest;
            Some(head)
        };
        let mut bytes = || -> Option<Vec<u8>> {
            let len = u32::from_be_bytes(take(4)?.try_into().ok()?) as usize;
            Some(take(len)?.to_vec())
        };
        let (authid, realm) = (bytes()?, bytes()?);
        let nonce = String::from_utf8(bytes()?).ok()?;
        let nc = u32::from_be_bytes(take(4)?.try_into().ok()?);
        let maxbuf = u32::from_be_bytes(take(4)?.try_into().ok()?);
        let (qops, utf8) = (take(1)?[0], take(1)?[0] != 0);
        let ciphers = v.iter().map(|&c| Cipher::from_code(c)).collect::<Option<Vec<_>>>()?;
        Some(Entry { authid, realm, nonce, nc, offer: Offer { qops, ciphers, maxbuf, utf8 } })
    }

    /// The entry for `service` on `server`, left in place.
    pub(super) fn peek(session: &mut dyn Session, service: &str, server: &str) -> Option<Entry> {
        Entry::from_bytes(&session.recall(&id(service, server), false)?)
    }

    /// The entry, removed: one connection at a time uses a nonce-count.
    pub(super) fn take(session: &mut dyn Session, service: &str, server: &str) -> Option<Entry> {
        Entry::from_bytes(&session.recall(&id(service, server), true)?)
    }

    pub(super) fn store(&self, session: &mut dyn Session, service: &str, server: &str) {
        session.remember(&id(service, server), &self.to_bytes());
    }

    pub(super) fn forget(session: &mut dyn Session, service: &str, server: &str) {
        session.forget(&id(service, server));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_garbage_is_none() {
        let e = Entry {
            authid: b"chris".to_vec(),
            realm: b"elwood.innosoft.com".to_vec(),
            nonce: "OA6MG9tEQGm2hh".into(),
            nc: 7,
            offer: Offer { qops: 7, ciphers: Cipher::ALL.to_vec(), maxbuf: 65536, utf8: true },
        };
        let bytes = e.to_bytes();
        assert_eq!(Entry::from_bytes(&bytes), Some(e));
        for cut in 0..bytes.len() - Cipher::ALL.len() {
            assert_eq!(Entry::from_bytes(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() = 99;
        assert_eq!(Entry::from_bytes(&bad), None);
    }
}
