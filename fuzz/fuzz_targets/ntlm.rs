//! NTLM against the test server: fuzzed credentials, `ntlm_v2` option and
//! CHALLENGE messages (flags, server challenge, target name, AV pairs with
//! or without a timestamp, layout), honest, edited at fuzzed points, or
//! arbitrary. The server model reads every CHALLENGE by the client's
//! documented rules: one it accepts must get an AUTHENTICATE message that
//! it verifies for the right password (NTLMv1 or NTLMv2 as the option says)
//! and refuses for another; one it refuses must fail with BadProt before
//! any credential is asked for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sasl2::mech::{self, Code, Step};
use sasl2_fuzz::ntlm_server::{self, AV_NB_DOMAIN, AV_TIMESTAMP, Account, NTLM, OEM, Spec, TARGET_INFO, UNICODE};
use sasl2_fuzz::*;

fuzz_target!(|data: &[u8]| run(&mut Unstructured::new(data)));

fn pick<T: Copy>(u: &mut Unstructured<'_>, from: &[T]) -> T {
    from[u.choose_index(from.len()).unwrap_or(0)]
}

/// A CHALLENGE an honest server could send.
fn honest_spec(u: &mut Unstructured<'_>) -> Spec {
    let mut flags = if u.ratio(1, 4).unwrap_or(false) {
        u.arbitrary().unwrap_or(0)
    } else {
        let mut f = if u.ratio(1, 8).unwrap_or(false) { 0 } else { NTLM };
        for bit in [UNICODE, OEM, 0x4, TARGET_INFO, 0x0001_0000, 0x0008_0000] {
            if u.arbitrary().unwrap_or(false) {
                f |= bit;
            }
        }
        f
    };
    let name = if u.ratio(1, 4).unwrap_or(false) { String::new() } else { string(u, 16, None) };
    let target_name = if flags & UNICODE != 0 { ntlm_server::utf16le(&name) } else { name.into_bytes() };
    let mut entries: Vec<(u16, Vec<u8>)> = Vec::new();
    for _ in 0..u.int_in_range(0..=5).unwrap_or(0) {
        let entry = match u.int_in_range(0..=5u8).unwrap_or(0) {
            0 => (AV_NB_DOMAIN, ntlm_server::utf16le(&string(u, 12, None))),
            1 => (1, ntlm_server::utf16le(&string(u, 12, Some(ALNUM)))),
            2 => (4, ntlm_server::utf16le(&string(u, 20, None))),
            3 => (AV_TIMESTAMP, u.bytes(8).unwrap_or(&[7; 8]).to_vec()),
            4 => (6, u.bytes(4).unwrap_or(&[0; 4]).to_vec()),
            _ => (u.int_in_range(8..=0xffff).unwrap_or(9), bytes(u, 0, 24)),
        };
        if entry.0 != AV_TIMESTAMP || entry.1.len() == 8 {
            entries.push(entry);
        }
    }
    if u.arbitrary().unwrap_or(false) {
        flags |= TARGET_INFO;
    }
    Spec {
        flags,
        server_challenge: u.arbitrary().unwrap_or([1; 8]),
        target_name,
        target_info: if flags & TARGET_INFO != 0 { ntlm_server::av_pairs(&entries) } else { Vec::new() },
        short_header: u.arbitrary().unwrap_or(false),
        info_first: u.arbitrary().unwrap_or(false),
        padding: u.int_in_range(0..=8).unwrap_or(0),
    }
}

fn run(u: &mut Unstructured<'_>) {
    let params = params();
    let option = pick(u, &[None, Some("no"), Some("Off"), Some(" 0 "), Some("false"), Some("yes"), Some("on"), Some("maybe")]);
    let v2 = !matches!(option.map(|o| o.trim().to_ascii_lowercase()).as_deref(), Some("no" | "off" | "0" | "false"));
    let mut session = FuzzSession {
        authname: user_name(u),
        password: secret(&bytes(u, 0, 20)),
        interact_first: u.arbitrary().unwrap_or(false),
        random_seed: u.arbitrary().unwrap_or(0),
        options: option.map(|o| (mech::ntlm::V2_OPTION, o.to_owned())).into_iter().collect(),
        ..Default::default()
    };
    let secrets: [&[u8]; 1] = [&session.password.clone()];
    let mut mech = mech::ntlm::INFO.start(&params).expect("NTLM starts");
    // NEGOTIATE (anything the server sent first is ignored).
    let ignored = if u.arbitrary().unwrap_or(false) { bytes(u, 0, 40) } else { Vec::new() };
    match mech.step(&ignored, &mut session) {
        Ok(Step::Continue(out)) => assert_eq!(out, ntlm_server::NEGOTIATE, "NEGOTIATE message"),
        other => panic!("NTLM's first step: {other:?}"),
    }

    let spec = honest_spec(u);
    let honest = spec.message();
    let parsed_honest = ntlm_server::parse(&honest).unwrap_or_else(|e| panic!("the model refuses its own challenge: {e}"));
    assert_eq!(parsed_honest.target_info, spec.target_info);
    let mut challenge = honest.clone();
    match u.int_in_range(0..=4u8).unwrap_or(0) {
        0 | 1 => {}
        2 | 3 => {
            edit(u, &mut challenge);
        }
        _ => challenge = bytes(u, 0, 300),
    }
    let expected = ntlm_server::parse(&challenge);
    let interact = session.interact_first;
    let result = step(&mut *mech, &challenge, &mut session);
    let parsed = match (expected, result) {
        (Err(why), Ok(out)) => panic!("accepted a CHALLENGE the model refuses ({why}): {out:?}"),
        (Err(_), Err(e)) => {
            check_error(&e, &secrets, &[&challenge]);
            assert_eq!(e.code, Code::BadProt, "{e}");
            assert_eq!(session.interact_first, interact, "credentials asked before the challenge was checked");
            return;
        }
        (Ok(parsed), Err(e)) => {
            check_error(&e, &secrets, &[&challenge]);
            assert!(!v2 && parsed.flags & NTLM == 0, "refused a valid CHALLENGE: {e}");
            assert_eq!(e.code, Code::TooWeak, "{e}");
            return;
        }
        (Ok(parsed), Ok(Step::Done(Some(out)))) => {
            assert!(v2 || parsed.flags & NTLM != 0, "NTLMv1 answered a server without the NTLM flag");
            let account = Account { user: &session.authname, password: &session.password, v2 };
            ntlm_server::verify(&parsed, &account, &out).unwrap_or_else(|e| {
                panic!("the server refuses the AUTHENTICATE message: {e}\nchallenge {challenge:?}\nanswer {out:?}")
            });
            let wrong = [&session.password[..], b"x"].concat();
            let impostor = Account { password: &wrong, ..account };
            assert!(ntlm_server::verify(&parsed, &impostor, &out).is_err(), "verified for a wrong password");
            parsed
        }
        (Ok(_), Ok(other)) => panic!("NTLM after the CHALLENGE: {other:?}"),
    };
    if challenge == honest {
        assert_eq!(parsed, parsed_honest);
    }
    let outcome = mech.outcome().expect("outcome after success");
    assert_eq!(outcome.authid, session.authname.as_bytes());
    assert_eq!((outcome.user, outcome.ssf, outcome.layer.is_none()), (None, 0, true));
    assert_eq!(mech.step(&challenge, &mut session).unwrap_err().code, Code::BadProt);
}
