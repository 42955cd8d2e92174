//! Connection core (being written).
#![forbid(unsafe_code)]
