//! GS2-KRB5 and GS2-KRB5-PLUS (RFC 5801): Kerberos through the GS2 bridge.
//! The first message is the GS2 header (channel-binding flag, optional
//! authorization identity) followed by the first Kerberos token without its
//! RFC 2743 framing; the header (and, for -PLUS, the channel-binding data)
//! is bound into the context as channel-binding application data. No
//! security layer.
use super::gss::{self, flags, CredHandle, GssMech, Provider, ProviderFn, SecContext};
use super::*;

pub static GS2_KRB5: MechInfo = MechInfo {
    name: "GS2-KRB5",
    max_ssf: 0,
    // What Cyrus derives from the Kerberos mechanism's attributes.
    security_flags: sec::NOPLAINTEXT | sec::NOACTIVE | sec::NOANONYMOUS | sec::MUTUAL_AUTH | sec::PASS_CREDENTIALS,
    features: feat::NEED_SERVER_FQDN | feat::WANT_CLIENT_FIRST | feat::CHANNEL_BINDING,
    required: &[],
    last_resort: false,
    factory: &Gs2Factory { provider: crate::gss::system },
};

/// Cyrus's `SASL_MAXOUTBUF` after GS2 (there is no layer to limit it).
const GS2_MAXOUTBUF: u32 = 0xFF_FFFF;

/// DER encoding of the Kerberos V5 mechanism OID 1.2.840.113554.1.2.2.
const KRB5_OID_DER: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

pub struct Gs2Factory {
    pub provider: ProviderFn,
}

impl Factory for Gs2Factory {
    fn start(&self, params: &Params<'_>) -> Result<Box<dyn ClientMech>> {
        Gs2::start(gss::provider_for(self.provider, "GS2-KRB5")?, params)
    }

    fn check(&self, _params: &Params<'_>) -> std::result::Result<(), String> {
        gss::check(self.provider)
    }

    fn credential(&self, params: &Params<'_>) -> std::result::Result<(), String> {
        gss::credential(self.provider, params)
    }
}

struct Gs2 {
    provider: &'static dyn Provider,
    service: String,
    host: String,
    cred: Option<CredHandle>,
    /// The gs2-cb-flag: `n`, `y` or `p=<name>`.
    cb_flag: String,
    /// The channel-binding data, when the flag is `p`.
    cb_data: Option<Vec<u8>>,
    delegate: bool,
    ctx: Option<Box<dyn SecContext>>,
    started: bool,
    authzid: Option<Option<Vec<u8>>>,
    done: bool,
    outcome: Option<Outcome>,
}

impl Gs2 {
    fn start(provider: &'static dyn Provider, params: &Params<'_>) -> Result<Box<dyn ClientMech>> {
        let host = params.server_fqdn.filter(|h| !h.is_empty());
        let host = host.ok_or_else(|| Error::fail("GS2 Failure: no serverFQDN"))?;
        let (cb_flag, cb_data) = match (params.cb_disposition, params.channel_binding) {
            (CbDisposition::Used, Some(cb)) => (format!("p={}", cb.name), Some(cb.data.clone())),
            (CbDisposition::Used, None) => return Err(Error::bad_param("GS2: channel binding without binding data")),
            (CbDisposition::Want, _) => ("y".to_owned(), None),
            (CbDisposition::None, _) => ("n".to_owned(), None),
        };
        Ok(Box::new(Gs2 {
            provider,
            service: params.service.to_owned(),
            host: host.to_owned(),
            cred: params.gss_creds,
            cb_flag,
            cb_data,
            delegate: params.props.security_flags & sec::PASS_CREDENTIALS != 0,
            ctx: None,
            started: false,
            authzid: None,
            done: false,
            outcome: None,
        }))
    }

    fn fail(&self, status: gss::Status) -> Error {
        gss::failure(self.provider, "GS2", status)
    }

    /// The gs2-header: `<cb-flag>,[a=<authzid>],` with `,` and `=` escaped.
    fn header(&self) -> Vec<u8> {
        let mut header = format!("{},", self.cb_flag).into_bytes();
        if let Some(authzid) = self.authzid.as_ref().and_then(Option::as_deref) {
            header.extend_from_slice(b"a=");
            for &b in authzid {
                match b {
                    b',' => header.extend_from_slice(b"=2C"),
                    b'=' => header.extend_from_slice(b"=3D"),
                    b => header.push(b),
                }
            }
        }
        header.push(b',');
        header
    }
}

