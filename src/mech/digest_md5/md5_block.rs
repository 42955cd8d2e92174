//! MD5's compression function (RFC 1321) for the layers' HMAC-MD5, alone
//! ([`compress`], auth-int and the ends of every packet) and run together
//! with RC4 ([`super::rc4::md5_with_rc4`]).
//!
//! Why not the `md-5` crate's: MD5 is one chain of dependent steps, and a
//! step's latency is all that counts. Each step adds `a`, a message word
//! and a constant, none of which depend on the step before, and then the
//! round function of `b`, the step before's result. LLVM reassociates the
//! sum and adds the constant last, one more cycle on the chain in every
//! step; the crate's code (0.11) compiles so, and ran at 0.82 to 0.85 of
//! OpenSSL's assembly on the development VM (AMD EPYC: 636 against 751
//! MB/s, 64 KiB buffers). An optimisation barrier
//! ([`std::hint::black_box`]) around the independent part keeps it off the
//! chain: 755 to 783 MB/s, OpenSSL's speed. The barrier costs a store and
//! a load per step, which run in the slack the step's three predecessors
//! leave. It only orders the computation: the result is the same whether
//! or not the compiler honours it (the tests compare with the crate).
//! Stitched with RC4 the barrier is left out: there RC4's own chain of
//! loads and stores is the longer one, and the barrier's store and load
//! made the pair 7% slower (`bench/run.sh build digest`).

/// RFC 1321's sine table: K[i] = floor(2^32 * |sin(i + 1)|).
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8,
    0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
    0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87,
    0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
    0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
    0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391,
];

/// Left rotations of the four rounds, four steps each (RFC 1321 3.4).
const SHIFT: [[u32; 4]; 4] = [[7, 12, 17, 22], [5, 9, 14, 20], [4, 11, 16, 23], [6, 10, 15, 21]];

/// The message word MD5 step `k` uses (RFC 1321 3.4).
#[inline(always)]
const fn word(k: usize) -> usize {
    match k / 16 {
        0 => k,
        1 => (5 * k + 1) % 16,
        2 => (3 * k + 5) % 16,
        _ => (7 * k) % 16,
    }
}

/// MD5 step `k` (0 to 63) on the state `(a, b, c, d)`: the new `b`;
/// `BARRIER`: see the module's notes.
///
/// The round functions (F, G, H, I of RFC 1321) are written so that `b`
/// enters last: F as `d ^ (b & (c ^ d))`; G with + for its |, as its two
/// terms share no bits, so that the term without `b` joins the sum early.
#[inline(always)]
pub(super) fn md5_step<const BARRIER: bool>(k: usize, a: u32, b: u32, c: u32, d: u32, w: &[u32; 16]) -> u32 {
    // See the module's notes: the barrier keeps this sum off the chain.
    let t = a.wrapping_add(w[word(k)]).wrapping_add(K[k]);
    let t = if BARRIER { std::hint::black_box(t) } else { t };
    let t = match k / 16 {
        0 => t.wrapping_add(d ^ (b & (c ^ d))),
        1 => t.wrapping_add(c & !d).wrapping_add(b & d),
        2 => t.wrapping_add(b ^ (c ^ d)),
        _ => t.wrapping_add(c ^ (b | !d)),
    };
    t.rotate_left(SHIFT[k / 16][k % 4]).wrapping_add(b)
}

/// The MD5 words of a 64-byte block (little-endian).
pub(super) fn words(block: &[u8]) -> [u32; 16] {
    let mut w = [0u32; 16];
    for (o, c) in w.iter_mut().zip(block.chunks_exact(4)) {
        *o = u32::from_le_bytes(c.try_into().expect("4 bytes"));
    }
    w
}

/// One MD5 compression of the 64-byte `block` into `state`.
pub(super) fn compress(state: &mut [u32; 4], block: &[u8; 64]) {
    let w = words(block);
    let [mut a, mut b, mut c, mut d] = *state;
    macro_rules! four {
        ($k:expr) => {
            (a, b, c, d) = (d, md5_step::<true>($k, a, b, c, d, &w), b, c);
            (a, b, c, d) = (d, md5_step::<true>($k + 1, a, b, c, d, &w), b, c);
            (a, b, c, d) = (d, md5_step::<true>($k + 2, a, b, c, d, &w), b, c);
            (a, b, c, d) = (d, md5_step::<true>($k + 3, a, b, c, d, &w), b, c);
        };
    }
    four!(0);
    four!(4);
    four!(8);
    four!(12);
    four!(16);
    four!(20);
    four!(24);
    four!(28);
    four!(32);
    four!(36);
    four!(40);
    four!(44);
    four!(48);
    four!(52);
    four!(56);
    four!(60);
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

    /// MD5 of `msg` (at most 55 bytes: one padded block) through [`compress`].
    fn md5_short(msg: &[u8]) -> [u8; 16] {
        let mut block = [0u8; 64];
        block[..msg.len()].copy_from_slice(msg);
        block[msg.len()] = 0x80;
        block[56..].copy_from_slice(&(msg.len() as u64 * 8).to_le_bytes());
        let mut state = INIT;
        compress(&mut state, &block);
        let mut out = [0u8; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(state) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    #[test]
    fn rfc1321_test_suite() {
        // RFC 1321 appendix A.5 (the messages that fit one block).
        let suite: [(&str, &str); 5] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
        ];
        for (msg, want) in suite {
            let got: String = md5_short(msg.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, want, "MD5(\"{msg}\")");
        }
    }

    #[test]
    fn matches_the_crate_block_by_block() {
        let (mut ours, mut theirs) = (INIT, INIT);
        // Under Miri, a few blocks: every step runs in each.
        for n in 0..if cfg!(miri) { 3 } else { 500u32 } {
            let block: Vec<u8> = (0..64u32).map(|i| (i * 167 + n * 7907 + (n >> 2)) as u8).collect();
            let block: [u8; 64] = block.try_into().unwrap();
            compress(&mut ours, &block);
            md5::block_api::compress(&mut theirs, &[block]);
            assert_eq!(ours, theirs, "block {n}");
        }
    }
}
