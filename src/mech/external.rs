//! EXTERNAL (RFC 4422 appendix A): identity comes from outside SASL (a TLS
//! client certificate, a unix socket's peer credentials); the client sends
//! only an optional authorization identity.
use super::*;

pub static INFO: MechInfo = MechInfo {
    name: "EXTERNAL",
    max_ssf: 0,
    security_flags: sec::NOPLAINTEXT | sec::NOANONYMOUS | sec::NODICTIONARY,
    features: feat::WANT_CLIENT_FIRST | feat::ALLOWS_PROXY,
    required: &[],
    last_resort: false,
    factory: &ExternalFactory,
};

struct ExternalFactory;

impl Factory for ExternalFactory {
    fn start(&self, params: &Params<'_>) -> Result<Box<dyn ClientMech>> {
        self.check(params).map_err(|why| Error::new(Code::NoMech, format!("EXTERNAL: {why}")))?;
        let authid = params.external_authid.unwrap_or_default();
        Ok(Box::new(External { authid: authid.to_vec(), done: false, outcome: None }))
    }

    /// Cyrus selects EXTERNAL without an external identity and then fails
    /// the whole start; passing it over lets selection go on.
    fn check(&self, params: &Params<'_>) -> std::result::Result<(), String> {
        match params.external_authid {
            Some(_) => Ok(()),
            None => Err("no external identity is set (SASL_AUTH_EXTERNAL)".into()),
        }
    }
}

struct External {
    authid: Vec<u8>,
    done: bool,
    outcome: Option<Outcome>,
}

impl ClientMech for External {
    fn step(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step> {
        if self.done {
            return Err(Error::bad_prot("EXTERNAL has no further steps"));
        }
        if !input.is_empty() {
            return Err(Error::bad_prot("EXTERNAL expects no challenge from the server"));
        }
        let none = Request { authzid: false, authname: false, password: false, ..Request::USER_PASS };
        let ask = Request { authzid: true, canon: Canon::Deferred, authzid_default: Some(""), ..none };
        let raw = session.credentials(&ask)?.authzid.filter(|z| !z.is_empty());
        let creds = session.credentials(&Request {
            canon: Canon::Established { authid: &self.authid, authzid: raw.as_deref() },
            ..none
        })?;
        let authid = creds.authname.unwrap_or_default();
        // As Cyrus's: the authzid goes out as the application gave it;
        // SASL_USERNAME reports its canonical form.
        let out = if creds.authzid.is_some() { raw.unwrap_or_default() } else { Vec::new() };
        self.done = true;
        self.outcome = Some(Outcome::without_layer(creds.authzid, authid));
        Ok(Step::Done(Some(out)))
    }

    fn outcome(&mut self) -> Result<Outcome> {
        self.outcome.take().ok_or_else(|| Error::new(Code::NotDone, "EXTERNAL has not run"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::testing::{params, FakeSession};

    #[test]
    fn sends_authzid_or_nothing() {
        let p = Params { external_authid: Some(b"cn=me"), ..params() };
        let mut m = INFO.start(&p).unwrap();
        let mut s = FakeSession::default();
        assert_eq!(m.step(b"", &mut s).unwrap(), Step::Done(Some(Vec::new())));
        let o = m.outcome().unwrap();
        assert_eq!((o.user(), &o.authid[..]), (&b"cn=me"[..], &b"cn=me"[..]));

        let mut m = INFO.start(&p).unwrap();
        let mut s = FakeSession { authzid: Some("bob".into()), ..Default::default() };
        assert_eq!(m.step(b"", &mut s).unwrap(), Step::Done(Some(b"bob".to_vec())));
    }

    #[test]
    fn needs_external_identity() {
        assert_eq!(INFO.start(&params()).err().unwrap().code, Code::NoMech);
    }
}
