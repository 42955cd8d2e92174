//! `sasl_encode`, `sasl_encodev`, `sasl_decode`: the security layer, or the
//! data unchanged when authentication negotiated none.

use std::ffi::{c_char, c_int, c_uint};

use super::conn::sasl_conn;
use super::types::*;
use super::code_value;

/// Hands out `buf` (NUL-terminated past its length) through the out-pointers.
///
/// # Safety
/// `output` and `outputlen` are non-NULL and writable.
unsafe fn hand_out(buf: &mut Vec<u8>, output: *mut *const c_char, outputlen: *mut c_uint) -> c_int {
    let Ok(len) = c_uint::try_from(buf.len()) else { return SASL_BUFOVER };
    buf.push(0);
    // SAFETY: per the function contract.
    unsafe {
        output.write(if len == 0 { std::ptr::null() } else { buf.as_ptr().cast() });
        outputlen.write(len);
    }
    buf.pop();
    SASL_OK
}

/// Shared body of sasl_encode and sasl_encodev.
fn encode_parts(c: &mut sasl_conn, parts: &[&[u8]], output: *mut *const c_char, outputlen: *mut c_uint) -> c_int {
    let mut buf = std::mem::take(&mut c.encoded);
    let mark = c.error.mark();
    let rc = match c.core.encode(parts, &mut buf) {
        // SAFETY: the callers checked output and outputlen.
        Ok(()) => unsafe { hand_out(&mut buf, output, outputlen) },
        // A plugin's layer may have set its own message.
        Err(e) if c.error.set_since(mark) => c.ret(code_value(e.code)),
        Err(e) => c.fail(code_value(e.code), e.detail),
    };
    c.encoded = buf;
    rc
}

/// Protects data for sending; the output is valid until the next encode.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_encode(
    conn: *mut sasl_conn_t,
    input: *const c_char,
    inputlen: c_uint,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        forward_cyrus_conn!(conn, sasl_encode(conn, input, inputlen, output, outputlen));
        // SAFETY: conn is NULL or a live connection, per the API.
        let Some(c) = (unsafe { sasl_conn::from_ptr(conn) }) else { return SASL_BADPARAM };
        if input.is_null() || inputlen == 0 || output.is_null() || outputlen.is_null() {
            return c.fail(SASL_BADPARAM, "sasl_encode: input, inputlen, output and outputlen are required");
        }
        // SAFETY: `inputlen` bytes at `input`, per the API.
        let input = unsafe { super::bytes(input, inputlen as usize) };
        encode_parts(c, &[input], output, outputlen)
    })
}

/// Protects the concatenation of `numiov` buffers.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_encodev(
    conn: *mut sasl_conn_t,
    invec: *const iovec,
    numiov: c_uint,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        forward_cyrus_conn!(conn, sasl_encodev(conn, invec, numiov, output, outputlen));
        // SAFETY: conn is NULL or a live connection, per the API.
        let Some(c) = (unsafe { sasl_conn::from_ptr(conn) }) else { return SASL_BADPARAM };
        if invec.is_null() || numiov == 0 || output.is_null() || outputlen.is_null() {
            return c.fail(SASL_BADPARAM, "sasl_encodev: invec (with numiov > 0), output and outputlen are required");
        }
        // SAFETY: `numiov` iovecs at `invec`, each describing readable memory.
        let vecs = unsafe { std::slice::from_raw_parts(invec, numiov as usize) };
        let parts: Vec<&[u8]> = vecs
            .iter()
            // SAFETY: each iovec describes iov_len readable bytes.
            .map(|v| unsafe { super::bytes(v.iov_base.cast(), v.iov_len) })
            .collect();
        encode_parts(c, &parts, output, outputlen)
    })
}

/// Checks and unprotects received data, which may hold part of a packet or
/// several; the output is valid until the next decode.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sasl_decode(
    conn: *mut sasl_conn_t,
    input: *const c_char,
    inputlen: c_uint,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    ffi_boundary!(SASL_FAIL, {
        forward_cyrus_conn!(conn, sasl_decode(conn, input, inputlen, output, outputlen));
        // SAFETY: conn is NULL or a live connection, per the API.
        let Some(c) = (unsafe { sasl_conn::from_ptr(conn) }) else { return SASL_BADPARAM };
        if input.is_null() || output.is_null() || outputlen.is_null() {
            return c.fail(SASL_BADPARAM, "sasl_decode: input, output and outputlen are required");
        }
        // SAFETY: checked non-NULL.
        unsafe {
            output.write(std::ptr::null());
            outputlen.write(0);
        }
        // SAFETY: `inputlen` bytes at `input`, per the API.
        let input = unsafe { super::bytes(input, inputlen as usize) };
        let mut buf = std::mem::take(&mut c.decoded);
        let mark = c.error.mark();
        let rc = match c.core.decode(input, &mut buf) {
            // SAFETY: checked non-NULL.
            Ok(()) => unsafe { hand_out(&mut buf, output, outputlen) },
            // A plugin's layer may have set its own message.
            Err(e) if c.error.set_since(mark) => c.ret(code_value(e.code)),
            Err(e) => c.fail(code_value(e.code), e.detail),
        };
        c.decoded = buf;
        rc
    })
}
