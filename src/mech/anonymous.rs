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

const ANONYMOUS_ID: &[u8] = b"anonymous";
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
        // Like Cyrus: "anonymous" is the identity (canonicalised), the
        // user's trace is sent as entered.
        let creds = session.credentials(&Request {
            authzid: true,
            authname: false,
            password: false,
            realm: None,
            canon: Canon::Trace(ANONYMOUS_ID),
            authzid_default: Some(""),
            keep_password: false,
        })?;
        let who = creds.authzid.filter(|a| !a.is_empty()).unwrap_or_else(|| ANONYMOUS_ID.to_vec());
        let mut trace = who;
        trace.push(b'@');
        trace.extend_from_slice(session.client_hostname().as_bytes());
        if trace.len() > MAX_TRACE {
            // Never cut inside a UTF-8 sequence.
            let mut cut = MAX_TRACE;
            while cut > 0 && trace[cut] & 0xC0 == 0x80 {
                cut -= 1;
            }
            trace.truncate(cut);
        }
        self.done = true;
        let identity = creds.authname.unwrap_or_else(|| ANONYMOUS_ID.to_vec());
        self.outcome = Some(Outcome::without_layer(None, identity));
        Ok(Step::Done(Some(trace)))
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
        assert_eq!(m.outcome().unwrap().user(), b"anonymous");
    }

    #[test]
    fn trace_is_bounded() {
        let mut s = FakeSession { authzid: Some("é".repeat(300).into()), hostname: "h".into(), ..Default::default() };
        let mut m = INFO.start(&params()).unwrap();
        let Step::Done(Some(out)) = m.step(b"", &mut s).unwrap() else { panic!() };
        assert!(out.len() <= MAX_TRACE && std::str::from_utf8(&out).is_ok());
    }
}
