//! What one websocket binary message holds for each `encapsulation` (sans-IO):
//! - `rtp`: one RTP packet of 20 ms G.711 µ-law (payload type 0) each way; from the client
//!   PCMU (0) and PCMA (8) are decoded, other payload types (DTMF events, comfort noise) are
//!   skipped;
//! - `sln`: raw signed linear 8 kHz 16-bit little-endian samples, 20 ms (320 bytes) per
//!   message to the client, any even length from it;
//! - `audiosocket`: audiosocket TLV frames as they are (audio 0x10, hangup 0x00 ends it).

use super::tlv::{self, Decoder, Tlv};
use voxbin_core::Error;
use voxbin_media::g711::{self, FRAME_SAMPLES};
use voxbin_media::rtp::{write_simple, RtpHeader, RtpPacket};

/// Bytes of 20 ms of s16le at 8 kHz.
const FRAME_BYTES: usize = FRAME_SAMPLES * 2;

/// RTP payload types understood from the client.
const PT_PCMU: u8 = 0;
const PT_PCMA: u8 = 8;

/// The payload format of a media stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encapsulation {
    /// RTP packets of G.711 µ-law.
    Rtp,
    /// Signed linear 8 kHz 16-bit samples.
    Sln,
    /// Audiosocket TLV frames.
    AudioSocket,
}

impl Encapsulation {
    /// The `encapsulation` query value (`rtp` when absent or empty); 400 for others.
    pub fn parse(v: Option<&str>) -> Result<Encapsulation, Error> {
        match v.unwrap_or("") {
            "" | "rtp" => Ok(Encapsulation::Rtp),
            "sln" => Ok(Encapsulation::Sln),
            "audiosocket" => Ok(Encapsulation::AudioSocket),
            other => Err(Error::invalid_argument(
                "INVALID_ENCAPSULATION",
                format!("encapsulation: {other:?} is not rtp, sln or audiosocket"),
            )),
        }
    }
}

/// What a client message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromClient {
    /// Audio for the call, s16le (possibly empty).
    Audio(Vec<u8>),
    /// The client ends the stream.
    Hangup,
}

/// The per-stream state of the conversion both ways.
#[derive(Debug)]
pub struct Codec {
    encap: Encapsulation,
    /// Call audio not yet a whole 20 ms frame.
    pending: Vec<u8>,
    /// An odd trailing byte of the client's sln.
    carry: Option<u8>,
    /// The client's audiosocket bytes.
    client_tlv: Decoder,
    seq: u16,
    ts: u32,
    ssrc: u32,
    first: bool,
}

impl Codec {
    /// A codec for `encap`; `seed` picks the RTP SSRC, first sequence number and timestamp.
    pub fn new(encap: Encapsulation, seed: u64) -> Codec {
        Codec {
            encap,
            pending: Vec::with_capacity(FRAME_BYTES * 2),
            carry: None,
            client_tlv: Decoder::new(),
            seq: (seed >> 32) as u16,
            ts: (seed >> 16) as u32,
            ssrc: seed as u32,
            first: true,
        }
    }

    /// The call's audio (s16le) as messages for the client; whole 20 ms frames only, the
    /// rest waits for more.
    pub fn to_client(&mut self, pcm: &[u8]) -> Vec<Vec<u8>> {
        self.pending.extend_from_slice(pcm);
        let whole = self.pending.len() / FRAME_BYTES * FRAME_BYTES;
        let ready: Vec<u8> = self.pending.drain(..whole).collect();
        ready
            .chunks_exact(FRAME_BYTES)
            .map(|f| self.message(f))
            .collect()
    }

    fn message(&mut self, frame: &[u8]) -> Vec<u8> {
        match self.encap {
            Encapsulation::Sln => frame.to_vec(),
            Encapsulation::AudioSocket => {
                let mut out = Vec::with_capacity(tlv::HEADER + frame.len());
                tlv::encode(tlv::KIND_AUDIO, frame, &mut out);
                out
            }
            Encapsulation::Rtp => {
                let mut ulaw = [0u8; FRAME_SAMPLES];
                for (o, s) in ulaw.iter_mut().zip(frame.chunks_exact(2)) {
                    *o = g711::pcmu_encode_sample(i16::from_le_bytes([s[0], s[1]]));
                }
                let mut header = RtpHeader::new(PT_PCMU, self.seq, self.ts, self.ssrc);
                header.marker = std::mem::take(&mut self.first);
                self.seq = self.seq.wrapping_add(1);
                self.ts = self.ts.wrapping_add(FRAME_SAMPLES as u32);
                let mut out = vec![0u8; 12 + FRAME_SAMPLES];
                // 12 + 160 bytes always fit a plain header and one frame
                let n = write_simple(&header, &ulaw, &mut out).unwrap_or(0);
                out.truncate(n);
                out
            }
        }
    }

