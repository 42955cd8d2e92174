//! The DIGEST-MD5 security layers through the connection core's framing:
//! a connection negotiates integrity or one of the ciphers with the test
//! server, then a fuzzed script sends data both ways. The server's packets
//! arrive split at fuzzed points and possibly corrupted, reordered,
//! duplicated, dropped or announced larger than we accept; a reference
//! model says what the client must deliver (exactly the intact packets
//! before the first damaged one, in order) and when it must fail. Data the
//! client encodes must reach the server intact, in packets within the
//! server's maxbuf.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sasl2::core::{ClientConn, Settings, Status};
use sasl2::mech::SecurityProps;
use sasl2_fuzz::digest_server::{self, Account, CIPHERS, Offer, ServerLayer};
use sasl2_fuzz::*;

fuzz_target!(|data: &[u8]| run(&mut Unstructured::new(data)));

/// A connection as the C layer keeps it: what the application set, and the
/// exchange.
struct Client {
    settings: Settings,
    core: ClientConn,
}

impl Client {
    fn maxoutbuf(&self) -> u32 {
        self.core.maxoutbuf()
    }

    fn encode(&mut self, parts: &[&[u8]], out: &mut Vec<u8>) -> sasl2::mech::Result<()> {
        self.core.encode(&self.settings, parts, out)
    }

    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> sasl2::mech::Result<()> {
        self.core.decode(&self.settings, input, out)
    }
}

fn pick<T: Copy>(u: &mut Unstructured<'_>, from: &[T]) -> T {
    from[u.choose_index(from.len()).unwrap_or(0)]
}

/// How the server's packets are damaged on the way.
#[derive(Debug, Clone, Copy)]
enum Damage {
    None,
    /// A bit flipped in packet `n`'s payload.
    Payload(usize),
    /// A bit flipped in packet `n`'s length.
    Header(usize),
    /// Packet `n` announces a length above what we advertised.
    Oversized(usize),
    /// Packets `n` and `n + 1` swapped.
    Swap(usize),
    Duplicate(usize),
    Drop(usize),
}

fn run(u: &mut Unstructured<'_>) {
    let maxbufsize = pick(u, &[17u32, 32, 64, 100, 1000, 4096, 65536, 0xFF_FFFF, 0x100_0000, u32::MAX]);
    let cipher = pick(u, &[None, Some(0usize), Some(1), Some(2), Some(3), Some(4)]).map(|i| CIPHERS[i].0);
    let offer = Offer {
        realms: vec!["r".into()],
        nonce: "nonce".into(),
        qops: vec![if cipher.is_some() { "auth-conf" } else { "auth-int" }],
        ciphers: cipher.into_iter().collect(),
        maxbuf: Some(pick(u, &[26u32, 64, 100, 4096, 65536, 0xFF_FFFF])),
        utf8: true,
    };
    let mut settings = Settings::new("imap", Some("h.example"), None, None, 0, None).unwrap();
    settings.props = SecurityProps { min_ssf: 1, max_ssf: 256, maxbufsize, security_flags: 0 };
    let mut conn = Client { settings, core: ClientConn::default() };
    let mut app = FuzzApp::with_password("user", b"pw");
    assert_eq!(conn.core.start(&conn.settings, "DIGEST-MD5", &mut app, false).unwrap(), (Status::Continue, None));
    let (status, response) = conn.core.step(&conn.settings, Some(&offer.challenge()), &mut app, &[]).unwrap();
    assert_eq!(status, Status::Continue);
    let account = Account {
        authname: "user".into(),
        password: "pw".into(),
        authzid: None,
        realm: "r".into(),
        digest_uri: "imap/h.example".into(),
    };
    let verified = digest_server::verify(&offer, &account, &response.unwrap()).unwrap();
    assert_eq!(verified.cipher, cipher);
    // Advertised: what the client will accept, at most 2^24 - 1.
    let our_max = maxbufsize.min(0xFF_FFFF) as usize;
    assert_eq!(verified.client_maxbuf as usize, our_max);
    assert_eq!(conn.core.step(&conn.settings, Some(&verified.rspauth), &mut app, &[]).unwrap().0, Status::Ok);
    let overhead = digest_server::overhead(cipher);
    let server_max = offer.server_maxbuf();
    assert_eq!(conn.maxoutbuf(), server_max - overhead);
    assert_eq!(conn.core.ssf(), cipher.map_or(1, |c| CIPHERS.iter().find(|k| k.0 == c).unwrap().1));
    let mut server = verified.layer.unwrap();
    // Largest message (up to 300 bytes) whose packet fits what we accept.
    let packet_len = |len: usize| match cipher {
        Some("des" | "3des") => len + (8 - (len + 10) % 8) + 16,
        _ => len + 16,
    };
    let server_msg_max = (0..=300).rev().find(|&len| packet_len(len) <= our_max);

    let mut broken = false;
    for _ in 0..u.int_in_range(1..=6).unwrap_or(1) {
        match server_msg_max {
            Some(msg_max) if u.arbitrary().unwrap_or(false) => {
                broken |= server_to_client(u, &mut conn, &mut server, msg_max, our_max, broken);
            }
            _ => client_to_server(u, &mut conn, &mut server, server_max as usize),
        }
    }
}

