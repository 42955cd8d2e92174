//! Choosing a mechanism from the server's list, as Cyrus 2.1.28 does, and
//! saying why each offered mechanism was passed over when none is chosen.
//!
//! Cyrus (as observed) takes the first mechanism, in its own strength order,
//! that the server offers and that passes every filter; so the server's order
//! does not matter. Two deliberate differences, both for safety:
//! * EXTERNAL is passed over when no external identity is set (Cyrus picks it
//!   and then fails with an empty error);
//! * bearer-token mechanisms (OAUTHBEARER, XOAUTH2) are only chosen when no
//!   other offered mechanism qualifies, so a password is never sent as a token;
//! * Kerberos mechanisms without a credential (no ticket) are chosen only
//!   when nothing else qualifies, bearer tokens included, and then fail as
//!   Cyrus's do: a server offering GSSAPI and SCRAM gets SCRAM (Cyrus picks
//!   GSSAPI and fails, its issue #543).
//!
//! With channel-binding data, -PLUS variants are preferred, as in Cyrus.

use std::fmt::Write as _;

use super::callbacks::{can_supply, AppCallbacks};
use crate::mech::registry::NameIndex;
use crate::mech::{conn_flags, feat, sec, CbDisposition, MechInfo, Params};

/// What selection needs to know about the connection.
pub struct Context<'a> {
    /// The connection's mechanisms, strongest first (all of them, or those of
    /// the `client_mech_list` option in its order).
    pub available: &'a [&'static MechInfo],
    /// The connection as a mechanism would be started on it (with the
    /// channel-binding data, if any, and no disposition yet).
    pub params: Params<'a>,
    /// Whether the chosen mechanism will be started (so it is prepared,
    /// see `Factory::prepare`), rather than only listed.
    pub prepare: bool,
}

#[derive(Debug)]
pub struct Choice {
    pub info: &'static MechInfo,
    pub cb: CbDisposition,
    /// The name as the server listed it (with -PLUS when binding is used).
    pub plus: bool,
}

/// Splits a server mechanism list: names are runs of `A-Z a-z 0-9 - _`,
/// anything else separates (RFC 4422 allows any punctuation).
pub fn split_mechlist(list: &str) -> impl Iterator<Item = &str> {
    // By bytes: a name is ASCII, and any other byte (of a multi-byte
    // character too) separates, so every cut is at a character boundary.
    let bytes = list.as_bytes();
    let mut at = 0;
    // Separators are skipped, then a name is the run of name bytes after.
    std::iter::from_fn(move || {
        while at < bytes.len() && !NAME_BYTE[bytes[at] as usize] {
            at += 1;
        }
        if at == bytes.len() {
            return None;
        }
        let start = at;
        while at < bytes.len() && NAME_BYTE[bytes[at] as usize] {
            at += 1;
        }
        Some(&list[start..at])
    })
}

/// Which bytes make up mechanism names, looked up rather than tested.
static NAME_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
        b += 1;
    }
    table
};

fn strip_plus(name: &str) -> Option<&str> {
    let n = name.len();
    (n > 5 && name[n - 5..].eq_ignore_ascii_case("-PLUS")).then(|| &name[..n - 5])
}

