//! The types and constants of the C API (`sasl/sasl.h`, `prop.h`), as
//! cbindgen turns them into the generated header. Names and values are those
//! of Cyrus SASL 2.1.28 so that existing C sources compile unchanged.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_uchar, c_uint, c_ulong, c_void};

pub const SASL_VERSION_MAJOR: c_int = 2;
pub const SASL_VERSION_MINOR: c_int = 1;
pub const SASL_VERSION_STEP: c_int = 28;
pub const SASL_VERSION_FULL: c_int = (SASL_VERSION_MAJOR << 16) | (SASL_VERSION_MINOR << 8) | SASL_VERSION_STEP;

/* Result codes. */
pub const SASL_CONTINUE: c_int = 1;
pub const SASL_OK: c_int = 0;
pub const SASL_FAIL: c_int = -1;
pub const SASL_NOMEM: c_int = -2;
pub const SASL_BUFOVER: c_int = -3;
pub const SASL_NOMECH: c_int = -4;
pub const SASL_BADPROT: c_int = -5;
pub const SASL_NOTDONE: c_int = -6;
pub const SASL_BADPARAM: c_int = -7;
pub const SASL_TRYAGAIN: c_int = -8;
pub const SASL_BADMAC: c_int = -9;
pub const SASL_NOTINIT: c_int = -12;
pub const SASL_INTERACT: c_int = 2;
pub const SASL_BADSERV: c_int = -10;
pub const SASL_WRONGMECH: c_int = -11;
pub const SASL_BADAUTH: c_int = -13;
pub const SASL_NOAUTHZ: c_int = -14;
pub const SASL_TOOWEAK: c_int = -15;
pub const SASL_ENCRYPT: c_int = -16;
pub const SASL_TRANS: c_int = -17;
pub const SASL_EXPIRED: c_int = -18;
pub const SASL_DISABLED: c_int = -19;
pub const SASL_NOUSER: c_int = -20;
pub const SASL_BADVERS: c_int = -23;
pub const SASL_UNAVAIL: c_int = -24;
pub const SASL_NOVERIFY: c_int = -26;
pub const SASL_PWLOCK: c_int = -21;
pub const SASL_NOCHANGE: c_int = -22;
pub const SASL_WEAKPASS: c_int = -27;
pub const SASL_NOUSERPASS: c_int = -28;
pub const SASL_NEED_OLD_PASSWD: c_int = -29;
pub const SASL_CONSTRAINT_VIOLAT: c_int = -30;
pub const SASL_BADBINDING: c_int = -32;
pub const SASL_CONFIGERR: c_int = -100;

/* Largest mechanism name. */
pub const SASL_MECHNAMEMAX: c_int = 20;

/* Flags for sasl_client_new / sasl_server_new. */
pub const SASL_SUCCESS_DATA: c_uint = 0x0004;
pub const SASL_NEED_PROXY: c_uint = 0x0008;
pub const SASL_NEED_HTTP: c_uint = 0x0010;

/* Security flags (sasl_security_properties_t.security_flags). */
pub const SASL_SEC_NOPLAINTEXT: c_uint = 0x0001;
pub const SASL_SEC_NOACTIVE: c_uint = 0x0002;
pub const SASL_SEC_NODICTIONARY: c_uint = 0x0004;
pub const SASL_SEC_FORWARD_SECRECY: c_uint = 0x0008;
pub const SASL_SEC_NOANONYMOUS: c_uint = 0x0010;
pub const SASL_SEC_PASS_CREDENTIALS: c_uint = 0x0020;
pub const SASL_SEC_MUTUAL_AUTH: c_uint = 0x0040;
pub const SASL_SEC_MAXIMUM: c_uint = 0xFFFF;

