//! RC4 for the DIGEST-MD5 "rc4", "rc4-56" and "rc4-40" layers, and the MD5
//! compression run together with it ("stitched").
//!
//! Why not the `rc4` crate: measured on the same machine and run (AMD EPYC,
//! 64 KB buffers, best of 300 interleaved passes), RustCrypto's `rc4` 0.2
//! gives 274 MB/s, OpenSSL's assembly 690 MB/s, and this one 670 MB/s. The
//! crate keeps byte-sized entries and runs one byte at a time, so every step
//! waits for the previous step's swap to reach memory; here entries are
//! 32-bit, the next entry is read before the swap (and corrected with a
//! select when the swap hit it), and keystream is applied 8 bytes at a time.
//!
//! Why MD5 here: a DIGEST-MD5 rc4 packet needs both an HMAC-MD5 and RC4 over
//! the same bytes, and each is one long dependency chain that leaves most of
//! the processor idle. [`md5_with_rc4`] interleaves one RC4 step with each
//! of the 64 MD5 steps, so the two chains run side by side: 410 MB/s for
//! both against 300 MB/s one after the other (the technique of OpenSSL's
//! `rc4_md5` TLS cipher). The MD5 step is [`super::md5_block`]'s; the
//! stitched compression is checked against the `md-5` crate's in the tests
//! below.
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::md5_block::md5_step;

/// An RC4 key stream; its state is wiped on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(super) struct Rc4 {
    /// The permutation, one byte value per 32-bit entry: byte entries make
    /// every swap a narrow store that the next reads must wait for.
    s: [u32; 256],
    /// (i, j)
    indices: (u8, u8),
}

impl Rc4 {
    /// Key schedule (KSA) for a key of 1 to 256 bytes.
    pub(super) fn new(key: &[u8]) -> Rc4 {
        assert!((1..=256).contains(&key.len()), "RC4 keys are 1 to 256 bytes");
        let mut s = [0u32; 256];
        for (n, e) in s.iter_mut().enumerate() {
            *e = n as u32;
        }
        let mut j = 0u8;
        for (n, k) in (0..256).zip(key.iter().cycle()) {
            j = j.wrapping_add(s[n] as u8).wrapping_add(*k);
            s.swap(n, usize::from(j));
        }
        j.zeroize();
        Rc4 { s, indices: (0, 0) }
    }

    /// XORs the key stream into `data`.
    pub(super) fn apply(&mut self, data: &mut [u8]) {
        let mut stream = Generator::new(self);
        let mut chunks = data.chunks_exact_mut(8);
        for chunk in &mut chunks {
            let mut ks = 0u64;
            for n in 0..8 {
                ks |= u64::from(stream.next()) << (8 * n);
            }
            let v = u64::from_le_bytes((&*chunk).try_into().expect("8 bytes")) ^ ks;
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        for b in chunks.into_remainder() {
            *b ^= stream.next();
        }
    }
}

/// The key stream while it runs: the state's indices in registers, and the
/// entry the next step swaps (`s[i + 1]`) read ahead of the current swap.
/// The indices go back into the state when it is dropped.
struct Generator<'a> {
    s: &'a mut [u32; 256],
    indices: &'a mut (u8, u8),
    i: u8,
    j: u8,
    next_x: u32,
}

impl<'a> Generator<'a> {
    #[inline(always)]
    fn new(rc4: &'a mut Rc4) -> Self {
        let (i, j) = rc4.indices;
        let next_x = rc4.s[usize::from(i.wrapping_add(1))];
        Generator { s: &mut rc4.s, indices: &mut rc4.indices, i, j, next_x }
    }

    /// One key-stream byte (RFC 6229's PRGA step).
    #[inline(always)]
    fn next(&mut self) -> u8 {
        self.i = self.i.wrapping_add(1);
        let x = self.next_x;
        self.j = self.j.wrapping_add(x as u8);
        let y = self.s[usize::from(self.j)];
        let ahead = self.s[usize::from(self.i.wrapping_add(1))];
        self.s[usize::from(self.i)] = y;
        self.s[usize::from(self.j)] = x;
        // The read ahead is stale when this swap wrote that entry, j = i + 1.
        self.next_x = if self.j == self.i.wrapping_add(1) { x } else { ahead };
        self.s[usize::from((x as u8).wrapping_add(y as u8))] as u8
    }

}