/// Selects a mechanism, or explains in one message why none qualified.
pub fn select(ctx: &Context<'_>, mechlist: &str, callbacks: &dyn AppCallbacks) -> Result<Choice, String> {
    // One pass over the server's list, marking which of our mechanisms it
    // offers (plain and -PLUS) in two bit sets: the cost is linear in the
    // list and nothing is allocated for it, however long a hostile server
    // makes it (up to 128 mechanisms; more take a heap copy).
    let available = ctx.available;
    let words = available.len().div_ceil(64);
    let mut stack = [0u64; 4];
    let mut heap = Vec::new();
    let (plain_set, plus_set) = if 2 * words <= stack.len() {
        stack[..2 * words].split_at_mut(words)
    } else {
        heap.resize(2 * words, 0);
        heap.split_at_mut(words)
    };
    let (mut count, mut server_can_bind) = (0usize, false);
    let mut scratch = None;
    let index = NameIndex::new(available, &mut scratch);
    for name in split_mechlist(mechlist) {
        count += 1;
        let (base, set) = match strip_plus(name) {
            Some(base) => {
                server_can_bind = true;
                (base, &mut *plus_set)
            }
            None => (name, &mut *plain_set),
        };
        if let Some(i) = index.position(base) {
            set[i / 64] |= 1 << (i % 64);
        }
    }
    if count == 0 {
        return Err("the server offered no mechanisms".into());
    }
    let p = &ctx.params;
    let cb = p.channel_binding;
    let negotiating = count > 1;

    // Cyrus's channel-binding disposition for the connection as a whole.
    let base_cb = match cb {
        None => CbDisposition::None,
        Some(cb) if negotiating => {
            if !server_can_bind && cb.critical {
                return Err("channel binding is critical but the server offers no -PLUS mechanism".into());
            }
            CbDisposition::Want
        }
        Some(cb) if cb.critical => CbDisposition::Used,
        Some(_) => CbDisposition::None,
    };

    let min_ssf = p.props.min_ssf.saturating_sub(p.external_ssf);
    let mut required_flags = p.props.security_flags;
    if p.props.min_ssf <= p.external_ssf && p.external_ssf > 1 {
        // An external layer (TLS) protects plaintext mechanisms.
        required_flags &= !sec::NOPLAINTEXT;
    }

    let mut reasons = Reasons::default();
    let mut last_resort: Option<Choice> = None;
    let mut without_credential: Option<Choice> = None;
    // -PLUS candidates first when we hold binding data, then the plain names.
    let passes: &[bool] = if cb.is_some() { &[true, false] } else { &[false] };
    for &plus in passes {
        let set: &[u64] = if plus { plus_set } else { plain_set };
        // The offered mechanisms, in our order.
        let offered = set.iter().enumerate().flat_map(|(w, &bits)| {
            std::iter::successors((bits != 0).then_some(bits), |b| Some(b & (b - 1)).filter(|&b| b != 0))
                .map(move |b| w * 64 + b.trailing_zeros() as usize)
        });
        for info in offered.map(|i| available[i]) {
            let why = if plus && info.features & feat::CHANNEL_BINDING == 0 {
                Some("does not support channel binding".to_string())
            } else if !info.required.iter().all(|&need| can_supply(callbacks, need)) {
                Some("the application provides no callback or prompt for the password".to_string())
            } else if min_ssf > info.max_ssf {
                Some(format!("too weak: its best SSF is {} and at least {} is required", info.max_ssf, min_ssf))
            } else if (required_flags ^ info.security_flags) & required_flags != 0 {
                Some(format!(
                    "excluded by the security flags ({})",
                    flag_names(required_flags & !info.security_flags)
                ))
            } else if base_cb == CbDisposition::Used && !plus && info.features & feat::CHANNEL_BINDING == 0 {
                Some("channel binding is required and it cannot bind".to_string())
            } else if info.features & feat::NEED_SERVER_FQDN != 0 && p.server_fqdn.is_none() {
                Some("needs the server's name, and none was given to sasl_client_new".to_string())
            } else if p.flags & conn_flags::NEED_PROXY != 0 && info.features & feat::ALLOWS_PROXY == 0 {
                Some("cannot carry an authorization identity (SASL_NEED_PROXY)".to_string())
            } else if p.flags & conn_flags::NEED_HTTP != 0 && info.features & feat::SUPPORTS_HTTP == 0 {
                Some("cannot be used over HTTP (SASL_NEED_HTTP)".to_string())
            } else if let Err(why) = info.factory.check(p) {
                Some(why)
            } else if ctx.prepare {
                info.factory.prepare().err()
            } else {
                None
            };
            if let Some(why) = why {
                reasons.add(info.name, if plus { "-PLUS" } else { "" }, &why);
                continue;
            }
            let cb_disp = if plus { CbDisposition::Used } else { base_cb };
            // A critical binding on an explicitly chosen mechanism binds too.
            let plus = plus || cb_disp == CbDisposition::Used;
            let choice = Choice { info, cb: cb_disp, plus };
            if let Err(why) = info.factory.credential(p) {
                reasons.add(info.name, if plus { "-PLUS" } else { "" }, &why);
                if without_credential.is_none() {
                    without_credential = Some(choice);
                }
                continue;
            }
            if info.last_resort {
                if last_resort.is_none() {
                    last_resort = Some(choice);
                }
                continue;
            }
            return Ok(choice);
        }
    }
    // Bearer tokens before a mechanism sure to fail for want of its
    // credential; that one last, as Cyrus would choose it (and fail in its
    // first step, with the same code and message).
    if let Some(choice) = last_resort.or(without_credential) {
        return Ok(choice);
    }

    for name in split_mechlist(mechlist) {
        let base = strip_plus(name).unwrap_or(name);
        // A scan, not the index: with one caller its lookup is inlined into
        // the loop above; a second caller cost 30 to 270 instructions on
        // every selection (callgrind, the release build).
        if !available.iter().any(|m| m.name.eq_ignore_ascii_case(base)) {
            let why = if crate::mech::find(base).is_some() {
                "not in the client_mech_list option"
            } else if strip_plus(name).is_some() && cb.is_none() {
                "needs channel-binding data (SASL_CHANNEL_BINDING), none set"
            } else {
                "not supported by this library"
            };
            reasons.add_unknown(name, why);
        }
    }
    Err(format!("No worthy mechs found{}", reasons.finish()))
}

