//! saslutil.h: base64, UTF-8 checking, buffers, random numbers; and the
//! `_sasl_MD5*` functions libsasl2 exports for plugins.
#![allow(unused_variables)]

use std::ffi::{c_char, c_int, c_uint};
use std::ptr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroize;

use super::conn::sasl_conn;
use super::types::*;
use super::{bytes, put};
use crate::plugin::abi::MD5_CTX;

/// Base64-encodes `inlen` bytes into `out` (NUL-terminated). `*outlen`
/// gets the encoded length even when the buffer is too small (`SASL_BUFOVER`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_encode64(
    input: *const c_char,
    inlen: c_uint,
    out: *mut c_char,
    outmax: c_uint,
    outlen: *mut c_uint,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if inlen > 0 && input.is_null() {
            return SASL_BADPARAM;
        }
        let needed = (inlen as u64).div_ceil(3) * 4;
        let Ok(needed) = c_uint::try_from(needed) else { return SASL_BUFOVER };
        // SAFETY: NULL or writable.
        unsafe { put(outlen, needed) };
        // Room for the NUL too.
        if outmax <= needed || out.is_null() {
            return SASL_BUFOVER;
        }
        // SAFETY: `inlen` bytes at `input`; `outmax` writable bytes at `out`.
        let (data, dest) = unsafe {
            (bytes(input, inlen as usize), std::slice::from_raw_parts_mut(out.cast::<u8>(), outmax as usize))
        };
        let written = STANDARD.encode_slice(data, dest).expect("buffer size checked");
        dest[written] = 0;
        SASL_OK
    })
}

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some((c - b'A') as u32),
        b'a'..=b'z' => Some((c - b'a' + 26) as u32),
        b'0'..=b'9' => Some((c - b'0' + 52) as u32),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes like Cyrus: whole 4-character groups, '=' padding only at the
/// end (`SASL_BADPROT` otherwise), `SASL_CONTINUE` when a partial group is
/// left over, `SASL_BUFOVER` unless there is room for a NUL after the data,
/// `SASL_FAIL` for a NULL buffer or input starting with CR.
pub(crate) fn decode64(input: &[u8], out: &mut [u8]) -> (c_int, Option<usize>) {
    if input.first() == Some(&b'\r') {
        return (SASL_FAIL, None);
    }
    let mut len = 0usize;
    let mut saw_equal = false;
    let mut groups = input.chunks_exact(4);
    for g in &mut groups {
        if saw_equal {
            return (SASL_BADPROT, None);
        }
        let (Some(a), Some(b)) = (b64_value(g[0]), b64_value(g[1])) else { return (SASL_BADPROT, None) };
        let c = if g[2] == b'=' { None } else { Some(b64_value(g[2])) };
        let d = if g[3] == b'=' { None } else { Some(b64_value(g[3])) };
        if c == Some(None) || d == Some(None) || (c.is_none() && d.is_some()) {
            return (SASL_BADPROT, None);
        }
        let (c, d) = (c.flatten(), d.flatten());
        saw_equal = c.is_none() || d.is_none();
        let mut emit = |byte: u32| {
            if len >= out.len() {
                return false;
            }
            out[len] = byte as u8;
            len += 1;
            len < out.len()
        };
        if !emit((a << 2) | (b >> 4)) {
            return (SASL_BUFOVER, None);
        }
        if let Some(c) = c {
            if !emit(((b << 4) & 0xf0) | (c >> 2)) {
                return (SASL_BUFOVER, None);
            }
            if let Some(d) = d {
                if !emit(((c << 6) & 0xc0) | d) {
                    return (SASL_BUFOVER, None);
                }
            }
        }
    }
    if let Some(nul) = out.get_mut(len) {
        *nul = 0;
    }
    let rest = groups.remainder();
    if !rest.is_empty() {
        return (if saw_equal { SASL_BADPROT } else { SASL_CONTINUE }, Some(len));
    }
    (SASL_OK, Some(len))
}