/// The inner token of an RFC 2743 section 3.1 initial context token
/// (`0x60`, DER length, the mechanism's OID, the token), refusing anything
/// else: GS2 sends the Kerberos token without that framing.
fn strip_framing(token: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = token.split_first()?;
    if tag != 0x60 {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if !(1..=4).contains(&n) || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| a << 8 | b as usize);
        (len, &rest[n..])
    };
    if len != rest.len() {
        return None;
    }
    rest.strip_prefix(KRB5_OID_DER)
}

impl ClientMech for Gs2 {
    fn step(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step> {
        if self.done {
            return Err(Error::bad_prot("GS2 exchange is already complete"));
        }
        if self.authzid.is_none() {
            let creds = session.credentials(&Request {
                authzid: true,
                authname: false,
                password: false,
                realm: None,
                canon: Canon::AuthidFirst,
                authzid_default: None,
                keep_password: false,
            })?;
            self.authzid = Some(creds.authzid.filter(|z| !z.is_empty()));
        }
        if self.ctx.is_none() {
            let ctx = self.provider.new_context(GssMech::Krb5, &self.service, &self.host, self.cred);
            self.ctx = Some(ctx.map_err(|s| self.fail(s))?);
        }
        if input.is_empty() && self.started {
            // The server ignored our initial response: start over.
            self.ctx.as_mut().expect("created above").restart();
            self.started = false;
        }
        let initial = !self.started;
        let header = self.header();
        let mut bindings = header.clone();
        bindings.extend_from_slice(self.cb_data.as_deref().unwrap_or_default());
        let req = flags::MUTUAL | flags::SEQUENCE | if self.delegate { flags::DELEG } else { 0 };
        let input = (!input.is_empty()).then_some(input);
        let ctx = self.ctx.as_mut().expect("created above");
        let out = match ctx.init(req, Some(&bindings), input) {
            Ok(out) => out,
            Err(s) => return Err(self.fail(s)),
        };
        self.started = true;
        let message = if initial {
            let inner = strip_framing(&out.token)
                .ok_or_else(|| Error::fail("GS2 Failure: the Kerberos token has no RFC 2743 framing"))?;
            let mut m = header;
            m.extend_from_slice(inner);
            m
        } else {
            out.token
        };
        if !out.complete {
            return Ok(Step::Continue(message));
        }
        let wanted = flags::MUTUAL | flags::SEQUENCE;
        if out.flags & wanted != wanted {
            return Err(Error::bad_auth("GS2: the context lacks mutual authentication or sequencing"));
        }
        let ctx = self.ctx.take().expect("established");
        let principal = ctx.initiator_name().map_err(|s| self.fail(s))?;
        // The authzid was canonicalised for the GS2 header, before the
        // principal was known.
        let (authid, _) = super::gssapi::canonical_names(principal, None, session)?;
        self.done = true;
        self.outcome = Some(Outcome {
            user: self.authzid.clone().flatten(),
            authid,
            ssf: 0,
            maxoutbuf: GS2_MAXOUTBUF,
            layer: None,
        });
        Ok(Step::Done(Some(message)))
    }

    fn outcome(&mut self) -> Result<Outcome> {
        self.outcome.take().ok_or_else(|| Error::new(Code::NotDone, "GS2-KRB5 has not completed"))
    }
}

#[cfg(test)]
mod tests {
    use super::gss::fake::{frame, FakeGss, Script, Shared};
    use super::*;
    use crate::mech::testing::{params, FakeSession};

    #[test]
    fn framing_is_stripped_and_checked() {
        assert!(frame(b"x").starts_with(&[0x60, 12, 0x06, 0x09]));
        assert_eq!(strip_framing(&frame(b"AP-REQ")), Some(&b"AP-REQ"[..]));
        let long = vec![7u8; 300];
        assert_eq!(strip_framing(&frame(&long)), Some(&long[..]));
        assert_eq!(strip_framing(b"AP-REQ"), None);
        assert_eq!(strip_framing(&[0x60]), None);
        assert_eq!(strip_framing(&[0x60, 0x85, 0, 0, 0, 0, 1]), None);
        let mut wrong_len = frame(b"AP-REQ");
        wrong_len.push(0);
        assert_eq!(strip_framing(&wrong_len), None);
        let mut wrong_oid = frame(b"AP-REQ");
        wrong_oid[12] ^= 1;
        assert_eq!(strip_framing(&wrong_oid), None);
    }