/// Why each offered mechanism was passed over. Reasons for our own
/// mechanisms are bounded by how many we have; names we do not know come
/// from the server, so only the first few are listed and the rest counted:
/// a hostile list of a million names must not become a huge message.
#[derive(Default)]
struct Reasons {
    text: String,
    unknown_listed: usize,
    unknown_more: usize,
}

impl Reasons {
    const MAX_UNKNOWN_LISTED: usize = 8;
    /// Mechanism names are at most 20 characters (RFC 4422 section 3.1).
    const MAX_NAME: usize = 20;

    fn add(&mut self, name: &str, suffix: &str, why: &str) {
        let _ = write!(self.text, "; {name}{suffix}: {why}");
    }

    fn add_unknown(&mut self, name: &str, why: &str) {
        if self.unknown_listed == Self::MAX_UNKNOWN_LISTED {
            self.unknown_more += 1;
            return;
        }
        self.unknown_listed += 1;
        match name.get(..Self::MAX_NAME).filter(|_| name.len() > Self::MAX_NAME) {
            Some(shown) => self.add(shown, "...", why),
            None => self.add(name, "", why),
        }
    }

    fn finish(mut self) -> String {
        if self.unknown_more > 0 {
            let _ = write!(self.text, "; and {} more names not usable here", self.unknown_more);
        }
        self.text
    }
}