/// Base64-decodes into `out` (`outmax` bytes, including room for a NUL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_decode64(
    input: *const c_char,
    inlen: c_uint,
    out: *mut c_char,
    outmax: c_uint,
    outlen: *mut c_uint,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if out.is_null() || (input.is_null() && inlen > 0) {
            return SASL_FAIL;
        }
        // SAFETY: `inlen` bytes at `input` and `outmax` writable bytes at `out`,
        // per the API. They may overlap (Cyrus allows in == out), so copy first.
        let data = unsafe { bytes(input, inlen as usize) }.to_vec();
        // SAFETY: as above.
        let dest = unsafe { std::slice::from_raw_parts_mut(out.cast::<u8>(), outmax as usize) };
        let (rc, len) = decode64(&data, dest);
        if let Some(len) = len {
            // SAFETY: NULL or writable.
            unsafe { put(outlen, len as c_uint) };
        }
        rc
    })
}

/// Cyrus's UTF-8 check: every multi-byte sequence has a valid lead byte
/// and the right number of continuation bytes (it does not reject overlong
/// forms or surrogates).
pub(crate) fn utf8_structure_ok(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        let lead = s[i];
        let seq = lead.leading_ones() as usize;
        match seq {
            0 => {}
            1 | 7 | 8 => return false,
            n => {
                if i + n > s.len() || !s[i + 1..i + n].iter().all(|&b| b & 0xC0 == 0x80) {
                    return false;
                }
                i += n - 1;
            }
        }
        i += 1;
    }
    true
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_utf8verify(s: *const c_char, len: c_uint) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if s.is_null() && len > 0 {
            return SASL_BADPARAM;
        }
        // SAFETY: `len` bytes at `s`.
        if utf8_structure_ok(unsafe { bytes(s, len as usize) }) { SASL_OK } else { SASL_BADPROT }
    })
}

/// Overwrites a buffer with zeros in a way the compiler cannot elide.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_erasebuffer(buf: *mut c_char, len: c_uint) {
    if buf.is_null() || len == 0 {
        return;
    }
    // SAFETY: `len` writable bytes at `buf`, per the API.
    unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len as usize) }.zeroize();
}

/// Lowercases ASCII letters in place (locale-independent, like Cyrus).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_strlower(val: *mut c_char) -> *mut c_char {
    if val.is_null() {
        return val;
    }
    let mut p = val;
    // SAFETY: a NUL-terminated writable string, per the API.
    unsafe {
        while *p != 0 {
            *p = (*p as u8).to_ascii_lowercase() as c_char;
            p = p.add(1);
        }
    }
    val
}

/// Writes a challenge `<random.time[@serverFQDN]>`; returns its length, or 0
/// if `maxlen` is too small.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_mkchal(conn: *mut sasl_conn_t, buf: *mut c_char, maxlen: c_uint, hostflag: c_uint) -> c_int {
    ffi_boundary!(0, {
        forward_cyrus_conn!(conn, sasl_mkchal(conn, buf, maxlen, hostflag));
        // SAFETY: conn is NULL or a live connection, per the API.
        let c = unsafe { sasl_conn::from_ptr(conn) };
        // The connection is needed only for its server name.
        if buf.is_null() || (c.is_none() && hostflag != 0) {
            return 0;
        }
        let mut rnd = [0u8; 8];
        if getrandom::fill(&mut rnd).is_err() {
            return 0;
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let settings = c.as_ref().map(|c| c.settings.try_borrow());
        let settings = match settings {
            Some(Ok(s)) => Some(s),
            Some(Err(_)) => return 0,
            None => None,
        };
        let host = settings.as_ref().and_then(|s| s.server_fqdn()).filter(|_| hostflag != 0);
        let needed = 4 + 2 * 20 + host.map_or(0, |h| h.len() + 1);
        if (maxlen as usize) < needed {
            return 0;
        }
        let text = match host {
            Some(h) => format!("<{}.{}@{}>", u64::from_ne_bytes(rnd), now, h),
            None => format!("<{}.{}>", u64::from_ne_bytes(rnd), now),
        };
        // SAFETY: `maxlen` >= needed > text.len() writable bytes at `buf`.
        unsafe {
            ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
            *buf.add(text.len()) = 0;
        }
        text.len() as c_int
    })
}

