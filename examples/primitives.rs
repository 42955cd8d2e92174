//! The DIGEST-MD5 layer's floor measured with the RustCrypto crates, for
//! bench/run.sh: HMAC-MD5 (md-5, which the library links) over each chunk,
//! plus RC4 (the `rc4` crate, which the library does not use: see
//! src/mech/digest_md5/rc4.rs) or 3DES-EDE2-CBC (des, linked) over it, and
//! the `rc4` crate alone. Prints MB/s (10^6 bytes per CPU second), best of
//! several passes.
//!
//! With `scram`: SCRAM's floor with the compression functions the library
//! links (sha1/sha2 crates): CPU microseconds of 2 x 4096 compressions per
//! hash, best of 20, as bench/src/floor.c measures OpenSSL's.
//!
//!     cargo run --release --example primitives [CHUNK] [MB]
//!     cargo run --release --example primitives scram
use std::time::Instant;

use des::cipher::BlockCipherEncrypt;
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use rc4::StreamCipher;

fn cpu_seconds() -> f64 {
    // CPU time of this process, as the bench's C programs measure it.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn measure(name: &str, chunk: usize, total: usize, mut per_chunk: impl FnMut(&mut [u8])) {
    let mut buf = vec![0x5au8; chunk];
    let mut best = 0.0f64;
    // Many short passes: on a shared machine some run undisturbed.
    for _ in 0..40 {
        let (t, c) = (Instant::now(), cpu_seconds());
        let mut done = 0;
        while done < total / 8 {
            per_chunk(&mut buf);
            done += chunk;
        }
        // Wall time on an idle core; the tick-based CPU time is too coarse.
        let secs = t.elapsed().as_secs_f64().max(cpu_seconds() - c).max(1e-9);
        best = best.max(done as f64 / secs / 1e6);
    }
    println!("{name}_mbps={best:.1}");
}

/// 2 x 4096 compressions of `compress`, best of 20, in microseconds.
fn scram_floor<S: Default, B: Copy>(block: B, compress: impl Fn(&mut S, &[B])) -> f64 {
    (0..20)
        .map(|_| {
            let mut state = S::default();
            let t = Instant::now();
            for _ in 0..2 * 4096 {
                compress(&mut state, std::slice::from_ref(&block));
            }
            std::hint::black_box(&state);
            t.elapsed().as_secs_f64() * 1e6
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("scram") {
        let sha1 = scram_floor([0x36u8; 64], sha1::block_api::compress);
        let sha256 = scram_floor([0x36u8; 64], sha2::block_api::compress256);
        let sha512 = scram_floor([0x36u8; 128], sha2::block_api::compress512);
        // SHA-224 and SHA-384 run the SHA-256 and SHA-512 compressions.
        print!("sha1_us={sha1:.1} sha224_us={sha256:.1} sha256_us={sha256:.1} ");
        println!("sha384_us={sha512:.1} sha512_us={sha512:.1}");
        return;
    }
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let chunk = args.first().copied().unwrap_or(65000);
    let total = args.get(1).copied().unwrap_or(64) << 20;
    let mac = <Hmac<Md5> as KeyInit>::new_from_slice(b"0123456789abcdef").unwrap();
    let hmac = |data: &[u8]| {
        let mut m = mac.clone();
        m.update(&[0, 0, 0, 1]);
        m.update(data);
        std::hint::black_box(m.finalize());
    };
    measure("auth-int", chunk, total, |b| hmac(b));
    let mut rc4 = rc4::Rc4::new_from_slice(b"0123456789abcdef").unwrap();
    measure("rc4", chunk, total, |b| {
        hmac(b);
        rc4.apply_keystream(b);
    });
    measure("rc4crate", chunk, total, |b| rc4.apply_keystream(b));
    let tdes = des::TdesEde2::new(b"0123456789abcdef".into());
    let mut iv = [0u8; 8];
    measure("3des", chunk, total / 16, |b| {
        hmac(b);
        for block in b.chunks_exact_mut(8) {
            let block: &mut [u8; 8] = block.try_into().unwrap();
            for (x, v) in block.iter_mut().zip(&iv) {
                *x ^= v;
            }
            tdes.encrypt_block(block.into());
            iv = *block;
        }
    });
}
