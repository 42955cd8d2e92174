//! GSSAPI (RFC 4752) and GSS-SPNEGO, the two mechanisms of Cyrus's
//! gssapiv2 plugin, over a GSS-API [`Provider`].
//!
//! GSSAPI: Kerberos tokens until the context is established (mutual
//! authentication is always requested and enforced), then the server's
//! wrapped 4-octet offer (layers it supports, its maximum buffer) and our
//! wrapped choice with our maximum buffer and the authorization identity.
//!
//! GSS-SPNEGO is the same exchange with the SPNEGO mechanism and no layer
//! negotiation: as in Cyrus, the layer follows the context's flags
//! (confidentiality when the context offers it), within our SSF bounds.
//! Over HTTP (`SASL_NEED_HTTP`) there is no layer.
use super::gss::{self, flags, CredHandle, GssMech, Provider, ProviderFn, SecContext};
use super::*;

/// Layer bits of the RFC 4752 negotiation.
const LAYER_NONE: u8 = 1;
const LAYER_INTEGRITY: u8 = 2;
const LAYER_CONFIDENTIALITY: u8 = 4;

/// The largest buffer size the 3-octet field can carry.
const MAX_BUFFER: u32 = 0xFF_FFFF;

/// The SSF of confidentiality when the library cannot tell (Cyrus's value
/// for single DES, the weakest Kerberos cipher).
const FALLBACK_SSF: u32 = 56;

const SECURITY: u32 =
    sec::NOPLAINTEXT | sec::NOACTIVE | sec::NOANONYMOUS | sec::MUTUAL_AUTH | sec::PASS_CREDENTIALS;

pub static GSSAPI: MechInfo = MechInfo {
    name: "GSSAPI",
    max_ssf: 256,
    security_flags: SECURITY,
    features: feat::NEED_SERVER_FQDN | feat::WANT_CLIENT_FIRST | feat::ALLOWS_PROXY,
    required: &[],
    last_resort: false,
    factory: &GssapiFactory { mech: GssMech::Krb5, provider: crate::gss::system },
};

pub static GSS_SPNEGO: MechInfo = MechInfo {
    name: "GSS-SPNEGO",
    max_ssf: 256,
    security_flags: SECURITY,
    features: feat::NEED_SERVER_FQDN | feat::WANT_CLIENT_FIRST | feat::ALLOWS_PROXY | feat::SUPPORTS_HTTP,
    required: &[],
    last_resort: false,
    factory: &GssapiFactory { mech: GssMech::Spnego, provider: crate::gss::system },
};

pub struct GssapiFactory {
    pub mech: GssMech,
    pub provider: ProviderFn,
}

impl GssapiFactory {
    fn name(&self) -> &'static str {
        match self.mech {
            GssMech::Krb5 => "GSSAPI",
            GssMech::Spnego => "GSS-SPNEGO",
        }
    }
}

impl Factory for GssapiFactory {
    fn start(&self, params: &Params<'_>) -> Result<Box<dyn ClientMech>> {
        Gssapi::start(gss::provider_for(self.provider, self.name())?, self.mech, params)
    }

    fn check(&self, _params: &Params<'_>) -> std::result::Result<(), String> {
        gss::check(self.provider)
    }

    fn credential(&self, params: &Params<'_>) -> std::result::Result<(), String> {
        gss::credential(self.provider, params)
    }
}

/// The steps, numbered as Cyrus logs them ("GSSAPI client step N").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Exchanging context tokens.
    AuthNeg = 1,
    /// Context established; waiting for the server's layer offer.
    SsfCap = 2,
    Done = 4,
}

struct Gssapi {
    provider: &'static dyn Provider,
    mech: GssMech,
    service: String,
    host: String,
    cred: Option<CredHandle>,
    props: SecurityProps,
    external_ssf: u32,
    http: bool,
    /// Created at the first step (importing the target's name).
    ctx: Option<Box<dyn SecContext>>,
    /// Whether the context has produced a token yet.
    started: bool,
    /// The authorization identity as the application gave it, once asked
    /// for (None inside: no name at all), until the context is established;
    /// then its canonical form (None inside: none).
    authzid: Option<Option<Vec<u8>>>,
    /// The client principal, once the context is established.
    authid: Vec<u8>,
    /// The established context's flags.
    flags: u32,
    state: State,
    outcome: Option<Outcome>,
}

/// SSF bounds relative to an external layer: (need, allowed). An
/// application that accepts no layer (maxbufsize 0) gets none.
fn bounds(props: &SecurityProps, external_ssf: u32) -> (u32, u32) {
    let need = props.min_ssf.saturating_sub(external_ssf);
    let allowed = if props.maxbufsize == 0 { 0 } else { props.max_ssf.saturating_sub(external_ssf) };
    (need, allowed)
}

