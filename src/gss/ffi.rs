//! The C binding of GSS-API version 2 (RFC 2744), declared by hand: the
//! types, constants and function signatures this library uses, nothing
//! more. MIT's and Heimdal's libraries share this ABI on Unix.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};

pub type OM_uint32 = u32;
pub type gss_qop_t = OM_uint32;
pub type gss_cred_usage_t = c_int;

/// Opaque handles (pointers the library owns).
pub type gss_name_t = *mut c_void;
pub type gss_ctx_id_t = *mut c_void;
pub type gss_cred_id_t = *mut c_void;

#[repr(C)]
pub struct gss_OID_desc {
    pub length: OM_uint32,
    pub elements: *mut c_void,
}
pub type gss_OID = *mut gss_OID_desc;

#[repr(C)]
pub struct gss_OID_set_desc {
    pub count: usize,
    pub elements: gss_OID,
}
pub type gss_OID_set = *mut gss_OID_set_desc;

#[repr(C)]
pub struct gss_buffer_desc {
    pub length: usize,
    pub value: *mut c_void,
}
pub type gss_buffer_t = *mut gss_buffer_desc;

impl gss_buffer_desc {
    pub const EMPTY: gss_buffer_desc = gss_buffer_desc { length: 0, value: std::ptr::null_mut() };

    /// A descriptor of borrowed bytes, for input arguments (the library
    /// does not write through input buffers).
    pub fn borrowed(bytes: &[u8]) -> gss_buffer_desc {
        gss_buffer_desc { length: bytes.len(), value: bytes.as_ptr().cast_mut().cast() }
    }
}

#[repr(C)]
pub struct gss_buffer_set_desc {
    pub count: usize,
    pub elements: *mut gss_buffer_desc,
}
pub type gss_buffer_set_t = *mut gss_buffer_set_desc;

#[repr(C)]
pub struct gss_channel_bindings_struct {
    pub initiator_addrtype: OM_uint32,
    pub initiator_address: gss_buffer_desc,
    pub acceptor_addrtype: OM_uint32,
    pub acceptor_address: gss_buffer_desc,
    pub application_data: gss_buffer_desc,
}
pub type gss_channel_bindings_t = *mut gss_channel_bindings_struct;

/// A credential store element (MIT's and Heimdal's `gss_acquire_cred_from`).
#[repr(C)]
pub struct gss_key_value_element_desc {
    pub key: *const c_char,
    pub value: *const c_char,
}

#[repr(C)]
pub struct gss_key_value_set_desc {
    pub count: OM_uint32,
    pub elements: *const gss_key_value_element_desc,
}

pub const GSS_C_GSS_CODE: c_int = 1;
pub const GSS_C_MECH_CODE: c_int = 2;
pub const GSS_C_INITIATE: gss_cred_usage_t = 1;
pub const GSS_C_INDEFINITE: OM_uint32 = 0xffff_ffff;
pub const GSS_C_QOP_DEFAULT: gss_qop_t = 0;
/// `GSS_C_AF_UNSPEC`: channel bindings without addresses.
pub const GSS_C_AF_UNSPEC: OM_uint32 = 0;

pub const GSS_S_CONTINUE_NEEDED: OM_uint32 = 1;
pub const GSS_S_BAD_MECH: OM_uint32 = 1 << 16;
pub const GSS_S_CREDENTIALS_EXPIRED: OM_uint32 = 11 << 16;
pub const GSS_S_FAILURE: OM_uint32 = 13 << 16;
pub const GSS_S_UNAVAILABLE: OM_uint32 = 16 << 16;

/// `GSS_ERROR()`: a calling or routine error (not a supplementary bit).
pub const fn gss_error(major: OM_uint32) -> bool {
    major & 0xffff_0000 != 0
}

pub type AcquireCred = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    desired_name: gss_name_t,
    time_req: OM_uint32,
    desired_mechs: gss_OID_set,
    cred_usage: gss_cred_usage_t,
    output_cred: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> OM_uint32;
