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
    Ok(Box::new(Plain))
}

/// Stateless: its one step completes the exchange (the core never steps a
/// completed one again), so boxing it allocates nothing.
struct Plain;

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
        // Cyrus's PLAIN canonicalises the authzid first.
        let creds = session.credentials(&Request { canon: Canon::AuthzidFirst, ..Request::USER_PASS })?;
        let authname = creds.authname.unwrap_or_default();
        let password = creds.password.unwrap_or_default();
        let authzid = creds.authzid;
        let msg = message(authzid.as_deref(), &authname, &password);
        Ok(Step::DoneWith(Some(into_output(msg)), Outcome::without_layer(authzid, authname)))
    }

    fn outcome(&mut self) -> Result<Outcome> {
        // Never asked: the step that completes hands the outcome over.
        Err(Error::new(Code::NotDone, "PLAIN keeps no outcome"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::testing::{params, FakeSession};

    /// The message and outcome of a completing step.
    fn done(step: Result<Step>) -> (Vec<u8>, Outcome) {
        match step.unwrap() {
            Step::DoneWith(Some(out), outcome) => (out, outcome),
            other => panic!("not a completing step: {other:?}"),
        }
    }

    #[test]
    fn rfc4616_examples() {
        // RFC 4616 section 4: "tim" / "tanstaaftanstaaf", and with authzid "Ursel".
        assert_eq!(&message(None, b"tim", b"tanstaaftanstaaf")[..], b"\0tim\0tanstaaftanstaaf");
        assert_eq!(&message(Some(b"Ursel"), b"Kurt", b"xipj3plmq")[..], b"Ursel\0Kurt\0xipj3plmq");
    }

    #[test]
    fn step_completes_and_reports_identities() {
        let mut s = FakeSession {
            authzid: Some("Ursel".into()),
            authname: Some("Kurt".into()),
            password: Some(b"xipj3plmq".to_vec()),
            ..Default::default()
        };
        let mut m = INFO.start(&params()).unwrap();
        let (out, o) = done(m.step(b"", &mut s));
        assert_eq!(out, b"Ursel\0Kurt\0xipj3plmq");
        assert_eq!((o.user(), &o.authid[..], o.ssf, o.layer.is_none()), (&b"Ursel"[..], &b"Kurt"[..], 0, true));
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
        let (out, o) = done(m.step(b"", &mut s));
        assert_eq!(out, b"\0t\xe9st\0pw");
        assert_eq!(o.user(), b"t\xe9st");
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
        assert_eq!(done(m.step(b"", &mut s)).0, b"\0tim\0pw");
    }
}
