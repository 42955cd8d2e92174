//! SASLprep (RFC 4013): the stringprep (RFC 3454) profile for user names and
//! passwords, as the `stringprep` crate implements it.
//!
//! The crate applies the "stored string" rules (unassigned code points are
//! refused), the stricter of the two, so a string it accepts is valid either
//! way. The policy for strings it refuses belongs to the caller (SCRAM, for
//! one, falls back to the unprepared string; see `scram.rs`).
//!
//! Errors never name the offending character: the string may be a password.
use std::borrow::Cow;

use zeroize::Zeroizing;

use super::*;

/// Prepares `s` with SASLprep. ASCII strings without control characters come
/// back borrowed and unchanged.
pub fn saslprep(s: &str) -> Result<Cow<'_, str>> {
    stringprep::saslprep(s)
        .map_err(|_| Error::bad_param("string is not allowed by SASLprep (RFC 4013)"))
}

/// Prepares a secret, in zeroizing storage: the secret itself when SASLprep
/// leaves it unchanged (ASCII without control characters, the common case:
/// nothing is copied), else a prepared copy. Gives the secret back as `Err`
/// when it is not UTF-8 or SASLprep refuses it.
///
/// (The `stringprep` crate builds a non-ASCII result in buffers of its own,
/// which it does not wipe.)
pub fn saslprep_secret(secret: Secret) -> std::result::Result<Secret, Secret> {
    let Ok(s) = std::str::from_utf8(&secret) else { return Err(secret) };
    match stringprep::saslprep(s) {
        Ok(Cow::Borrowed(_)) => Ok(secret),
        Ok(Cow::Owned(o)) => Ok(Zeroizing::new(o.into_bytes())),
        Err(_) => Err(secret),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep(s: &str) -> Option<String> {
        saslprep(s).ok().map(Cow::into_owned)
    }

    #[test]
    fn rfc4013_examples() {
        // RFC 4013 section 3.
        assert_eq!(prep("I\u{00AD}X").as_deref(), Some("IX")); // SOFT HYPHEN mapped to nothing
        assert_eq!(prep("user").as_deref(), Some("user")); // no transformation
        assert_eq!(prep("USER").as_deref(), Some("USER")); // case preserved
        assert_eq!(prep("\u{00AA}").as_deref(), Some("a")); // NFKC
        assert_eq!(prep("\u{2168}").as_deref(), Some("IX")); // NFKC
        assert_eq!(prep("\u{0007}"), None); // prohibited character
        assert_eq!(prep("\u{0627}\u{0031}"), None); // bidi check
    }

    #[test]
    fn mapping_and_prohibitions() {
        // Non-ASCII spaces map to SPACE (2.1); B.1 characters vanish.
        assert_eq!(prep("a\u{00A0}b").as_deref(), Some("a b"));
        assert_eq!(prep("a\u{FEFF}b").as_deref(), Some("ab"));
        // RandALCat at both ends is fine, mixed with LCat it is not.
        assert_eq!(prep("\u{0627}\u{0031}\u{0628}").as_deref(), Some("\u{0627}1\u{0628}"));
        assert_eq!(prep("\u{05D0}a\u{05D0}"), None);
        // Private use (C.3), NUL and DEL (C.2.1), non-character (C.4).
        assert_eq!(prep("\u{E000}"), None);
        assert_eq!(prep("a\0b"), None);
        assert_eq!(prep("a\u{7F}"), None);
        assert_eq!(prep("\u{FDD0}"), None);
        assert_eq!(prep("").as_deref(), Some(""));
    }

    #[test]
    fn errors_do_not_leak_the_string() {
        let e = saslprep("secret\u{0007}").unwrap_err();
        assert_eq!(e.code, Code::BadParam);
        assert!(!e.detail.contains("secret") && !e.detail.contains('\u{0007}'));
    }

    #[test]
    fn secrets() {
        let prep = |s: &[u8]| saslprep_secret(Zeroizing::new(s.to_vec())).map(|p| p.to_vec()).map_err(|e| e.to_vec());
        assert_eq!(prep(b"pencil"), Ok(b"pencil".to_vec()));
        assert_eq!(prep("I\u{00AD}X".as_bytes()), Ok(b"IX".to_vec()));
        // Refused secrets come back unchanged.
        assert_eq!(prep(b"\xff\xfe"), Err(b"\xff\xfe".to_vec())); // not UTF-8
        assert_eq!(prep(b"tab\there"), Err(b"tab\there".to_vec())); // control character
    }
}
