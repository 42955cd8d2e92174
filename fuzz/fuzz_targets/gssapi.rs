//! GSSAPI, GSS-SPNEGO and GS2-KRB5(-PLUS) through the connection core, over
//! the library's fake GSS-API provider (src/mech/gss.rs, compiled in by
//! `--cfg fuzzing`): fuzzed security properties, external SSF, context
//! flags, round trips, channel bindings and authorization identities; the
//! server's tokens honest, empty (a server that ignored the initial
//! response), edited or arbitrary; GSSAPI's RFC 4752 layer offer (layers
//! and maximum buffer) fuzzed, wrapped or not. A model of the exchange says
//! what each step must send (tokens, GS2 headers, the wrapped layer choice)
//! and how it must end; after success the SSF and MAXOUTBUF the connection
//! reports must respect min/max SSF and maxbufsize, data the client encodes
//! must reach the peer whole in packets it accepts, and the peer's packets,
//! damaged and split on the way, must be delivered or refused exactly as
//! the framing model says.
#![no_main]

use std::sync::{Once, OnceLock};

use libfuzzer_sys::fuzz_target;
use sasl2::core::{ClientConn, Lookup, Settings, Status};
use sasl2::mech::gs2::{self, Gs2Factory};
use sasl2::mech::gss::fake::{FakeGss, Script, Shared, frame, peer_unwrap, peer_wrap};
use sasl2::mech::gss::{GssMech, Provider, flags};
use sasl2::mech::gssapi::{self, GssapiFactory};
use sasl2::mech::{ChannelBinding, Code, Factory, MechInfo, SecurityProps, conn_flags, registry, sec};
use sasl2_fuzz::*;

fuzz_target!(|data: &[u8]| run(&mut Unstructured::new(data)));

fn pick<T: Copy>(u: &mut Unstructured<'_>, from: &[T]) -> T {
    from[u.choose_index(from.len()).unwrap_or(0)]
}

fn fake() -> &'static (&'static FakeGss, Shared) {
    static FAKE: OnceLock<(&'static FakeGss, Shared)> = OnceLock::new();
    FAKE.get_or_init(|| FakeGss::new(Script::default()))
}

fn provider() -> Result<&'static dyn Provider, String> {
    Ok(fake().0)
}

/// The three mechanisms, as built in but over the fake provider, are the
/// process's mechanism list.
fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let like = |real: &'static MechInfo, factory: &'static dyn Factory| -> &'static MechInfo {
            Box::leak(Box::new(MechInfo {
                name: real.name,
                max_ssf: real.max_ssf,
                security_flags: real.security_flags,
                features: real.features,
                required: real.required,
                last_resort: real.last_resort,
                factory,
            }))
        };
        registry::publish(vec![
            like(&gssapi::GSS_SPNEGO, Box::leak(Box::new(GssapiFactory { mech: GssMech::Spnego, provider }))),
            like(&gssapi::GSSAPI, Box::leak(Box::new(GssapiFactory { mech: GssMech::Krb5, provider }))),
            like(&gs2::GS2_KRB5, Box::leak(Box::new(Gs2Factory { provider }))),
        ])
        .unwrap();
    });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gssapi,
    Spnego,
    Gs2,
}

const NONE: u8 = 1;
const INTEG: u8 = 2;
const CONF: u8 = 4;
const PRINCIPAL: &[u8] = b"user@EXAMPLE.ORG";

/// Layers a context with these flags can give.
fn layers_of(f: u32) -> u8 {
    match (f & flags::INTEG != 0, f & flags::CONF != 0) {
        (false, _) => NONE,
        (true, false) => NONE | INTEG,
        (true, true) => NONE | INTEG | CONF,
    }
}