    fn run(p: &Params<'_>, s: &mut FakeSession) -> (Vec<u8>, Result<Step>, Box<dyn ClientMech>, Shared) {
        let (g, script) = FakeGss::new(Script { frame_first: true, ..Default::default() });
        let mut m = Gs2::start(g, p).unwrap();
        let Step::Continue(first) = m.step(b"", s).unwrap() else { panic!() };
        let last = m.step(b"server-token-1", s);
        (first, last, m, script)
    }

    #[test]
    fn header_authzid_and_bindings() {
        let mut s = FakeSession { authzid: Some("a,b=c".into()), ..Default::default() };
        let (first, last, mut m, script) = run(&params(), &mut s);
        assert_eq!(first, b"n,a=a=2Cb=3Dc,client-token-1");
        assert_eq!(last.unwrap(), Step::Done(Some(Vec::new())));
        assert_eq!(script.lock().unwrap().channel_binding.as_deref(), Some(&b"n,a=a=2Cb=3Dc,"[..]));
        let o = m.outcome().unwrap();
        assert_eq!((o.user(), &o.authid[..], o.ssf, o.maxoutbuf), (&b"a,b=c"[..], &b"user@EXAMPLE.ORG"[..], 0, 0xFF_FFFF));
        assert!(o.layer.is_none());
    }

    #[test]
    fn plus_binds_the_channel() {
        let cb = ChannelBinding { name: "tls-unique".into(), critical: false, data: vec![1, 2, 3] };
        let p = Params { channel_binding: Some(&cb), cb_disposition: CbDisposition::Used, ..params() };
        let (first, last, _, script) = run(&p, &mut FakeSession::default());
        assert!(first.starts_with(b"p=tls-unique,,client-token-1"));
        assert!(last.is_ok());
        assert_eq!(script.lock().unwrap().channel_binding.as_deref(), Some(&b"p=tls-unique,,\x01\x02\x03"[..]));
        let p = Params { channel_binding: Some(&cb), cb_disposition: CbDisposition::Want, ..params() };
        let (first, _, _, _) = run(&p, &mut FakeSession::default());
        assert!(first.starts_with(b"y,,"));
    }

    #[test]
    fn hostile_and_unauthenticated_servers() {
        let (g, script) = FakeGss::new(Script { frame_first: true, ..Default::default() });
        let mut s = FakeSession::default();
        let mut m = Gs2::start(g, &params()).unwrap();
        m.step(b"", &mut s).unwrap();
        let e = m.step(b"forged", &mut s).unwrap_err();
        assert_eq!(e.code, Code::Fail);
        assert!(e.detail.starts_with("GS2 Error:"), "{}", e.detail);
        drop(m);
        assert_eq!(script.lock().unwrap().contexts_alive, 0);

        let (g, _) = FakeGss::new(Script { frame_first: true, ret_flags: Some(flags::SEQUENCE), ..Default::default() });
        let mut m = Gs2::start(g, &params()).unwrap();
        m.step(b"", &mut s).unwrap();
        assert_eq!(m.step(b"server-token-1", &mut s).unwrap_err().code, Code::BadAuth);

        // A library whose first token is not framed.
        let (g, _) = FakeGss::new(Script::default());
        let mut m = Gs2::start(g, &params()).unwrap();
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::Fail);
    }

    #[test]
    fn an_ignored_initial_response_restarts() {
        let (g, script) = FakeGss::new(Script { frame_first: true, ..Default::default() });
        let mut s = FakeSession::default();
        let mut m = Gs2::start(g, &params()).unwrap();
        let first = m.step(b"", &mut s).unwrap();
        assert_eq!(m.step(b"", &mut s).unwrap(), first);
        assert_eq!(script.lock().unwrap().restarts, 1);
        assert!(m.step(b"server-token-1", &mut s).is_ok());
    }
}
