//! The process's memory of earlier authentications, for re-authentication:
//! SCRAM's ClientKey and ServerKey for a password, salt and iteration count
//! (RFC 5802 section 5.1), and DIGEST-MD5's nonce for a server (RFC 2831
//! section 2.2). Mechanisms reach it through [`crate::mech::Session`].
//!
//! * An entry is found by all the inputs that must match (`id`: mechanism,
//!   user, password, salt, count, server...). The store keeps only an
//!   HMAC-SHA-256 of them under a random per-process key, so a password in
//!   an id is never stored, and an entry is useless to anyone who lacks it.
//! * At most [`CAPACITY`] entries; the least recently used one goes first.
//!   Values are wiped when evicted, replaced, taken or forgotten, and the
//!   whole store (key included) when the library is finalised
//!   (`sasl_done` / the last `sasl_client_done`).
//! * One lock for the process; every operation is a few dozen
//!   microseconds at most, well below an authentication's cost.
use std::sync::Mutex;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::mech::Secret;

/// Entries kept at most. A process talks to few servers as few users; this
/// is enough for a mail client's accounts without growing without bound.
pub const CAPACITY: usize = 32;

/// The keyed hash an entry is found by.
type Tag = [u8; 32];

struct Entry {
    tag: Tag,
    value: Secret,
}

/// A bounded store of secrets by keyed hash; entries in order of use, the
/// most recent last.
pub struct Store {
    key: Zeroizing<[u8; 32]>,
    entries: Vec<Entry>,
}

impl Store {
    /// A store with a fresh random key; None if the system has no random
    /// source (then nothing is cached).
    pub fn new() -> Option<Store> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut key[..]).ok()?;
        Some(Store { key, entries: Vec::new() })
    }

    fn tag(&self, id: &[&[u8]]) -> Tag {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key[..]).expect("any key length");
        // Length-prefixed, so that no two different ids are the same input.
        for part in id {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    fn position(&self, tag: &Tag) -> Option<usize> {
        self.entries.iter().position(|e| bool::from(e.tag.ct_eq(tag)))
    }

    /// The value stored under `id`; with `take`, removed from the store.
    pub fn recall(&mut self, id: &[&[u8]], take: bool) -> Option<Secret> {
        let at = self.position(&self.tag(id))?;
        let entry = self.entries.remove(at);
        if take {
            return Some(entry.value);
        }
        let value = Secret::new(entry.value.to_vec());
        self.entries.push(entry);
        Some(value)
    }

    /// Stores `value` under `id`, replacing what was there, evicting the
    /// least recently used entry when full.
    pub fn remember(&mut self, id: &[&[u8]], value: &[u8]) {
        let tag = self.tag(id);
        if let Some(at) = self.position(&tag) {
            self.entries.remove(at);
        } else if self.entries.len() == CAPACITY {
            self.entries.remove(0);
        }
        self.entries.push(Entry { tag, value: Secret::new(value.to_vec()) });
    }

    /// Removes what is stored under `id`.
    pub fn forget(&mut self, id: &[&[u8]]) {
        if let Some(at) = self.position(&self.tag(id)) {
            self.entries.remove(at);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The process's store, created on first use.
static STORE: Mutex<Option<Store>> = Mutex::new(None);

fn with_store<T>(f: impl FnOnce(&mut Store) -> Option<T>) -> Option<T> {
    let mut guard = STORE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if guard.is_none() {
        *guard = Store::new();
    }
    guard.as_mut().and_then(f)
}

/// [`Store::recall`] on the process's store.
pub fn recall(id: &[&[u8]], take: bool) -> Option<Secret> {
    with_store(|s| s.recall(id, take))
}

/// [`Store::remember`] on the process's store.
pub fn remember(id: &[&[u8]], value: &[u8]) {
    with_store(|s| {
        s.remember(id, value);
        Some(())
    });
}

/// [`Store::forget`] on the process's store.
pub fn forget(id: &[&[u8]]) {
    with_store(|s| {
        s.forget(id);
        Some(())
    });
}

/// Wipes every entry and the key (the library is being finalised).
pub fn clear() {
    let mut guard = STORE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *guard = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_of_the_id_matters() {
        let mut s = Store::new().unwrap();
        let id: [&[u8]; 4] = [b"SCRAM-SHA-256", b"user", b"password", b"salt"];
        s.remember(&id, b"keys");
        assert_eq!(s.recall(&id, false).as_deref().map(|v| &v[..]), Some(&b"keys"[..]));
        for n in 0..id.len() {
            let mut other = id;
            other[n] = b"different";
            assert!(s.recall(&other, false).is_none(), "part {n}");
        }
        // Moving bytes between parts is a different id.
        assert!(s.recall(&[b"SCRAM-SHA-256", b"userp", b"assword", b"salt"], false).is_none());
        assert!(s.recall(&id[..3], false).is_none());
    }

    #[test]
    fn take_replace_forget() {
        let mut s = Store::new().unwrap();
        s.remember(&[b"a"], b"1");
        s.remember(&[b"a"], b"2");
        assert_eq!(s.len(), 1);
        assert_eq!(s.recall(&[b"a"], true).as_deref().map(|v| &v[..]), Some(&b"2"[..]));
        assert!(s.recall(&[b"a"], false).is_none());
        s.remember(&[b"b"], b"3");
        s.forget(&[b"b"]);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn bounded_least_recently_used_goes_first() {
        let mut s = Store::new().unwrap();
        for n in 0..CAPACITY as u32 {
            s.remember(&[&n.to_be_bytes()], b"v");
        }
        // Using entry 0 makes entry 1 the oldest.
        assert!(s.recall(&[&0u32.to_be_bytes()], false).is_some());
        s.remember(&[b"one more"], b"v");
        assert_eq!(s.len(), CAPACITY);
        assert!(s.recall(&[&0u32.to_be_bytes()], false).is_some());
        assert!(s.recall(&[&1u32.to_be_bytes()], false).is_none());
        assert!(s.recall(&[&2u32.to_be_bytes()], false).is_some());
    }

    #[test]
    fn the_process_store_is_wiped_when_the_library_is_done() {
        let id: [&[u8]; 2] = [b"reauth test", b"unique to this test"];
        remember(&id, b"v");
        assert!(recall(&id, false).is_some());
        clear();
        assert!(recall(&id, false).is_none());
    }

    #[test]
    fn different_processes_hash_differently() {
        // The tag depends on the store's key, not only on the id.
        let (a, b) = (Store::new().unwrap(), Store::new().unwrap());
        assert_ne!(a.tag(&[b"id"]), b.tag(&[b"id"]));
    }
}