/* Callback ids. */
pub const SASL_CB_LIST_END: c_ulong = 0;
pub const SASL_CB_GETOPT: c_ulong = 1;
pub const SASL_CB_LOG: c_ulong = 2;
pub const SASL_CB_GETPATH: c_ulong = 3;
pub const SASL_CB_VERIFYFILE: c_ulong = 4;
pub const SASL_CB_GETCONFPATH: c_ulong = 5;
pub const SASL_CB_USER: c_ulong = 0x4001;
pub const SASL_CB_AUTHNAME: c_ulong = 0x4002;
pub const SASL_CB_LANGUAGE: c_ulong = 0x4003;
pub const SASL_CB_PASS: c_ulong = 0x4004;
pub const SASL_CB_ECHOPROMPT: c_ulong = 0x4005;
pub const SASL_CB_NOECHOPROMPT: c_ulong = 0x4006;
pub const SASL_CB_CNONCE: c_ulong = 0x4007;
pub const SASL_CB_GETREALM: c_ulong = 0x4008;
pub const SASL_CB_PROXY_POLICY: c_ulong = 0x8001;
pub const SASL_CB_SERVER_USERDB_CHECKPASS: c_ulong = 0x8005;
pub const SASL_CB_SERVER_USERDB_SETPASS: c_ulong = 0x8006;
pub const SASL_CB_CANON_USER: c_ulong = 0x8007;

/* Log levels. */
pub const SASL_LOG_NONE: c_int = 0;
pub const SASL_LOG_ERR: c_int = 1;
pub const SASL_LOG_FAIL: c_int = 2;
pub const SASL_LOG_WARN: c_int = 3;
pub const SASL_LOG_NOTE: c_int = 4;
pub const SASL_LOG_DEBUG: c_int = 5;
pub const SASL_LOG_TRACE: c_int = 6;
pub const SASL_LOG_PASS: c_int = 7;

/* User canonicalization flags. */
pub const SASL_CU_NONE: c_uint = 0x00;
pub const SASL_CU_AUTHID: c_uint = 0x01;
pub const SASL_CU_AUTHZID: c_uint = 0x02;
pub const SASL_CU_EXTERNALLY_VERIFIED: c_uint = 0x04;
pub const SASL_CU_OVERRIDE: c_uint = 0x08;
pub const SASL_CU_ASIS_MASK: c_uint = 0xFFF0;
pub const SASL_CU_VERIFY_AGAINST_HASH: c_uint = 0x10;

/* Path types for sasl_set_path. */
pub const SASL_PATH_TYPE_PLUGIN: c_int = 0;
pub const SASL_PATH_TYPE_CONFIG: c_int = 1;

/* sasl_seterror flag. */
pub const SASL_NOLOG: c_uint = 0x01;

/* Properties for sasl_getprop / sasl_setprop. */
pub const SASL_USERNAME: c_int = 0;
pub const SASL_SSF: c_int = 1;
pub const SASL_MAXOUTBUF: c_int = 2;
pub const SASL_DEFUSERREALM: c_int = 3;
pub const SASL_GETOPTCTX: c_int = 4;
pub const SASL_CALLBACK: c_int = 7;
pub const SASL_IPLOCALPORT: c_int = 8;
pub const SASL_IPREMOTEPORT: c_int = 9;
pub const SASL_PLUGERR: c_int = 10;
pub const SASL_DELEGATEDCREDS: c_int = 11;
pub const SASL_SERVICE: c_int = 12;
pub const SASL_SERVERFQDN: c_int = 13;
pub const SASL_AUTHSOURCE: c_int = 14;
pub const SASL_MECHNAME: c_int = 15;
pub const SASL_AUTHUSER: c_int = 16;
pub const SASL_APPNAME: c_int = 17;
pub const SASL_GSS_CREDS: c_int = 18;
pub const SASL_GSS_PEER_NAME: c_int = 19;
pub const SASL_GSS_LOCAL_NAME: c_int = 20;
pub const SASL_CHANNEL_BINDING: c_int = 21;
pub const SASL_HTTP_REQUEST: c_int = 22;
pub const SASL_SSF_EXTERNAL: c_int = 100;
pub const SASL_SEC_PROPS: c_int = 101;
pub const SASL_AUTH_EXTERNAL: c_int = 102;

