//! `Hi()` of RFC 5802: PBKDF2 with HMAC over SHA-1 or SHA-2, one output
//! block, run directly on the hash's compression function.
//!
//! SCRAM's cost is this loop (4096 iterations and more), so each iteration
//! here is exactly two compressions: the HMAC key schedule is done once, the
//! two padded blocks are laid out once, and each round only rewrites their
//! first digest-sized bytes. The generic HMAC path (clone the keyed state,
//! buffer, pad, finalize) costs about as much again as the compressions when
//! they run on SHA-NI. The compression functions are the `sha1`/`sha2`
//! crates' own, which pick SHA-NI (or other acceleration) at run time.

use hmac::{Hmac, Mac};
use sha2::digest::generic_array::GenericArray;
use zeroize::{Zeroize, Zeroizing};

/// What the loop needs of a hash: its block and digest sizes, its state, its
/// compression function, and how the state becomes the digest.
pub trait Compress {
    /// Block size in bytes (64 or 128).
    const BLOCK: usize;
    /// Digest size in bytes (the state may be longer: SHA-224 and SHA-384).
    const OUT: usize;
    /// Bytes of the message-length field in the padding (8 or 16).
    const LEN_FIELD: usize;
    type State: Copy + Zeroize;
    /// The initial chaining value.
    fn initial() -> Self::State;
    /// Compresses one `BLOCK`-byte block into `state`.
    fn compress(state: &mut Self::State, block: &[u8]);
    /// The first `OUT` bytes of the state, big-endian, into `out`.
    fn digest(state: &Self::State, out: &mut [u8]);
    /// HMAC over `key` and `data` (used once, for U1).
    fn hmac(key: &[u8], data: &[&[u8]], out: &mut [u8]);
    /// The hash of `data` (for keys longer than a block).
    fn hash(data: &[u8], out: &mut [u8]);
}

// Digests are whole words (20, 28, 32 bytes of u32s; 48, 64 of u64s). They
// are stored 16 bytes at a time where possible: narrower stores stall the
// vector loads the next compression makes of the same bytes (store
// forwarding), which costs as much as a tenth of a compression.
fn words_be<const N: usize>(state: &[u32; N], out: &mut [u8]) {
    let words = out.len() / 4;
    let mut i = 0;
    while i + 4 <= words {
        let v = (state[i] as u128) << 96
            | (state[i + 1] as u128) << 64
            | (state[i + 2] as u128) << 32
            | state[i + 3] as u128;
        out[i * 4..i * 4 + 16].copy_from_slice(&v.to_be_bytes());
        i += 4;
    }
    for j in i..words {
        out[j * 4..j * 4 + 4].copy_from_slice(&state[j].to_be_bytes());
    }
}

fn words64_be(state: &[u64; 8], out: &mut [u8]) {
    for (i, pair) in state.chunks_exact(2).take(out.len() / 16).enumerate() {
        let v = (pair[0] as u128) << 64 | pair[1] as u128;
        out[i * 16..i * 16 + 16].copy_from_slice(&v.to_be_bytes());
    }
}

