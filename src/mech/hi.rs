//! `Hi()` of RFC 5802: PBKDF2 with HMAC over SHA-1 or SHA-2, one output
//! block, run directly on the hash's compression function.
//!
//! SCRAM's cost is this loop (4096 iterations and more), so each iteration
//! here is exactly two compressions: the HMAC key schedule is done once, the
//! padded block is laid out once, and each compression only rewrites its
//! first digest-sized bytes. The generic HMAC path (clone the keyed state,
//! buffer, pad, finalize) costs about as much again as the compressions when
//! they run on SHA-NI. The compression functions are the `sha1`/`sha2`
//! crates' own, which pick SHA-NI (or AVX2 for SHA-512) at run time.
//!
//! What remains on top of the compressions is the step from one digest to
//! the next block, which is on the critical path of every iteration: the
//! state words are stored big-endian 16 bytes at a time (narrower stores
//! stall the 16-byte loads the next compression makes of the same bytes:
//! store forwarding fails), the keyed states are copied whole, and the
//! running XOR is kept in state words, converted to bytes once at the end.

use hmac::{Hmac, KeyInit, Mac};
use zeroize::{Zeroize, Zeroizing};

/// Largest block (SHA-512 family).
const MAX_BLOCK: usize = 128;
/// A block buffer; 64-byte hashes use its first half.
type Block = [u8; MAX_BLOCK];

/// What the loop needs of a hash: its block and digest sizes, its state, its
/// compression function, and how the state becomes the digest.
pub trait Compress {
    /// Block size in bytes (64 or 128).
    const BLOCK: usize;
    /// Digest size in bytes (the state may be longer: SHA-224 and SHA-384).
    const OUT: usize;
    /// Bytes of the message-length field in the padding (8 or 16).
    const LEN_FIELD: usize;
    type State: Copy + Default + Zeroize;
    /// The initial chaining value.
    fn initial() -> Self::State;
    /// Compresses the first `BLOCK` bytes of `block` into `state`.
    fn compress(state: &mut Self::State, block: &Block);
    /// The digest words of `state`, big-endian, into the first `OUT` bytes
    /// of `block`, in whole 16-byte chunks where the digest allows.
    fn put_digest(state: &Self::State, block: &mut Block);
    /// `acc ^= state`, over the digest words.
    fn xor(acc: &mut Self::State, state: &Self::State);
    /// HMAC over `key` and `data` (used once, for U1).
    fn hmac(key: &[u8], data: &[&[u8]], out: &mut [u8]);
    /// The hash of `data` (for keys longer than a block).
    fn hash(data: &[u8], out: &mut [u8]);
}

/// `N` words of `state` into `out`, big-endian. Written as one loop so that
/// the compiler stores each 4 words as one 16-byte vector.
#[inline(always)]
fn put_be32<const S: usize>(state: &[u32; S], n: usize, out: &mut Block) {
    for (o, w) in out.chunks_exact_mut(4).zip(&state[..n]) {
        o.copy_from_slice(&w.to_be_bytes());
    }
}

#[inline(always)]
fn put_be64(state: &[u64; 8], n: usize, out: &mut Block) {
    for (o, w) in out.chunks_exact_mut(8).zip(&state[..n]) {
        o.copy_from_slice(&w.to_be_bytes());
    }
}

fn first<const N: usize>(block: &Block) -> &[u8; N] {
    block[..N].try_into().expect("N <= MAX_BLOCK")
}

