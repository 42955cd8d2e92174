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

/// The PLAIN message; authzid is sent only when non-empty, as Cyrus does.
pub fn message(authzid: Option<&str>, authcid: &str, password: &[u8]) -> Secret {
    let authzid = authzid.unwrap_or("");
    // One spare byte: the C layer appends a NUL without reallocating.
    let mut out = Secret::new(Vec::with_capacity(authzid.len() + authcid.len() + password.len() + 3));
    out.extend_from_slice(authzid.as_bytes());
    out.push(0);
    out.extend_from_slice(authcid.as_bytes());
    out.push(0);
    out.extend_from_slice(password);
    out
}

impl ClientMech for Plain {
    fn step(&mut self, _input: &[u8], session: &mut dyn Session) -> Result<Step> {
        if self.done {
            return Err(Error::bad_prot("PLAIN has no further steps"));
        }
        let creds = session.credentials(&Request::USER_PASS)?;
        let authname = creds.authname.unwrap_or_default();
        let password = creds.password.unwrap_or_default();
        let authzid = creds.authzid.filter(|z| !z.is_empty());
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
pub(crate) fn simple_outcome(authzid: Option<String>, authid: String) -> Outcome {
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
        assert_eq!(&message(None, "tim", b"tanstaaftanstaaf")[..], b"\0tim\0tanstaaftanstaaf");
        assert_eq!(&message(Some("Ursel"), "Kurt", b"xipj3plmq")[..], b"Ursel\0Kurt\0xipj3plmq");
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
        assert_eq!((o.user(), o.authid.as_str()), ("Ursel", "Kurt"));
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::BadProt);
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