/// The layers a context's flags make possible.
fn layers_of(ctx_flags: u32) -> u8 {
    if ctx_flags & flags::INTEG == 0 {
        LAYER_NONE
    } else if ctx_flags & flags::CONF == 0 {
        LAYER_NONE | LAYER_INTEGRITY
    } else {
        LAYER_NONE | LAYER_INTEGRITY | LAYER_CONFIDENTIALITY
    }
}

/// Cyrus's choice: the strongest layer that we can do, the server offers and
/// the SSF bounds allow; returns the layer bit and its SSF.
fn choose_layer(
    ours: u8,
    server: u8,
    props: &SecurityProps,
    external_ssf: u32,
    mech_ssf: u32,
) -> Result<(u8, u32)> {
    if props.min_ssf > mech_ssf.saturating_add(external_ssf) {
        return Err(Error::new(
            Code::TooWeak,
            format!("GSSAPI: the minimum SSF {} is above what Kerberos provides ({mech_ssf})", props.min_ssf),
        ));
    }
    if props.min_ssf > props.max_ssf {
        return Err(Error::bad_param("GSSAPI: the minimum SSF is above the maximum SSF"));
    }
    let (need, allowed) = bounds(props, external_ssf);
    let both = ours & server;
    if both & LAYER_CONFIDENTIALITY != 0 && allowed >= mech_ssf && need <= mech_ssf {
        Ok((LAYER_CONFIDENTIALITY, mech_ssf))
    } else if both & LAYER_INTEGRITY != 0 && allowed >= 1 && need <= 1 {
        Ok((LAYER_INTEGRITY, 1))
    } else if both & LAYER_NONE != 0 && need == 0 {
        Ok((LAYER_NONE, 0))
    } else {
        Err(Error::new(Code::TooWeak, "GSSAPI: no security layer the server offers is within the SSF bounds"))
    }
}

impl Gssapi {
    fn start(provider: &'static dyn Provider, mech: GssMech, params: &Params<'_>) -> Result<Box<dyn ClientMech>> {
        let host = params.server_fqdn.filter(|h| !h.is_empty());
        let host = host.ok_or_else(|| Error::fail("GSSAPI Failure: no serverFQDN"))?;
        Ok(Box::new(Gssapi {
            provider,
            mech,
            service: params.service.to_owned(),
            host: host.to_owned(),
            cred: params.gss_creds,
            props: params.props,
            external_ssf: params.external_ssf,
            http: params.flags & conn_flags::NEED_HTTP != 0,
            ctx: None,
            started: false,
            authzid: None,
            authid: Vec::new(),
            flags: 0,
            state: State::AuthNeg,
            outcome: None,
        }))
    }

    fn fail(&self, status: gss::Status) -> Error {
        gss::failure(self.provider, "GSSAPI", status)
    }

    /// The flags we ask the context for (as Cyrus: integrity when a layer
    /// is possible, confidentiality when more than SSF 1 is allowed).
    fn req_flags(&self) -> u32 {
        let mut req = flags::MUTUAL | flags::SEQUENCE;
        let (_, allowed) = bounds(&self.props, self.external_ssf);
        if allowed > 0 {
            req |= flags::INTEG;
        }
        if allowed > 1 {
            req |= flags::CONF;
        }
        if self.props.security_flags & sec::PASS_CREDENTIALS != 0 {
            req |= flags::DELEG;
        }
        req
    }

