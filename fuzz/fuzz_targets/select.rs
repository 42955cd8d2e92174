//! Mechanism selection through the connection core: a fuzzed server list
//! (known names, -PLUS variants, unknown and odd ones, any separators, or
//! arbitrary text), security properties, external SSF and identity,
//! channel binding, connection flags, `client_mech_list`, and callbacks
//! that answer, prompt, are absent or fail. The mechanism chosen must be
//! offered, allowed by every property, and (without channel binding) the
//! first usable one in the library's order, bearer tokens last; a refusal
//! must say why in bounded text. The chosen mechanism then gets one fuzzed
//! server message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sasl2::core::{ClientConn, Lookup, Settings, Status};
use sasl2::mech::{self, ChannelBinding, Code, Need, SecurityProps, conn_flags, feat, sec};
use sasl2_fuzz::*;
use zeroize::Zeroizing;

fuzz_target!(|data: &[u8]| run(&mut Unstructured::new(data)));

const NAMES: &[&str] = &[
    "SCRAM-SHA-512", "SCRAM-SHA-384", "SCRAM-SHA-256", "SCRAM-SHA-224", "SCRAM-SHA-1", "DIGEST-MD5", "EXTERNAL",
    "CRAM-MD5", "OAUTHBEARER", "XOAUTH2", "PLAIN", "LOGIN", "ANONYMOUS", "GSSAPI", "NTLM", "GS2-KRB5", "SRP",
    "OTP", "scram-sha-256", "plain", "X", "-PLUS", "PLUS", "",
];
const SEPARATORS: &[&str] = &[" ", ",", "  ", "\t", "\r\n", ";", "\"", "=", "\0", "\u{e9}"];

fn pick<T: Copy>(u: &mut Unstructured<'_>, from: &[T]) -> T {
    from[u.choose_index(from.len()).unwrap_or(0)]
}

fn lookup<T>(u: &mut Unstructured<'_>, value: T) -> Lookup<T> {
    match u.int_in_range(0..=5u8).unwrap_or(0) {
        0..=2 => Lookup::Value(value),
        3 => Lookup::Prompt,
        4 => Lookup::Absent,
        _ => Lookup::Failed(Code::Fail),
    }
}

/// Server-list tokens, as the library splits them.
fn tokens(list: &str) -> impl Iterator<Item = &str> {
    list.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).filter(|s| !s.is_empty())
}

