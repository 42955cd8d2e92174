//! The C types of Cyrus SASL 2.1.28's plugin interface (`saslplug.h`, with
//! the `md5.h`, `hmac-md5.h` and `md5global.h` it includes), from which
//! cbindgen generates include/sasl/saslplug.h. Field order, types and sizes
//! are Cyrus's, so that plugins built against either header work with this
//! library (tests/header-compat.sh compares every offset with Cyrus's
//! header). Server-side and auxprop types are here for applications that
//! include the header; this library itself drives client plugins only.
#![allow(non_camel_case_types, non_snake_case)]

use std::ffi::{c_char, c_int, c_long, c_schar, c_short, c_uchar, c_uint, c_ulong, c_ushort, c_void};

use crate::capi::server::propctx;
use crate::capi::{
    iovec, propval, sasl_callback_t, sasl_channel_binding_t, sasl_conn_t, sasl_http_request_t,
    sasl_interact_t, sasl_rand_t, sasl_security_properties_t, sasl_ssf_t,
};

/* md5global.h: RSAREF's integer types. */
pub type POINTER = *mut c_uchar;
pub type INT1 = c_schar;
pub type INT2 = c_short;
pub type INT4 = c_int;
pub type INT8 = c_long;
pub type UINT1 = c_uchar;
pub type UINT2 = c_ushort;
pub type UINT4 = c_uint;
pub type UINT8 = c_ulong;

/* hmac-md5.h */
pub const HMAC_MD5_SIZE: c_int = 16;

/// An MD5 computation in progress (md5.h): chaining state, bit count,
/// pending input.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct MD5_CTX_s {
    pub state: [UINT4; 4],
    pub count: [UINT4; 2],
    pub buffer: [c_uchar; 64],
}
pub type MD5_CTX = MD5_CTX_s;

/// An HMAC-MD5 in progress: inner and outer hashes.
#[repr(C)]
pub struct HMAC_MD5_CTX_s {
    pub ictx: MD5_CTX,
    pub octx: MD5_CTX,
}
pub type HMAC_MD5_CTX = HMAC_MD5_CTX_s;

/// HMAC-MD5 state precomputed from a key (the chaining values after the
/// padded key block).
#[repr(C)]
pub struct HMAC_MD5_STATE_s {
    pub istate: [UINT4; 4],
    pub ostate: [UINT4; 4],
}
pub type HMAC_MD5_STATE = HMAC_MD5_STATE_s;

/* saslplug.h */

/// A callback function of any type (`sasl_callback_t.proc`).
pub type sasl_callback_ft = Option<unsafe extern "C" fn() -> c_int>;

pub const SASL_UTILS_VERSION: c_int = 4;

