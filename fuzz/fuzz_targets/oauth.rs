//! OAUTHBEARER and XOAUTH2: the JSON error documents against a reference
//! parser (serde_json), and the exchange with fuzzed tokens, identities,
//! host and port, and server answers (success, a generated error document,
//! arbitrary bytes). The initial response must be exactly the RFC 7628 (or
//! Google's) message; a rejection must be answered with a single 0x01 and
//! end in BadAuth whose detail is bounded and never shows the token.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sasl2::mech::oauth::{self, MAX_DEPTH, MAX_ERROR_LEN, Value};
use sasl2::mech::{Code, Params, Step};
use sasl2_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if u.arbitrary().unwrap_or(false) {
        json(u.take_rest());
    } else {
        exchange(&mut u);
    }
});

/// Nesting depth of objects and arrays (the top-level object is 1).
fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn json(doc: &[u8]) {
    let reference = serde_json::from_slice::<serde_json::Value>(doc);
    match oauth::parse_object(doc) {
        Ok(members) => {
            let v = match reference {
                Ok(v) => v,
                // serde_json (without arbitrary precision) refuses numbers
                // beyond f64; they are valid JSON.
                Err(e) if e.to_string().contains("number out of range") => return,
                Err(e) => panic!("accepted what serde_json refuses ({e}): {:?}", String::from_utf8_lossy(doc)),
            };
            let obj = v.as_object().expect("accepted a non-object");
            assert_eq!(members.len(), obj.len(), "member count (duplicates are refused)");
            for (name, value) in &members {
                let theirs = &obj[name];
                match value {
                    Value::String(s) => assert_eq!(theirs.as_str(), Some(s.as_str())),
                    Value::Number(_) => assert!(theirs.is_number()),
                    Value::Other => assert!(!theirs.is_string() && !theirs.is_number()),
                }
            }
        }
        Err(why) => {
            if let Ok(v) = reference {
                let valid_here = v.is_object() && doc.len() <= MAX_ERROR_LEN && depth(&v) <= MAX_DEPTH;
                assert!(!valid_here || why == "duplicate member", "refused valid JSON ({why}): {:?}", String::from_utf8_lossy(doc));
            }
        }
    }
}