macro_rules! generic_parts {
    ($digest:ty) => {
        fn hmac(key: &[u8], data: &[&[u8]], out: &mut [u8]) {
            let mut mac = <Hmac<$digest> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
            for d in data {
                mac.update(d);
            }
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        fn hash(data: &[u8], out: &mut [u8]) {
            out.copy_from_slice(&<$digest as sha2::Digest>::digest(data));
        }
    };
}

macro_rules! compress_impl {
    ($digest:ty, $block:literal, $out:literal, $len:literal, $state:ty, $iv:expr, $compress:path, $put:ident) => {
        impl Compress for $digest {
            const BLOCK: usize = $block;
            const OUT: usize = $out;
            const LEN_FIELD: usize = $len;
            type State = $state;
            fn initial() -> Self::State {
                $iv
            }
            #[inline(always)]
            fn compress(state: &mut Self::State, block: &Block) {
                $compress(state, std::slice::from_ref(first::<$block>(block)));
            }
            #[inline(always)]
            fn put_digest(state: &Self::State, block: &mut Block) {
                $put(state, Self::OUT / size_of_val(&state[0]), block);
            }
            #[inline(always)]
            fn xor(acc: &mut Self::State, state: &Self::State) {
                let n = Self::OUT / size_of_val(&state[0]);
                for (a, s) in acc[..n].iter_mut().zip(&state[..n]) {
                    *a ^= s;
                }
            }
            generic_parts!($digest);
        }
    };
}

// Initial values from FIPS 180-4, section 5.3.
compress_impl!(
    sha1::Sha1,
    64,
    20,
    8,
    [u32; 5],
    [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0],
    sha1::block_api::compress,
    put_be32
);
compress_impl!(
    sha2::Sha224,
    64,
    28,
    8,
    [u32; 8],
    [0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939, 0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4],
    sha2::block_api::compress256,
    put_be32
);
compress_impl!(
    sha2::Sha256,
    64,
    32,
    8,
    [u32; 8],
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19],
    sha2::block_api::compress256,
    put_be32
);
compress_impl!(
    sha2::Sha384,
    128,
    48,
    16,
    [u64; 8],
    [
        0xcbbb9d5dc1059ed8,
        0x629a292a367cd507,
        0x9159015a3070dd17,
        0x152fecd8f70e5939,
        0x67332667ffc00b31,
        0x8eb44a8768581511,
        0xdb0c2e0d64f98fa7,
        0x47b5481dbefa4fa4
    ],
    sha2::block_api::compress512,
    put_be64
);
compress_impl!(
    sha2::Sha512,
    128,
    64,
    16,
    [u64; 8],
    [
        0x6a09e667f3bcc908,
        0xbb67ae8584caa73b,
        0x3c6ef372fe94f82b,
        0xa54ff53a5f1d36f1,
        0x510e527fade682d1,
        0x9b05688c2b3e6c1f,
        0x1f83d9abfb41bd6b,
        0x5be0cd19137e2179
    ],
    sha2::block_api::compress512,
    put_be64
);

/// The HMAC keyed states of one password: the chaining values after the
/// ipad and the opad block. Wiped on drop.
struct Keyed<H: Compress> {
    inner: H::State,
    outer: H::State,
}

impl<H: Compress> Keyed<H> {
    fn new(password: &[u8]) -> Self {
        let mut pad = Zeroizing::new([0u8; MAX_BLOCK]);
        // The HMAC key: the password, hashed first if longer than a block.
        if password.len() > H::BLOCK {
            H::hash(password, &mut pad[..H::OUT]);
        } else {
            pad[..password.len()].copy_from_slice(password);
        }
        let mut keyed = |byte: u8| {
            for p in pad[..H::BLOCK].iter_mut() {
                *p ^= byte;
            }
            let mut state = H::initial();
            H::compress(&mut state, &pad);
            state
        };
        let inner = keyed(0x36);
        // pad holds key ^ 0x36; key ^ 0x5c is one more XOR away.
        let outer = keyed(0x36 ^ 0x5c);
        Keyed { inner, outer }
    }
}

