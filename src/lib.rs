//! sasl2-rs: the client side of Cyrus SASL's libsasl2, in Rust, behind the
//! same C ABI (`libsasl2.so.2`, symbol version `SASL2`).
//!
//! Three layers, one folder each:
//! * [`mech`]: each mechanism as a safe state machine that knows no C;
//! * [`core`]: connections: callbacks and prompts, properties, mechanism
//!   selection, security-layer framing; safe Rust;
//! * `capi`: the exported C functions and `#[repr(C)]` types, pointer
//!   checks, the panic boundary.
//!
//! `unsafe` lives only at the C edges: `capi`, and `gss`, the binding to
//! the system's GSS-API library that the Kerberos mechanisms use.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod capi;
pub mod core;
pub(crate) mod gss;
pub mod mech;

#[cfg(test)]
mod header_tests {
    /// The committed header must be what cbindgen generates now
    /// (`make header` refreshes it).
    #[test]
    fn committed_header_is_current() {
        let generated = include_str!(concat!(env!("OUT_DIR"), "/sasl.h"));
        let committed = include_str!("../include/sasl/sasl.h");
        assert!(generated == committed, "include/sasl/sasl.h is stale: run `make header`");
    }
}
