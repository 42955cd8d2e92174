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
    /// Held between the two challenges; wiped on drop.
    password: Option<Secret>,
    outcome: Option<Outcome>,
    done: bool,
}

impl ClientMech for Login {
    fn step(&mut self, _challenge: &[u8], session: &mut dyn Session) -> Result<Step> {
        if self.done {
            return Err(Error::bad_prot("LOGIN has no further steps"));
        }
        match self.password.take() {
            None => {
                // The server's "Username:" prompt; its text is not significant.
                let creds = session.credentials(&Request { authzid: false, ..Request::USER_PASS })?;
                let authname = creds.authname.unwrap_or_default();
                self.password = Some(creds.password.unwrap_or_default());
                let out = authname.clone();
                self.outcome = Some(Outcome::without_layer(None, authname));
                Ok(Step::Continue(out))
            }
            Some(password) => {
                self.done = true;
                Ok(Step::Done(Some(password.to_vec())))
            }
        }
    }

    fn outcome(&mut self) -> Result<Outcome> {
        self.outcome.take().ok_or_else(|| Error::new(Code::NotDone, "LOGIN has not finished"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mech::testing::{params, FakeSession};

    #[test]
    fn user_then_password() {
        let mut s = FakeSession {
            authname: Some("tim".into()),
            password: Some(b"secret".to_vec()),
            ..Default::default()
        };
        let mut m = INFO.start(&params()).unwrap();
        assert_eq!(m.step(b"Username:", &mut s).unwrap(), Step::Continue(b"tim".to_vec()));
        assert_eq!(m.step(b"Password:", &mut s).unwrap(), Step::Done(Some(b"secret".to_vec())));
        assert_eq!(m.outcome().unwrap().user(), b"tim");
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::BadProt);
    }
}