/// A random pool (saslutil.h). Backed by the operating system's secure
/// random source; seeding and churning are accepted and have no effect.
pub struct sasl_rand_s {
    _private: u8,
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_randcreate(rpool: *mut *mut sasl_rand_t) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        if rpool.is_null() {
            return SASL_BADPARAM;
        }
        // SAFETY: non-NULL and writable.
        unsafe { rpool.write(Box::into_raw(Box::new(sasl_rand_s { _private: 0 }))) };
        SASL_OK
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_randfree(rpool: *mut *mut sasl_rand_t) {
    if rpool.is_null() {
        return;
    }
    // SAFETY: non-NULL; holds NULL or a pool from sasl_randcreate.
    let pool = unsafe { rpool.read() };
    if !pool.is_null() {
        // SAFETY: created by Box::into_raw in sasl_randcreate, freed once.
        drop(unsafe { Box::from_raw(pool) });
    }
    // SAFETY: non-NULL and writable.
    unsafe { rpool.write(ptr::null_mut()) };
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_randseed(rpool: *mut sasl_rand_t, seed: *const c_char, len: c_uint) {}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_churn(rpool: *mut sasl_rand_t, data: *const c_char, len: c_uint) {}

/// Fills `buf` with random bytes from the operating system.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_rand(rpool: *mut sasl_rand_t, buf: *mut c_char, len: c_uint) {
    ffi_boundary!((), {
        if rpool.is_null() || buf.is_null() {
            return;
        }
        // SAFETY: `len` writable bytes at `buf`, per the API.
        let dest = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), len as usize) };
        if getrandom::fill(dest).is_err() {
            // Never hand out predictable bytes silently.
            std::process::abort();
        }
    })
}

/// Reads no configuration file: the client takes options from callbacks.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_config_init(filename: *const c_char) -> c_int {
    SASL_OK
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_config_done() {}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_config_getstring(key: *const c_char, def: *const c_char) -> *const c_char {
    def
}

// `MD5_CTX` of Cyrus's md5.h (88 bytes): the chaining state, the message
// length in bits (low word first) and up to 63 pending bytes. Plugins use
// these through `sasl_utils_t`, and `hmac_md5_import` sets the state directly,
// so the layout is Cyrus's.
const MD5_IV: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// Feeds `data` into an MD5 computation.
pub(crate) fn md5_update(ctx: &mut MD5_CTX, mut data: &[u8]) {
    let bits = (u64::from(ctx.count[1]) << 32 | u64::from(ctx.count[0])).wrapping_add((data.len() as u64) << 3);
    let mut pending = ((ctx.count[0] >> 3) & 63) as usize;
    ctx.count = [bits as u32, (bits >> 32) as u32];
    if pending > 0 {
        let take = (64 - pending).min(data.len());
        ctx.buffer[pending..pending + take].copy_from_slice(&data[..take]);
        pending += take;
        data = &data[take..];
        if pending < 64 {
            return;
        }
        md5::block_api::compress(&mut ctx.state, &[ctx.buffer]);
    }
    let mut blocks = data.chunks_exact(64);
    for block in &mut blocks {
        md5::block_api::compress(&mut ctx.state, &[block.try_into().expect("64-byte chunk")]);
    }
    let rest = blocks.remainder();
    ctx.buffer[..rest.len()].copy_from_slice(rest);
}

/// Pads, finishes and wipes an MD5 computation.
pub(crate) fn md5_final(ctx: &mut MD5_CTX) -> [u8; 16] {
    let bits = [ctx.count[0].to_le_bytes(), ctx.count[1].to_le_bytes()].concat();
    let pending = ((ctx.count[0] >> 3) & 63) as usize;
    let pad = if pending < 56 { 56 - pending } else { 120 - pending };
    let mut tail = [0u8; 64];
    tail[0] = 0x80;
    md5_update(ctx, &tail[..pad]);
    md5_update(ctx, &bits);
    let mut digest = [0u8; 16];
    for (out, word) in digest.chunks_exact_mut(4).zip(ctx.state) {
        out.copy_from_slice(&word.to_le_bytes());
    }
    ctx.state.zeroize();
    ctx.count.zeroize();
    ctx.buffer.zeroize();
    digest
}

