//! The layers' HMAC-MD5 (RFC 2104) over `seq || msg`, keyed once per
//! direction, and for RC4 layers run together with the cipher
//! ([`super::rc4::md5_with_rc4`]).
//!
//! The hashed message `seq || msg` is cut into 64-byte blocks: block 0 is
//! the 4-byte sequence number and `msg[..60]`, block k > 0 is
//! `msg[64k - 4..64k + 60]`, read in place. When sealing, RC4 runs one block
//! behind MD5 (it encrypts bytes MD5 has already read); when opening, one
//! block ahead (it decrypts bytes before MD5 reads them).
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::md5_block::{compress, words};
use super::rc4::{md5_with_rc4, Rc4};

const BLOCK: usize = 64;
/// The first block holds the sequence number and this much of the message.
const FIRST: usize = BLOCK - 4;

/// HMAC-MD5 keyed with one 16-byte key: the MD5 states after the ipad and
/// the opad block. Wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(super) struct HmacMd5 {
    inner: [u32; 4],
    outer: [u32; 4],
}

const MD5_INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

fn as_block(bytes: &[u8]) -> &[u8; BLOCK] {
    bytes.try_into().expect("64 bytes")
}

impl HmacMd5 {
    pub(super) fn new(key: &[u8; 16]) -> HmacMd5 {
        let mut pad = [0x36u8; BLOCK];
        let mut keyed = |byte: u8| {
            pad.fill(byte);
            for (p, k) in pad.iter_mut().zip(key) {
                *p ^= k;
            }
            let mut state = MD5_INIT;
            compress(&mut state, &pad);
            state
        };
        let (inner, outer) = (keyed(0x36), keyed(0x5c));
        pad.zeroize();
        HmacMd5 { inner, outer }
    }

    /// HMAC(seq || msg).
    pub(super) fn mac(&self, seq: [u8; 4], msg: &[u8]) -> [u8; 16] {
        let mut state = self.inner;
        let full = blocks(msg.len());
        for k in 0..full {
            if k == 0 {
                compress(&mut state, &first_block(seq, msg));
            } else {
                compress(&mut state, as_block(&msg[k * BLOCK - 4..][..BLOCK]));
            }
        }
        self.finish(state, seq, msg, full)
    }

    /// HMAC(seq || msg), encrypting `msg` in place with `rc4` meanwhile.
    pub(super) fn mac_and_encrypt(&self, seq: [u8; 4], msg: &mut [u8], rc4: &mut Rc4) -> [u8; 16] {
        let mut state = self.inner;
        let full = blocks(msg.len());
        let mut encrypted = 0;
        for k in 0..full {
            if k == 0 {
                compress(&mut state, &first_block(seq, msg));
            } else {
                // Block k is read into words before chunk k - 1, which
                // overlaps its first 4 bytes, is encrypted.
                let w = words(&msg[k * BLOCK - 4..][..BLOCK]);
                let chunk = (&mut msg[(k - 1) * BLOCK..k * BLOCK]).try_into().expect("64 bytes");
                md5_with_rc4(&mut state, &w, rc4, chunk);
                encrypted = k * BLOCK;
            }
        }
        // The tail MD5 reads starts at or after what is encrypted.
        let mac = self.finish(state, seq, msg, full);
        rc4.apply(&mut msg[encrypted..]);
        mac
    }

    /// Decrypts `data` in place with `rc4` and returns HMAC(seq || msg) of
    /// its first `msg_len` bytes.
    pub(super) fn decrypt_and_mac(&self, seq: [u8; 4], data: &mut [u8], msg_len: usize, rc4: &mut Rc4) -> [u8; 16] {
        let mut decrypted = data.len().min(BLOCK);
        rc4.apply(&mut data[..decrypted]);
        let mut state = self.inner;
        let full = blocks(msg_len);
        for k in 0..full {
            // Block k ends at 64k + 60 of data, which is decrypted.
            let block = if k == 0 { first_block(seq, data) } else { *as_block(&data[k * BLOCK - 4..][..BLOCK]) };
            let next = (k + 1) * BLOCK..(k + 2) * BLOCK;
            if next.end <= data.len() {
                let chunk = (&mut data[next.clone()]).try_into().expect("64 bytes");
                md5_with_rc4(&mut state, &words(&block), rc4, chunk);
                decrypted = next.end;
            } else {
                rc4.apply(&mut data[decrypted..]);
                decrypted = data.len();
                compress(&mut state, &block);
            }
        }
        rc4.apply(&mut data[decrypted..]);
        self.finish(state, seq, &data[..msg_len], full)
    }

