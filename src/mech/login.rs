//! LOGIN (draft-murchison-sasl-login): the user name, then the password, each
//! in answer to a server prompt.
use super::*;

pub static INFO: MechInfo = MechInfo {
    name: "LOGIN",
    max_ssf: 0,
    security_flags: sec::NOANONYMOUS | sec::PASS_CREDENTIALS,
    features: feat::SERVER_FIRST,
    required: NEEDS_USER_PASS,
    last_resort: false,
    factory: &(new as NewFn),
};

fn new(_: &Params<'_>) -> Result<Box<dyn ClientMech>> {
    Ok(Box::new(Login::default()))
}

#[derive(Default)]
struct Login {
    /// Set once the name is sent.
    outcome: Option<Outcome>,
    done: bool,
}

impl ClientMech for Login {
    fn step(&mut self, _challenge: &[u8], session: &mut dyn Session) -> Result<Step> {
        if self.done {
            return Err(Error::bad_prot("LOGIN has no further steps"));
        }
        // Each in answer to its own server prompt (whose text is not
        // significant), and asked for then, as Cyrus does: the password is
        // not asked for (nor prompted) before the server wants it.
        let only = Request { authzid: false, authname: false, password: false, ..Request::USER_PASS };
        if self.outcome.is_none() {
            let creds = session.credentials(&Request { authname: true, ..only })?;
            let authname = creds.authname.unwrap_or_default();
            let out = authname.clone();
            self.outcome = Some(Outcome::without_layer(None, authname));
            return Ok(Step::Continue(out));
        }
        let creds = session.credentials(&Request { password: true, ..only })?;
        self.done = true;
        Ok(Step::Done(Some(creds.password.unwrap_or_default().to_vec())))
    }

    fn outcome(&mut self) -> Result<Outcome> {
        let not_done = || Error::new(Code::NotDone, "LOGIN has not finished");
        if !self.done {
            return Err(not_done());
        }
        self.outcome.take().ok_or_else(not_done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::testing::{params, FakeSession};

    /// Each asked for when the server prompts for it, as in Cyrus.
    #[test]
    fn user_then_password() {
        let mut s = FakeSession {
            authname: Some("tim".into()),
            password: Some(b"secret".to_vec()),
            ..Default::default()
        };
        let mut m = INFO.start(&params()).unwrap();
        assert_eq!(m.step(b"Username:", &mut s).unwrap(), Step::Continue(b"tim".to_vec()));
        assert_eq!(s.requests, 1);
        assert_eq!(m.outcome().unwrap_err().code, Code::NotDone);
        assert_eq!(m.step(b"Password:", &mut s).unwrap(), Step::Done(Some(b"secret".to_vec())));
        assert_eq!(s.requests, 2);
        assert_eq!(m.outcome().unwrap().user(), b"tim");
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::BadProt);
    }
}