/// RFC 4752 / Cyrus: the strongest layer both sides have within the SSF
/// bounds (relative to the external SSF; none allowed without maxbufsize).
fn choose(ours: u8, server: u8, p: &SecurityProps, ext: u32, conf_ssf: u32) -> Result<(u8, u32), Code> {
    if p.min_ssf > conf_ssf.saturating_add(ext) {
        return Err(Code::TooWeak);
    }
    if p.min_ssf > p.max_ssf {
        return Err(Code::BadParam);
    }
    let need = p.min_ssf.saturating_sub(ext);
    let allowed = if p.maxbufsize == 0 { 0 } else { p.max_ssf.saturating_sub(ext) };
    [(CONF, conf_ssf), (INTEG, 1), (NONE, 0)]
        .into_iter()
        .find(|&(layer, ssf)| ours & server & layer != 0 && need <= ssf && (layer == NONE || ssf <= allowed))
        .ok_or(Code::TooWeak)
}

/// What the fake context produces on its init number `round`.
fn client_token(round: usize, rounds: usize, framed: bool) -> Vec<u8> {
    let token = if round > rounds { Vec::new() } else { format!("client-token-{round}").into_bytes() };
    if round == 1 && framed { frame(&token) } else { token }
}

fn saslname(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    sasl2::mech::push_saslname(&mut out, s);
    out
}

#[derive(Debug)]
struct Case {
    kind: Kind,
    props: SecurityProps,
    external: u32,
    http: bool,
    rounds: usize,
    ret_flags: Option<u32>,
    no_ssf: bool,
    no_conf: bool,
    framed: bool,
    authzid: Option<Vec<u8>>,
    ad_compat: bool,
    /// GS2's channel-binding flag and the data bound with it.
    gs2_flag: String,
    cb_data: Vec<u8>,
    /// GSSAPI's server maximum buffer, once offered.
    server_max: u32,
}

impl Case {
    /// The flags the mechanism must ask for (Cyrus's rules).
    fn req_flags(&self) -> u32 {
        let delegate = if self.props.security_flags & sec::PASS_CREDENTIALS != 0 { flags::DELEG } else { 0 };
        let mut req = flags::MUTUAL | flags::SEQUENCE | delegate;
        if self.kind != Kind::Gs2 {
            let allowed = if self.props.maxbufsize == 0 { 0 } else { self.props.max_ssf.saturating_sub(self.external) };
            if allowed > 0 {
                req |= flags::INTEG;
            }
            if allowed > 1 {
                req |= flags::CONF;
            }
        }
        req
    }

    fn ctx_flags(&self) -> u32 {
        let req = self.req_flags();
        self.ret_flags.unwrap_or(if req & flags::INTEG != 0 { req | flags::CONF } else { req })
    }

    fn conf_ssf(&self, ours: u8) -> u32 {
        if ours & CONF != 0 && !self.no_ssf { 256 } else { 56 }
    }

    fn gs2_header(&self) -> Vec<u8> {
        let mut h = format!("{},", self.gs2_flag).into_bytes();
        if let Some(z) = &self.authzid {
            h.extend_from_slice(b"a=");
            h.extend_from_slice(&saslname(z));
        }
        h.push(b',');
        h
    }

    /// The message a first init (after a start or a restart) gives.
    fn first_message(&self) -> Result<Vec<u8>, Code> {
        let token = client_token(1, self.rounds, self.framed);
        if self.kind != Kind::Gs2 {
            return Ok(token);
        }
        // GS2 sends the token without its RFC 2743 framing.
        if !self.framed {
            return Err(Code::Fail);
        }
        let inner = client_token(1, self.rounds, false);
        Ok([self.gs2_header(), inner].concat())
    }
}

