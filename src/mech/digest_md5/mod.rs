//! DIGEST-MD5 (RFC 2831) with its integrity and confidentiality layers. (Stub: being written.)
use super::*;

// Used by the exchange, which is being written.
#[allow(dead_code)]
mod parse;
#[allow(dead_code)]
mod layer;

fn not_yet(_: &Params<'_>) -> Result<Box<dyn ClientMech>> {
    Err(Error::new(Code::NoMech, "DIGEST-MD5 is not implemented yet"))
}

pub static INFO: MechInfo = MechInfo {
    name: "DIGEST-MD5",
    max_ssf: 128,
    security_flags: sec::NOANONYMOUS | sec::NOPLAINTEXT | sec::MUTUAL_AUTH,
    features: feat::ALLOWS_PROXY | feat::NEED_SERVER_FQDN | feat::SUPPORTS_HTTP,
    required: NEEDS_USER_PASS,
    last_resort: false,
    new: not_yet,
};
