//! OAUTHBEARER (RFC 7628) and XOAUTH2. (Stub: being written.)
use super::*;

fn not_yet(_: &Params<'_>) -> Result<Box<dyn ClientMech>> {
    Err(Error::new(Code::NoMech, "OAuth mechanisms are not implemented yet"))
}

pub static OAUTHBEARER: MechInfo = MechInfo {
    name: "OAUTHBEARER",
    max_ssf: 0,
    security_flags: sec::NOANONYMOUS | sec::PASS_CREDENTIALS,
    features: feat::WANT_CLIENT_FIRST | feat::ALLOWS_PROXY,
    required: NEEDS_USER_PASS,
    last_resort: true,
    new: not_yet,
};

pub static XOAUTH2: MechInfo = MechInfo {
    name: "XOAUTH2",
    max_ssf: 0,
    security_flags: sec::NOANONYMOUS | sec::PASS_CREDENTIALS,
    features: feat::WANT_CLIENT_FIRST,
    required: NEEDS_USER_PASS,
    last_resort: true,
    new: not_yet,
};