/// The library functions every plugin receives.
#[repr(C)]
pub struct sasl_utils {
    pub version: c_int,
    pub conn: *mut sasl_conn_t,
    pub rpool: *mut sasl_rand_t,
    pub getopt_context: *mut c_void,
    pub getopt: Option<
        unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *mut *const c_char, *mut c_uint) -> c_int,
    >,
    pub malloc: Option<unsafe extern "C" fn(usize) -> *mut c_void>,
    pub calloc: Option<unsafe extern "C" fn(usize, usize) -> *mut c_void>,
    pub realloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>,
    pub free: Option<unsafe extern "C" fn(*mut c_void)>,
    pub mutex_alloc: Option<unsafe extern "C" fn() -> *mut c_void>,
    pub mutex_lock: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    pub mutex_unlock: Option<unsafe extern "C" fn(*mut c_void) -> c_int>,
    pub mutex_free: Option<unsafe extern "C" fn(*mut c_void)>,
    pub MD5Init: Option<unsafe extern "C" fn(*mut MD5_CTX)>,
    pub MD5Update: Option<unsafe extern "C" fn(*mut MD5_CTX, *const c_uchar, c_uint)>,
    pub MD5Final: Option<unsafe extern "C" fn(*mut c_uchar, *mut MD5_CTX)>,
    pub hmac_md5: Option<unsafe extern "C" fn(*const c_uchar, c_int, *const c_uchar, c_int, *mut c_uchar)>,
    pub hmac_md5_init: Option<unsafe extern "C" fn(*mut HMAC_MD5_CTX, *const c_uchar, c_int)>,
    pub hmac_md5_final: Option<unsafe extern "C" fn(*mut c_uchar, *mut HMAC_MD5_CTX)>,
    pub hmac_md5_precalc: Option<unsafe extern "C" fn(*mut HMAC_MD5_STATE, *const c_uchar, c_int)>,
    pub hmac_md5_import: Option<unsafe extern "C" fn(*mut HMAC_MD5_CTX, *mut HMAC_MD5_STATE)>,
    pub mkchal: Option<unsafe extern "C" fn(*mut sasl_conn_t, *mut c_char, c_uint, c_uint) -> c_int>,
    pub utf8verify: Option<unsafe extern "C" fn(*const c_char, c_uint) -> c_int>,
    pub rand: Option<unsafe extern "C" fn(*mut sasl_rand_t, *mut c_char, c_uint)>,
    pub churn: Option<unsafe extern "C" fn(*mut sasl_rand_t, *const c_char, c_uint)>,
    pub checkpass: Option<unsafe extern "C" fn(*mut sasl_conn_t, *const c_char, c_uint, *const c_char, c_uint) -> c_int>,
    pub decode64: Option<unsafe extern "C" fn(*const c_char, c_uint, *mut c_char, c_uint, *mut c_uint) -> c_int>,
    pub encode64: Option<unsafe extern "C" fn(*const c_char, c_uint, *mut c_char, c_uint, *mut c_uint) -> c_int>,
    pub erasebuffer: Option<unsafe extern "C" fn(*mut c_char, c_uint)>,
    pub getprop: Option<unsafe extern "C" fn(*mut sasl_conn_t, c_int, *mut *const c_void) -> c_int>,
    pub setprop: Option<unsafe extern "C" fn(*mut sasl_conn_t, c_int, *const c_void) -> c_int>,
    pub getcallback:
        Option<unsafe extern "C" fn(*mut sasl_conn_t, c_ulong, *mut sasl_callback_ft, *mut *mut c_void) -> c_int>,
    /// printf-style, with `%m` (errno text) and `%z` (SASL code text).
    pub log: Option<unsafe extern "C" fn(*mut sasl_conn_t, c_int, *const c_char, ...)>,
    /// `sasl_seterror`.
    pub seterror: Option<unsafe extern "C" fn(*mut sasl_conn_t, c_uint, *const c_char, ...)>,
    pub spare_fptr: Option<unsafe extern "C" fn() -> *mut c_int>,
    pub prop_new: Option<unsafe extern "C" fn(c_uint) -> *mut propctx>,
    pub prop_dup: Option<unsafe extern "C" fn(*mut propctx, *mut *mut propctx) -> c_int>,
    pub prop_request: Option<unsafe extern "C" fn(*mut propctx, *mut *const c_char) -> c_int>,
    pub prop_get: Option<unsafe extern "C" fn(*mut propctx) -> *const propval>,
    pub prop_getnames: Option<unsafe extern "C" fn(*mut propctx, *mut *const c_char, *mut propval) -> c_int>,
    pub prop_clear: Option<unsafe extern "C" fn(*mut propctx, c_int)>,
    pub prop_dispose: Option<unsafe extern "C" fn(*mut *mut propctx)>,
    pub prop_format:
        Option<unsafe extern "C" fn(*mut propctx, *const c_char, c_int, *mut c_char, c_uint, *mut c_uint) -> c_int>,
    pub prop_set: Option<unsafe extern "C" fn(*mut propctx, *const c_char, *const c_char, c_int) -> c_int>,
    pub prop_setvals: Option<unsafe extern "C" fn(*mut propctx, *const c_char, *mut *const c_char) -> c_int>,
    pub prop_erase: Option<unsafe extern "C" fn(*mut propctx, *const c_char)>,
    pub auxprop_store: Option<unsafe extern "C" fn(*mut sasl_conn_t, *mut propctx, *const c_char) -> c_int>,
    pub spare_fptr1: Option<unsafe extern "C" fn() -> c_int>,
    pub spare_fptr2: Option<unsafe extern "C" fn() -> c_int>,
}
pub type sasl_utils_t = sasl_utils;

