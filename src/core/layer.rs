//! Security-layer framing (RFC 4422 section 3.7): every protected packet is
//! a 4-byte big-endian length and a payload the mechanism's layer produced.
//! Encoding splits input at the peer's limit; decoding reassembles packets
//! split across reads and handles several per read, buffering at most one
//! packet no larger than our advertised receive size.

use crate::mech::{Code, Error, Result, SecurityLayer};

/// How a packet whose announced length is out of range (0 for a built-in
/// layer, or more than we accept) is refused: before the layer sees it,
/// which Cyrus does not log (see [`is_size_fault`]).
const SIZE_FAULT: &str = "encoded packet size";

/// Whether `e` is [`Framing::decode`]'s refusal of a packet's length, not a
/// layer's of its contents.
pub fn is_size_fault(e: &Error) -> bool {
    e.detail.starts_with(SIZE_FAULT)
}

pub struct Framing {
    layer: Box<dyn SecurityLayer>,
    /// Largest plaintext per packet the peer accepts.
    max_out: usize,
    /// Largest packet we accept: what the mechanism advertised.
    max_in: usize,
    header: [u8; 4],
    header_len: usize,
    /// Payload of the packet being received (reused across packets).
    body: Vec<u8>,
    /// Its announced length, once the header is complete.
    body_len: Option<usize>,
}

impl Framing {
    pub fn new(layer: Box<dyn SecurityLayer>, max_out: u32) -> Self {
        Framing {
            max_in: layer.max_recv(),
            layer,
            max_out: max_out.max(1) as usize,
            header: [0; 4],
            header_len: 0,
            body: Vec::new(),
            body_len: None,
        }
    }

    /// Appends the framed, protected form of `plain` to `out`.
    pub fn encode(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<()> {
        for chunk in plain.chunks(self.max_out) {
            let start = out.len();
            out.extend_from_slice(&[0; 4]);
            if let Err(e) = self.layer.wrap(chunk, out) {
                out.truncate(start);
                return Err(e);
            }
            let len = u32::try_from(out.len() - start - 4)
                .map_err(|_| Error::fail("security layer produced an oversized packet"))?;
            out[start..start + 4].copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }

    /// Consumes received bytes; appends the plaintext of every packet they
    /// complete to `out`. On error nothing from the failing packet is output
    /// and the partial state is dropped.
    pub fn decode(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        while !input.is_empty() {
            let len = match self.body_len {
                Some(len) => len,
                None => {
                    let take = (4 - self.header_len).min(input.len());
                    self.header[self.header_len..self.header_len + take].copy_from_slice(&input[..take]);
                    self.header_len += take;
                    input = &input[take..];
                    if self.header_len < 4 {
                        break;
                    }
                    let len = u32::from_be_bytes(self.header) as usize;
                    if (len == 0 && !self.layer.judges_empty_packets()) || len > self.max_in {
                        self.reset();
                        let why = if len == 0 { "0".to_owned() } else { format!("too big ({len} > {})", self.max_in) };
                        return Err(Error::new(Code::Fail, format!("{SIZE_FAULT} {why}")));
                    }
                    self.body_len = Some(len);
                    len
                }
            };
            // A whole packet in the input is checked in place, without a copy.
            let result = if self.body.is_empty() && input.len() >= len {
                let (packet, rest) = input.split_at(len);
                input = rest;
                Some(self.unwrap_packet(packet, out))
            } else {
                let take = (len - self.body.len()).min(input.len());
                self.body.extend_from_slice(&input[..take]);
                input = &input[take..];
                if self.body.len() == len {
                    let packet = std::mem::take(&mut self.body);
                    let result = self.unwrap_packet(&packet, out);
                    self.body = packet;
                    self.body.clear();
                    Some(result)
                } else {
                    None
                }
            };
            if let Some(result) = result {
                self.header_len = 0;
                self.body_len = None;
                if let Err(e) = result {
                    self.reset();
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn unwrap_packet(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let before = out.len();
        let result = self.layer.unwrap(packet, out);
        if result.is_err() {
            out.truncate(before);
        }
        result
    }

    fn reset(&mut self) {
        self.header_len = 0;
        self.body.clear();
        self.body_len = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// XORs with 0x5a and appends a 1-byte checksum; accepts packets up to
    /// the given size.
    struct Toy(usize);
    impl SecurityLayer for Toy {
        fn max_recv(&self) -> usize {
            self.0
        }
        fn wrap(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<()> {
            out.extend(plain.iter().map(|b| b ^ 0x5a));
            out.push(plain.iter().fold(0u8, |a, b| a.wrapping_add(*b)));
            Ok(())
        }
        fn unwrap(&mut self, packet: &[u8], out: &mut Vec<u8>) -> Result<()> {
            let (body, sum) = packet.split_at(packet.len().checked_sub(1).ok_or_else(|| Error::new(Code::BadMac, "short"))?);
            let plain: Vec<u8> = body.iter().map(|b| b ^ 0x5a).collect();
            if plain.iter().fold(0u8, |a, b| a.wrapping_add(*b)) != sum[0] {
                return Err(Error::new(Code::BadMac, "bad checksum"));
            }
            out.extend_from_slice(&plain);
            Ok(())
        }
    }

    #[test]
    fn splits_and_reassembles_at_every_boundary() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let mut wire = Vec::new();
        Framing::new(Box::new(Toy(1 << 16)), 100).encode(&data, &mut wire).unwrap();
        assert_eq!(wire.len(), 1000 + 10 * 5);
        for split in [1usize, 3, 4, 5, 104, 105, 333, wire.len()] {
            let mut rx = Framing::new(Box::new(Toy(1 << 16)), 100);
            let mut out = Vec::new();
            for piece in wire.chunks(split) {
                rx.decode(piece, &mut out).unwrap();
            }
            assert_eq!(out, data, "split {split}");
        }
    }

    #[test]
    fn oversized_or_corrupt_packets_fail_cleanly() {
        let mut rx = Framing::new(Box::new(Toy(64)), 100);
        let mut out = Vec::new();
        assert_eq!(rx.decode(&[0, 1, 0, 0], &mut out).unwrap_err().code, Code::Fail);
        let mut wire = Vec::new();
        Framing::new(Box::new(Toy(64)), 100).encode(b"hello", &mut wire).unwrap();
        wire[5] ^= 1;
        assert_eq!(rx.decode(&wire, &mut out).unwrap_err().code, Code::BadMac);
        assert!(out.is_empty());
    }
}