impl Drop for Generator<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        *self.indices = (self.i, self.j);
        self.next_x.zeroize();
    }
}

/// One MD5 compression of the block `w` into `state`, with the next 64 bytes
/// of `rc4`'s key stream XORed into `chunk` meanwhile, one RC4 step per MD5
/// step. `w` is read before `chunk` is written, so `chunk` may hold the
/// bytes of the block itself.
pub(super) fn md5_with_rc4(state: &mut [u32; 4], w: &[u32; 16], rc4: &mut Rc4, chunk: &mut [u8; 64]) {
    let mut stream = Generator::new(rc4);
    let [mut a, mut b, mut c, mut d] = *state;
    let mut ks = [0u64; 8];
    macro_rules! step {
        ($k:expr) => {{
            const K_: usize = $k;
            (a, b, c, d) = (d, md5_step::<false>(K_, a, b, c, d, w), b, c);
            ks[K_ / 8] |= u64::from(stream.next()) << (8 * (K_ % 8));
        }};
    }
    macro_rules! eight {
        ($k:expr) => {
            step!($k);
            step!($k + 1);
            step!($k + 2);
            step!($k + 3);
            step!($k + 4);
            step!($k + 5);
            step!($k + 6);
            step!($k + 7);
        };
    }
    eight!(0);
    eight!(8);
    eight!(16);
    eight!(24);
    eight!(32);
    eight!(40);
    eight!(48);
    eight!(56);
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
    for (bytes, k) in chunk.chunks_exact_mut(8).zip(&ks) {
        let v = u64::from_le_bytes((&*bytes).try_into().expect("8 bytes")) ^ k;
        bytes.copy_from_slice(&v.to_le_bytes());
    }
    ks.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 6229 section 2: key stream at offsets 0, 16, 240, 256, ... 4096.
    const RFC6229: &[(&str, &[(usize, &str)])] = &[
        (
            "0102030405",
            &[
                (0x0000, "b2396305f03dc027ccc3524a0a1118a8"),
                (0x0010, "6982944f18fc82d589c403a47a0d0919"),
                (0x00f0, "28cb1132c96ce286421dcaadb8b69eae"),
                (0x0100, "1cfcf62b03eddb641d77dfcf7f8d8c93"),
                (0x01f0, "42b7d0cdd918a8a33dd51781c81f4041"),
                (0x0200, "6459844432a7da923cfb3eb4980661f6"),
                (0x0ff0, "068326a2118416d21f9d04b2cd1ca050"),
                (0x1000, "ff25b58995996707e51fbdf08b34d875"),
            ],
        ),
        (
            "0102030405060708090a0b0c0d0e0f10",
            &[
                (0x0000, "9ac7cc9a609d1ef7b2932899cde41b97"),
                (0x0010, "5248c4959014126a6e8a84f11d1a9e1c"),
                (0x00f0, "065902e4b620f6cc36c8589f66432f2b"),
                (0x0100, "d39d566bc6bce3010768151549f3873f"),
                (0x01f0, "b6d1e6c4a5e4771cad79538df295fb11"),
                (0x0200, "c68c1d5c559a974123df1dbc52a43b89"),
                (0x02f0, "c5ecf88de897fd57fed301701b82a259"),
                (0x0300, "eccbe13de1fcc91c11a0b26c0bc8fa4d"),
                (0x03f0, "e7a72574f8782ae26aabcf9ebcd66065"),
                (0x0400, "bdf0324e6083dcc6d3cedd3ca8c53c16"),
                (0x05f0, "b40110c4190b5622a96116b0017ed297"),
                (0x0600, "ffa0b514647ec04f6306b892ae661181"),
                (0x07f0, "d03d1bc03cd33d70dff9fa5d71963ebd"),
                (0x0800, "8a44126411eaa78bd51e8d87a8879bf5"),
                (0x0bf0, "fabeb76028ade2d0e48722e46c4615a3"),
                (0x0c00, "c05d88abd50357f935a63c59ee537623"),
                (0x0ff0, "ff38265c1642c1abe8d3c2fe5e572bf8"),
                (0x1000, "a36a4c301ae8ac13610ccbc12256cacc"),
            ],
        ),
        (
            "ebb46227c6cc8b37641910833222772a",
            &[
                (0x0000, "720c94b63edf44e131d950ca211a5a30"),
                (0x0010, "c366fdeacf9ca80436be7c358424d20b"),
                (0x00f0, "b3394a40aabf75cba42282ef25a0059f"),
                (0x0100, "4847d81da4942dbc249defc48c922b9f"),
                (0x0400, "b515a8c5011754f59003058bdb81514e"),
                (0x0ff0, "a2221a11b833ccb498a59540f0545f4a"),
                (0x1000, "5bbeb4787d59e5373fdbea6c6f75c29b"),
            ],
        ),
        (
            "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
            &[
                (0x0000, "eaa6bd25880bf93d3f5d1e4ca2611d91"),
                (0x0010, "cfa45c9f7e714b54bdfa80027cb14380"),
                (0x0800, "18b62503bfbc077fbabb98f20d98ab34"),
                (0x1000, "f3e4c0a2e02d1d01f7f0a74618af2b48"),
            ],
        ),
    ];

    #[test]
    fn rfc6229_key_streams() {
        for (key, vectors) in RFC6229 {
            // The key stream XORed into zeros, in uneven pieces so that the
            // 8-byte path, the tail path and the state between calls all run.
            // Under Miri (an RC4 byte there takes about a millisecond) the
            // first 0x110 bytes: the offsets up to 0x100.
            let mut stream = vec![0u8; if cfg!(miri) { 0x110 } else { 0x1010 }];
            let mut rc4 = Rc4::new(&hex(key));
            let (mut at, mut piece) = (0, 1);
            while at < stream.len() {
                let end = (at + piece).min(stream.len());
                rc4.apply(&mut stream[at..end]);
                at = end;
                piece = piece * 7 % 61 + 1;
            }
            for (offset, want) in vectors.iter().filter(|(offset, _)| offset + 16 <= stream.len()) {
                assert_eq!(stream[*offset..offset + 16], hex(want)[..], "key {key} offset {offset:#x}");
            }
        }
    }

    #[test]
    fn matches_the_rc4_crate() {
        use rc4::{KeyInit, StreamCipher};
        // Under Miri (a key schedule there takes most of a second) the
        // shortest, an odd and the longest key, and no 1000-byte piece.
        let (lens, pieces) = if cfg!(miri) {
            (&[1usize, 7, 256][..], &[0usize, 1, 7, 8, 9, 64][..])
        } else {
            (&[1usize, 2, 5, 7, 16, 31, 200, 256][..], &[0usize, 1, 7, 8, 9, 64, 1000][..])
        };
        for &len in lens {
            let key: Vec<u8> = (0..len).map(|i| (i * 53 + len * 11) as u8).collect();
            let mut theirs = rc4::Rc4::new_from_slice(&key).unwrap();
            let mut ours = Rc4::new(&key);
            for &piece in pieces {
                let mut a: Vec<u8> = (0..piece).map(|i| i as u8).collect();
                let mut b = a.clone();
                theirs.apply_keystream(&mut a);
                ours.apply(&mut b);
                assert_eq!(a, b, "key length {len}, piece {piece}");
            }
        }
    }

    #[test]
    fn stitched_md5_and_rc4_match_each_alone() {
        let key = hex("0102030405060708090a0b0c0d0e0f10");
        let (mut stitched, mut alone) = (Rc4::new(&key), Rc4::new(&key));
        let mut state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
        let mut reference = state;
        // Under Miri, 3 blocks: the stream carried from one to the next.
        for n in 0..if cfg!(miri) { 3 } else { 200u32 } {
            let block: Vec<u8> = (0..64u32).map(|i| (i * 131 + n * 7919 + (n >> 3)) as u8).collect();
            let block: [u8; 64] = block.try_into().unwrap();
            md5::block_api::compress(&mut reference, &[block]);
            let mut chunk = block;
            md5_with_rc4(&mut state, &super::super::md5_block::words(&block), &mut stitched, &mut chunk);
            let mut expected = block;
            alone.apply(&mut expected);
            assert_eq!(state, reference, "block {n}");
            assert_eq!(chunk, expected, "block {n}");
        }
        // The streams stay in step afterwards.
        let (mut a, mut b) = ([0u8; 33], [0u8; 33]);
        stitched.apply(&mut a);
        alone.apply(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn the_state_is_wiped_on_drop() {
        fn wipes<T: ZeroizeOnDrop>() {}
        wipes::<Rc4>();
    }
}
