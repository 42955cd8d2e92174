//! saslutil.h under AddressSanitizer, with exact-size buffers (one byte
//! short of what is needed, exactly enough, or more): base64 both ways
//! against the base64 crate, sasl_utf8verify against std's UTF-8 check,
//! sasl_strlower, sasl_erasebuffer, sasl_mkchal and the random pool.
#![no_main]

use std::ffi::{c_char, c_uint};
use std::ptr::null_mut;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use libfuzzer_sys::fuzz_target;
use sasl2::capi::util::*;
use sasl2::capi::*;
use sasl2_fuzz::Unstructured;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let op = u.int_in_range(0..=5u8).unwrap_or(0);
    let slack = u.int_in_range(0..=2usize).unwrap_or(1);
    let input: Box<[u8]> = u.take_rest().into();
    match op {
        0 => encode64(&input, slack),
        1 => decode64(&input, slack),
        2 => utf8(&input),
        3 => strlower(&input),
        4 => erase(&input),
        _ => mkchal(&input, slack),
    }
});

/// A buffer of `needed - 1 + slack` bytes: too small, exact, or roomy.
fn buffer(needed: usize, slack: usize) -> Box<[u8]> {
    vec![0xAA; (needed + slack).saturating_sub(1)].into_boxed_slice()
}

fn encode64(input: &[u8], slack: usize) {
    let expected = STANDARD.encode(input);
    // Room for the NUL: needed = encoded length + 1.
    let mut out = buffer(expected.len() + 1, slack);
    let mut outlen: c_uint = 0;
    // SAFETY: exact-size input and output.
    let rc = unsafe {
        sasl_encode64(input.as_ptr().cast(), input.len() as c_uint, out.as_mut_ptr().cast(), out.len() as c_uint, &mut outlen)
    };
    assert_eq!(outlen as usize, expected.len());
    if out.len() > expected.len() {
        assert_eq!(rc, SASL_OK);
        assert_eq!(&out[..expected.len()], expected.as_bytes());
        assert_eq!(out[expected.len()], 0);
    } else {
        assert_eq!(rc, SASL_BUFOVER);
    }
}

fn decode64(input: &[u8], slack: usize) {
    // Cyrus's decoder accepts non-canonical trailing bits and needs room
    // for a NUL after the data.
    let lenient = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true).with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    let reference = if input.len().is_multiple_of(4) { lenient.decode(input).ok() } else { None };
    let needed = reference.as_ref().map_or(input.len() * 3 / 4 + 1, |r| r.len() + 1);
    let mut out = buffer(needed, slack);
    let mut outlen: c_uint = 0;
    let out_ptr = if out.is_empty() { null_mut() } else { out.as_mut_ptr() };
    // SAFETY: exact-size input and output (NULL when empty).
    let rc = unsafe { sasl_decode64(input.as_ptr().cast(), input.len() as c_uint, out_ptr.cast(), out.len() as c_uint, &mut outlen) };
    if rc == SASL_OK {
        let got = &out[..outlen as usize];
        assert_eq!(Some(got), reference.as_deref(), "decoded {:?}", String::from_utf8_lossy(input));
        assert_eq!(out[outlen as usize], 0, "no NUL after the data");
    }
    if let Some(r) = &reference
        && out.len() > r.len()
        && !input.starts_with(b"\r")
    {
        assert_eq!(rc, SASL_OK, "refused canonical base64 {:?}", String::from_utf8_lossy(input));
    }
}

fn utf8(input: &[u8]) {
    // SAFETY: exact-size input.
    let rc = unsafe { sasl_utf8verify(input.as_ptr().cast(), input.len() as c_uint) };
    if std::str::from_utf8(input).is_ok() {
        assert_eq!(rc, SASL_OK, "valid UTF-8 refused");
    } else {
        assert!(rc == SASL_OK || rc == SASL_BADPROT);
    }
}

fn strlower(input: &[u8]) {
    let end = input.iter().position(|&b| b == 0).unwrap_or(input.len());
    let mut s = input[..end].to_vec();
    s.push(0);
    let mut s = s.into_boxed_slice();
    // SAFETY: an exact-size, NUL-terminated, writable string.
    let r = unsafe { sasl_strlower(s.as_mut_ptr().cast()) };
    assert_eq!(r, s.as_mut_ptr().cast::<c_char>());
    assert_eq!(&s[..end], &input[..end].to_ascii_lowercase()[..]);
}

fn erase(input: &[u8]) {
    let mut buf: Box<[u8]> = input.into();
    // SAFETY: an exact-size writable buffer.
    unsafe { sasl_erasebuffer(buf.as_mut_ptr().cast(), buf.len() as c_uint) };
    assert!(buf.iter().all(|&b| b == 0));
}

fn mkchal(input: &[u8], slack: usize) {
    let maxlen = 44 + slack + usize::from(input.first().copied().unwrap_or(0) % 4);
    let mut buf = vec![0xAAu8; maxlen - 1].into_boxed_slice();
    // SAFETY: an exact-size buffer; no connection, so no host name.
    let n = unsafe { sasl_mkchal(null_mut(), buf.as_mut_ptr().cast(), buf.len() as c_uint, 0) };
    if buf.len() < 44 {
        assert_eq!(n, 0);
        return;
    }
    let n = n as usize;
    assert!(n > 0 && n < buf.len());
    let text = std::str::from_utf8(&buf[..n]).unwrap();
    let inner = text.strip_prefix('<').and_then(|t| t.strip_suffix('>')).expect("<...>");
    let (a, b) = inner.split_once('.').expect("rand.time");
    assert!(a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()));
    assert_eq!(buf[n], 0);
    // The random pool fills exactly the bytes asked for.
    let mut pool: *mut sasl_rand_t = null_mut();
    // SAFETY: a writable out-pointer; the pool is freed once.
    unsafe {
        assert_eq!(sasl_randcreate(&mut pool), SASL_OK);
        let mut bytes = vec![0u8; input.len().min(64)].into_boxed_slice();
        sasl_randseed(pool, input.as_ptr().cast(), input.len() as c_uint);
        sasl_rand(pool, bytes.as_mut_ptr().cast(), bytes.len() as c_uint);
        sasl_churn(pool, input.as_ptr().cast(), input.len() as c_uint);
        sasl_randfree(&mut pool);
        assert!(pool.is_null());
    }
}
