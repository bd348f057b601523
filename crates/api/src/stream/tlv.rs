//! The audiosocket wire format (sans-IO): TLV frames of a kind byte, a 16-bit big-endian
//! length and the payload. Kinds: 0x00 hangup, 0x01 the call's UUID (16 bytes, first),
//! 0x10 audio (8 kHz signed 16-bit little-endian), 0xff error.

use uuid::Uuid;

/// Hangup: the sender ends the stream.
pub const KIND_HANGUP: u8 = 0x00;
/// The UUID of the call, the first frame of a connection.
pub const KIND_UUID: u8 = 0x01;
/// Audio, 8 kHz s16le.
pub const KIND_AUDIO: u8 = 0x10;
/// An error on the sender's side.
pub const KIND_ERROR: u8 = 0xff;

/// Bytes of a frame header.
pub const HEADER: usize = 3;

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tlv {
    /// The peer hung up.
    Hangup,
    /// The call's UUID.
    Uuid(Uuid),
    /// Audio samples, s16le.
    Audio(Vec<u8>),
    /// The peer reports an error (its payload, often empty).
    Error(Vec<u8>),
    /// A kind this version does not use (skipped by callers).
    Other(u8),
}

/// A frame that breaks the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlvError(pub String);

impl std::fmt::Display for TlvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reassembles frames from bytes as they arrive, whatever the read boundaries.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// A decoder with nothing buffered.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Adds bytes read from the peer.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, `Ok(None)` until one is complete.
    pub fn next_frame(&mut self) -> Result<Option<Tlv>, TlvError> {
        if self.buf.len() < HEADER {
            return Ok(None);
        }
        let kind = self.buf[0];
        let len = usize::from(u16::from_be_bytes([self.buf[1], self.buf[2]]));
        if self.buf.len() < HEADER + len {
            return Ok(None);
        }
        let payload: Vec<u8> = self.buf[HEADER..HEADER + len].to_vec();
        self.buf.drain(..HEADER + len);
        Ok(Some(match kind {
            KIND_HANGUP => Tlv::Hangup,
            KIND_UUID => {
                let bytes: [u8; 16] = payload
                    .as_slice()
                    .try_into()
                    .map_err(|_| TlvError(format!("a UUID frame holds 16 bytes, not {len}")))?;
                Tlv::Uuid(Uuid::from_bytes(bytes))
            }
            KIND_AUDIO => Tlv::Audio(payload),
            KIND_ERROR => Tlv::Error(payload),
            other => Tlv::Other(other),
        }))
    }
}

/// Appends one frame of `kind` with `payload` (at most 65535 bytes; longer is split by
/// [`encode_audio`]) to `out`.
pub fn encode(kind: u8, payload: &[u8], out: &mut Vec<u8>) {
    let len = payload.len().min(usize::from(u16::MAX));
    out.push(kind);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&payload[..len]);
}

/// Appends `pcm` (s16le) as audio frames of at most 65534 bytes each.
pub fn encode_audio(pcm: &[u8], out: &mut Vec<u8>) {
    for chunk in pcm.chunks(usize::from(u16::MAX) - 1) {
        encode(KIND_AUDIO, chunk, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_reads_come_out_whole() {
        let id = Uuid::from_u128(0x0190_a000_0000_7000_8000_0000_0000_0001);
        let mut wire = Vec::new();
        encode(KIND_UUID, id.as_bytes(), &mut wire);
        encode_audio(&[1, 0, 2, 0], &mut wire);
        encode(KIND_HANGUP, &[], &mut wire);
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for byte in wire {
            d.push(&[byte]);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(
            got,
            vec![Tlv::Uuid(id), Tlv::Audio(vec![1, 0, 2, 0]), Tlv::Hangup]
        );
    }

    #[test]
    fn a_short_uuid_is_an_error_and_unknown_kinds_are_named() {
        let mut d = Decoder::new();
        d.push(&[KIND_UUID, 0, 2, 9, 9, 0x42, 0, 0]);
        assert!(d.next_frame().is_err());
        assert_eq!(d.next_frame().unwrap(), Some(Tlv::Other(0x42)));
        assert_eq!(d.next_frame().unwrap(), None);
    }

    #[test]
    fn long_audio_is_split_into_frames_that_fit_the_length_field() {
        let pcm = vec![7u8; 70_000];
        let mut wire = Vec::new();
        encode_audio(&pcm, &mut wire);
        let mut d = Decoder::new();
        d.push(&wire);
        let mut total = 0;
        while let Some(Tlv::Audio(a)) = d.next_frame().unwrap() {
            assert_eq!(a.len() % 2, 0);
            total += a.len();
        }
        assert_eq!(total, 70_000);
    }
}