fn run(u: &mut Unstructured<'_>) {
    install();
    let kind = pick(u, &[Kind::Gssapi, Kind::Gssapi, Kind::Spnego, Kind::Gs2]);
    let props = SecurityProps {
        min_ssf: pick(u, &[0, 0, 0, 1, 2, 56, 256, 257]),
        max_ssf: pick(u, &[0, 1, 2, 55, 56, 255, 256, 100_000]),
        maxbufsize: pick(u, &[0, 1, 2, 3, 4, 17, 100, 4096, 65536, 0xFF_FFFF, 0x100_0000, u32::MAX]),
        security_flags: if u.ratio(1, 4).unwrap_or(false) { sec::PASS_CREDENTIALS } else { 0 },
    };
    let external = pick(u, &[0, 0, 0, 1, 56, 256]);
    let http = u.ratio(1, 6).unwrap_or(false);
    let authzid: Option<Vec<u8>> = u.arbitrary().unwrap_or(false).then(|| string(u, 10, Some(b"ab,= z")).into_bytes());
    let ad_option = pick(u, &[None, None, Some("on"), Some("yes"), Some("1"), Some("true"), Some("off"), Some("0")]);
    let binding = (kind == Kind::Gs2 && u.arbitrary().unwrap_or(false)).then(|| ChannelBinding {
        name: pick(u, &["tls-unique", "tls-exporter", "tls-server-end-point"]).to_owned(),
        critical: u.arbitrary().unwrap_or(false),
        data: bytes(u, 1, 32),
    });
    let server_list = match kind {
        Kind::Gssapi => "GSSAPI",
        Kind::Spnego => "GSS-SPNEGO",
        Kind::Gs2 => pick(u, &["GS2-KRB5", "GS2-KRB5-PLUS", "GS2-KRB5 GS2-KRB5-PLUS", "GS2-KRB5 X-OTHER"]),
    };
    let mut case = Case {
        kind,
        props,
        external,
        http,
        rounds: u.int_in_range(0..=3).unwrap_or(1),
        ret_flags: u.ratio(1, 4).unwrap_or(false).then(|| u.arbitrary::<u32>().unwrap_or(0) & 0x3f),
        no_ssf: u.ratio(1, 4).unwrap_or(false),
        no_conf: u.ratio(1, 8).unwrap_or(false),
        framed: if kind == Kind::Gs2 { !u.ratio(1, 8).unwrap_or(false) } else { u.arbitrary().unwrap_or(false) },
        authzid: authzid
            .as_ref()
            .map(|z| z.trim_ascii().to_vec())
            .filter(|z| !z.is_empty()),
        ad_compat: ad_option.is_some_and(|v| matches!(v.as_bytes()[0], b'1' | b'y' | b't') || v.starts_with("on")),
        gs2_flag: "n".into(),
        cb_data: Vec::new(),
        server_max: 0,
    };
    let bad_name = u.ratio(1, 32).unwrap_or(false);
    {
        let mut s = fake().1.lock().unwrap();
        assert_eq!(s.contexts_alive, 0, "a context outlived its connection");
        *s = Script {
            rounds: case.rounds,
            ret_flags: case.ret_flags,
            no_ssf: case.no_ssf,
            no_conf: case.no_conf,
            frame_first: case.framed,
            bad_name,
            ..Script::default()
        };
    }

    // Selection, as Cyrus's rules go for these names.
    let names: Vec<&str> = server_list.split(' ').collect();
    let has_plus = names.iter().any(|n| n.ends_with("-PLUS"));
    let has_plain = names.iter().any(|n| !n.ends_with("-PLUS"));
    let (mech_max, http_ok) = match kind {
        Kind::Gssapi => (256, false),
        Kind::Spnego => (256, true),
        Kind::Gs2 => (0, false),
    };
    let mut selectable = props.min_ssf.saturating_sub(external) <= mech_max && (!http || http_ok);
    match &binding {
        None => selectable &= has_plain,
        Some(cb) if has_plus => {
            case.gs2_flag = format!("p={}", cb.name);
            case.cb_data = cb.data.clone();
        }
        Some(cb) if names.len() > 1 => {
            selectable &= !cb.critical;
            case.gs2_flag = "y".into();
        }
        Some(cb) if cb.critical => {
            case.gs2_flag = format!("p={}", cb.name);
            case.cb_data = cb.data.clone();
        }
        Some(_) => {}
    }

    let mut settings =
        Settings::new("imap", Some("h.example.org"), None, None, if http { conn_flags::NEED_HTTP } else { 0 }, None)
            .unwrap();
    settings.props = props;
    settings.external_ssf = external;
    settings.extras_mut().channel_binding = binding;
    let mut conn = Conn { settings, core: ClientConn::default() };
    let mut app = FuzzApp::with_password("unused", b"");
    app.user = authzid.map_or(Lookup::Absent, |z| Lookup::Value(String::from_utf8(z).unwrap()));
    app.options = ad_option.map(|v| ("ad_compat", v.to_owned())).into_iter().collect();

    let want_output = u.arbitrary().unwrap_or(true);
    let started = conn.start(server_list, &mut app, want_output);
    if !selectable {
        let e = started.expect_err("selected a mechanism the rules exclude");
        assert_eq!(e.code, Code::NoMech, "{e}");
        return;
    }
    // A failure of start is its first step's.
    let first = match started {
        Err(e) if want_output => Err(e),
        Err(e) => panic!("selection failed: {e}"),
        Ok(started) => {
            let plus = if case.gs2_flag.starts_with("p=") { "-PLUS" } else { "" };
            let name = match kind {
                Kind::Gssapi => "GSSAPI".to_owned(),
                Kind::Spnego => "GSS-SPNEGO".to_owned(),
                Kind::Gs2 => format!("GS2-KRB5{plus}"),
            };
            assert_eq!(conn.mech_name().as_deref(), Some(name.as_str()));
            if want_output { Ok(started) } else { conn.step(None, &mut app, &[]) }
        }
    };
    // The context exchange: the model's round is the fake context's.
    let mut round = 1;
    let mut result = first;
    let mut expected_msg = if bad_name { Err(Code::Fail) } else { case.first_message() };
    let mut turns = 0;
    loop {
        let complete = round > case.rounds;
        let got = std::mem::replace(&mut result, Err(sasl2::mech::Error::fail("")));
        match (&expected_msg, got) {
            (Err(code), Err(e)) => {
                assert_eq!(e.code, *code, "{e}");
                assert!(e.detail.len() <= MAX_DETAIL);
                return end(conn);
            }
            (Ok(_), Err(e)) if complete => {
                // A context that completes can still be refused.
                return completion_failed(&case, e, conn);
            }
            (want, Err(e)) => panic!("step failed: {e}, expected {want:?}"),
            (Err(code), Ok(r)) => panic!("step succeeded ({r:?}), expected {code:?}"),
            (Ok(want), Ok((status, Some(msg)))) => {
                assert_eq!(&msg, want, "client message in round {round}");
                if !complete {
                    assert_eq!(status, Status::Continue);
                } else {
                    check_completion(&case, status);
                }
            }
            (_, Ok(other)) => panic!("no message: {other:?}"),
        }
        {
            let s = fake().1.lock().unwrap();
            assert_eq!(s.req_flags, case.req_flags(), "requested context flags");
            let cb = [case.gs2_header(), case.cb_data.clone()].concat();
            assert_eq!(s.channel_binding, (kind == Kind::Gs2).then_some(cb), "channel bindings");
            assert_eq!(s.target, format!("imap@h.example.org/{:?}", if kind == Kind::Spnego { GssMech::Spnego } else { GssMech::Krb5 }));
        }
        if complete {
            break;
        }
        // The server's next token: honest, none (it ignored the initial
        // response: the context starts over), edited, or arbitrary.
        turns += 1;
        let honest = format!("server-token-{round}").into_bytes();
        let mut token = honest.clone();
        match u.int_in_range(0..=7u8).unwrap_or(0) {
            _ if turns > 6 => {}
            0..=4 => {}
            5 => token.clear(),
            6 => {
                edit(u, &mut token);
            }
            _ => token = bytes(u, 1, 40),
        }
        result = conn.step(Some(&token), &mut app, &[]);
        if token.is_empty() {
            round = 1;
            expected_msg = case.first_message();
        } else if token == honest {
            round += 1;
            expected_msg = Ok(client_token(round, case.rounds, false));
        } else {
            expected_msg = Err(Code::Fail);
        }
    }
    if kind == Kind::Gssapi && !negotiate(u, &mut case, &mut conn, &mut app) {
        return end(conn);
    }
    layer(u, &case, &mut conn, &app);
    end(conn)
}