    /// One binary message from the client; 400-style error text for a malformed one.
    pub fn from_client(&mut self, msg: &[u8]) -> Result<FromClient, String> {
        match self.encap {
            Encapsulation::Sln => {
                let mut bytes = Vec::with_capacity(msg.len() + 1);
                bytes.extend(self.carry.take());
                bytes.extend_from_slice(msg);
                if bytes.len() % 2 == 1 {
                    self.carry = bytes.pop();
                }
                Ok(FromClient::Audio(bytes))
            }
            Encapsulation::Rtp => {
                let packet =
                    RtpPacket::parse(msg).map_err(|e| format!("not an RTP packet: {e}"))?;
                let decode: fn(u8) -> i16 = match packet.header.payload_type {
                    PT_PCMU => g711::pcmu_decode_sample,
                    PT_PCMA => g711::pcma_decode_sample,
                    _ => return Ok(FromClient::Audio(Vec::new())),
                };
                let pcm = packet
                    .payload
                    .iter()
                    .flat_map(|b| decode(*b).to_le_bytes())
                    .collect();
                Ok(FromClient::Audio(pcm))
            }
            Encapsulation::AudioSocket => {
                self.client_tlv.push(msg);
                let mut audio = Vec::new();
                while let Some(frame) = self.client_tlv.next_frame().map_err(|e| e.0)? {
                    match frame {
                        Tlv::Audio(a) => audio.extend_from_slice(&a),
                        Tlv::Hangup => return Ok(FromClient::Hangup),
                        Tlv::Error(_) => return Ok(FromClient::Hangup),
                        Tlv::Uuid(_) | Tlv::Other(_) => {}
                    }
                }
                if audio.len() % 2 == 1 {
                    audio.pop();
                }
                Ok(FromClient::Audio(audio))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone_frame(amplitude: i16) -> Vec<u8> {
        (0..FRAME_SAMPLES)
            .flat_map(|i| {
                let s = if i % 8 < 4 { amplitude } else { -amplitude };
                s.to_le_bytes()
            })
            .collect()
    }

    #[test]
    fn encapsulation_defaults_to_rtp_and_names_bad_values() {
        assert_eq!(Encapsulation::parse(None).unwrap(), Encapsulation::Rtp);
        assert_eq!(
            Encapsulation::parse(Some("sln")).unwrap(),
            Encapsulation::Sln
        );
        let e = Encapsulation::parse(Some("opus")).unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert!(e.message.contains("opus"), "{}", e.message);
    }

    #[test]
    fn sln_goes_out_in_20ms_frames_and_keeps_the_rest() {
        let mut c = Codec::new(Encapsulation::Sln, 1);
        let frame = tone_frame(1000);
        assert!(c.to_client(&frame[..100]).is_empty());
        let mut more = frame[100..].to_vec();
        more.extend_from_slice(&frame[..10]);
        let out = c.to_client(&more);
        assert_eq!(out, vec![frame.clone()]);
        // an odd byte from the client waits for its other half
        assert_eq!(c.from_client(&[1, 2, 3]), Ok(FromClient::Audio(vec![1, 2])));
        assert_eq!(c.from_client(&[4]), Ok(FromClient::Audio(vec![3, 4])));
    }

    #[test]
    fn rtp_packets_carry_ulaw_with_rising_sequence_and_timestamp() {
        let mut c = Codec::new(Encapsulation::Rtp, 0x0001_0002_0003_0004);
        let mut two = tone_frame(8000);
        two.extend(tone_frame(8000));
        let out = c.to_client(&two);
        assert_eq!(out.len(), 2);
        let a = RtpPacket::parse(&out[0]).unwrap();
        let b = RtpPacket::parse(&out[1]).unwrap();
        assert_eq!(a.header.payload_type, 0);
        assert!(a.header.marker && !b.header.marker);
        assert_eq!(b.header.sequence, a.header.sequence.wrapping_add(1));
        assert_eq!(b.header.timestamp, a.header.timestamp.wrapping_add(160));
        assert_eq!(a.payload.len(), 160);
        // and back: the client's packet decodes to samples close to the original
        let FromClient::Audio(pcm) = c.from_client(&out[0]).unwrap() else {
            panic!("audio")
        };
        let first = i16::from_le_bytes([pcm[0], pcm[1]]);
        assert!((first - 8000).abs() < 300, "{first}");
        assert!(c.from_client(&[0x80, 0]).is_err());
    }

    #[test]
    fn audiosocket_passes_frames_and_a_hangup_ends_it() {
        let mut c = Codec::new(Encapsulation::AudioSocket, 1);
        let frame = tone_frame(100);
        let out = c.to_client(&frame);
        assert_eq!(out[0][0], tlv::KIND_AUDIO);
        assert_eq!(out[0].len(), 3 + 320);
        assert_eq!(c.from_client(&out[0]), Ok(FromClient::Audio(frame)));
        assert_eq!(c.from_client(&[0, 0, 0]), Ok(FromClient::Hangup));
    }
}
