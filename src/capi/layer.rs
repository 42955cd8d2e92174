//! `sasl_encode`, `sasl_encodev`, `sasl_decode`: the security layer, or the
//! data unchanged when authentication negotiated none.

use std::ffi::{c_char, c_int, c_uint};

use super::code_value;
use super::conn::{sasl_conn, More};
use super::types::*;
use crate::core::{ClientConn, Settings};

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

/// Runs `layer` (encode or decode) into the connection's buffer for
/// `which`, handing the result out. A plugin's layer can call in again, so
/// the buffer is taken out of the state while it runs.
///
/// # Safety
/// `output` and `outputlen` are non-NULL and writable.
unsafe fn run_layer(
    c: &sasl_conn,
    what: &str,
    which: fn(&mut More) -> &mut Vec<u8>,
    layer: impl FnOnce(&mut ClientConn, &Settings, &mut Vec<u8>) -> crate::mech::Result<()>,
    output: *mut *const c_char,
    outputlen: *mut c_uint,
) -> c_int {
    let (Ok(settings), Ok(mut core)) = (c.settings.try_borrow(), c.core.try_borrow_mut()) else {
        return c.busy(what);
    };
    let (mut buf, mark) = {
        let mut state = c.state.borrow_mut();
        (std::mem::take(which(state.more())), state.error.mark())
    };
    let result = layer(&mut core, &settings, &mut buf);
    let mut state = c.state.borrow_mut();
    let rc = match result {
        // SAFETY: per the function contract.
        Ok(()) => unsafe { hand_out(&mut buf, output, outputlen) },
        // A plugin's layer may have set its own message.
        Err(e) if state.error.set_since(mark) => {
            let code = code_value(e.code);
            if code < 0 {
                state.error.code = code;
            }
            code
        }
        Err(e) => {
            let log = !crate::core::layer::is_size_fault(&e);
            let rc = state.fail(code_value(e.code), e.detail);
            *which(state.more()) = buf;
            drop(state);
            // As Cyrus, which logs why a layer refused a packet's contents
            // and its own checks (no layer negotiated, data larger than
            // maxbufsize without one), not a length out of range.
            if log {
                c.log_failure(crate::mech::LogLevel::Fail);
            }
            return rc;
        }
    };
    *which(state.more()) = buf;
    rc
}

/// Shared body of sasl_encode and sasl_encodev.
fn encode_parts(c: &sasl_conn, parts: &[&[u8]], output: *mut *const c_char, outputlen: *mut c_uint) -> c_int {
    let encode = |core: &mut ClientConn, settings: &Settings, buf: &mut Vec<u8>| core.encode(settings, parts, buf);
    // SAFETY: the callers checked output and outputlen.
    unsafe { run_layer(c, "sasl_encode", |m| &mut m.encoded, encode, output, outputlen) }
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
        encode_parts(&c, &[input], output, outputlen)
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
        encode_parts(&c, &parts, output, outputlen)
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
        let decode = |core: &mut ClientConn, settings: &Settings, buf: &mut Vec<u8>| core.decode(settings, input, buf);
        // SAFETY: checked non-NULL.
        unsafe { run_layer(&c, "sasl_decode", |m| &mut m.decoded, decode, output, outputlen) }
    })
}
