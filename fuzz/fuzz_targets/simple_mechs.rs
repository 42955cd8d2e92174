//! CRAM-MD5, LOGIN, PLAIN, EXTERNAL and ANONYMOUS with fuzzed credentials
//! and server messages: every output must be exactly what the RFC says for
//! those credentials (CRAM-MD5's HMAC recomputed here), a challenge the
//! mechanism must refuse is refused, and no mechanism goes on after it is
//! done or has failed.
#![no_main]

use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sasl2::mech::{self, Code, MechInfo, Params, Step};
use sasl2_fuzz::*;

fuzz_target!(|data: &[u8]| run(&mut Unstructured::new(data)));

fn run(u: &mut Unstructured<'_>) {
    let infos: [&MechInfo; 5] =
        [&mech::cram_md5::INFO, &mech::login::INFO, &mech::plain::INFO, &mech::external::INFO, &mech::anonymous::INFO];
    let info = infos[u.choose_index(infos.len()).unwrap_or(0)];
    let external = if u.arbitrary().unwrap_or(true) { Some(user_name(u)) } else { None };
    let params = Params {
        external_authid: external.as_deref().map(str::as_bytes),
        ..params()
    };
    let mut session = FuzzSession {
        authname: user_name(u),
        password: secret(&bytes(u, 0, 32)),
        interact_first: u.arbitrary().unwrap_or(false),
        hostname: string(u, 300, None),
        ..Default::default()
    };
    if u.arbitrary().unwrap_or(false) {
        session.authzid = Some(string(u, 20, None));
    }
    let secrets: [&[u8]; 1] = [&session.password.clone()];
    let mut mech = match info.start(&params) {
        Ok(m) => m,
        Err(e) => {
            assert!(info.name == "EXTERNAL" && external.is_none(), "{} failed to start: {e}", info.name);
            assert_eq!(e.code, Code::NoMech);
            return;
        }
    };
    assert!(info.name != "EXTERNAL" || external.is_some(), "EXTERNAL started without an identity");

    let challenge = match u.int_in_range(0..=3u8).unwrap_or(0) {
        0 => Vec::new(),
        1 => b"<1896.697170952@postoffice.example.net>".to_vec(),
        _ => bytes(u, 0, 1100),
    };
    // The core drops an authzid equal to the identity (ANONYMOUS: a trace).
    let authzid = session.authzid.clone().filter(|z| !z.is_empty());
    let identity = if info.name == "EXTERNAL" { external.clone().unwrap_or_default() } else { session.authname.clone() };
    let distinct = authzid.clone().filter(|z| *z != identity);
    // A stateless mechanism hands its outcome over with its last step.
    let (result, carried) = match step(&mut *mech, &challenge, &mut session) {
        Ok(Step::DoneWith(out, o)) => (Ok(Step::Done(out)), Some(o)),
        other => (other, None),
    };
    let user = session.authname.clone();
    let (expected, outcome_user, outcome_authid): (Result<Step, Code>, Option<String>, String) = match info.name {
        "CRAM-MD5" if challenge.is_empty() || challenge.len() > 1024 => (Err(Code::BadProt), None, String::new()),
        "CRAM-MD5" => {
            let mut mac = <Hmac<md5::Md5> as Mac>::new_from_slice(&session.password).unwrap();
            mac.update(&challenge);
            let answer = format!("{user} {}", hex(&mac.finalize().into_bytes()));
            (Ok(Step::Done(Some(answer.into_bytes()))), None, user.clone())
        }
        "LOGIN" => (Ok(Step::Continue(user.clone().into_bytes())), None, user.clone()),
        "PLAIN" => {
            let mut m = distinct.clone().unwrap_or_default().into_bytes();
            m.push(0);
            m.extend_from_slice(user.as_bytes());
            m.push(0);
            m.extend_from_slice(&session.password);
            (Ok(Step::Done(Some(m))), distinct.clone(), user.clone())
        }
        "EXTERNAL" if !challenge.is_empty() => (Err(Code::BadProt), None, String::new()),
        "EXTERNAL" => (
            Ok(Step::Done(Some(distinct.clone().unwrap_or_default().into_bytes()))),
            distinct.clone(),
            external.clone().unwrap(),
        ),
        "ANONYMOUS" if !challenge.is_empty() => (Err(Code::BadProt), None, String::new()),
        _ => {
            let who = authzid.clone().unwrap_or_else(|| "anonymous".into());
            let mut trace = format!("{who}@{}", session.hostname);
            let mut cut = trace.len().min(255);
            while !trace.is_char_boundary(cut) {
                cut -= 1;
            }
            trace.truncate(cut);
            (Ok(Step::Done(Some(trace.into_bytes()))), None, "anonymous".into())
        }
    };
    match (&result, &expected) {
        (Err(e), Err(code)) => {
            check_error(e, &secrets, &[&challenge]);
            assert_eq!(e.code, *code, "{e}");
            return;
        }
        (Ok(got), Ok(want)) => assert_eq!(got, want, "{} output", info.name),
        _ => panic!("{}: got {result:?}, expected {expected:?}", info.name),
    }
    if info.name == "LOGIN" {
        // The password prompt; its text does not matter.
        let prompt = bytes(u, 0, 20);
        assert_eq!(mech.step(&prompt, &mut session).unwrap(), Step::Done(Some(session.password.clone())));
    }
    let stateless = carried.is_some();
    let o = carried.map_or_else(|| mech.outcome(), Ok).expect("outcome after success");
    assert_eq!(o.user(), outcome_user.as_deref().unwrap_or(&outcome_authid).as_bytes(), "{} user", info.name);
    assert_eq!(o.authid, outcome_authid.as_bytes(), "{} authid", info.name);
    assert_eq!((o.ssf, o.layer.is_none()), (0, true));
    if !stateless {
        // (The core never steps a completed exchange again.)
        assert_eq!(mech.step(b"", &mut session).unwrap_err().code, Code::BadProt, "{} went on", info.name);
    }
}