    fn authneg(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step> {
        if !matches!(self.authzid, Some(Some(_))) {
            // Asked at every step of the negotiation until the application
            // gives a name (one answering NULL is asked again), before the
            // context moves, as Cyrus does: its first prompt comes from
            // sasl_client_start, and a prompt answered here is resumed
            // without running the context's step twice. Canonicalised with
            // the principal once the context is established.
            self.authzid = Some(ask_authzid(session)?);
        }
        if self.ctx.is_none() {
            let ctx = self.provider.new_context(self.mech, &self.service, &self.host, self.cred);
            self.ctx = Some(ctx.map_err(|s| self.fail(s))?);
        }
        let req = self.req_flags();
        let ctx = self.ctx.as_mut().expect("created above");
        if input.is_empty() && self.started {
            // A server that ignored our initial response (IMAP without
            // SASL-IR) starts over with an empty challenge; so do we.
            ctx.restart();
            self.started = false;
        }
        let input = (!input.is_empty()).then_some(input);
        let out = match ctx.init(req, None, input) {
            Ok(out) => out,
            Err(s) => return Err(self.fail(s)),
        };
        self.started = true;
        if !out.complete {
            return Ok(Step::Continue(out.token));
        }
        self.flags = out.flags;
        if out.flags & flags::MUTUAL == 0 {
            return Err(Error::bad_serv("GSSAPI: the server did not authenticate itself (no mutual authentication)"));
        }
        if req & flags::DELEG != 0 && out.flags & flags::DELEG == 0 {
            session.log(LogLevel::Warn, "GSSAPI warning: no credentials were passed");
        }
        let principal = ctx.initiator_name().map_err(|s| self.fail(s))?;
        let authzid = self.authzid.take().flatten().filter(|z| !z.is_empty());
        let (authid, authzid) = canonical_names(principal, authzid.as_deref(), session)?;
        (self.authid, self.authzid) = (authid, Some(authzid));
        match (self.mech, self.http) {
            (GssMech::Spnego, true) => {
                self.finish(LAYER_NONE, 0, 0);
                Ok(Step::Done(Some(out.token)))
            }
            (GssMech::Spnego, false) => {
                // No negotiation: the context's flags are the offer on both
                // sides. The peer's buffer is unknown: assume it takes
                // packets as large as ours (Cyrus ignores the token's
                // overhead here, and overflows a peer with the same limit).
                let offered = layers_of(out.flags);
                let mech_ssf = self.mech_ssf(offered)?;
                let (layer, ssf) = choose_layer(offered, offered, &self.props, self.external_ssf, mech_ssf)?;
                let peer_max = self.props.maxbufsize.min(MAX_BUFFER);
                let maxoutbuf = if layer == LAYER_NONE { 0 } else { self.max_plaintext(peer_max)? };
                if layer != LAYER_NONE && maxoutbuf == 0 {
                    // The limit is the application's own, assumed for the peer.
                    return Err(Error::bad_param(format!(
                        "GSS-SPNEGO: a buffer of maxbufsize ({peer_max} bytes) cannot hold one protected byte"
                    )));
                }
                self.finish(layer, ssf, maxoutbuf);
                Ok(Step::Done(Some(out.token)))
            }
            (GssMech::Krb5, _) => {
                self.state = State::SsfCap;
                Ok(Step::Continue(out.token))
            }
        }
    }

    /// The SSF confidentiality gives, asked only when it is on offer.
    fn mech_ssf(&self, offered: u8) -> Result<u32> {
        if offered & LAYER_CONFIDENTIALITY == 0 {
            return Ok(FALLBACK_SSF);
        }
        let ctx = self.ctx.as_ref().expect("established");
        match ctx.sasl_ssf() {
            Ok(ssf) => Ok(ssf.unwrap_or(FALLBACK_SSF)),
            Err(s) => Err(self.fail(s)),
        }
    }

    /// `SASL_MAXOUTBUF` for a peer accepting `peer_max`-byte packets: the
    /// largest plaintext whose token fits (computed with confidentiality, as
    /// Cyrus does, the larger overhead); 0 when not even one byte's does (the
    /// caller says whose limit that was).
    fn max_plaintext(&self, peer_max: u32) -> Result<u32> {
        let ctx = self.ctx.as_ref().expect("established");
        let limit = ctx.wrap_size_limit(true, peer_max).map_err(|s| self.fail(s))?;
        // A library answering more than the token size itself (Cyrus saw
        // Heimdal do so) gets its excess taken off, as in Cyrus.
        Ok(if limit > peer_max { peer_max.saturating_sub(limit - peer_max) } else { limit })
    }

    fn ssfcap(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step> {
        let ctx = self.ctx.as_mut().expect("established");
        let mut offer = Vec::with_capacity(4);
        if let Err(s) = ctx.unwrap(input, &mut offer) {
            return Err(self.fail(s));
        }
        if offer.len() != 4 {
            let what = if offer.len() < 4 { "token too short" } else { "token too long" };
            return Err(Error::fail(format!("GSSAPI: the server's security layer offer: {what}")));
        }
        let ours = layers_of(self.flags);
        let mech_ssf = self.mech_ssf(ours)?;
        let (mut choice, ssf) = choose_layer(ours, offer[0], &self.props, self.external_ssf, mech_ssf)?;
        let server_max = u32::from_be_bytes([0, offer[1], offer[2], offer[3]]);
        let maxoutbuf = if choice == LAYER_NONE { server_max } else { self.max_plaintext(server_max)? };
        if choice != LAYER_NONE && maxoutbuf == 0 {
            return Err(Error::bad_prot(format!(
                "GSSAPI: the server's maximum buffer ({server_max} bytes) cannot hold one protected byte"
            )));
        }
        if choice == LAYER_CONFIDENTIALITY && offer[0] & LAYER_INTEGRITY != 0 && ad_compat(session) {
            // Active Directory wants both bits when choosing confidentiality.
            choice |= LAYER_INTEGRITY;
        }
        let our_max = if choice == LAYER_NONE { 0 } else { self.props.maxbufsize.min(MAX_BUFFER) };
        let authzid = self.authzid.clone().flatten().unwrap_or_default();
        let mut reply = Vec::with_capacity(4 + authzid.len());
        reply.push(choice);
        reply.extend_from_slice(&our_max.to_be_bytes()[1..]);
        reply.extend_from_slice(&authzid);
        let mut token = Vec::new();
        let ctx = self.ctx.as_mut().expect("established");
        if let Err(s) = ctx.wrap(false, &reply, &mut token) {
            return Err(self.fail(s));
        }
        let layer = if choice & LAYER_CONFIDENTIALITY != 0 {
            LAYER_CONFIDENTIALITY
        } else {
            choice
        };
        self.finish(layer, ssf, maxoutbuf);
        Ok(Step::Done(Some(token)))
    }

    /// Records the outcome; the context moves into the layer, if any.
    fn finish(&mut self, layer: u8, ssf: u32, maxoutbuf: u32) {
        self.state = State::Done;
        let ctx = self.ctx.take().expect("established");
        let layer: Option<Box<dyn SecurityLayer>> = match layer {
            LAYER_NONE => None,
            _ => Some(Box::new(GssLayer {
                ctx,
                provider: self.provider,
                conf: layer == LAYER_CONFIDENTIALITY,
                // What GSSAPI advertised; GSS-SPNEGO's limit, as in Cyrus.
                max_recv: self.props.maxbufsize.min(MAX_BUFFER) as usize,
                // GSS-SPNEGO's peer chose its layer alone: accept either.
                require_conf: layer == LAYER_CONFIDENTIALITY && self.mech == GssMech::Krb5,
            })),
        };
        self.outcome = Some(Outcome {
            user: self.authzid.clone().flatten(),
            authid: std::mem::take(&mut self.authid),
            ssf,
            maxoutbuf,
            layer,
        });
    }
}

/// The authzid as the application gives it (`SASL_CB_USER` or a prompt).
fn ask_authzid(session: &mut dyn Session) -> Result<Option<Vec<u8>>> {
    let creds = session.credentials(&Request {
        authzid: true,
        authname: false,
        password: false,
        realm: None,
        canon: Canon::Deferred,
        authzid_default: None,
        keep_password: false,
    })?;
    Ok(creds.authzid)
}

/// The client principal and the authzid asked for earlier (raw) through the
/// application's canonicalisation (`SASL_CB_CANON_USER`), as Cyrus's GSSAPI
/// does once the context is established: the authzid, then the principal
/// with SASL_CU_AUTHID alone; the principal with both flags when there is
/// no authzid.
pub(crate) fn canonical_names(
    principal: String,
    authzid: Option<&[u8]>,
    session: &mut dyn Session,
) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let creds = session.credentials(&Request {
        authzid: false,
        authname: false,
        password: false,
        realm: None,
        canon: Canon::Established { authid: principal.as_bytes(), authzid },
        authzid_default: None,
        keep_password: false,
    })?;
    Ok((creds.authname.unwrap_or_else(|| principal.into_bytes()), creds.authzid))
}

/// Cyrus's `ad_compat` option (`SASL_CB_GETOPT`): true for 1, y..., on, t....
fn ad_compat(session: &mut dyn Session) -> bool {
    session.option("ad_compat").is_some_and(|v| {
        let v = v.as_bytes();
        matches!(v.first(), Some(b'1' | b'y' | b't')) || v.starts_with(b"on")
    })
}

impl ClientMech for Gssapi {
    fn step(&mut self, input: &[u8], session: &mut dyn Session) -> Result<Step> {
        session.log(LogLevel::Debug, &format!("GSSAPI client step {}", self.state as u8));
        match self.state {
            State::AuthNeg => self.authneg(input, session),
            State::SsfCap => self.ssfcap(input, session),
            State::Done => Err(Error::bad_prot("GSSAPI exchange is already complete")),
        }
    }

