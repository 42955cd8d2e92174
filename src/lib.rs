//! sasl2-rs: the client side of Cyrus SASL's libsasl2, in Rust, behind the
//! same C ABI (`libsasl2.so.2`, symbol version `SASL2`).
//!
//! Three layers, one folder each:
//! * [`mech`]: each mechanism as a safe state machine that knows no C;
//! * [`core`]: connections: callbacks and prompts, properties, mechanism
//!   selection, security-layer framing; safe Rust;
//! * `capi`: the exported C functions and `#[repr(C)]` types, pointer
//!   checks, the panic boundary;
//! * [`plugin`]: Cyrus client plugins (saslplug.h): loading, the utilities
//!   table, plugin mechanisms as the core sees them;
//! * `gss`: the binding to the system's GSS-API library that the Kerberos
//!   mechanisms use.
//!
//! `unsafe` lives only in `capi`, `plugin` and `gss`, the C edges.
#![deny(unsafe_op_in_unsafe_fn)]

/// Runs `$body`, turning a panic into `$on_panic` (a panic must never unwind
/// into C): the boundary of every function C code calls, in `capi` and
/// `plugin`.
macro_rules! ffi_boundary {
    ($on_panic:expr, $body:block) => {{
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(value) => value,
            Err(_) => $on_panic,
        }
    }};
}

pub mod capi;
pub mod core;
pub(crate) mod gss;
pub mod mech;
pub mod plugin;

#[cfg(test)]
mod header_tests {
    /// The committed headers must be what cbindgen generates now
    /// (`make header` refreshes them).
    #[test]
    fn committed_headers_are_current() {
        let generated = include_str!(concat!(env!("OUT_DIR"), "/sasl.h"));
        let committed = include_str!("../include/sasl/sasl.h");
        assert!(generated == committed, "include/sasl/sasl.h is stale: run `make header`");
        let generated = include_str!(concat!(env!("OUT_DIR"), "/saslplug.h"));
        let committed = include_str!("../include/sasl/saslplug.h");
        assert!(generated == committed, "include/sasl/saslplug.h is stale: run `make header`");
    }
}
