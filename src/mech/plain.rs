//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, sent at once.
use super::*;

pub static INFO: MechInfo = MechInfo {
    name: "PLAIN",
    max_ssf: 0,
    security_flags: sec::NOANONYMOUS | sec::PASS_CREDENTIALS,
    features: feat::WANT_CLIENT_FIRST | feat::ALLOWS_PROXY,
    required: NEEDS_USER_PASS,
    last_resort: false,
    factory: &(new as NewFn),
};

fn new(_: &Params<'_>) -> Result<Box<dyn ClientMech>> {
    Ok(Box::new(Plain { done: false, outcome: None }))
}

struct Plain {
    done: bool,
    outcome: Option<Outcome>,
}

/// The PLAIN message; an empty authzid means none.
pub fn message(authzid: Option<&[u8]>, authcid: &[u8], password: &[u8]) -> Secret {
    let authzid = authzid.unwrap_or_default();
    // One spare byte: the C layer appends a NUL without reallocating.
    let mut out = Secret::new(Vec::with_capacity(authzid.len() + authcid.len() + password.len() + 3));
    out.extend_from_slice(authzid);
    out.push(0);
    out.extend_from_slice(authcid);
    out.push(0);
    out.extend_from_slice(password);
    out
}

impl ClientMech for Plain {
    fn step(&mut self, _input: &[u8], session: &mut dyn Session) -> Result<Step> {
        if self.done {
            return Err(Error::bad_prot("PLAIN has no further steps"));
        }
        // Cyrus's PLAIN canonicalises the authzid first.
        let creds = session.credentials(&Request { canon: Canon::AuthzidFirst, ..Request::USER_PASS })?;
        let authname = creds.authname.unwrap_or_default();
        let password = creds.password.unwrap_or_default();
        let authzid = creds.authzid;
        let mut msg = message(authzid.as_deref(), &authname, &password);
        self.done = true;
        self.outcome = Some(simple_outcome(authzid, authname));
        // The caller owns (and wipes) the output from here on.
        Ok(Step::Done(Some(std::mem::take(&mut *msg))))
    }

    fn outcome(&mut self) -> Result<Outcome> {
        self.outcome.take().ok_or_else(|| Error::new(Code::NotDone, "PLAIN has not run"))
    }
}

/// The outcome of a mechanism without a security layer.
pub(crate) fn simple_outcome(authzid: Option<Vec<u8>>, authid: Vec<u8>) -> Outcome {
    Outcome {
        user: authzid,
        authid,
        ssf: 0,
        maxoutbuf: 0,
        layer: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::testing::{params, FakeSession};

    #[test]
    fn rfc4616_examples() {
        // RFC 4616 section 4: "tim" / "tanstaaftanstaaf", and with authzid "Ursel".
        assert_eq!(&message(None, b"tim", b"tanstaaftanstaaf")[..], b"\0tim\0tanstaaftanstaaf");
        assert_eq!(&message(Some(b"Ursel"), b"Kurt", b"xipj3plmq")[..], b"Ursel\0Kurt\0xipj3plmq");
    }

    #[test]
    fn step_sends_once_and_reports_identities() {
        let mut s = FakeSession {
            authzid: Some("Ursel".into()),
            authname: Some("Kurt".into()),
            password: Some(b"xipj3plmq".to_vec()),
            ..Default::default()
        };
        let mut m = INFO.start(&params()).unwrap();
        assert_eq!(m.step(b"", &mut s).unwrap(), Step::Done(Some(b"Ursel\0Kurt\0xipj3plmq".to_vec())));
        let o = m.outcome().unwrap();
        assert_eq!((o.user(), &o.authid[..]), (&b"Ursel"[..], &b"Kurt"[..]));
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::BadProt);
    }

    #[test]
    fn names_are_bytes_and_a_redundant_authzid_is_not_sent() {
        // ISO 8859-1 "tést": sent as given.
        let mut s = FakeSession {
            authzid: Some(b"t\xe9st".to_vec()),
            authname: Some(b"t\xe9st".to_vec()),
            password: Some(b"pw".to_vec()),
            ..Default::default()
        };
        let mut m = INFO.start(&params()).unwrap();
        assert_eq!(m.step(b"", &mut s).unwrap(), Step::Done(Some(b"\0t\xe9st\0pw".to_vec())));
        assert_eq!(m.outcome().unwrap().user(), b"t\xe9st");
    }

    #[test]
    fn interaction_leaves_state_untouched() {
        let mut s = FakeSession {
            authname: Some("tim".into()),
            password: Some(b"pw".to_vec()),
            interact_first: true,
            ..Default::default()
        };
        let mut m = INFO.start(&params()).unwrap();
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::Interact);
        assert_eq!(m.step(b"", &mut s).unwrap(), Step::Done(Some(b"\0tim\0pw".to_vec())));
    }
}
