//! A peer's packets arriving at a security layer (RFC 4422 section 3.7
//! framing), damaged on the way and split at fuzzed points, checked
//! against a reference model of the framing. For layers whose packets can
//! be judged one at a time (no sequence numbers: the fake GSS-API, the
//! fuzz plugin's layer): the model reads the received bytes as the
//! framing must (a 4-byte big-endian length; a length above what we
//! advertised fails at once; a complete payload is delivered if the layer
//! accepts it, and fails otherwise) and says exactly what must be
//! delivered and whether the stream must fail.

use crate::Unstructured;

/// How the packets are damaged on the way.
#[derive(Debug, Clone, Copy)]
pub enum Damage {
    None,
    /// A bit flipped in packet `n` (its length or its payload).
    Bit(usize),
    /// Packet `n` announces a length above what we accept.
    Oversized(usize),
    /// Packets `n` and `n + 1` swapped.
    Swap(usize),
    Duplicate(usize),
    Drop(usize),
    /// The last bytes missing (a packet still on its way).
    Cut,
}

/// The layer's verdict on one payload: the message it carries, or None.
pub type Judge<'a> = dyn FnMut(&[u8]) -> Option<Vec<u8>> + 'a;
/// One decode call of the library: what it delivered, or its error text.
pub type Decode<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, String> + 'a;

/// The framing as it must read received bytes: a 4-byte big-endian
/// length; a length above what we advertised fails at once; a complete
/// payload is delivered if the layer accepts it (`judge`, called once per
/// packet, in order) and fails otherwise. A call that fails delivers
/// nothing, not even the packets it completed before the failure (the C
/// API cannot return data with an error).
pub struct Model<'a> {
    received: Vec<u8>,
    max_in: usize,
    judge: &'a mut Judge<'a>,
}

impl<'a> Model<'a> {
    pub fn new(max_in: usize, judge: &'a mut Judge<'a>) -> Self {
        Model { received: Vec::new(), max_in, judge }
    }

    /// What one decode call with `chunk` must give (None: it must fail).
    pub fn feed(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        self.received.extend_from_slice(chunk);
        let mut out = Vec::new();
        while self.received.len() >= 4 {
            let len = u32::from_be_bytes(self.received[..4].try_into().unwrap()) as usize;
            if len > self.max_in {
                return None;
            }
            let Some(payload) = self.received.get(4..4 + len) else { break };
            out.extend_from_slice(&(self.judge)(payload)?);
            self.received.drain(..4 + len);
        }
        Some(out)
    }

    /// Whether part of a packet is waiting for the rest.
    pub fn pending(&self) -> bool {
        !self.received.is_empty()
    }
}

/// Frames `payloads`, damages them as the input says, and feeds the bytes
/// to `decode` in fuzzed pieces, stopping at its first failure. Checks what
/// it delivered, and whether it failed, against [`Model`]. Returns whether
/// the stream is now out of step (it failed, or a packet is incomplete).
pub fn deliver(
    u: &mut Unstructured<'_>,
    payloads: &[Vec<u8>],
    max_in: usize,
    judge: &mut Judge<'_>,
    decode: &mut Decode<'_>,
) -> bool {
    let mut frames: Vec<Vec<u8>> = payloads
        .iter()
        .map(|p| [&(p.len() as u32).to_be_bytes()[..], p].concat())
        .collect();
    let count = frames.len();
    let n = u.int_in_range(0..=count.saturating_sub(1)).unwrap_or(0);
    let damage = match u.int_in_range(0..=10u8).unwrap_or(0) {
        _ if count == 0 => Damage::None,
        0..=3 => Damage::None,
        4 | 5 => Damage::Bit(n),
        6 => Damage::Oversized(n),
        7 if n + 1 < count => Damage::Swap(n),
        8 => Damage::Duplicate(n),
        9 => Damage::Drop(n),
        _ => Damage::Cut,
    };
    match damage {
        Damage::None => {}
        Damage::Bit(n) => {
            let at = u.int_in_range(0..=frames[n].len() - 1).unwrap_or(0);
            frames[n][at] ^= 1 << u.int_in_range(0..=7).unwrap_or(0);
        }
        Damage::Oversized(n) => {
            let len = u.int_in_range(max_in + 1..=u32::MAX as usize).unwrap_or(max_in + 1);
            frames[n][..4].copy_from_slice(&(len as u32).to_be_bytes());
        }
        Damage::Swap(n) => frames.swap(n, n + 1),
        Damage::Duplicate(n) => {
            let copy = frames[n].clone();
            frames.insert(n + 1, copy);
        }
        Damage::Drop(n) => {
            frames.remove(n);
        }
        Damage::Cut => {
            let last = frames.last_mut().unwrap();
            let keep = u.int_in_range(0..=last.len() - 1).unwrap_or(0);
            last.truncate(keep);
        }
    }
    let wire = frames.concat();
    let mut model = Model::new(max_in, judge);
    let mut rest = &wire[..];
    while !rest.is_empty() {
        let take = u.int_in_range(0..=rest.len()).unwrap_or(rest.len());
        let take = if u.is_empty() { rest.len() } else { take };
        let (chunk, next) = rest.split_at(take);
        rest = next;
        match (decode(chunk), model.feed(chunk)) {
            (Ok(got), Some(want)) => assert_eq!(got, want, "data delivered ({damage:?})"),
            (Err(e), None) => {
                assert!(e.len() <= crate::MAX_DETAIL, "a {}-byte error", e.len());
                return true;
            }
            (Ok(got), None) => panic!("decode delivered {got:?} where it must fail ({damage:?})"),
            (Err(e), Some(want)) => panic!("decode failed ({e}) where it must deliver {want:?} ({damage:?})"),
        }
    }
    model.pending()
}