/// The connection as the C layer holds it: its settings and its exchange.
struct Conn {
    settings: Settings,
    core: ClientConn,
}

impl Conn {
    fn start(&mut self, list: &str, app: &mut FuzzApp, want_output: bool) -> StepResult {
        self.core.start(&self.settings, list, app, want_output)
    }
    fn step(&mut self, input: Option<&[u8]>, app: &mut FuzzApp, answers: &[sasl2::core::Answer]) -> StepResult {
        self.core.step(&self.settings, input, app, answers)
    }
    fn encode(&mut self, parts: &[&[u8]], out: &mut Vec<u8>) -> sasl2::mech::Result<()> {
        self.core.encode(&self.settings, parts, out)
    }
    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> sasl2::mech::Result<()> {
        self.core.decode(&self.settings, input, out)
    }
    fn mech_name(&self) -> Option<std::borrow::Cow<'static, str>> {
        self.core.mech_name()
    }
    fn ssf(&self) -> u32 {
        self.core.ssf()
    }
    fn maxoutbuf(&self) -> u32 {
        self.core.maxoutbuf()
    }
}

type StepResult = sasl2::mech::Result<(Status, Option<Vec<u8>>)>;

/// The context is complete: what the completion must have established.
fn check_completion(case: &Case, status: Status) {
    let f = case.ctx_flags();
    match case.kind {
        Kind::Gssapi => {
            assert!(f & flags::MUTUAL != 0);
            assert_eq!(status, Status::Continue);
        }
        Kind::Spnego | Kind::Gs2 => assert_eq!(status, Status::Ok),
    }
}