/// What a mechanism established: filled by the plugin (through
/// `canon_user` for the names) and read by the library.
#[repr(C)]
pub struct sasl_out_params {
    pub doneflag: c_uint,
    pub user: *const c_char,
    pub authid: *const c_char,
    pub ulen: c_uint,
    pub alen: c_uint,
    pub maxoutbuf: c_uint,
    pub mech_ssf: sasl_ssf_t,
    pub encode_context: *mut c_void,
    pub encode: Option<unsafe extern "C" fn(*mut c_void, *const iovec, c_uint, *mut *const c_char, *mut c_uint) -> c_int>,
    pub decode_context: *mut c_void,
    pub decode: Option<unsafe extern "C" fn(*mut c_void, *const c_char, c_uint, *mut *const c_char, *mut c_uint) -> c_int>,
    pub client_creds: *mut c_void,
    pub gss_peer_name: *const c_void,
    pub gss_local_name: *const c_void,
    pub cbindingname: *const c_char,
    pub spare_fptr1: Option<unsafe extern "C" fn() -> c_int>,
    pub spare_fptr2: Option<unsafe extern "C" fn() -> c_int>,
    pub cbindingdisp: c_uint,
    pub spare_int2: c_int,
    pub spare_int3: c_int,
    pub spare_int4: c_int,
    pub param_version: c_int,
}
pub type sasl_out_params_t = sasl_out_params;

/// The stages of a `sasl_*_plugin_info` listing.
#[repr(C)]
pub enum sasl_info_callback_stage {
    SASL_INFO_LIST_START = 0,
    SASL_INFO_LIST_MECH = 1,
    SASL_INFO_LIST_END = 2,
}
pub type sasl_info_callback_stage_t = sasl_info_callback_stage;

/// How the client uses channel binding (`cbindingdisp`).
#[repr(C)]
pub enum sasl_cbinding_disp {
    SASL_CB_DISP_NONE = 0,
    SASL_CB_DISP_WANT = 1,
    SASL_CB_DISP_USED = 2,
}
pub type sasl_cbinding_disp_t = sasl_cbinding_disp;

/// A client connection as a client plugin sees it.
#[repr(C)]
pub struct sasl_client_params {
    pub service: *const c_char,
    pub serverFQDN: *const c_char,
    pub clientFQDN: *const c_char,
    pub utils: *const sasl_utils_t,
    pub prompt_supp: *const sasl_callback_t,
    pub iplocalport: *const c_char,
    pub ipremoteport: *const c_char,
    pub servicelen: c_uint,
    pub slen: c_uint,
    pub clen: c_uint,
    pub iploclen: c_uint,
    pub ipremlen: c_uint,
    pub props: sasl_security_properties_t,
    pub external_ssf: sasl_ssf_t,
    pub gss_creds: *const c_void,
    pub cbinding: *const sasl_channel_binding_t,
    pub http_request: *const sasl_http_request_t,
    pub spare_ptr4: *mut c_void,
    /// Canonicalises a user name and stores it in `oparams`.
    pub canon_user:
        Option<unsafe extern "C" fn(*mut sasl_conn_t, *const c_char, c_uint, c_uint, *mut sasl_out_params_t) -> c_int>,
    pub spare_fptr1: Option<unsafe extern "C" fn() -> c_int>,
    pub cbindingdisp: c_uint,
    pub log_level: c_int,
    pub spare_int3: c_int,
    pub flags: c_uint,
    pub param_version: c_int,
}
pub type sasl_client_params_t = sasl_client_params;

/* Mechanism features (SASL_FEAT_*). */
pub const SASL_FEAT_NEEDSERVERFQDN: c_uint = 0x0001;
pub const SASL_FEAT_WANT_CLIENT_FIRST: c_uint = 0x0002;
pub const SASL_FEAT_SERVER_FIRST: c_uint = 0x0010;
pub const SASL_FEAT_ALLOWS_PROXY: c_uint = 0x0020;
pub const SASL_FEAT_DONTUSE_USERPASSWD: c_uint = 0x0080;
pub const SASL_FEAT_GSS_FRAMING: c_uint = 0x0100;
pub const SASL_FEAT_SERVICE: c_uint = 0x0200;
pub const SASL_FEAT_GETSECRET: c_uint = 0x0400;
pub const SASL_FEAT_CHANNEL_BINDING: c_uint = 0x0800;
pub const SASL_FEAT_SUPPORTS_HTTP: c_uint = 0x1000;

