//! SCRAM-SHA-* (RFC 5802, RFC 7677) and their -PLUS variants. (Stub: being written.)
use super::*;

fn not_yet(_: &Params<'_>) -> Result<Box<dyn ClientMech>> {
    Err(Error::new(Code::NoMech, "SCRAM is not implemented yet"))
}

const FLAGS: u32 = sec::NOANONYMOUS | sec::NOPLAINTEXT | sec::NOACTIVE | sec::MUTUAL_AUTH;
const FEATURES: u32 = feat::ALLOWS_PROXY | feat::CHANNEL_BINDING | feat::SUPPORTS_HTTP;

macro_rules! scram_info {
    ($name:ident, $mech:literal, $bits:literal) => {
        pub static $name: MechInfo = MechInfo {
            name: $mech,
            max_ssf: 0,
            security_flags: FLAGS | sec::hash_strength_bits($bits),
            features: FEATURES,
            required: NEEDS_USER_PASS,
            last_resort: false,
            new: not_yet,
        };
    };
}
scram_info!(SCRAM_SHA_1, "SCRAM-SHA-1", 160);
scram_info!(SCRAM_SHA_224, "SCRAM-SHA-224", 224);
scram_info!(SCRAM_SHA_256, "SCRAM-SHA-256", 256);
scram_info!(SCRAM_SHA_384, "SCRAM-SHA-384", 384);
scram_info!(SCRAM_SHA_512, "SCRAM-SHA-512", 512);
