//! SCRAM-SHA-1/224/256/384/512 and -PLUS against the test server: fuzzed
//! credentials, binding, nonces and counts; the server's messages honest,
//! edited at fuzzed points, or arbitrary. An honest exchange must succeed;
//! an accepted server-first must be one a careful client may accept (and the
//! proof sent must verify against it); success needs the server's true
//! signature.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use libfuzzer_sys::fuzz_target;
use sasl2::mech::{self, CbDisposition, ChannelBinding, Code, Params, Step};
use sasl2_fuzz::scram_server::{Hash, Server, prep};
use sasl2_fuzz::*;

/// Characters of a channel-binding type name, and a few that are not.
const CB_NAME: &[u8] = b"tls-uniqueservrendpoitxp.09,= \"";

fuzz_target!(|data: &[u8]| run(&mut Unstructured::new(data)));

fn run(u: &mut Unstructured<'_>) {
    let hash = Hash::ALL[u.choose_index(5).unwrap_or(0)];
    let cb_mode = u.int_in_range(0..=2u8).unwrap_or(0);
    let binding = ChannelBinding {
        name: string(u, 20, Some(CB_NAME)),
        critical: u.arbitrary().unwrap_or(false),
        data: bytes(u, 0, 48),
    };
    let (disposition, gs2_flag) = match cb_mode {
        0 => (CbDisposition::None, "n".to_owned()),
        1 => (CbDisposition::Want, "y".to_owned()),
        _ => (CbDisposition::Used, format!("p={}", binding.name)),
    };
    let params = Params {
        channel_binding: (cb_mode == 2).then_some(&binding),
        cb_disposition: disposition,
        ..params()
    };
    let valid_cb_name =
        !binding.name.is_empty() && binding.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');

    let mut mech = match hash.info().start(&params) {
        Ok(m) => m,
        Err(e) => {
            assert!(cb_mode == 2 && !valid_cb_name && e.code == Code::BadBinding, "start failed: {e}");
            return;
        }
    };
    assert!(cb_mode != 2 || valid_cb_name, "accepted a bad channel-binding name {:?}", binding.name);
    let plus = format!("{}-PLUS", hash.info().name);
    assert_eq!(mech.name(), (cb_mode == 2).then_some(plus.as_str()));

    let mut session = FuzzSession {
        authname: user_name(u),
        password: secret(&bytes(u, 0, 24)),
        interact_first: u.arbitrary().unwrap_or(false),
        random_seed: u.arbitrary().unwrap_or(0),
        ..Default::default()
    };
    if u.arbitrary().unwrap_or(false) {
        session.authzid = Some(user_name(u));
    }
    let max_iterations = u.int_in_range(1..=64u32).unwrap_or(16);
    let option = if u.arbitrary().unwrap_or(false) { format!(" {max_iterations} ") } else { max_iterations.to_string() };
    session.options.push((mech::scram::MAX_ITERATIONS_OPTION, option));
    let saslprep = u.arbitrary().unwrap_or(false);
    if saslprep || u.arbitrary().unwrap_or(false) {
        session.options.push((mech::scram::SASLPREP_OPTION, if saslprep { " Yes" } else { "off" }.to_owned()));
    }
    let iterations = u.int_in_range(1..=max_iterations + 2).unwrap_or(1);
    let secrets: [&[u8]; 1] = [&session.password.clone()];

    // client-first-message (a challenge before it is ignored).
    let ignored: &[u8] = if u.arbitrary().unwrap_or(false) { b"junk" } else { b"" };
    let client_first = match step(&mut *mech, ignored, &mut session) {
        Ok(Step::Continue(out)) => out,
        Ok(other) => panic!("SCRAM after one step: {other:?}"),
        Err(e) => {
            check_error(&e, &secrets, &[]);
            let empty_user = session.authname.is_empty() || (saslprep && prep(session.authname.as_bytes()).is_empty());
            assert!(empty_user, "client-first failed: {e}");
            assert_eq!(e.code, Code::BadParam);
            return;
        }
    };
    let authzid = session.authzid.clone().filter(|z| !z.is_empty() && *z != session.authname);
    let authzid = authzid.as_deref();
    let salt = bytes(u, 1, 32);
    let salt = if salt.is_empty() { b"s".to_vec() } else { salt };
    let mut server = Server::new(
        hash,
        &session.authname,
        authzid,
        &session.password,
        &format!("{}S", string(u, 16, Some(ALNUM))),
        &salt,
        iterations,
        &gs2_flag,
        &binding.data,
        saslprep,
    );
    if u.arbitrary().unwrap_or(false) {
        server.extension = Some(format!("x={}", string(u, 8, Some(ALNUM))));
    }
    let honest_first = server.first(&client_first).unwrap_or_else(|e| panic!("server refused client-first: {e}"));

    // server-first-message: honest, edited, or arbitrary.
    let mut server_first = honest_first.clone();
    match u.int_in_range(0..=3u8).unwrap_or(0) {
        0 => {}
        1 | 2 => {
            edit(u, &mut server_first);
        }
        _ => server_first = bytes(u, 0, 200),
    }
    let honest = server_first == honest_first;
    let client_final = match step(&mut *mech, &server_first, &mut session) {
        Ok(Step::Continue(out)) => out,
        Ok(other) => panic!("SCRAM after the server-first-message: {other:?}"),
        Err(e) => {
            check_error(&e, &secrets, &[&server_first]);
            assert!(!honest || iterations > max_iterations, "honest server-first refused: {e}");
            assert_eq!(e.code, Code::BadProt, "{e}");
            return;
        }
    };
    assert!(iterations <= max_iterations || !honest, "computed more iterations than the bound");
    if let Err(why) = server.adopt(&server_first, max_iterations) {
        panic!("client accepted a server-first a careful client refuses ({why}): {:?}", String::from_utf8_lossy(&server_first));
    }
    let honest_final = server.finish(&client_final).unwrap_or_else(|e| panic!("server refused client-final: {e}"));

    // server-final-message: honest, edited, an error, or arbitrary.
    let mut server_final = honest_final.clone();
    match u.int_in_range(0..=4u8).unwrap_or(0) {
        0 => {}
        1 | 2 => {
            edit(u, &mut server_final);
        }
        3 => server_final = format!("e={}", string(u, 40, None).replace([',', '\0'], "")).into_bytes(),
        _ => server_final = bytes(u, 0, 120),
    }
    match step(&mut *mech, &server_final, &mut session) {
        Ok(Step::Done(None)) => {
            let verifier = format!("v={}", B64.encode(&server.signature));
            let first_field = server_final.split(|&b| b == b',').next().unwrap_or_default();
            assert_eq!(first_field, verifier.as_bytes(), "accepted a server-final without the true signature");
            let outcome = mech.outcome().expect("outcome after success");
            assert_eq!(outcome.authid, session.authname.as_bytes());
            assert_eq!(outcome.user.as_deref(), authzid.map(str::as_bytes));
            assert_eq!((outcome.ssf, outcome.maxoutbuf, outcome.layer.is_none()), (0, 0, true));
            assert_eq!(mech.outcome().unwrap_err().code, Code::NotDone);
            assert_eq!(mech.step(b"", &mut session).unwrap_err().code, Code::BadProt);
        }
        Ok(other) => panic!("unexpected {other:?}"),
        Err(e) => {
            check_error(&e, &secrets, &[&server_first, &server_final]);
            assert_ne!(server_final, honest_final, "honest server-final refused: {e}");
            if server_final.starts_with(b"e=") && !server_final.contains(&0) && !server_final.contains(&b',') {
                assert_eq!(e.code, Code::BadAuth, "{e}");
            }
            assert!(mech.step(&honest_final, &mut session).is_err(), "a failed exchange went on");
        }
    }
}