/// A client mechanism, as a plugin describes it.
#[repr(C)]
pub struct sasl_client_plug {
    pub mech_name: *const c_char,
    pub max_ssf: sasl_ssf_t,
    pub security_flags: c_uint,
    pub features: c_uint,
    /// Callback ids the mechanism needs, ended by `SASL_CB_LIST_END`; NULL
    /// means the authentication name and the password.
    pub required_prompts: *const c_ulong,
    pub glob_context: *mut c_void,
    pub mech_new: Option<unsafe extern "C" fn(*mut c_void, *mut sasl_client_params_t, *mut *mut c_void) -> c_int>,
    pub mech_step: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_client_params_t,
            *const c_char,
            c_uint,
            *mut *mut sasl_interact_t,
            *mut *const c_char,
            *mut c_uint,
            *mut sasl_out_params_t,
        ) -> c_int,
    >,
    pub mech_dispose: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub mech_free: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub idle: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *mut sasl_client_params_t) -> c_int>,
    pub spare_fptr1: Option<unsafe extern "C" fn() -> c_int>,
    pub spare_fptr2: Option<unsafe extern "C" fn() -> c_int>,
}
pub type sasl_client_plug_t = sasl_client_plug;

pub const SASL_CLIENT_PLUG_VERSION: c_int = 4;

/// A client plugin's entry point (`sasl_client_plug_init_t *`).
pub type sasl_client_plug_init_fn = unsafe extern "C" fn(
    *const sasl_utils_t,
    c_int,
    *mut c_int,
    *mut *mut sasl_client_plug_t,
    *mut c_int,
) -> c_int;

/// One mechanism in a `sasl_client_plugin_info` listing.
#[repr(C)]
pub struct client_sasl_mechanism {
    pub version: c_int,
    pub plugname: *mut c_char,
    pub plug: *const sasl_client_plug_t,
}
pub type client_sasl_mechanism_t = client_sasl_mechanism;

/// A `sasl_client_plugin_info` callback (`sasl_client_info_callback_t *`).
pub type sasl_client_info_callback_fn =
    unsafe extern "C" fn(*mut client_sasl_mechanism_t, sasl_info_callback_stage_t, *mut c_void);

/// A server connection as a server plugin sees it.
#[repr(C)]
pub struct sasl_server_params {
    pub service: *const c_char,
    pub appname: *const c_char,
    pub serverFQDN: *const c_char,
    pub user_realm: *const c_char,
    pub iplocalport: *const c_char,
    pub ipremoteport: *const c_char,
    pub servicelen: c_uint,
    pub applen: c_uint,
    pub slen: c_uint,
    pub urlen: c_uint,
    pub iploclen: c_uint,
    pub ipremlen: c_uint,
    pub log_level: c_int,
    pub utils: *const sasl_utils_t,
    pub callbacks: *const sasl_callback_t,
    pub props: sasl_security_properties_t,
    pub external_ssf: sasl_ssf_t,
    pub transition: Option<unsafe extern "C" fn(*mut sasl_conn_t, *const c_char, c_uint) -> c_int>,
    pub canon_user:
        Option<unsafe extern "C" fn(*mut sasl_conn_t, *const c_char, c_uint, c_uint, *mut sasl_out_params_t) -> c_int>,
    pub propctx: *mut propctx,
    pub gss_creds: *const c_void,
    pub cbinding: *const sasl_channel_binding_t,
    pub http_request: *const sasl_http_request_t,
    pub spare_ptr4: *mut c_void,
    pub spare_fptr1: Option<unsafe extern "C" fn() -> c_int>,
    pub spare_fptr2: Option<unsafe extern "C" fn() -> c_int>,
    pub spare_int1: c_int,
    pub spare_int2: c_int,
    pub spare_int3: c_int,
    pub flags: c_uint,
    pub param_version: c_int,
}
pub type sasl_server_params_t = sasl_server_params;

/* setpass flag for removing a user (the same bit as SASL_SET_CREATE). */
pub const SASL_SET_REMOVE: c_uint = 0x01;