    fn outcome(&mut self) -> Result<Outcome> {
        self.outcome.take().ok_or_else(|| Error::new(Code::NotDone, "GSSAPI has not completed"))
    }
}

/// The security layer: one `gss_wrap`/`gss_unwrap` per packet.
struct GssLayer {
    ctx: Box<dyn SecContext>,
    provider: &'static dyn Provider,
    conf: bool,
    max_recv: usize,
    /// Refuse packets that were not encrypted (a negotiated
    /// confidentiality layer).
    require_conf: bool,
}

impl SecurityLayer for GssLayer {
    fn max_recv(&self) -> usize {
        self.max_recv
    }

    fn wrap(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<()> {
        match self.ctx.wrap(self.conf, plain, out) {
            Ok(applied) if applied || !self.conf => Ok(()),
            Ok(_) => Err(Error::fail("GSSAPI: the library did not encrypt on a confidentiality layer")),
            Err(s) => Err(gss::layer_failure(self.provider, s)),
        }
    }

    fn unwrap(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let before = out.len();
        match self.ctx.unwrap(packet, out) {
            Ok(encrypted) if encrypted || !self.require_conf => Ok(()),
            Ok(_) => {
                out.truncate(before);
                Err(Error::fail("GSSAPI: an unencrypted packet on a confidentiality layer"))
            }
            Err(s) => {
                out.truncate(before);
                Err(gss::layer_failure(self.provider, s))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::gss::fake::{peer_unwrap, peer_wrap, FakeGss, Script, Shared};
    use super::*;
    use crate::mech::testing::{params, FakeSession};

    fn fake(script: Script) -> (&'static FakeGss, Shared) {
        FakeGss::new(script)
    }

    /// A mechanism on a fake provider (GSSAPI or GSS-SPNEGO).
    fn start(mech: GssMech, provider: &'static FakeGss, p: &Params<'_>) -> Box<dyn ClientMech> {
        Gssapi::start(provider, mech, p).unwrap()
    }

    /// Runs the context part: returns the mechanism after its empty
    /// response to the server's (only) token.
    fn established(mech: GssMech, provider: &'static FakeGss, p: &Params<'_>, s: &mut FakeSession) -> Box<dyn ClientMech> {
        let mut m = start(mech, provider, p);
        assert_eq!(m.step(b"", s).unwrap(), Step::Continue(b"client-token-1".to_vec()));
        m
    }

    fn offer(layers: u8, maxbuf: u32) -> Vec<u8> {
        let mut o = vec![layers];
        o.extend_from_slice(&maxbuf.to_be_bytes()[1..]);
        peer_wrap(false, &o)
    }

    fn with_props(min: u32, max: u32, maxbuf: u32) -> Params<'static> {
        Params { props: SecurityProps { min_ssf: min, max_ssf: max, maxbufsize: maxbuf, security_flags: 0 }, ..params() }
    }

    /// Runs GSSAPI to completion against a server offering `layers`.
    fn negotiate(p: &Params<'_>, layers: u8, s: &mut FakeSession) -> (Result<Step>, Box<dyn ClientMech>) {
        let (g, _) = fake(Script::default());
        let mut m = established(GssMech::Krb5, g, p, s);
        assert_eq!(m.step(b"server-token-1", s).unwrap(), Step::Continue(Vec::new()));
        let r = m.step(&offer(layers, 4096), s);
        (r, m)
    }

    /// An application that answers the authzid with NULL is asked again at
    /// each step of the negotiation, before the context's step, as Cyrus
    /// asks: a prompt for it there is answered and the step resumed
    /// without stepping the context twice (which fails a real one).
    #[test]
    fn an_authzid_prompt_at_the_last_negotiation_step_resumes_it() {
        let (g, _) = fake(Script::default());
        let mut s = FakeSession::default();
        let mut m = established(GssMech::Krb5, g, &params(), &mut s);
        assert_eq!(s.requests, 1);
        s.interact_first = true;
        assert_eq!(m.step(b"server-token-1", &mut s).unwrap_err().code, Code::Interact);
        // The prompt answered with NULL: the same server token again.
        assert_eq!(m.step(b"server-token-1", &mut s).unwrap(), Step::Continue(Vec::new()));
        let Step::Done(Some(token)) = m.step(&offer(7, 4096), &mut s).unwrap() else { panic!("not done") };
        assert_eq!(&peer_unwrap(&token).unwrap().0[4..], b"", "no authzid sent");
        assert_eq!(m.outcome().unwrap().user(), &b"user@EXAMPLE.ORG"[..]);
    }

    #[test]
    fn confidentiality_at_256_with_authzid() {
        let mut s = FakeSession { authzid: Some("boss".into()), ..Default::default() };
        let (r, mut m) = negotiate(&with_props(0, 256, 65536), 7, &mut s);
        let Step::Done(Some(token)) = r.unwrap() else { panic!("not done") };
        let (reply, conf) = peer_unwrap(&token).unwrap();
        assert!(!conf, "the choice goes with integrity only");
        assert_eq!(reply, b"\x04\x01\x00\x00boss");
        let mut o = m.outcome().unwrap();
        assert_eq!((o.user(), &o.authid[..], o.ssf), (&b"boss"[..], &b"user@EXAMPLE.ORG"[..], 256));
        // The fake's overhead is 2 bytes.
        assert_eq!(o.maxoutbuf, 4094);
        let layer = o.layer.as_mut().unwrap();
        let mut wire = Vec::new();
        layer.wrap(b"hello", &mut wire).unwrap();
        assert_eq!(peer_unwrap(&wire), Some((b"hello".to_vec(), true)));
        let mut plain = Vec::new();
        layer.unwrap(&peer_wrap(true, b"world"), &mut plain).unwrap();
        assert_eq!(plain, b"world");
        // Forged, or not encrypted on a confidentiality layer: refused, nothing passed on.
        let mut bad = peer_wrap(true, b"world");
        bad[0] ^= 1;
        assert_eq!(layer.unwrap(&bad, &mut plain).unwrap_err().code, Code::Fail);
        assert_eq!(layer.unwrap(&peer_wrap(false, b"plain"), &mut plain).unwrap_err().code, Code::Fail);
        assert_eq!(plain, b"world");
    }

    #[test]
    fn ssf_bounds_pick_the_layer() {
        for (min, max, maxbuf, layers, want) in [
            (0, 0, 65536, 7, Ok((1u8, 0))),
            (0, 1, 65536, 7, Ok((2, 1))),
            (1, 1, 65536, 7, Ok((2, 1))),
            (0, 56, 65536, 7, Ok((2, 1))), // confidentiality is 256: above the maximum
            (0, 255, 65536, 7, Ok((2, 1))),
            (0, 100_000, 65536, 7, Ok((4, 256))),
            (56, 256, 65536, 7, Ok((4, 256))),
            (0, 256, 65536, 1, Ok((1, 0))), // the server offers no layer
            (0, 256, 65536, 3, Ok((2, 1))),
            (0, 256, 0, 7, Ok((1, 0))), // the application accepts no layer
            (2, 255, 65536, 7, Err(Code::TooWeak)),
            (1, 256, 65536, 1, Err(Code::TooWeak)),
            (300, 400, 65536, 7, Err(Code::TooWeak)),
            (0, 256, 65536, 0, Err(Code::TooWeak)),
            (0, 256, 65536, 0xf8, Err(Code::TooWeak)), // unknown bits only
        ] {
            let mut s = FakeSession::default();
            let (r, mut m) = negotiate(&with_props(min, max, maxbuf), layers, &mut s);
            let got = r.map(|step| {
                let Step::Done(Some(token)) = step else { panic!("not done") };
                (peer_unwrap(&token).unwrap().0[0], m.outcome().unwrap().ssf)
            });
            assert_eq!(got.map_err(|e| e.code), want, "min {min} max {max} maxbuf {maxbuf} layers {layers}");
        }
    }

    #[test]
    fn advertised_and_enforced_receive_limit_is_capped() {
        // Applications pass UINT_MAX for "no limit": 3 octets carry 16 MiB - 1.
        let mut s = FakeSession::default();
        let (r, mut m) = negotiate(&with_props(0, 256, u32::MAX), 7, &mut s);
        let Step::Done(Some(token)) = r.unwrap() else { panic!() };
        assert_eq!(peer_unwrap(&token).unwrap().0, [4, 0xff, 0xff, 0xff]);
        assert_eq!(m.outcome().unwrap().layer.unwrap().max_recv(), 0xFF_FFFF);
        let (r, mut m) = negotiate(&with_props(0, 256, 4096), 7, &mut s);
        let Step::Done(Some(token)) = r.unwrap() else { panic!() };
        assert_eq!(peer_unwrap(&token).unwrap().0, [4, 0, 0x10, 0]);
        assert_eq!(m.outcome().unwrap().layer.unwrap().max_recv(), 4096);
    }

    #[test]
    fn external_ssf_and_min_above_max() {
        // TLS at 256 covers a minimum of 256: no layer is needed or allowed.
        let p = Params { external_ssf: 256, ..with_props(256, 256, 65536) };
        let mut s = FakeSession::default();
        let (r, _) = negotiate(&p, 7, &mut s);
        let Step::Done(Some(token)) = r.unwrap() else { panic!() };
        assert_eq!(peer_unwrap(&token).unwrap().0, [1, 0, 0, 0]);
        let (r, _) = negotiate(&with_props(57, 56, 65536), 7, &mut s);
        assert_eq!(r.unwrap_err().code, Code::BadParam);
    }

    #[test]
    fn requested_flags_follow_cyrus() {
        for (max, maxbuf, external, secflags, want) in [
            (0, 65536, 0, 0, flags::MUTUAL | flags::SEQUENCE),
            (1, 65536, 0, 0, flags::MUTUAL | flags::SEQUENCE | flags::INTEG),
            (256, 65536, 0, 0, flags::MUTUAL | flags::SEQUENCE | flags::INTEG | flags::CONF),
            (256, 65536, 255, 0, flags::MUTUAL | flags::SEQUENCE | flags::INTEG),
            (256, 0, 0, 0, flags::MUTUAL | flags::SEQUENCE),
            (0, 65536, 0, sec::PASS_CREDENTIALS, flags::MUTUAL | flags::SEQUENCE | flags::DELEG),
        ] {
            let (g, script) = fake(Script::default());
            let p = Params {
                external_ssf: external,
                props: SecurityProps { min_ssf: 0, max_ssf: max, maxbufsize: maxbuf, security_flags: secflags },
                ..params()
            };
            established(GssMech::Krb5, g, &p, &mut FakeSession::default());
            assert_eq!(script.lock().unwrap().req_flags, want, "max {max} maxbuf {maxbuf} ext {external}");
        }
    }

    #[test]
    fn delegation_refused_is_a_warning() {
        let (g, _) = fake(Script { ret_flags: Some(flags::MUTUAL | flags::SEQUENCE), ..Default::default() });
        let p = Params { props: SecurityProps { security_flags: sec::PASS_CREDENTIALS, ..params().props }, ..params() };
        let mut s = FakeSession::default();
        let mut m = established(GssMech::Krb5, g, &p, &mut s);
        assert!(m.step(b"server-token-1", &mut s).is_ok());
        assert!(s.logs.iter().any(|(l, m)| *l == LogLevel::Warn && m.contains("no credentials were passed")));
    }

    #[test]
    fn mutual_authentication_is_enforced() {
        let (g, _) = fake(Script { ret_flags: Some(flags::SEQUENCE | flags::INTEG | flags::CONF), ..Default::default() });
        let mut s = FakeSession::default();
        let mut m = established(GssMech::Krb5, g, &params(), &mut s);
        assert_eq!(m.step(b"server-token-1", &mut s).unwrap_err().code, Code::BadServ);
    }

    #[test]
    fn hostile_tokens_and_offers() {
        let (g, script) = fake(Script::default());
        let mut s = FakeSession::default();
        // A token the context refuses: SASL_FAIL with the library's text.
        let mut m = established(GssMech::Krb5, g, &params(), &mut s);
        let e = m.step(b"garbage", &mut s).unwrap_err();
        assert_eq!(e.code, Code::Fail);
        assert!(e.detail.starts_with("GSSAPI Error: Unspecified GSS failure"), "{}", e.detail);
        drop(m);
        assert_eq!(script.lock().unwrap().contexts_alive, 0, "the context is released");

        for (bad, what) in [
            (peer_wrap(false, b"\x07\x00\x10"), "token too short"),
            (peer_wrap(false, b"\x07\x00\x10\x00\x00"), "token too long"),
            (b"\x07\x00\x10\x00".to_vec(), "Error"), // not wrapped
            (Vec::new(), "Error"),
        ] {
            let mut m = established(GssMech::Krb5, g, &params(), &mut s);
            m.step(b"server-token-1", &mut s).unwrap();
            let e = m.step(&bad, &mut s).unwrap_err();
            assert_eq!(e.code, Code::Fail);
            assert!(e.detail.contains(what), "{}", e.detail);
        }
        // A layer offered with no room for one byte.
        let mut m = established(GssMech::Krb5, g, &params(), &mut s);
        m.step(b"server-token-1", &mut s).unwrap();
        assert_eq!(m.step(&offer(7, 2), &mut s).unwrap_err().code, Code::BadProt);
        drop(m);
        // No layer and a server maximum of 0: the core falls back to maxbufsize.
        let mut m = established(GssMech::Krb5, g, &params(), &mut s);
        m.step(b"server-token-1", &mut s).unwrap();
        assert!(m.step(&offer(1, 0), &mut s).is_ok());
        assert_eq!(m.outcome().unwrap().maxoutbuf, 0);
        // Anything after completion.
        assert_eq!(m.step(b"more", &mut s).unwrap_err().code, Code::BadProt);
        drop(m);
        assert_eq!(script.lock().unwrap().contexts_alive, 0, "every context is released");
    }

    #[test]
    fn an_ignored_initial_response_restarts_the_context() {
        let (g, script) = fake(Script::default());
        let mut s = FakeSession::default();
        let mut m = established(GssMech::Krb5, g, &params(), &mut s);
        // The server (IMAP without SASL-IR) sends an empty challenge.
        assert_eq!(m.step(b"", &mut s).unwrap(), Step::Continue(b"client-token-1".to_vec()));
        assert_eq!(script.lock().unwrap().restarts, 1);
        assert_eq!(m.step(b"server-token-1", &mut s).unwrap(), Step::Continue(Vec::new()));
    }

    #[test]
    fn authzid_prompt_comes_first_and_is_asked_once() {
        let (g, script) = fake(Script::default());
        let mut s = FakeSession { interact_first: true, authzid: Some("boss".into()), ..Default::default() };
        let mut m = start(GssMech::Krb5, g, &params());
        assert_eq!(m.step(b"", &mut s).unwrap_err().code, Code::Interact);
        assert_eq!(script.lock().unwrap().inits, 0);
        m.step(b"", &mut s).unwrap();
        m.step(b"server-token-1", &mut s).unwrap();
        let Step::Done(Some(token)) = m.step(&offer(7, 4096), &mut s).unwrap() else { panic!() };
        assert_eq!(peer_unwrap(&token).unwrap().0, b"\x04\x01\x00\x00boss");
        // Interact, the authzid, then the principal's canonicalisation.
        assert_eq!(s.requests, 3);
    }

    /// As Cyrus: an authzid answer of no name at all (a callback giving
    /// NULL) is asked for again once the context is established; an empty
    /// one is an answer.
    #[test]
    fn no_authzid_at_all_is_asked_for_again_at_the_end() {
        for (authzid, requests) in [(None, 3), (Some(Vec::new()), 2)] {
            let (g, _) = fake(Script::default());
            let mut s = FakeSession { authzid, ..Default::default() };
            let mut m = start(GssMech::Krb5, g, &params());
            m.step(b"", &mut s).unwrap();
            m.step(b"server-token-1", &mut s).unwrap();
            let Step::Done(Some(token)) = m.step(&offer(7, 4096), &mut s).unwrap() else { panic!() };
            assert_eq!(peer_unwrap(&token).unwrap().0, b"\x04\x01\x00\x00");
            assert_eq!(s.requests, requests);
        }
    }

    #[test]
    fn ad_compat_sends_both_bits() {
        let (g, _) = fake(Script::default());
        let mut s = FakeSession { options: vec![("ad_compat".into(), "on".into())], ..Default::default() };
        let mut m = established(GssMech::Krb5, g, &params(), &mut s);
        m.step(b"server-token-1", &mut s).unwrap();
        let Step::Done(Some(token)) = m.step(&offer(7, 4096), &mut s).unwrap() else { panic!() };
        assert_eq!(peer_unwrap(&token).unwrap().0[0], 6);
        assert!(m.outcome().unwrap().ssf == 256);
    }

    #[test]
    fn without_the_library_ssf_is_56() {
        let (g, _) = fake(Script { no_ssf: true, ..Default::default() });
        let mut s = FakeSession::default();
        let mut m = established(GssMech::Krb5, g, &params(), &mut s);
        m.step(b"server-token-1", &mut s).unwrap();
        m.step(&offer(7, 4096), &mut s).unwrap();
        assert_eq!(m.outcome().unwrap().ssf, 56);
    }

    #[test]
    fn spnego_layer_follows_the_context_flags() {
        for (max, ret, want_ssf, want_maxout) in [
            (256, None, 256, 65534),
            (1, None, 1, 65534), // MIT grants confidentiality; the maximum says integrity
            (0, None, 0, 0),
            (256, Some(flags::MUTUAL | flags::INTEG), 1, 65534),
        ] {
            let (g, _) = fake(Script { ret_flags: ret, ..Default::default() });
            let mut s = FakeSession::default();
            let p = with_props(0, max, 65536);
            let mut m = established(GssMech::Spnego, g, &p, &mut s);
            assert_eq!(m.step(b"server-token-1", &mut s).unwrap(), Step::Done(Some(Vec::new())));
            let o = m.outcome().unwrap();
            assert_eq!((o.ssf, o.maxoutbuf, o.layer.is_some()), (want_ssf, want_maxout, want_ssf > 0), "max {max}");
        }
        // Over HTTP, no layer.
        let (g, _) = fake(Script::default());
        let p = Params { flags: conn_flags::NEED_HTTP, ..params() };
        let mut s = FakeSession::default();
        let mut m = established(GssMech::Spnego, g, &p, &mut s);
        m.step(b"server-token-1", &mut s).unwrap();
        assert_eq!(m.outcome().unwrap().ssf, 0);
        // A minimum the context cannot meet.
        let (g, _) = fake(Script { ret_flags: Some(flags::MUTUAL), ..Default::default() });
        let mut m = established(GssMech::Spnego, g, &with_props(1, 256, 65536), &mut s);
        assert_eq!(m.step(b"server-token-1", &mut s).unwrap_err().code, Code::TooWeak);
        // A maxbufsize no protected byte fits in (the fake's overhead is 2):
        // the application's own limit, so a parameter error.
        let (g, _) = fake(Script::default());
        let mut m = established(GssMech::Spnego, g, &with_props(0, 256, 2), &mut s);
        assert_eq!(m.step(b"server-token-1", &mut s).unwrap_err().code, Code::BadParam);
    }

    #[test]
    fn spnego_accepts_either_protection_from_its_peer() {
        let (g, _) = fake(Script::default());
        let mut s = FakeSession::default();
        let mut m = established(GssMech::Spnego, g, &params(), &mut s);
        m.step(b"server-token-1", &mut s).unwrap();
        let mut o = m.outcome().unwrap();
        let mut plain = Vec::new();
        o.layer.as_mut().unwrap().unwrap(&peer_wrap(false, b"integrity only"), &mut plain).unwrap();
        assert_eq!(plain, b"integrity only");
    }

    #[test]
    fn selection_check_and_start_without_provider() {
        let factory = GssapiFactory { mech: GssMech::Krb5, provider: || Err("no GSS-API library (libgssapi_krb5.so.2)".into()) };
        assert!(factory.check(&params()).unwrap_err().contains("no GSS-API library"));
        assert_eq!(factory.start(&params()).err().unwrap().code, Code::NoMech);
        fn no_cred() -> std::result::Result<&'static dyn Provider, String> {
            static S: std::sync::OnceLock<&'static FakeGss> = std::sync::OnceLock::new();
            Ok(*S.get_or_init(|| FakeGss::new(Script { no_credential: Some("No Kerberos credentials available".into()), ..Default::default() }).0))
        }
        let factory = GssapiFactory { mech: GssMech::Krb5, provider: no_cred };
        assert_eq!(factory.check(&params()), Ok(()));
        let why = factory.credential(&params()).unwrap_err();
        assert_eq!(why, "no usable Kerberos credential: No Kerberos credentials available");
    }

    #[test]
    fn name_import_failure_is_reported() {
        let (g, _) = fake(Script { bad_name: true, ..Default::default() });
        let mut s = FakeSession::default();
        let mut m = start(GssMech::Krb5, g, &params());
        let e = m.step(b"", &mut s).unwrap_err();
        assert_eq!(e.code, Code::Fail);
        assert!(e.detail.starts_with("GSSAPI Error:"));
    }
}
