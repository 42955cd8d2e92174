//! DIGEST-MD5 against the test server: fuzzed security properties, offers
//! (realms, qops, ciphers, maxbuf, charset), credentials; the challenge and
//! rspauth honest, edited at fuzzed points, or arbitrary. An honest
//! exchange must succeed with the layer the rules choose, its response must
//! verify at the server, success needs the true rspauth, and the layer
//! must carry data both ways and refuse a tampered packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sasl2::mech::{Code, Params, SecurityProps, Step, digest_md5};
use sasl2_fuzz::digest_server::{self, Account, CIPHERS, Offer};
use sasl2_fuzz::*;

fuzz_target!(|data: &[u8]| run(&mut Unstructured::new(data)));

fn pick<T: Copy>(u: &mut Unstructured<'_>, from: &[T]) -> T {
    from[u.choose_index(from.len()).unwrap_or(0)]
}

/// Server-sent text: no control characters (which the client refuses).
fn text(u: &mut Unstructured<'_>, max: usize) -> String {
    let mut s = string(u, max, None);
    s.retain(|c| !c.is_control());
    s
}

/// The layer the client must choose, as Cyrus chooses it: the strongest
/// cipher within the SSF bounds (relative to the external SSF), else
/// integrity, else none; no layer when the application takes none.
fn expected_qop(offer: &Offer, props: &SecurityProps, external: u32) -> Result<(&'static str, Option<&'static str>), Code> {
    let (need, limit) = if props.maxbufsize == 0 {
        (0, 0)
    } else {
        (props.min_ssf.saturating_sub(external), props.max_ssf.saturating_sub(external))
    };
    let offers = |q: &str| offer.qops.contains(&q) || (offer.qops.is_empty() && q == "auth");
    if limit > 1 && offers("auth-conf") {
        let best = CIPHERS
            .iter()
            .filter(|(name, ssf, _)| offer.ciphers.contains(name) && (need..=limit).contains(ssf))
            .max_by_key(|c| c.1);
        if let Some((name, ..)) = best {
            return Ok(("auth-conf", Some(name)));
        }
    }
    if limit >= 1 && need <= 1 && offers("auth-int") {
        Ok(("auth-int", None))
    } else if need == 0 {
        if offers("auth") { Ok(("auth", None)) } else { Err(Code::Fail) }
    } else {
        Err(Code::TooWeak)
    }
}