/// A fresh MD5 computation.
pub(crate) fn md5_new() -> MD5_CTX {
    MD5_CTX { state: MD5_IV, count: [0; 2], buffer: [0; 64] }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn _sasl_MD5Init(ctx: *mut MD5_CTX) {
    // SAFETY: NULL or an MD5_CTX, per md5.h.
    if let Some(ctx) = unsafe { ctx.as_mut() } {
        *ctx = md5_new();
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn _sasl_MD5Update(ctx: *mut MD5_CTX, input: *const u8, len: c_uint) {
    ffi_boundary!((), {
        if input.is_null() && len > 0 {
            return;
        }
        // SAFETY: NULL or an MD5_CTX set up by _sasl_MD5Init; `len` bytes at `input`.
        if let Some(ctx) = unsafe { ctx.as_mut() } {
            md5_update(ctx, unsafe { bytes(input.cast(), len as usize) });
        }
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn _sasl_MD5Final(digest: *mut u8, ctx: *mut MD5_CTX) {
    ffi_boundary!((), {
        // SAFETY: NULL or an MD5_CTX set up by _sasl_MD5Init.
        let Some(ctx) = (unsafe { ctx.as_mut() }) else { return };
        let out = md5_final(ctx);
        if !digest.is_null() {
            // SAFETY: 16 writable bytes at `digest`, per md5.h.
            unsafe { ptr::copy_nonoverlapping(out.as_ptr(), digest, 16) };
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode64_matches_cyrus() {
        let mut out = [0u8; 64];
        assert_eq!(decode64(b"YWJj", &mut out), (SASL_OK, Some(3)));
        assert_eq!(&out[..4], b"abc\0");
        assert_eq!(decode64(b"YQ==", &mut out), (SASL_OK, Some(1)));
        assert_eq!(decode64(b"YWJ", &mut out), (SASL_CONTINUE, Some(0)));
        assert_eq!(decode64(b"YW=j", &mut out).0, SASL_BADPROT);
        assert_eq!(decode64(b"YQ==YQ==", &mut out).0, SASL_BADPROT);
        assert_eq!(decode64(b"\rYWJj", &mut out).0, SASL_FAIL);
        assert_eq!(decode64(b"YWJj\r\n", &mut out), (SASL_CONTINUE, Some(3)));
        assert_eq!(decode64(b"", &mut out), (SASL_OK, Some(0)));
        assert_eq!(decode64(b"YWJjZGVm", &mut out[..6]).0, SASL_BUFOVER);
        assert_eq!(decode64(b"YWJjZGVm", &mut out[..7]), (SASL_OK, Some(6)));
    }

    #[test]
    fn utf8_like_cyrus() {
        for ok in ["abc", "é", "€", "😀"] {
            assert!(utf8_structure_ok(ok.as_bytes()));
        }
        assert!(utf8_structure_ok(b"\xc0\xaf"));
        assert!(utf8_structure_ok(b"\xed\xa0\x80"));
        for bad in [&b"\xc3"[..], b"\x80", b"\xff", b"\xe2\x82"] {
            assert!(!utf8_structure_ok(bad));
        }
    }

    #[test]
    fn md5_exports_match_the_crate() {
        use md5::Digest;
        let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        for split in [0usize, 1, 63, 64, 65, 200, 300] {
            let mut ctx = [0u32; 22];
            let p = ctx.as_mut_ptr().cast::<MD5_CTX>();
            let mut digest = [0u8; 16];
            // SAFETY: an 88-byte, 4-aligned context as in md5.h.
            unsafe {
                _sasl_MD5Init(p);
                _sasl_MD5Update(p, data.as_ptr(), split as c_uint);
                _sasl_MD5Update(p, data[split..].as_ptr(), (data.len() - split) as c_uint);
                _sasl_MD5Final(digest.as_mut_ptr(), p);
            }
            assert_eq!(digest[..], md5::Md5::digest(&data)[..], "split {split}");
        }
    }
}