/// The credential-store extension of `gss_acquire_cred` (MIT 1.11, Heimdal 7).
pub type AcquireCredFrom = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    desired_name: gss_name_t,
    time_req: OM_uint32,
    desired_mechs: gss_OID_set,
    cred_usage: gss_cred_usage_t,
    cred_store: *const gss_key_value_set_desc,
    output_cred: *mut gss_cred_id_t,
    actual_mechs: *mut gss_OID_set,
    time_rec: *mut OM_uint32,
) -> OM_uint32;
pub type ReleaseCred = unsafe extern "C" fn(minor: *mut OM_uint32, cred: *mut gss_cred_id_t) -> OM_uint32;
pub type InquireCred = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    cred: gss_cred_id_t,
    name: *mut gss_name_t,
    lifetime: *mut OM_uint32,
    cred_usage: *mut gss_cred_usage_t,
    mechanisms: *mut gss_OID_set,
) -> OM_uint32;
pub type InitSecContext = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    initiator_cred: gss_cred_id_t,
    context: *mut gss_ctx_id_t,
    target_name: gss_name_t,
    mech_type: gss_OID,
    req_flags: OM_uint32,
    time_req: OM_uint32,
    input_chan_bindings: gss_channel_bindings_t,
    input_token: gss_buffer_t,
    actual_mech_type: *mut gss_OID,
    output_token: gss_buffer_t,
    ret_flags: *mut OM_uint32,
    time_rec: *mut OM_uint32,
) -> OM_uint32;
pub type DeleteSecContext =
    unsafe extern "C" fn(minor: *mut OM_uint32, context: *mut gss_ctx_id_t, output_token: gss_buffer_t) -> OM_uint32;
pub type InquireContext = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    context: gss_ctx_id_t,
    src_name: *mut gss_name_t,
    targ_name: *mut gss_name_t,
    lifetime_rec: *mut OM_uint32,
    mech_type: *mut gss_OID,
    ctx_flags: *mut OM_uint32,
    locally_initiated: *mut c_int,
    open: *mut c_int,
) -> OM_uint32;
pub type WrapSizeLimit = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    context: gss_ctx_id_t,
    conf_req_flag: c_int,
    qop_req: gss_qop_t,
    req_output_size: OM_uint32,
    max_input_size: *mut OM_uint32,
) -> OM_uint32;
pub type Wrap = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    context: gss_ctx_id_t,
    conf_req_flag: c_int,
    qop_req: gss_qop_t,
    input: gss_buffer_t,
    conf_state: *mut c_int,
    output: gss_buffer_t,
) -> OM_uint32;
pub type Unwrap = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    context: gss_ctx_id_t,
    input: gss_buffer_t,
    output: gss_buffer_t,
    conf_state: *mut c_int,
    qop_state: *mut gss_qop_t,
) -> OM_uint32;
pub type DisplayStatus = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    status_value: OM_uint32,
    status_type: c_int,
    mech_type: gss_OID,
    message_context: *mut OM_uint32,
    status_string: gss_buffer_t,
) -> OM_uint32;
pub type ImportName = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    input_name: gss_buffer_t,
    name_type: gss_OID,
    output_name: *mut gss_name_t,
) -> OM_uint32;
pub type DisplayName = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    name: gss_name_t,
    output: gss_buffer_t,
    output_name_type: *mut gss_OID,
) -> OM_uint32;
pub type ReleaseName = unsafe extern "C" fn(minor: *mut OM_uint32, name: *mut gss_name_t) -> OM_uint32;
pub type ReleaseBuffer = unsafe extern "C" fn(minor: *mut OM_uint32, buffer: gss_buffer_t) -> OM_uint32;
/// RFC 5587's extension (MIT, Heimdal 7): context attributes by OID.
pub type InquireSecContextByOid = unsafe extern "C" fn(
    minor: *mut OM_uint32,
    context: gss_ctx_id_t,
    desired_object: gss_OID,
    data_set: *mut gss_buffer_set_t,
) -> OM_uint32;
pub type ReleaseBufferSet = unsafe extern "C" fn(minor: *mut OM_uint32, set: *mut gss_buffer_set_t) -> OM_uint32;