fn flag_names(flags: u32) -> String {
    const NAMES: [(u32, &str); 7] = [
        (sec::NOPLAINTEXT, "NOPLAINTEXT"),
        (sec::NOACTIVE, "NOACTIVE"),
        (sec::NODICTIONARY, "NODICTIONARY"),
        (sec::FORWARD_SECRECY, "FORWARD_SECRECY"),
        (sec::NOANONYMOUS, "NOANONYMOUS"),
        (sec::PASS_CREDENTIALS, "PASS_CREDENTIALS"),
        (sec::MUTUAL_AUTH, "MUTUAL_AUTH"),
    ];
    let names: Vec<&str> = NAMES.iter().filter(|(f, _)| flags & f != 0).map(|(_, n)| *n).collect();
    if names.is_empty() { format!("0x{flags:x}") } else { names.join("|") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::callbacks::{Availability, CallbackId, Lookup};
    use crate::mech::{ChannelBinding, LogLevel, Secret, SecurityProps, MECHANISMS};

    struct Cbs {
        pass: Availability,
    }
    impl AppCallbacks for Cbs {
        fn availability(&self, id: CallbackId) -> Availability {
            if id == CallbackId::Pass { self.pass } else { Availability::Absent }
        }
        fn simple(&mut self, _: CallbackId) -> Lookup<Vec<u8>> {
            Lookup::Absent
        }
        fn secret(&mut self) -> Lookup<Secret> {
            Lookup::Absent
        }
        fn realm(&mut self, _: &[String]) -> Lookup<Vec<u8>> {
            Lookup::Absent
        }
        fn canon_user(&mut self, _: &[u8], _: u32) -> Lookup<Vec<u8>> {
            Lookup::Absent
        }
        fn option(&mut self, _: Option<&str>, _: &str) -> Option<String> {
            None
        }
        fn log(&mut self, _: LogLevel, _: &str) {}
    }

    fn ctx() -> Context<'static> {
        Context {
            available: MECHANISMS,
            params: Params {
                service: "imap",
                server_fqdn: Some("mail.example.org"),
                local_addr: None,
                remote_addr: None,
                props: SecurityProps::default(),
                external_ssf: 0,
                external_authid: None,
                flags: 0,
                channel_binding: None,
                cb_disposition: CbDisposition::None,
                gss_creds: None,
                host: None,
            },
            prepare: true,
        }
    }

    fn pick(ctx: &Context<'_>, list: &str) -> Result<String, String> {
        select(ctx, list, &Cbs { pass: Availability::Callback })
            .map(|c| if c.plus { format!("{}-PLUS", c.info.name) } else { c.info.name.to_string() })
    }

    #[test]
    fn client_strength_order_wins_over_server_order() {
        // Observed with Debian's Cyrus 2.1.28.
        let c = ctx();
        assert_eq!(pick(&c, "PLAIN CRAM-MD5").unwrap(), "CRAM-MD5");
        assert_eq!(pick(&c, "LOGIN PLAIN ANONYMOUS").unwrap(), "PLAIN");
        assert_eq!(pick(&c, "SCRAM-SHA-1 DIGEST-MD5").unwrap(), "SCRAM-SHA-1");
        assert_eq!(pick(&c, "scram-sha-1,scram-sha-256").unwrap(), "SCRAM-SHA-256");
        assert_eq!(pick(&c, "SCRAM-SHA-1 PLAIN SCRAM-SHA-512").unwrap(), "SCRAM-SHA-512");
    }

    #[test]
    fn names_are_runs_of_name_bytes() {
        let names: Vec<&str> = split_mechlist("  PLAIN,scram-sha-1\tX_Y-Z\u{e9}GSSAPI ").collect();
        assert_eq!(names, ["PLAIN", "scram-sha-1", "X_Y-Z", "GSSAPI"]);
        assert_eq!(split_mechlist("").count() + split_mechlist(" ,\u{e9} ").count(), 0);
    }

    #[test]
    fn security_flags_and_ssf_filter() {
        let mut c = ctx();
        c.params.props.security_flags = sec::NOPLAINTEXT;
        assert_eq!(pick(&c, "PLAIN CRAM-MD5 ANONYMOUS").unwrap(), "CRAM-MD5");
        let err = pick(&c, "PLAIN LOGIN").unwrap_err();
        assert!(err.contains("PLAIN: excluded by the security flags (NOPLAINTEXT)"), "{err}");
        c.params.props.security_flags = 0;
        c.params.props.min_ssf = 56;
        let err = pick(&c, "PLAIN CRAM-MD5").unwrap_err();
        assert!(err.contains("CRAM-MD5: too weak"), "{err}");
        // A TLS layer strong enough lifts both the SSF need and NOPLAINTEXT.
        c.params.external_ssf = 256;
        c.params.props.security_flags = sec::NOPLAINTEXT;
        assert_eq!(pick(&c, "PLAIN").unwrap(), "PLAIN");
    }

    #[test]
    fn reasons_for_unknown_and_missing_credentials() {
        let c = ctx();
        let err = select(&c, "PLAIN FOO EXTERNAL", &Cbs { pass: Availability::Absent }).unwrap_err();
        assert!(err.starts_with("No worthy mechs found"), "{err}");
        assert!(err.contains("PLAIN: the application provides no callback"), "{err}");
        assert!(err.contains("FOO: not supported"), "{err}");
        assert!(err.contains("EXTERNAL: no external identity"), "{err}");
        assert!(pick(&c, " ,, ").unwrap_err().contains("no mechanisms"));
    }

    #[test]
    fn a_huge_server_list_gives_a_bounded_explanation() {
        let c = ctx();
        // Smaller under Miri, which runs each about 10^4 times slower.
        let names = if cfg!(miri) { 20 } else { 200_000 };
        let mut list: String = (0..names).map(|i| format!("X-UNKNOWN-{i} ")).collect();
        list.push_str(&"Y".repeat(if cfg!(miri) { 100 } else { 1 << 20 }));
        let err = pick(&c, &list).unwrap_err();
        assert!(err.len() < 2048, "{} bytes", err.len());
        assert!(err.contains("X-UNKNOWN-0: not supported by this library"), "{err}");
        assert!(err.ends_with(&format!("; and {} more names not usable here", names - 7)), "{err}");
        // Reasons for our own mechanisms are always given in full.
        let err = select(&c, &format!("{list} PLAIN"), &Cbs { pass: Availability::Absent }).unwrap_err();
        assert!(err.contains("; PLAIN: the application provides no callback"), "{err}");
        // Whatever its length, a usable mechanism anywhere in it is found.
        list.push_str(" SCRAM-SHA-1 PLAIN");
        assert_eq!(pick(&c, &list).unwrap(), "SCRAM-SHA-1");
        let long = "Z".repeat(100);
        let err = pick(&c, &long).unwrap_err();
        assert!(err.contains("ZZZZZZZZZZZZZZZZZZZZ...: not supported"), "{err}");
    }

    #[test]
    fn bearer_tokens_are_a_last_resort() {
        let c = ctx();
        assert_eq!(pick(&c, "OAUTHBEARER PLAIN").unwrap(), "PLAIN");
        assert_eq!(pick(&c, "XOAUTH2 OAUTHBEARER").unwrap(), "OAUTHBEARER");
    }

    #[test]
    fn a_mechanism_without_its_credential_is_chosen_last() {
        struct NoTicket;
        impl crate::mech::Factory for NoTicket {
            fn start(&self, _: &Params<'_>) -> crate::mech::Result<Box<dyn crate::mech::ClientMech>> {
                unreachable!("selection only")
            }
            fn credential(&self, _: &Params<'_>) -> Result<(), String> {
                Err("no usable Kerberos credential: none".into())
            }
        }
        static KRB: MechInfo = MechInfo {
            name: "KRB",
            max_ssf: 256,
            security_flags: sec::NOPLAINTEXT | sec::NOACTIVE | sec::NOANONYMOUS | sec::MUTUAL_AUTH,
            features: 0,
            required: &[],
            last_resort: false,
            factory: &NoTicket,
        };
        let find = |name| MECHANISMS.iter().copied().find(|m| m.name == name).unwrap();
        let available = [&KRB, find("SCRAM-SHA-256"), find("OAUTHBEARER")];
        let c = Context { available: &available, ..ctx() };
        // Anything else that qualifies comes first, a bearer token too.
        assert_eq!(pick(&c, "KRB SCRAM-SHA-256").unwrap(), "SCRAM-SHA-256");
        assert_eq!(pick(&c, "KRB OAUTHBEARER").unwrap(), "OAUTHBEARER");
        // Alone, it is chosen (and fails in its first step, as Cyrus's).
        assert_eq!(pick(&c, "KRB").unwrap(), "KRB");
        // Other reasons still pass it over.
        let mut c = Context { available: &available, ..ctx() };
        c.params.props.min_ssf = 1000;
        assert!(pick(&c, "KRB").unwrap_err().contains("KRB: too weak"));
    }

    #[test]
    fn channel_binding_prefers_plus() {
        let binding = ChannelBinding { name: "tls-unique".into(), critical: false, data: vec![1, 2, 3] };
        let mut c = ctx();
        c.params.channel_binding = Some(&binding);
        let choice = select(&c, "SCRAM-SHA-1 SCRAM-SHA-256-PLUS SCRAM-SHA-512", &Cbs { pass: Availability::Callback }).unwrap();
        assert_eq!((choice.info.name, choice.plus, choice.cb), ("SCRAM-SHA-256", true, CbDisposition::Used));
        // Without -PLUS on offer the client signals that it could bind ('y').
        let choice = select(&c, "SCRAM-SHA-1 PLAIN", &Cbs { pass: Availability::Callback }).unwrap();
        assert_eq!(choice.cb, CbDisposition::Want);
        // Without binding data -PLUS names are ignored.
        assert!(pick(&ctx(), "SCRAM-SHA-256-PLUS").is_err());
        // A critical binding never downgrades silently.
        let critical = ChannelBinding { critical: true, ..binding.clone() };
        c.params.channel_binding = Some(&critical);
        assert!(pick(&c, "SCRAM-SHA-256 PLAIN").unwrap_err().contains("critical"));
    }
}
