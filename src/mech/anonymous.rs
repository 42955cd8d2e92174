//! ANONYMOUS (RFC 4505). Like Cyrus, the trace is `<user>@<client host>`,
//! the user (SASL_CB_USER) defaulting to "anonymous"; the identity is "anonymous".
use super::*;

pub static INFO: MechInfo = MechInfo {
    name: "ANONYMOUS",
    max_ssf: 0,
    security_flags: sec::NOPLAINTEXT,
    features: feat::WANT_CLIENT_FIRST,
    required: &[],
    last_resort: false,
    factory: &(new as NewFn),
};

fn new(_: &Params<'_>) -> Result<Box<dyn ClientMech>> {
    Ok(Box::new(Anonymous { done: false, outcome: None }))
}

const ANONYMOUS_ID: &str = "anonymous";
/// RFC 4505: the trace is at most 255 characters.
const MAX_TRACE: usize = 255;

struct Anonymous {
    done: bool,
    outcome: Option<Outcome>,
}

impl ClientMech for Anonymous {
    fn step(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step> {
        if self.done {
            return Err(Error::bad_prot("ANONYMOUS has no further steps"));
        }
        if !input.is_empty() {
            return Err(Error::bad_prot("ANONYMOUS expects no challenge from the server"));
        }
        let creds = session.credentials(&Request {
            authzid: true,
            authname: false,
            password: false,
            realm: None,
        })?;
        let who = creds.authzid.filter(|a| !a.is_empty()).unwrap_or_else(|| ANONYMOUS_ID.into());
        let mut trace = format!("{who}@{}", session.client_hostname());
        if trace.len() > MAX_TRACE {
            let mut cut = MAX_TRACE;
            while !trace.is_char_boundary(cut) {
                cut -= 1;
            }
            trace.truncate(cut);
        }
        self.done = true;
        self.outcome = Some(super::plain::simple_outcome(None, ANONYMOUS_ID.into()));
        Ok(Step::Done(Some(trace.into_bytes())))
    }

    fn outcome(&mut self) -> Result<Outcome> {
        self.outcome.take().ok_or_else(|| Error::new(Code::NotDone, "ANONYMOUS has not run"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::testing::{params, FakeSession};

    #[test]
    fn trace_and_identity() {
        let mut s = FakeSession { authzid: Some("sirhc".into()), hostname: "host".into(), ..Default::default() };
        let mut m = INFO.start(&params()).unwrap();
        assert_eq!(m.step(b"", &mut s).unwrap(), Step::Done(Some(b"sirhc@host".to_vec())));
        assert_eq!(m.outcome().unwrap().user(), "anonymous");
    }

    #[test]
    fn trace_is_bounded() {
        let mut s = FakeSession { authzid: Some("é".repeat(300)), hostname: "h".into(), ..Default::default() };
        let mut m = INFO.start(&params()).unwrap();
        let Step::Done(Some(out)) = m.step(b"", &mut s).unwrap() else { panic!() };
        assert!(out.len() <= MAX_TRACE && std::str::from_utf8(&out).is_ok());
    }
}