fn run(u: &mut Unstructured<'_>) {
    let mech_list = if u.arbitrary().unwrap_or(false) {
        let names: Vec<&str> = (0..u.int_in_range(0..=4).unwrap_or(0)).map(|_| pick(u, NAMES)).collect();
        Some(names.join(" "))
    } else {
        None
    };
    let fqdn = pick(u, &[Some("mail.example.org"), None, Some("")]);
    let flags = u.int_in_range(0..=7u32).unwrap_or(0) * conn_flags::SUCCESS_DATA;
    let mut settings = match Settings::new("imap", fqdn, None, None, flags, mech_list.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            assert_eq!(e.code, Code::NoMech);
            assert!(mech_list.as_deref().is_some_and(|l| l.split_ascii_whitespace().all(|n| mech::find(n.strip_suffix("-PLUS").unwrap_or(n)).is_none())));
            return;
        }
    };
    settings.props = SecurityProps {
        min_ssf: pick(u, &[0, 0, 1, 56, 128, 256]),
        max_ssf: pick(u, &[0, 1, 56, 128, 256, u32::MAX]),
        maxbufsize: pick(u, &[0, 4096, 65536]),
        security_flags: u.arbitrary::<u8>().unwrap_or(0) as u32 & 0x7f,
    };
    settings.external_ssf = pick(u, &[0, 0, 1, 2, 56, 256]);
    if u.arbitrary().unwrap_or(false) {
        settings.extras_mut().external_authid = Some(user_name(u).into_bytes());
    }
    if u.arbitrary().unwrap_or(false) {
        settings.extras_mut().channel_binding = Some(ChannelBinding {
            name: pick(u, &["tls-unique", "tls-server-end-point", "tls-exporter", "bad name"]).into(),
            critical: u.arbitrary().unwrap_or(false),
            data: vec![7; u.int_in_range(0..=32).unwrap_or(0)],
        });
    }
    let mut app = FuzzApp {
        user: lookup(u, "zed".to_owned()),
        authname: lookup(u, "user".to_owned()),
        pass: lookup(u, Zeroizing::new(b"token-or-password".to_vec())),
        realm: lookup(u, "realm".to_owned()),
        options: Vec::new(),
        logged: 0,
        max_log: MAX_DETAIL,
        authid: None,
        username: None,
    };
    let list = if u.arbitrary().unwrap_or(true) {
        let mut l = String::new();
        for _ in 0..u.int_in_range(0..=12).unwrap_or(0) {
            l.push_str(pick(u, NAMES));
            if u.arbitrary().unwrap_or(false) {
                l.push_str("-PLUS");
            }
            l.push_str(pick(u, SEPARATORS));
        }
        l
    } else {
        String::from_utf8_lossy(&bytes(u, 0, 4000)).into_owned()
    };
    let want_output = u.arbitrary().unwrap_or(true);

    // The oracle without channel binding: the first usable mechanism, in the
    // library's order, that the server offers; bearer tokens only if no
    // other qualifies, and Kerberos without a credential after them.
    let usable = settings.usable_mechs(&app);
    let offered = |name: &str| tokens(&list).any(|t| t.eq_ignore_ascii_case(name));
    let rank = |name: &str| {
        let info = mech::find(name).unwrap();
        (info.factory.credential(&params()).is_err(), info.last_resort)
    };
    let oracle = usable.iter().copied().filter(|n| offered(n)).min_by_key(|n| rank(n));

    let mut conn = ClientConn::default();
    let result = conn.start(&settings, &list, &mut app, want_output);
    let Some(name) = conn.mech_name().map(|n| n.into_owned()) else {
        let e = result.expect_err("a start without a mechanism must fail");
        check_error(&e, &[], &[]);
        if settings.extras().channel_binding.is_none() {
            // NoMech: nothing qualified. Anything else: the mechanism
            // chosen could not start (DIGEST-MD5 with an empty server name).
            assert_eq!(e.code == Code::NoMech, oracle.is_none(), "{oracle:?} was usable: {e}");
        }
        return;
    };
    let base = name.strip_suffix("-PLUS").unwrap_or(&name);
    let info = mech::find(base).expect("a known mechanism");
    assert!(offered(base) || offered(&format!("{base}-PLUS")), "{name} was not offered in {list:?}");
    if settings.extras().channel_binding.is_none() {
        assert_eq!(Some(info.name), oracle, "chose {name} from {list:?}");
        assert_eq!(name, info.name, "-PLUS without binding data");
    } else if name.ends_with("-PLUS") {
        assert_ne!(info.features & feat::CHANNEL_BINDING, 0);
    }
    if let Some(l) = &mech_list {
        assert!(l.split_ascii_whitespace().any(|n| n.eq_ignore_ascii_case(base)), "{name} not in client_mech_list");
    }
    let p = settings.props;
    assert!(p.min_ssf.saturating_sub(settings.external_ssf) <= info.max_ssf, "{name} too weak");
    let mut required = p.security_flags;
    if p.min_ssf <= settings.external_ssf && settings.external_ssf > 1 {
        required &= !sec::NOPLAINTEXT;
    }
    assert_eq!(required & !info.security_flags, 0, "{name} lacks required security flags");
    if info.required.contains(&Need::Password) {
        assert!(!matches!(app.pass, Lookup::Absent), "{name} chosen without a password callback");
    }
    assert!(info.name != "EXTERNAL" || settings.extras().external_authid.is_some());
    assert!(info.features & feat::NEED_SERVER_FQDN == 0 || fqdn.is_some());
    assert!(flags & conn_flags::NEED_PROXY == 0 || info.features & feat::ALLOWS_PROXY != 0);
    assert!(flags & conn_flags::NEED_HTTP == 0 || info.features & feat::SUPPORTS_HTTP != 0);

    // One server message for the chosen mechanism.
    match result {
        Ok((Status::Continue | Status::Interact, _)) => {
            let input = bytes(u, 0, 200);
            if let Err(e) = conn.step(&settings, Some(&input), &mut app, &[]) {
                check_error(&e, &[], &[&input]);
            }
        }
        Ok((Status::Ok, _)) => {}
        Err(e) => check_error(&e, &[], &[]),
    }
}