/// A completed context was refused: only for the reasons the rules give.
fn completion_failed(case: &Case, e: sasl2::mech::Error, conn: Conn) {
    assert!(e.detail.len() <= MAX_DETAIL);
    let f = case.ctx_flags();
    let want = match case.kind {
        Kind::Gs2 if f & (flags::MUTUAL | flags::SEQUENCE) != flags::MUTUAL | flags::SEQUENCE => Code::BadAuth,
        Kind::Gs2 => panic!("GS2 refused a complete context: {e}"),
        _ if f & flags::MUTUAL == 0 => Code::BadServ,
        Kind::Gssapi => panic!("GSSAPI refused a complete context: {e}"),
        Kind::Spnego => match spnego_layer(case) {
            Err(code) => code,
            Ok(layer) => panic!("GSS-SPNEGO refused a complete context ({layer:?}): {e}"),
        },
    };
    assert_eq!(e.code, want, "{e}");
    end(conn)
}

/// GSS-SPNEGO's layer: (layer, ssf, maxoutbuf as the core reports it).
fn spnego_layer(case: &Case) -> Result<(u8, u32, u32), Code> {
    if case.http {
        // No layer over HTTP: only an external one can meet the minimum.
        if case.props.min_ssf > case.external {
            return Err(Code::TooWeak);
        }
        return Ok((NONE, 0, case.props.maxbufsize));
    }
    let ours = layers_of(case.ctx_flags());
    let (layer, ssf) = choose(ours, ours, &case.props, case.external, case.conf_ssf(ours))?;
    if layer == NONE {
        return Ok((NONE, 0, case.props.maxbufsize));
    }
    // The fake's tokens are 2 bytes longer than their message.
    let peer_max = case.props.maxbufsize.min(0xFF_FFFF);
    match peer_max.saturating_sub(2) {
        // The application's maxbufsize holds no protected byte: its own error.
        0 => Err(Code::BadParam),
        limit => Ok((layer, ssf, limit)),
    }
}