/// RFC 6750 b64token.
fn is_b64token(t: &[u8]) -> bool {
    let body = t.iter().position(|&b| b == b'=').unwrap_or(t.len());
    body > 0
        && t[..body].iter().all(|&b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
        && t[body..].iter().all(|&b| b == b'=')
}

fn exchange(u: &mut Unstructured<'_>) {
    let bearer = u.arbitrary().unwrap_or(true);
    let info = if bearer { &oauth::OAUTHBEARER } else { &oauth::XOAUTH2 };
    let host = match u.int_in_range(0..=2u8).unwrap_or(0) {
        0 => None,
        1 => Some("mail.example.org".to_owned()),
        _ => Some(string(u, 20, None)),
    };
    let remote = match u.int_in_range(0..=3u8).unwrap_or(0) {
        0 => None,
        1 => Some("192.0.2.1;993".to_owned()),
        2 => Some(format!("::1;{}", string(u, 6, Some(b"0123456789")))),
        _ => Some(string(u, 12, None)),
    };
    let params = Params {
        server_fqdn: host.as_deref(),
        remote_addr: remote.as_deref(),
        ..params()
    };
    // The secret part (ending with SECRET_MARK), then any padding.
    let (marked, token) = if u.arbitrary().unwrap_or(true) {
        let marked = secret(string(u, 40, Some(b"abcXYZ0189-._~+/")).as_bytes());
        let mut t = marked.clone();
        t.extend(std::iter::repeat_n(b'=', u.int_in_range(0..=2).unwrap_or(0)));
        (marked, t)
    } else {
        let marked = secret(&bytes(u, 0, 40));
        (marked.clone(), marked)
    };
    let mut session = FuzzSession {
        authname: user_name(u),
        password: token.clone(),
        interact_first: u.arbitrary().unwrap_or(false),
        ..Default::default()
    };
    if u.arbitrary().unwrap_or(false) {
        session.authzid = Some(if u.arbitrary().unwrap_or(false) { session.authname.clone() } else { user_name(u) });
    }
    let secrets: [&[u8]; 1] = [&marked];
    let mut mech = info.start(&params).expect("bearer mechanisms always start");

    if u.arbitrary().unwrap_or(false) {
        // Data before our first message breaks the exchange.
        let e = mech.step(b"{}", &mut session).unwrap_err();
        assert_eq!(e.code, Code::BadProt);
        assert!(mech.step(b"", &mut session).is_err());
        return;
    }
    let first = match step(&mut *mech, b"", &mut session) {
        Ok(Step::Continue(out)) => out,
        Ok(other) => panic!("unexpected {other:?}"),
        Err(e) => {
            check_error(&e, &secrets, &[]);
            let authzid = session.authzid.as_deref().filter(|z| !z.is_empty() && *z != session.authname);
            let foreign_authzid = !bearer && authzid.is_some();
            if foreign_authzid {
                assert_eq!(e.code, Code::NoAuthz, "{e}");
            } else {
                assert_eq!(e.code, Code::BadParam, "{e}");
            }
            return;
        }
    };
    assert!(is_b64token(&token), "sent an invalid token");
    let user = session
        .authzid
        .clone()
        .filter(|z| !z.is_empty() && *z != session.authname)
        .unwrap_or_else(|| session.authname.clone());
    let expected = if bearer {
        let port = remote.as_deref().and_then(|r| r.rsplit_once(';')).and_then(|(_, p)| {
            (!p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse::<u16>().ok()).flatten()
        });
        let mut m = format!("n,a={},\x01", user.replace('=', "=3D").replace(',', "=2C")).into_bytes();
        if let Some(h) = host.as_deref().filter(|h| !h.is_empty()) {
            m.extend_from_slice(format!("host={h}\x01").as_bytes());
        }
        if let Some(p) = port.filter(|&p| p != 0) {
            m.extend_from_slice(format!("port={p}\x01").as_bytes());
        }
        m.extend_from_slice(b"auth=Bearer ");
        m.extend_from_slice(&token);
        m.extend_from_slice(b"\x01\x01");
        m
    } else {
        let mut m = format!("user={}\x01auth=Bearer ", session.authname).into_bytes();
        m.extend_from_slice(&token);
        m.extend_from_slice(b"\x01\x01");
        m
    };
    assert_eq!(first, expected, "initial response");

    // The server's answer: success, a generated error document, or bytes.
    let challenge: Vec<u8> = match u.int_in_range(0..=2u8).unwrap_or(0) {
        0 => Vec::new(),
        1 => {
            let status = string(u, 12, None);
            let scope = string(u, 30, None);
            let mut doc = serde_json::json!({ "status": status, "scope": scope });
            if u.arbitrary().unwrap_or(false) {
                doc["openid-configuration"] = serde_json::json!(string(u, 30, None));
            }
            doc.to_string().into_bytes()
        }
        _ => bytes(u, 1, 300),
    };
    let challenge = if challenge.is_empty() && u.arbitrary().unwrap_or(false) { b"x".to_vec() } else { challenge };
    match mech.step(&challenge, &mut session) {
        Ok(Step::Done(None)) => {
            assert!(challenge.is_empty());
            let o = mech.outcome().unwrap();
            assert_eq!((o.user(), &o.authid[..]), (user.as_bytes(), session.authname.as_bytes()));
            assert!(mech.step(b"", &mut session).is_err());
        }
        Ok(Step::Continue(reply)) => {
            assert!(!challenge.is_empty());
            assert_eq!(reply, [1u8], "a rejection is answered with 0x01");
            let last: &[u8] = if u.arbitrary().unwrap_or(true) { b"" } else { b"more" };
            let e = mech.step(last, &mut session).unwrap_err();
            check_error(&e, &secrets, &[&challenge]);
            assert_eq!(e.code, if last.is_empty() { Code::BadAuth } else { Code::BadProt }, "{e}");
            assert!(mech.step(b"", &mut session).is_err(), "a failed exchange went on");
        }
        other => panic!("unexpected {other:?}"),
    }
}
