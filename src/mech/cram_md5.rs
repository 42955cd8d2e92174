//! CRAM-MD5 (RFC 2195): `user SP hex(HMAC-MD5(password, challenge))`.
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

use super::*;

pub static INFO: MechInfo = MechInfo {
    name: "CRAM-MD5",
    max_ssf: 0,
    security_flags: sec::NOPLAINTEXT | sec::NOANONYMOUS,
    features: feat::SERVER_FIRST,
    required: NEEDS_USER_PASS,
    last_resort: false,
    factory: &(new as NewFn),
};

fn new(_: &Params<'_>) -> Result<Box<dyn ClientMech>> {
    Ok(Box::new(CramMd5 { done: false, outcome: None }))
}

/// Challenges are short (`<pid.clock@host>`); Cyrus refuses more than this.
const MAX_CHALLENGE: usize = 1024;

struct CramMd5 {
    done: bool,
    outcome: Option<Outcome>,
}

/// The response to `challenge`.
pub fn response(user: &[u8], password: &[u8], challenge: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(password).expect("HMAC takes any key length");
    mac.update(challenge);
    let digest = mac.finalize().into_bytes();
    let mut out = Vec::with_capacity(user.len() + 1 + 32);
    out.extend_from_slice(user);
    out.push(b' ');
    for b in digest {
        out.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    out
}

impl ClientMech for CramMd5 {
    fn step(&mut self, challenge: &[u8], session: &mut dyn Session) -> Result<Step> {
        if self.done {
            return Err(Error::bad_prot("CRAM-MD5 has no further steps"));
        }
        // Unlike Cyrus, an empty challenge is refused: answering it would give
        // an attacker a fixed, precomputable response for the password.
        if challenge.is_empty() {
            return Err(Error::bad_prot("CRAM-MD5 expects a challenge from the server, and it was empty"));
        }
        if challenge.len() > MAX_CHALLENGE {
            return Err(Error::bad_prot("CRAM-MD5 challenge is too long"));
        }
        let creds = session.credentials(&Request { authzid: false, ..Request::USER_PASS })?;
        let user = creds.authname.unwrap_or_default();
        let password = creds.password.unwrap_or_default();
        let out = response(&user, &password, challenge);
        self.done = true;
        self.outcome = Some(Outcome::without_layer(None, user));
        Ok(Step::Done(Some(out)))
    }

    fn outcome(&mut self) -> Result<Outcome> {
        self.outcome.take().ok_or_else(|| Error::new(Code::NotDone, "CRAM-MD5 has not run"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::testing::{params, FakeSession};

    #[test]
    fn rfc2195_example() {
        let challenge = b"<1896.697170952@postoffice.reston.mci.net>";
        assert_eq!(
            response(b"tim", b"tanstaaftanstaaf", challenge),
            b"tim b913a602c7eda7a495b4e6e7334d3890".to_vec()
        );
    }

    #[test]
    fn rejects_missing_or_huge_challenge() {
        let mut s = FakeSession { authname: Some("tim".into()), password: Some(b"x".to_vec()), ..Default::default() };
        let mut m = INFO.start(&params()).unwrap();
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::BadProt);
        assert_eq!(m.step(&[b'a'; 4096], &mut s).unwrap_err().code, Code::BadProt);
        assert!(matches!(m.step(b"<1.2@h>", &mut s).unwrap(), Step::Done(Some(_))));
    }
}