/// GSSAPI's layer negotiation: the server's wrapped offer, our wrapped
/// choice. Returns whether the exchange succeeded.
fn negotiate(u: &mut Unstructured<'_>, case: &mut Case, conn: &mut Conn, app: &mut FuzzApp) -> bool {
    let layers = if u.ratio(1, 4).unwrap_or(false) { u.arbitrary().unwrap_or(0) } else { pick(u, &[1u8, 2, 3, 4, 5, 6, 7]) };
    let max: u32 = if u.ratio(1, 4).unwrap_or(false) {
        u.int_in_range(0..=0xFF_FFFF).unwrap_or(0)
    } else {
        pick(u, &[0, 1, 2, 3, 17, 4096, 65536, 0xFF_FFFF])
    };
    let mut offer = vec![layers];
    offer.extend_from_slice(&max.to_be_bytes()[1..]);
    let honest = peer_wrap(u.arbitrary().unwrap_or(false), &offer);
    let mut token = honest.clone();
    match u.int_in_range(0..=7u8).unwrap_or(0) {
        0..=4 => {}
        5 => token = peer_wrap(false, &bytes(u, 0, 8)),
        6 => {
            edit(u, &mut token);
        }
        _ => token = bytes(u, 0, 12),
    }
    // What the client must make of it.
    let expected: Result<(u8, u32, u32), Code> = match peer_unwrap(&token) {
        None => Err(Code::Fail),
        Some((o, _)) if o.len() != 4 => Err(Code::Fail),
        Some((o, _)) => {
            let ours = layers_of(case.ctx_flags());
            let server_max = u32::from_be_bytes([0, o[1], o[2], o[3]]);
            choose(ours, o[0], &case.props, case.external, case.conf_ssf(ours)).and_then(|(layer, ssf)| match layer {
                NONE => Ok((NONE, ssf, server_max)),
                _ if server_max <= 2 => Err(Code::BadProt),
                _ => Ok((layer, ssf, server_max - 2)),
            })
            .map(|(layer, ssf, maxout)| {
                let both = layer == CONF && o[0] & INTEG != 0 && case.ad_compat;
                (if both { CONF | INTEG } else { layer }, ssf, maxout)
            })
        }
    };
    let server_max = peer_unwrap(&token).filter(|(o, _)| o.len() == 4).map(|(o, _)| u32::from_be_bytes([0, o[1], o[2], o[3]]));
    match (conn.step(Some(&token), app, &[]), expected) {
        (Err(e), Err(code)) => {
            assert_eq!(e.code, code, "{e}");
            assert!(e.detail.len() <= MAX_DETAIL);
            false
        }
        (Ok(r), Err(code)) => panic!("layer offer {token:?} accepted ({r:?}), expected {code:?}"),
        (Err(e), Ok(want)) => panic!("layer offer {token:?} refused: {e}; expected {want:?}"),
        (Ok((status, reply)), Ok((choice, ssf, maxout))) => {
            assert_eq!(status, Status::Ok);
            let our_max = if choice == NONE { 0 } else { case.props.maxbufsize.min(0xFF_FFFF) };
            let mut want = vec![choice];
            want.extend_from_slice(&our_max.to_be_bytes()[1..]);
            want.extend_from_slice(case.authzid.as_deref().unwrap_or_default());
            assert_eq!(peer_unwrap(&reply.expect("the choice")), Some((want, false)), "the wrapped layer choice");
            assert_eq!(conn.ssf(), ssf);
            let maxout = if maxout == 0 { case.props.maxbufsize } else { maxout };
            assert_eq!(conn.maxoutbuf(), maxout);
            // Packets the client sends must fit the server's buffer.
            case.server_max = server_max.expect("a 4-octet offer");
            true
        }
    }
}