/* Flags for sasl_setpass. */
pub const SASL_SET_CREATE: c_uint = 0x01;
pub const SASL_SET_DISABLE: c_uint = 0x02;
pub const SASL_SET_NOPLAIN: c_uint = 0x04;
pub const SASL_SET_CURMECH_ONLY: c_uint = 0x08;


/* prop.h: default number of property values to assume. */
pub const PROP_DEFAULT: c_int = 4;

/// Security layer strength factor: 0 none, 1 integrity, else key bits.
pub type sasl_ssf_t = c_uint;

/// A connection context; opaque to applications.
pub type sasl_conn_t = super::conn::sasl_conn;

/// A password with its length (`data` is variable-sized).
#[repr(C)]
pub struct sasl_secret {
    pub len: c_ulong,
    pub data: [c_uchar; 1],
}
pub type sasl_secret_t = sasl_secret;

/// Random data context (saslutil.h); opaque.
pub type sasl_rand_t = super::util::sasl_rand_s;

/// An application's security requirements.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sasl_security_properties {
    pub min_ssf: sasl_ssf_t,
    pub max_ssf: sasl_ssf_t,
    /// Largest security-layer packet the application can receive; 0 = none.
    pub maxbufsize: c_uint,
    pub security_flags: c_uint,
    pub property_names: *mut *const c_char,
    pub property_values: *mut *const c_char,
}
pub type sasl_security_properties_t = sasl_security_properties;

/// A typed callback: `proc`'s real signature depends on `id`.
#[repr(C)]
pub struct sasl_callback {
    pub id: c_ulong,
    pub proc: Option<unsafe extern "C" fn() -> c_int>,
    pub context: *mut c_void,
}
pub type sasl_callback_t = sasl_callback;

/// A prompt for the application to fill after SASL_INTERACT.
#[repr(C)]
pub struct sasl_interact {
    pub id: c_ulong,
    pub challenge: *const c_char,
    pub prompt: *const c_char,
    pub defresult: *const c_char,
    pub result: *const c_void,
    pub len: c_uint,
}
pub type sasl_interact_t = sasl_interact;

/// Channel-binding data (SASL_CHANNEL_BINDING); owned by the caller.
#[repr(C)]
pub struct sasl_channel_binding {
    pub name: *const c_char,
    pub critical: c_int,
    pub len: c_ulong,
    pub data: *const c_uchar,
}
pub type sasl_channel_binding_t = sasl_channel_binding;

/// An HTTP request (SASL_HTTP_REQUEST), for HTTP Digest only.
#[repr(C)]
pub struct sasl_http_request {
    pub method: *const c_char,
    pub uri: *const c_char,
    pub entity: *const c_uchar,
    pub elen: c_ulong,
    pub non_persist: c_uint,
}
pub type sasl_http_request_t = sasl_http_request;

/// The kinds of file a SASL_CB_VERIFYFILE callback is asked about.
#[repr(C)]
pub enum sasl_verify_type {
    SASL_VRFY_PLUGIN = 0,
    SASL_VRFY_CONF = 1,
    SASL_VRFY_PASSWD = 2,
    SASL_VRFY_OTHER = 3,
}
pub type sasl_verify_type_t = sasl_verify_type;

/// A property and its values (prop.h).
#[repr(C)]
pub struct propval {
    /// Property name; NULL ends a list.
    pub name: *const c_char,
    /// NULL if the property was not found.
    pub values: *mut *const c_char,
    pub nvalues: c_uint,
    pub valsize: c_uint,
}


/// `struct iovec` from <sys/uio.h> (declared, not defined, in the header).
#[repr(C)]
pub struct iovec {
    pub iov_base: *mut c_void,
    pub iov_len: usize,
}