    /// Hashes what follows the first `full` blocks of `seq || msg`, pads,
    /// and runs the outer hash.
    fn finish(&self, mut state: [u32; 4], seq: [u8; 4], msg: &[u8], full: usize) -> [u8; 16] {
        let mut tail = [0u8; 2 * BLOCK];
        let rest = if full == 0 {
            tail[..4].copy_from_slice(&seq);
            tail[4..4 + msg.len()].copy_from_slice(msg);
            4 + msg.len()
        } else {
            let rest = &msg[full * BLOCK - 4..];
            tail[..rest.len()].copy_from_slice(rest);
            rest.len()
        };
        tail[rest] = 0x80;
        let end = if rest < BLOCK - 8 { BLOCK } else { 2 * BLOCK };
        let bits = ((BLOCK + 4 + msg.len()) as u64) * 8;
        tail[end - 8..end].copy_from_slice(&bits.to_le_bytes());
        for block in tail[..end].chunks_exact(BLOCK) {
            compress(&mut state, as_block(block));
        }
        // The outer hash: the inner digest, padded, after the opad block.
        let mut block = [0u8; BLOCK];
        for (b, w) in block.chunks_exact_mut(4).zip(&state) {
            b.copy_from_slice(&w.to_le_bytes());
        }
        block[16] = 0x80;
        block[BLOCK - 8..].copy_from_slice(&(((BLOCK + 16) as u64) * 8).to_le_bytes());
        let mut outer = self.outer;
        compress(&mut outer, &block);
        let mut mac = [0u8; 16];
        for (b, w) in mac.chunks_exact_mut(4).zip(&outer) {
            b.copy_from_slice(&w.to_le_bytes());
        }
        tail.zeroize();
        block.zeroize();
        state.zeroize();
        outer.zeroize();
        mac
    }
}

/// Whole blocks in `seq || msg` for a message of `len` bytes.
fn blocks(len: usize) -> usize {
    (4 + len) / BLOCK
}

/// Block 0: the sequence number and the first 60 bytes of `msg`.
fn first_block(seq: [u8; 4], msg: &[u8]) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    block[..4].copy_from_slice(&seq);
    block[4..].copy_from_slice(&msg[..FIRST]);
    block
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};

    fn reference(key: &[u8; 16], seq: [u8; 4], msg: &[u8]) -> [u8; 16] {
        let mut h = <Hmac<md5::Md5> as KeyInit>::new_from_slice(key).unwrap();
        h.update(&seq);
        h.update(msg);
        h.finalize().into_bytes().into()
    }

    /// Lengths around every block and padding boundary, and long messages.
    /// Under Miri (an MD5 block there takes 20 ms, an RC4 byte about 1) one
    /// length for each path: no whole block, one or two (0, 60, 124), a
    /// two-block tail (52, 116), opening a block ahead of MD5 (118, 182).
    fn lengths() -> Box<dyn Iterator<Item = usize>> {
        if cfg!(miri) {
            Box::new([0, 52, 60, 116, 118, 124, 182].into_iter())
        } else {
            Box::new((0..300).chain([1000, 4095, 4096, 4097, 65_000, 65_511]))
        }
    }

    #[test]
    fn matches_the_hmac_crate() {
        let key = *b"0123456789abcdef";
        let mac = HmacMd5::new(&key);
        for len in lengths() {
            let msg: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let seq = (len as u32).to_be_bytes();
            assert_eq!(mac.mac(seq, &msg), reference(&key, seq, &msg), "length {len}");
        }
    }

    #[test]
    fn rc4_paths_match_mac_then_cipher() {
        let key = *b"fedcba9876543210";
        let mac = HmacMd5::new(&key);
        let (mut sealer, mut opener, mut alone) = (Rc4::new(&key), Rc4::new(&key), Rc4::new(&key));
        for len in lengths() {
            let msg: Vec<u8> = (0..len).map(|i| (i * 91 + 7 * len) as u8).collect();
            let seq = (len as u32 ^ 0xa5a5_0000).to_be_bytes();
            let want_mac = reference(&key, seq, &msg);

            // Sealing: the MAC of the plaintext, the message encrypted, then
            // 10 MAC bytes encrypted by the same stream.
            let mut sealed = msg.clone();
            assert_eq!(mac.mac_and_encrypt(seq, &mut sealed, &mut sealer), want_mac, "length {len}");
            sealed.extend_from_slice(&want_mac[..10]);
            sealer.apply(&mut sealed[len..]);
            let mut expected = msg.clone();
            expected.extend_from_slice(&want_mac[..10]);
            alone.apply(&mut expected);
            assert_eq!(sealed, expected, "length {len}");

            // Opening decrypts everything and recomputes the MAC.
            let mut opened = sealed;
            assert_eq!(mac.decrypt_and_mac(seq, &mut opened, len, &mut opener), want_mac, "length {len}");
            assert_eq!(opened[..len], msg[..], "length {len}");
            assert_eq!(opened[len..], want_mac[..10], "length {len}");
        }
    }
}