/// After success: the reported identity, SSF and MAXOUTBUF, then data both
/// ways through the core's framing.
fn layer(u: &mut Unstructured<'_>, case: &Case, conn: &mut Conn, app: &FuzzApp) {
    assert_eq!(app.authid.as_deref(), Some(PRINCIPAL));
    assert_eq!(app.username.as_deref(), Some(case.authzid.as_deref().unwrap_or(PRINCIPAL)));
    let ssf = conn.ssf();
    let maxoutbuf = conn.maxoutbuf() as usize;
    let (conf, peer_max) = match case.kind {
        Kind::Gs2 => {
            assert_eq!((ssf, maxoutbuf), (0, 0xFF_FFFF));
            (false, 0)
        }
        Kind::Spnego => {
            let (layer, want_ssf, want_max) = spnego_layer(case).expect("GSS-SPNEGO succeeded");
            assert_eq!((ssf, maxoutbuf as u32), (want_ssf, want_max), "GSS-SPNEGO's SSF and MAXOUTBUF");
            (layer == CONF, case.props.maxbufsize.min(0xFF_FFFF) as usize)
        }
        Kind::Gssapi => (ssf > 1, case.server_max as usize),
    };
    // The SSF is within the bounds the application set.
    if ssf > 0 {
        assert!(case.props.maxbufsize > 0, "a layer for an application that takes none");
        assert!(ssf <= case.props.max_ssf.saturating_sub(case.external), "SSF {ssf} above the maximum");
    }
    assert!(ssf + case.external >= case.props.min_ssf, "SSF {ssf} below the minimum: {case:?}");
    let require_conf = conf && case.kind == Kind::Gssapi;
    let max_in = case.props.maxbufsize.min(0xFF_FFFF) as usize;
    let mut broken = false;
    for _ in 0..u.int_in_range(1..=6).unwrap_or(1) {
        if u.arbitrary().unwrap_or(false) {
            // The client encodes.
            let len = u.int_in_range(0..=(3 * maxoutbuf).min(1500)).unwrap_or(0);
            let data = u.bytes(len.min(u.len())).unwrap_or_default().to_vec();
            let cut = u.int_in_range(0..=data.len()).unwrap_or(0);
            let parts: Vec<&[u8]> = if u.arbitrary().unwrap_or(false) { vec![&data[..cut], &data[cut..]] } else { vec![&data] };
            let mut wire = Vec::new();
            let result = conn.encode(&parts, &mut wire);
            if case.props.maxbufsize == 0 {
                assert_eq!(result.unwrap_err().code, Code::TooWeak);
                continue;
            }
            if ssf == 0 {
                result.unwrap();
                assert_eq!(wire, data, "no layer, yet encode changed the data");
                continue;
            }
            if conf && case.no_conf && !data.is_empty() {
                assert_eq!(result.unwrap_err().code, Code::Fail, "a confidentiality layer sent data unencrypted");
                continue;
            }
            result.unwrap_or_else(|e| panic!("encode: {e}"));
            let mut rest = &wire[..];
            let mut received = Vec::new();
            let mut packets = 0;
            while !rest.is_empty() {
                let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
                assert!(len <= peer_max, "a {len}-byte packet for a peer that takes {peer_max}");
                let (plain, encrypted) = peer_unwrap(&rest[4..4 + len]).expect("the peer unwraps the packet");
                assert_eq!(encrypted, conf, "confidentiality of the packet");
                assert!(plain.len() <= maxoutbuf);
                received.extend_from_slice(&plain);
                rest = &rest[4 + len..];
                packets += 1;
            }
            assert_eq!(received, data);
            assert_eq!(packets, data.len().div_ceil(maxoutbuf));
        } else if ssf == 0 {
            // No layer: decode passes data through, up to maxbufsize.
            let data = bytes(u, 0, 100);
            let mut out = Vec::new();
            match conn.decode(&data, &mut out) {
                Ok(()) => {
                    assert!(case.props.maxbufsize as usize >= data.len());
                    assert_eq!(out, data);
                }
                Err(e) => assert!(
                    case.props.maxbufsize == 0 && e.code == Code::TooWeak
                        || data.len() > case.props.maxbufsize as usize && e.code == Code::BufOver,
                    "{e}"
                ),
            }
        } else if !broken {
            // The peer's packets, damaged and split on the way.
            let msg_max = max_in.saturating_sub(2).min(300);
            let payloads: Vec<Vec<u8>> = (0..u.int_in_range(1..=4).unwrap_or(1))
                .map(|_| {
                    let sealed = if conf { !u.ratio(1, 4).unwrap_or(false) } else { u.arbitrary().unwrap_or(false) };
                    peer_wrap(sealed, &bytes(u, 0, msg_max))
                })
                .collect();
            let mut judge = |p: &[u8]| peer_unwrap(p).filter(|(_, sealed)| *sealed || !require_conf).map(|(m, _)| m);
            let mut decode = |chunk: &[u8]| {
                let mut out = Vec::new();
                conn.decode(chunk, &mut out).map(|()| out).map_err(|e| e.detail)
            };
            broken = stream::deliver(u, &payloads, max_in, &mut judge, &mut decode);
        }
    }
}

fn end(conn: Conn) {
    drop(conn);
    assert_eq!(fake().1.lock().unwrap().contexts_alive, 0, "the context was not released");
}