macro_rules! generic_parts {
    ($digest:ty) => {
        fn hmac(key: &[u8], data: &[&[u8]], out: &mut [u8]) {
            let mut mac = <Hmac<$digest> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
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

impl Compress for sha1::Sha1 {
    const BLOCK: usize = 64;
    const OUT: usize = 20;
    const LEN_FIELD: usize = 8;
    type State = [u32; 5];
    fn initial() -> Self::State {
        [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    }
    fn compress(state: &mut Self::State, block: &[u8]) {
        sha1::compress(state, std::slice::from_ref(GenericArray::from_slice(block)));
    }
    fn digest(state: &Self::State, out: &mut [u8]) {
        words_be(state, &mut out[..Self::OUT]);
    }
    generic_parts!(sha1::Sha1);
}

macro_rules! sha256_family {
    ($digest:ty, $out:literal, $iv:expr) => {
        impl Compress for $digest {
            const BLOCK: usize = 64;
            const OUT: usize = $out;
            const LEN_FIELD: usize = 8;
            type State = [u32; 8];
            fn initial() -> Self::State {
                $iv
            }
            fn compress(state: &mut Self::State, block: &[u8]) {
                sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
            }
            fn digest(state: &Self::State, out: &mut [u8]) {
                words_be(state, &mut out[..Self::OUT]);
            }
            generic_parts!($digest);
        }
    };
}

macro_rules! sha512_family {
    ($digest:ty, $out:literal, $iv:expr) => {
        impl Compress for $digest {
            const BLOCK: usize = 128;
            const OUT: usize = $out;
            const LEN_FIELD: usize = 16;
            type State = [u64; 8];
            fn initial() -> Self::State {
                $iv
            }
            fn compress(state: &mut Self::State, block: &[u8]) {
                sha2::compress512(state, std::slice::from_ref(GenericArray::from_slice(block)));
            }
            fn digest(state: &Self::State, out: &mut [u8]) {
                words64_be(state, &mut out[..Self::OUT]);
            }
            generic_parts!($digest);
        }
    };
}

// Initial values from FIPS 180-4, section 5.3.
sha256_family!(
    sha2::Sha224,
    28,
    [0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939, 0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4]
);
sha256_family!(
    sha2::Sha256,
    32,
    [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
);
sha512_family!(
    sha2::Sha384,
    48,
    [
        0xcbbb9d5dc1059ed8,
        0x629a292a367cd507,
        0x9159015a3070dd17,
        0x152fecd8f70e5939,
        0x67332667ffc00b31,
        0x8eb44a8768581511,
        0xdb0c2e0d64f98fa7,
        0x47b5481dbefa4fa4
    ]
);
sha512_family!(
    sha2::Sha512,
    64,
    [
        0x6a09e667f3bcc908,
        0xbb67ae8584caa73b,
        0x3c6ef372fe94f82b,
        0xa54ff53a5f1d36f1,
        0x510e527fade682d1,
        0x9b05688c2b3e6c1f,
        0x1f83d9abfb41bd6b,
        0x5be0cd19137e2179
    ]
);

/// Largest block (SHA-512 family).
const MAX_BLOCK: usize = 128;

/// `Hi(password, salt, rounds)` into `out` (`H::OUT` bytes); `rounds` >= 1.
pub fn hi<H: Compress>(password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
    let (block, n) = (H::BLOCK, H::OUT);
    let out = &mut out[..n];

    // HMAC key: the password, hashed first if longer than a block.
    let mut key = Zeroizing::new([0u8; MAX_BLOCK]);
    if password.len() > block {
        H::hash(password, &mut key[..n]);
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let mut pad = Zeroizing::new([0u8; MAX_BLOCK]);
    let mut keyed = |byte: u8| {
        for (p, k) in pad[..block].iter_mut().zip(&key[..block]) {
            *p = k ^ byte;
        }
        let mut state = H::initial();
        H::compress(&mut state, &pad[..block]);
        state
    };
    let mut inner = keyed(0x36);
    let mut outer = keyed(0x5c);

    // U1 = HMAC(password, salt || INT(1)).
    let mut u = Zeroizing::new([0u8; MAX_BLOCK]);
    H::hmac(password, &[salt, &1u32.to_be_bytes()], &mut u[..n]);
    out.copy_from_slice(&u[..n]);

    // Both later HMAC messages are one digest after a keyed block, so each
    // hashes as a single padded block: digest || 0x80 || 0.. || bit length.
    // `u` is that block; only its first n bytes change from round to round.
    u[n] = 0x80;
    let bits = ((block + n) as u128 * 8).to_be_bytes();
    u[block - H::LEN_FIELD..block].copy_from_slice(&bits[16 - H::LEN_FIELD..]);

    for _ in 1..rounds {
        let mut s = inner;
        H::compress(&mut s, &u[..block]);
        H::digest(&s, &mut u[..n]);
        s = outer;
        H::compress(&mut s, &u[..block]);
        H::digest(&s, &mut u[..n]);
        s.zeroize();
        for (o, x) in out.iter_mut().zip(&u[..n]) {
            *o ^= x;
        }
    }
    inner.zeroize();
    outer.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many rounds; fewer under Miri, which runs each about 10^4 times slower.
    const MANY: u32 = if cfg!(miri) { 20 } else { 4096 };

    macro_rules! check {
        ($h:ty) => {{
            let long_password = [0x5au8; 200];
            for (password, salt, rounds) in [
                (&b"password"[..], &b"salt"[..], 1u32),
                (b"password", b"salt", 2),
                (b"pencil", b"QSXCR+Q6sek8bf92", MANY),
                (b"", b"", 3),
                (&long_password[..], b"NaCl and some more salt", 17),
            ] {
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
    #[cfg_attr(miri, ignore = "4096 rounds; matches_the_pbkdf2_crate covers Hi() under Miri")]
    fn rfc6070_vector() {
        // RFC 6070: PBKDF2-HMAC-SHA1("password", "salt", 4096).
        let mut out = [0u8; 20];
        hi::<sha1::Sha1>(b"password", b"salt", 4096, &mut out);
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "4b007901b765489abead49d926f721d065a429c1");
    }
}
