//! The connection core: what happens between the C API and a mechanism.
//! Callbacks and prompts ([`callbacks`]), mechanism selection ([`select`]),
//! the connection and its properties ([`conn`]) and security-layer framing
//! ([`layer`]). Safe Rust; the C-ABI layer adapts C callbacks to
//! [`callbacks::AppCallbacks`].
#![forbid(unsafe_code)]

pub mod callbacks;
pub mod conn;
pub mod layer;
pub mod random;
pub mod reauth;
pub mod select;

pub use callbacks::{Answer, AppCallbacks, Availability, CallbackId, Lookup, Progress, Prompt};
pub use conn::{ClientConn, Extras, Phase, Settings, Status};