fn run(u: &mut Unstructured<'_>) {
    let props = SecurityProps {
        min_ssf: pick(u, &[0, 0, 1, 40, 56, 112, 128, 200]),
        max_ssf: pick(u, &[0, 1, 40, 55, 56, 112, 128, 256, u32::MAX]),
        maxbufsize: pick(u, &[0, 17, 100, 4096, 65536, 0xFF_FFFF, 0x100_0000, u32::MAX]),
        security_flags: 0,
    };
    let external_ssf = pick(u, &[0, 0, 0, 1, 56, 256]);
    let mut offer = Offer {
        realms: (0..u.int_in_range(0..=3).unwrap_or(0)).map(|_| text(u, 12)).collect(),
        nonce: format!("N{}", text(u, 24)),
        qops: ["auth", "auth-int", "auth-conf"].into_iter().filter(|_| u.arbitrary().unwrap_or(true)).collect(),
        ciphers: CIPHERS.iter().map(|c| c.0).filter(|_| u.arbitrary().unwrap_or(true)).collect(),
        maxbuf: None,
        utf8: u.arbitrary().unwrap_or(false),
    };
    match u.int_in_range(0..=5u8).unwrap_or(0) {
        0 | 1 => {}
        2 => offer.maxbuf = Some(pick(u, &[17, 25, 26, 64, 65536, 0xFF_FFFF])),
        3 => offer.maxbuf = Some(pick(u, &[0, 16, 0x100_0000, u32::MAX])),
        _ => offer.maxbuf = Some(u.int_in_range(17..=0xFF_FFFF).unwrap_or(4096)),
    }
    let fqdn = pick(u, &["mail.example.org", "h", "\u{e9}t\u{e9}.example"]);
    let params = Params {
        service: "imap",
        server_fqdn: Some(fqdn),
        local_addr: None,
        remote_addr: None,
        props,
        external_ssf,
        external_authid: None,
        flags: 0,
        channel_binding: None,
        cb_disposition: sasl2::mech::CbDisposition::None,
        gss_creds: None,
        host: None,
    };
    let mut session = FuzzSession {
        authname: user_name(u),
        password: secret(text(u, 20).as_bytes()),
        interact_first: u.arbitrary().unwrap_or(false),
        random_seed: u.arbitrary().unwrap_or(0),
        ..Default::default()
    };
    if u.arbitrary().unwrap_or(false) {
        session.authzid = Some(user_name(u));
    }
    if u.arbitrary().unwrap_or(false) {
        session.realm = Some(text(u, 12));
    }
    let password = String::from_utf8(session.password.clone()).unwrap();
    let secrets: [&[u8]; 1] = [password.as_bytes()];
    let mut mech = digest_md5::INFO.start(&params).expect("DIGEST-MD5 starts with a server name");

    // The challenge: honest, edited or arbitrary.
    let honest_challenge = offer.challenge();
    let mut challenge = honest_challenge.clone();
    match u.int_in_range(0..=3u8).unwrap_or(0) {
        0 | 1 => {}
        2 => {
            edit(u, &mut challenge);
        }
        _ => challenge = bytes(u, 0, 300),
    }
    let honest = challenge == honest_challenge;
    let valid_maxbuf = offer.maxbuf.is_none_or(|m| (17..=0xFF_FFFF).contains(&m));
    let expected = if props.min_ssf > props.max_ssf {
        Err(Code::BadParam)
    } else if !valid_maxbuf {
        Err(Code::BadProt)
    } else {
        expected_qop(&offer, &props, external_ssf).and_then(|(qop, cipher)| {
            let overhead = if qop == "auth" { 0 } else { digest_server::overhead(cipher) };
            if offer.server_maxbuf() <= overhead { Err(Code::BadProt) } else { Ok((qop, cipher)) }
        })
    };
    let response = match step(&mut *mech, &challenge, &mut session) {
        Ok(Step::Continue(out)) => out,
        // No challenge: it waits for one (fast reauthentication aside).
        Ok(Step::AwaitServer) if challenge.is_empty() => return,
        Ok(other) => panic!("DIGEST-MD5 after the challenge: {other:?}"),
        Err(e) => {
            check_error(&e, &secrets, &[&challenge]);
            if honest {
                assert_eq!(Err(e.code), expected, "honest challenge: {e}");
            }
            return;
        }
    };
    assert!(response.len() < 4096, "digest-response of {} bytes", response.len());
    assert!(digest_server::directives(&response).is_some(), "unparsable response");
    if !honest {
        // An edited challenge may still be valid; the server model holds
        // the original, so the exchange cannot go on from here.
        assert!(mech.step(b"rspauth=00", &mut session).is_err());
        return;
    }
    let (qop, cipher) = expected.unwrap_or_else(|c| panic!("answered a challenge it must refuse ({c:?})"));
    let authzid = session.authzid.clone().filter(|z| !z.is_empty() && *z != session.authname);
    let realm = match &offer.realms[..] {
        [one] => one.clone(),
        [] => fqdn.to_owned(),
        several => {
            assert_eq!(session.realm_requests, [several.to_vec()], "realms offered to the user");
            session.realm.clone().unwrap_or_else(|| fqdn.to_owned())
        }
    };
    let account = Account {
        authname: session.authname.clone(),
        password: password.clone(),
        authzid: authzid.clone(),
        realm,
        digest_uri: format!("imap/{fqdn}"),
    };
    let verified = digest_server::verify(&offer, &account, &response)
        .unwrap_or_else(|e| panic!("server refused the response: {e}: {}", String::from_utf8_lossy(&response)));
    assert_eq!((verified.qop.as_str(), verified.cipher), (qop, cipher));
    let our_maxbuf = props.maxbufsize.min(0xFF_FFFF);
    if props.maxbufsize != 0 {
        assert_eq!(verified.client_maxbuf, our_maxbuf, "announced maxbuf");
    }

    // rspauth: honest, edited, or arbitrary.
    let mut rspauth = verified.rspauth.clone();
    match u.int_in_range(0..=3u8).unwrap_or(0) {
        0 | 1 => {}
        2 => {
            edit(u, &mut rspauth);
        }
        _ => rspauth = bytes(u, 0, 80),
    }
    let outcome = match mech.step(&rspauth, &mut session) {
        Ok(Step::Done(None)) => {
            let proof = &verified.rspauth[b"rspauth=".len()..];
            assert!(contains(&rspauth.to_ascii_lowercase(), proof), "accepted a wrong rspauth");
            mech.outcome().expect("outcome after success")
        }
        Ok(other) => panic!("unexpected {other:?}"),
        Err(e) => {
            check_error(&e, &secrets, &[&challenge, &rspauth]);
            assert_ne!(rspauth, verified.rspauth, "honest rspauth refused: {e}");
            assert!(mech.step(&verified.rspauth, &mut session).is_err(), "a failed exchange went on");
            return;
        }
    };
    assert_eq!(outcome.authid, session.authname.as_bytes());
    assert_eq!(outcome.user(), authzid.as_deref().unwrap_or(&session.authname).as_bytes());
    let ssf = cipher.map_or(u32::from(qop == "auth-int"), |c| CIPHERS.iter().find(|k| k.0 == c).unwrap().1);
    assert_eq!(outcome.ssf, ssf);
    let server_maxbuf = offer.server_maxbuf();
    let overhead = if qop == "auth" { 0 } else { digest_server::overhead(cipher) };
    assert_eq!(outcome.maxoutbuf, server_maxbuf - overhead);
    let (Some(mut client), Some(mut server)) = (outcome.layer, verified.layer) else {
        assert!(qop == "auth", "layer missing for {qop}");
        return;
    };

    // A few packets each way, then a tampered one.
    for _ in 0..u.int_in_range(1..=4).unwrap_or(1) {
        let len = u.int_in_range(0..=(outcome.maxoutbuf as usize).min(600)).unwrap_or(0);
        let msg = u.bytes(len).unwrap_or_default().to_vec();
        let mut packet = Vec::new();
        client.wrap(&msg, &mut packet).unwrap();
        assert!(packet.len() <= server_maxbuf as usize, "packet larger than the server's maxbuf");
        assert_eq!(server.unwrap(&packet).unwrap_or_else(|e| panic!("server: {e}")), msg);
        let len = u.int_in_range(0..=(our_maxbuf as usize).saturating_sub(25).min(600)).unwrap_or(0);
        let msg = u.bytes(len).unwrap_or_default().to_vec();
        let packet = server.wrap(&msg);
        let mut out = b"kept".to_vec();
        if packet.len() > our_maxbuf as usize {
            // Larger than we announced (DES padding with a tiny maxbuf).
            assert!(client.unwrap(&packet, &mut out).is_err(), "accepted a packet above our maxbuf");
            assert_eq!(out, b"kept");
            return;
        }
        client.unwrap(&packet, &mut out).unwrap_or_else(|e| panic!("client: {e}"));
        assert_eq!(&out[4..], msg);
    }
    let mut packet = server.wrap(b"tamper with me");
    if edit(u, &mut packet) {
        let mut out = b"kept".to_vec();
        assert!(client.unwrap(&packet, &mut out).is_err(), "tampered packet accepted");
        assert_eq!(out, b"kept");
        let next = server.wrap(b"after");
        assert!(client.unwrap(&next, &mut out).is_err(), "the layer went on after a bad packet");
    }
}