/// A server mechanism, as a plugin describes it.
#[repr(C)]
pub struct sasl_server_plug {
    pub mech_name: *const c_char,
    pub max_ssf: sasl_ssf_t,
    pub security_flags: c_uint,
    pub features: c_uint,
    pub glob_context: *mut c_void,
    pub mech_new: Option<
        unsafe extern "C" fn(*mut c_void, *mut sasl_server_params_t, *const c_char, c_uint, *mut *mut c_void) -> c_int,
    >,
    pub mech_step: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_server_params_t,
            *const c_char,
            c_uint,
            *mut *const c_char,
            *mut c_uint,
            *mut sasl_out_params_t,
        ) -> c_int,
    >,
    pub mech_dispose: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub mech_free: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub setpass: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_server_params_t,
            *const c_char,
            *const c_char,
            c_uint,
            *const c_char,
            c_uint,
            c_uint,
        ) -> c_int,
    >,
    pub user_query: Option<
        unsafe extern "C" fn(*mut c_void, *mut sasl_server_params_t, *const c_char, c_int, *mut *const c_char) -> c_int,
    >,
    pub idle: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *mut sasl_server_params_t) -> c_int>,
    pub mech_avail: Option<unsafe extern "C" fn(*mut c_void, *mut sasl_server_params_t, *mut *mut c_void) -> c_int>,
    pub spare_fptr2: Option<unsafe extern "C" fn() -> c_int>,
}
pub type sasl_server_plug_t = sasl_server_plug;

pub const SASL_SERVER_PLUG_VERSION: c_int = 4;

/// One mechanism in a `sasl_server_plugin_info` listing.
#[repr(C)]
pub struct server_sasl_mechanism {
    pub version: c_int,
    pub condition: c_int,
    pub plugname: *mut c_char,
    pub plug: *const sasl_server_plug_t,
    pub f: *mut c_char,
}
pub type server_sasl_mechanism_t = server_sasl_mechanism;

/// A user-name canonicalisation plugin.
#[repr(C)]
pub struct sasl_canonuser {
    pub features: c_int,
    pub spare_int1: c_int,
    pub glob_context: *mut c_void,
    pub name: *mut c_char,
    pub canon_user_free: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub canon_user_server: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_server_params_t,
            *const c_char,
            c_uint,
            c_uint,
            *mut c_char,
            c_uint,
            *mut c_uint,
        ) -> c_int,
    >,
    pub canon_user_client: Option<
        unsafe extern "C" fn(
            *mut c_void,
            *mut sasl_client_params_t,
            *const c_char,
            c_uint,
            c_uint,
            *mut c_char,
            c_uint,
            *mut c_uint,
        ) -> c_int,
    >,
    pub spare_fptr1: Option<unsafe extern "C" fn() -> c_int>,
    pub spare_fptr2: Option<unsafe extern "C" fn() -> c_int>,
    pub spare_fptr3: Option<unsafe extern "C" fn() -> c_int>,
}
pub type sasl_canonuser_plug_t = sasl_canonuser;

pub const SASL_CANONUSER_PLUG_VERSION: c_int = 5;

/// A canonicalisation plugin's entry point (`sasl_canonuser_init_t *`).
pub type sasl_canonuser_init_fn =
    unsafe extern "C" fn(*const sasl_utils_t, c_int, *mut c_int, *mut *mut sasl_canonuser_plug_t, *const c_char) -> c_int;

/// An auxiliary-property plugin (server side).
#[repr(C)]
pub struct sasl_auxprop_plug {
    pub features: c_int,
    pub spare_int1: c_int,
    pub glob_context: *mut c_void,
    pub auxprop_free: Option<unsafe extern "C" fn(*mut c_void, *const sasl_utils_t)>,
    pub auxprop_lookup:
        Option<unsafe extern "C" fn(*mut c_void, *mut sasl_server_params_t, c_uint, *const c_char, c_uint) -> c_int>,
    pub name: *mut c_char,
    pub auxprop_store: Option<
        unsafe extern "C" fn(*mut c_void, *mut sasl_server_params_t, *mut propctx, *const c_char, c_uint) -> c_int,
    >,
}
pub type sasl_auxprop_plug_t = sasl_auxprop_plug;

/* auxprop lookup flags */
pub const SASL_AUXPROP_OVERRIDE: c_uint = 0x01;
pub const SASL_AUXPROP_AUTHZID: c_uint = 0x02;
pub const SASL_AUXPROP_VERIFY_AGAINST_HASH: c_uint = 0x10;

pub const SASL_AUXPROP_PLUG_VERSION: c_int = 8;