impl<H: Compress> Drop for Keyed<H> {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

/// `Hi(password, salt, rounds)` into `out` (`H::OUT` bytes); `rounds` >= 1.
pub fn hi<H: Compress>(password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
    let n = H::OUT;
    // U1 = HMAC(password, salt || INT(1)), which is also the first sum.
    H::hmac(password, &[salt, &1u32.to_be_bytes()], &mut out[..n]);
    if rounds == 1 {
        return;
    }
    let keyed = Keyed::<H>::new(password);
    // Every later HMAC message is one digest after a keyed block, so each
    // hashes as a single padded block: digest || 0x80 || 0.. || bit length.
    // `block` is that block; only its first n bytes change between rounds.
    let mut block = Zeroizing::new([0u8; MAX_BLOCK]);
    block[..n].copy_from_slice(&out[..n]);
    block[n] = 0x80;
    let bits = ((H::BLOCK + n) as u128 * 8).to_be_bytes();
    block[H::BLOCK - H::LEN_FIELD..H::BLOCK].copy_from_slice(&bits[16 - H::LEN_FIELD..]);
    // U2 ^ U3 ^ ..., in state words (XOR commutes with the byte order).
    let mut sum = Zeroizing::new(H::State::default());
    chain::<H>(&keyed, rounds - 1, &mut block, &mut sum);
    H::put_digest(&sum, &mut block);
    for (o, b) in out[..n].iter_mut().zip(&block[..n]) {
        *o ^= b;
    }
}

/// The loop of [`hi`]: `rounds` HMACs, each of the digest of the one
/// before. Out of line, with its buffers in memory, so the keyed states are
/// copied and the digests stored 16 bytes at a time rather than word by word.
#[inline(never)]
fn chain<H: Compress>(keyed: &Keyed<H>, rounds: u32, block: &mut Block, sum: &mut H::State) {
    let mut state = keyed.inner;
    for _ in 0..rounds {
        state = keyed.inner;
        H::compress(&mut state, block);
        H::put_digest(&state, block);
        state = keyed.outer;
        H::compress(&mut state, block);
        H::put_digest(&state, block);
        H::xor(sum, &state);
    }
    state.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! check {
        ($h:ty) => {{
            let long_password = [0x5au8; 200];
            let cases = [
                (&b"password"[..], &b"salt"[..], 1u32),
                (b"password", b"salt", 2),
                (b"pencil", b"QSXCR+Q6sek8bf92", 4096),
                (b"", b"", 3),
                (&long_password[..], b"NaCl and some more salt", 17),
                (&long_password[..128], b"a block-sized key", 5),
                (&long_password[..64], b"a block-sized key", 5),
            ];
            // Under Miri, where a compression takes about 0.1 s, the
            // 2-round case only: the loop runs once.
            let cases = if cfg!(miri) { &cases[1..2] } else { &cases[..] };
            for &(password, salt, rounds) in cases {
                let mut ours = [0u8; 64];
                let mut reference = [0u8; 64];
                let n = <$h as Compress>::OUT;
                hi::<$h>(password, salt, rounds, &mut ours);
                pbkdf2::pbkdf2_hmac::<$h>(password, salt, rounds, &mut reference[..n]);
                assert_eq!(ours[..n], reference[..n], "{} rounds {rounds}", stringify!($h));
            }
        }};
    }

    #[test]
    fn matches_the_pbkdf2_crate() {
        check!(sha1::Sha1);
        check!(sha2::Sha224);
        check!(sha2::Sha256);
        check!(sha2::Sha384);
        check!(sha2::Sha512);
    }

    #[test]
    fn hash_states_are_wiped_on_drop() {
        // The crates' zeroize features; Hmac<H> holds two such cores.
        fn wipes<T: zeroize::ZeroizeOnDrop>() {}
        wipes::<sha1::block_api::Sha1Core>();
        wipes::<sha2::block_api::Sha256VarCore>();
        wipes::<sha2::block_api::Sha512VarCore>();
        wipes::<sha2::Sha224>();
        wipes::<sha2::Sha512>();
    }

    /// RFC 6070's PBKDF2-HMAC-SHA1 vectors of one block (c=4096 not under
    /// Miri, where it takes many minutes; c=2 runs the same loop once).
    #[test]
    fn rfc6070_vectors() {
        let mut cases = vec![
            (&b"password"[..], &b"salt"[..], 1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"),
            (b"password", b"salt", 2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"),
        ];
        if !cfg!(miri) {
            cases.push((b"password", b"salt", 4096, "4b007901b765489abead49d926f721d065a429c1"));
            // dkLen 16: the first 16 bytes of the one block.
            cases.push((b"pass\0word", b"sa\0lt", 4096, "56fa6aa75548099dcc37d7f03425e0c3"));
        }
        for (password, salt, rounds, want) in cases {
            let mut out = [0u8; 20];
            hi::<sha1::Sha1>(password, salt, rounds, &mut out);
            let hex: String = out[..want.len() / 2].iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, want, "c={rounds}");
        }
    }
}