/// The client encodes fuzzed data (in up to three parts); the server must
/// read it back whole from packets of at most its maxbuf.
fn client_to_server(u: &mut Unstructured<'_>, conn: &mut Client, server: &mut ServerLayer, server_max: usize) {
    let len = u.int_in_range(1..=(3 * conn.maxoutbuf() as usize).min(2000)).unwrap_or(1);
    let data = u.bytes(len).unwrap_or(b"x").to_vec();
    let data = if data.is_empty() { b"x".to_vec() } else { data };
    let cut1 = u.int_in_range(0..=data.len()).unwrap_or(0);
    let cut2 = u.int_in_range(cut1..=data.len()).unwrap_or(cut1);
    let parts: Vec<&[u8]> = if u.arbitrary().unwrap_or(false) {
        vec![&data[..cut1], &data[cut1..cut2], &data[cut2..]]
    } else {
        vec![&data]
    };
    let mut wire = Vec::new();
    conn.encode(&parts, &mut wire).unwrap();
    let mut received = Vec::new();
    let mut packets = 0;
    let mut rest = &wire[..];
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        assert!(len <= server_max, "a {len}-byte packet for a server that takes {server_max}");
        let plain = server.unwrap(&rest[4..4 + len]).unwrap_or_else(|e| panic!("server: {e}"));
        assert!(plain.len() <= conn.maxoutbuf() as usize);
        received.extend_from_slice(&plain);
        rest = &rest[4 + len..];
        packets += 1;
    }
    assert_eq!(received, data);
    assert_eq!(packets, data.len().div_ceil(conn.maxoutbuf() as usize), "packets used");
}

/// The server sends packets, damaged or not, split at fuzzed points.
/// Returns whether the stream is broken (the client failed, or data was
/// damaged on the way).
fn server_to_client(
    u: &mut Unstructured<'_>,
    conn: &mut Client,
    server: &mut ServerLayer,
    msg_max: usize,
    our_max: usize,
    dead: bool,
) -> bool {
    let count = u.int_in_range(1..=4).unwrap_or(1);
    let msgs: Vec<Vec<u8>> =
        (0..count).map(|_| bytes(u, 0, msg_max)).collect();
    let mut frames: Vec<Vec<u8>> = msgs
        .iter()
        .map(|m| {
            let p = server.wrap(m);
            let mut f = (p.len() as u32).to_be_bytes().to_vec();
            f.extend_from_slice(&p);
            f
        })
        .collect();
    let n = u.int_in_range(0..=count - 1).unwrap_or(0);
    let damage = match u.int_in_range(0..=9u8).unwrap_or(0) {
        0..=3 => Damage::None,
        4 => Damage::Payload(n),
        5 => Damage::Header(n),
        6 => Damage::Oversized(n),
        7 if n + 1 < count => Damage::Swap(n),
        8 => Damage::Duplicate(n),
        9 => Damage::Drop(n),
        _ => Damage::None,
    };
    // The packets the client must deliver, and whether it must then fail
    // (None: it may, or may wait for more data).
    let (intact, must_fail) = match damage {
        Damage::None => (count, Some(false)),
        Damage::Payload(n) => {
            let at = u.int_in_range(4..=frames[n].len() - 1).unwrap_or(4);
            frames[n][at] ^= 1 << u.int_in_range(0..=7).unwrap_or(0);
            (n, Some(true))
        }
        Damage::Header(n) => {
            let at = u.int_in_range(0..=3).unwrap_or(3);
            frames[n][at] ^= 1 << u.int_in_range(0..=7).unwrap_or(0);
            let len = u32::from_be_bytes(frames[n][..4].try_into().unwrap()) as usize;
            // Shorter: the payload is cut and fails its check. Longer: the
            // client may wait for more, unless it is more than we accept.
            (n, (len < frames[n].len() - 4 || len > our_max).then_some(true))
        }
        Damage::Oversized(n) => {
            let len = u.int_in_range(our_max + 1..=u32::MAX as usize).unwrap_or(our_max + 1);
            frames[n][..4].copy_from_slice(&(len as u32).to_be_bytes());
            (n, Some(true))
        }
        Damage::Swap(n) => {
            frames.swap(n, n + 1);
            (n, Some(true))
        }
        Damage::Duplicate(n) => {
            let copy = frames[n].clone();
            frames.insert(n + 1, copy);
            (n + 1, Some(true))
        }
        Damage::Drop(n) => {
            frames.remove(n);
            (n, Some(n < count - 1))
        }
    };
    let expected: Vec<u8> = if dead { Vec::new() } else { msgs[..intact].concat() };
    let wire = frames.concat();

    let mut delivered = Vec::new();
    let mut failed = false;
    let mut rest = &wire[..];
    while !rest.is_empty() {
        let take = u.int_in_range(0..=rest.len()).unwrap_or(rest.len());
        let take = if u.is_empty() { rest.len() } else { take };
        let (chunk, next) = rest.split_at(take);
        rest = next;
        let mut out = Vec::new();
        match conn.decode(chunk, &mut out) {
            Ok(()) => {
                assert!(!failed || out.is_empty(), "data delivered after a failure");
                delivered.extend_from_slice(&out);
                assert!(expected.starts_with(&delivered), "delivered data that was not sent, or out of order ({damage:?})");
            }
            Err(e) => {
                assert!(e.detail.len() <= MAX_DETAIL);
                failed = true;
            }
        }
    }
    if !dead && !failed {
        assert_eq!(delivered, expected, "intact packets not delivered ({damage:?})");
    }
    if let Some(want) = must_fail
        && !dead
    {
        assert_eq!(failed, want, "failure expected: {must_fail:?} ({damage:?})");
    }
    // After any damage the stream is out of step (a dropped last packet,
    // a partial packet the client still waits for): nothing more may be
    // delivered from it.
    failed || !matches!(damage, Damage::None)
}
