//! G.711 PCMU (mu-law) and PCMA (A-law): 8 kHz, one byte per sample, 160 bytes = one 20 ms
//! frame. Encode and decode are lookups in tables computed at compile time.

/// Samples per second of narrowband telephony audio.
pub const SAMPLE_RATE: u32 = 8000;
/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;
/// One 20 ms frame of 8 kHz linear audio.
pub type Frame = [i16; FRAME_SAMPLES];
/// Mu-law byte of silence.
pub const PCMU_SILENCE: u8 = 0xff;
/// A-law byte of silence.
pub const PCMA_SILENCE: u8 = 0xd5;

/// The two G.711 laws, with their static RTP payload types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711 {
    /// Mu-law, payload type 0.
    Pcmu,
    /// A-law, payload type 8.
    Pcma,
}

impl G711 {
    /// The static RTP payload type (RFC 3551).
    pub fn payload_type(self) -> u8 {
        match self {
            G711::Pcmu => 0,
            G711::Pcma => 8,
        }
    }

    /// The law for a static payload type, if it is one of the two.
    pub fn from_payload_type(pt: u8) -> Option<Self> {
        match pt {
            0 => Some(G711::Pcmu),
            8 => Some(G711::Pcma),
            _ => None,
        }
    }

    /// The encoding name used in SDP rtpmap lines.
    pub fn name(self) -> &'static str {
        match self {
            G711::Pcmu => "PCMU",
            G711::Pcma => "PCMA",
        }
    }

    /// The encoded byte of digital silence.
    pub fn silence(self) -> u8 {
        match self {
            G711::Pcmu => PCMU_SILENCE,
            G711::Pcma => PCMA_SILENCE,
        }
    }

    /// Encodes `pcm` into `out` (the shorter length wins) and returns the samples encoded.
    pub fn encode(self, pcm: &[i16], out: &mut [u8]) -> usize {
        match self {
            G711::Pcmu => encode_pcmu(pcm, out),
            G711::Pcma => encode_pcma(pcm, out),
        }
    }

    /// Decodes `bytes` into `out` (the shorter length wins) and returns the samples decoded.
    pub fn decode(self, bytes: &[u8], out: &mut [i16]) -> usize {
        match self {
            G711::Pcmu => decode_pcmu(bytes, out),
            G711::Pcma => decode_pcma(bytes, out),
        }
    }
}

const fn ulaw_to_linear(byte: u8) -> i16 {
    let u = !byte;
    let t = ((((u & 0x0f) as i32) << 3) + 0x84) << ((u & 0x70) >> 4);
    if u & 0x80 != 0 {
        (0x84 - t) as i16
    } else {
        (t - 0x84) as i16
    }
}

const fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let mut t = ((a & 0x0f) as i32) << 4;
    let seg = (a & 0x70) >> 4;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= seg - 1;
        }
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

/// Segment of a magnitude: the first end point it does not exceed (8 when above all).
const fn segment(value: i32, ends: &[i32; 8]) -> i32 {
    let mut i = 0;
    while i < 8 {
        if value <= ends[i] {
            return i as i32;
        }
        i += 1;
    }
    8
}

/// Mu-law of a 14-bit sample (the 16-bit sample shifted right by 2).
const fn linear14_to_ulaw(sample: i32) -> u8 {
    const ENDS: [i32; 8] = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
    let (mut v, mask) = if sample < 0 {
        (-sample, 0x7f)
    } else {
        (sample, 0xff)
    };
    if v > 8159 {
        v = 8159;
    }
    v += 0x21;
    let seg = segment(v, &ENDS);
    if seg >= 8 {
        return (0x7f ^ mask) as u8;
    }
    let u = (seg << 4) | ((v >> (seg + 1)) & 0x0f);
    (u ^ mask) as u8
}

/// A-law of a 13-bit sample (the 16-bit sample shifted right by 3).
const fn linear13_to_alaw(sample: i32) -> u8 {
    const ENDS: [i32; 8] = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
    let (v, mask) = if sample >= 0 {
        (sample, 0xd5)
    } else {
        (-sample - 1, 0x55)
    };
    let seg = segment(v, &ENDS);
    if seg >= 8 {
        return (0x7f ^ mask) as u8;
    }
    let mut a = seg << 4;
    if seg < 2 {
        a |= (v >> 1) & 0x0f;
    } else {
        a |= (v >> seg) & 0x0f;
    }
    (a ^ mask) as u8
}

const fn decode_table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            alaw_to_linear(i as u8)
        } else {
            ulaw_to_linear(i as u8)
        };
        i += 1;
    }
    t
}

const fn ulaw_encode_table() -> [u8; 16384] {
    let mut t = [0u8; 16384];
    let mut i = 0;
    while i < 16384 {
        // index is the 14-bit sample as unsigned; sign-extend it back
        let s = if i >= 8192 {
            i as i32 - 16384
        } else {
            i as i32
        };
        t[i] = linear14_to_ulaw(s);
        i += 1;
    }
    t
}

const fn alaw_encode_table() -> [u8; 8192] {
    let mut t = [0u8; 8192];
    let mut i = 0;
    while i < 8192 {
        let s = if i >= 4096 { i as i32 - 8192 } else { i as i32 };
        t[i] = linear13_to_alaw(s);
        i += 1;
    }
    t
}

static ULAW_DECODE: [i16; 256] = decode_table(false);
static ALAW_DECODE: [i16; 256] = decode_table(true);
static ULAW_ENCODE: [u8; 16384] = ulaw_encode_table();
static ALAW_ENCODE: [u8; 8192] = alaw_encode_table();

/// Mu-law byte of one linear sample.
#[inline]
pub fn pcmu_encode_sample(sample: i16) -> u8 {
    ULAW_ENCODE[((sample >> 2) as u16 & 0x3fff) as usize]
}

/// A-law byte of one linear sample.
#[inline]
pub fn pcma_encode_sample(sample: i16) -> u8 {
    ALAW_ENCODE[((sample >> 3) as u16 & 0x1fff) as usize]
}

/// Linear sample of one mu-law byte.
#[inline]
pub fn pcmu_decode_sample(byte: u8) -> i16 {
    ULAW_DECODE[usize::from(byte)]
}

/// Linear sample of one A-law byte.
#[inline]
pub fn pcma_decode_sample(byte: u8) -> i16 {
    ALAW_DECODE[usize::from(byte)]
}

/// Encodes linear samples to mu-law; returns the count written.
pub fn encode_pcmu(pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    for (o, &s) in out[..n].iter_mut().zip(&pcm[..n]) {
        *o = pcmu_encode_sample(s);
    }
    n
}

/// Encodes linear samples to A-law; returns the count written.
pub fn encode_pcma(pcm: &[i16], out: &mut [u8]) -> usize {
    let n = pcm.len().min(out.len());
    for (o, &s) in out[..n].iter_mut().zip(&pcm[..n]) {
        *o = pcma_encode_sample(s);
    }
    n
}

/// Decodes mu-law bytes to linear samples; returns the count written.
pub fn decode_pcmu(bytes: &[u8], out: &mut [i16]) -> usize {
    let n = bytes.len().min(out.len());
    for (o, &b) in out[..n].iter_mut().zip(&bytes[..n]) {
        *o = pcmu_decode_sample(b);
    }
    n
}

/// Decodes A-law bytes to linear samples; returns the count written.
pub fn decode_pcma(bytes: &[u8], out: &mut [i16]) -> usize {
    let n = bytes.len().min(out.len());
    for (o, &b) in out[..n].iter_mut().zip(&bytes[..n]) {
        *o = pcma_decode_sample(b);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(pcmu_encode_sample(0), 0xff);
        assert_eq!(pcmu_decode_sample(0xff), 0);
        assert_eq!(pcmu_decode_sample(0x00), -32124);
        assert_eq!(pcmu_decode_sample(0x80), 32124);
        assert_eq!(pcmu_encode_sample(i16::MAX), 0x80);
        assert_eq!(pcmu_encode_sample(i16::MIN), 0x00);
        assert_eq!(pcma_encode_sample(0), 0xd5);
        assert_eq!(pcma_decode_sample(0xd5), 8);
        assert_eq!(pcma_decode_sample(0xaa), 32256);
        assert_eq!(pcma_decode_sample(0x2a), -32256);
        assert_eq!(pcma_encode_sample(i16::MAX), 0xaa);
        assert_eq!(pcma_encode_sample(i16::MIN), 0x2a);
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for b in 0..=255u8 {
            // 0x7f is mu-law's negative zero: it decodes to 0, which encodes as 0xff
            if b != 0x7f {
                assert_eq!(pcmu_encode_sample(pcmu_decode_sample(b)), b, "ulaw {b:#x}");
            }
            assert_eq!(pcma_encode_sample(pcma_decode_sample(b)), b, "alaw {b:#x}");
        }
    }

    #[test]
    fn quantisation_error_is_bounded_by_the_segment() {
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            for law in [G711::Pcmu, G711::Pcma] {
                let mut byte = [0u8; 1];
                let mut back = [0i16; 1];
                law.encode(&[s], &mut byte);
                law.decode(&byte, &mut back);
                let err = (i32::from(s) - i32::from(back[0])).abs();
                // the step is at most 1024 at the top segment (half-step rounding + clipping)
                let limit = (i32::from(s).abs() / 16).max(16) + 140;
                assert!(err <= limit, "{law:?} {s} -> {} err {err}", back[0]);
            }
        }
    }

    #[test]
    fn frames_and_payload_types() {
        let pcm: Frame = std::array::from_fn(|i| ((i as f32 * 0.3).sin() * 8000.0) as i16);
        let mut enc = [0u8; FRAME_SAMPLES];
        let mut dec: Frame = [0; FRAME_SAMPLES];
        assert_eq!(G711::Pcma.encode(&pcm, &mut enc), 160);
        assert_eq!(G711::Pcma.decode(&enc, &mut dec), 160);
        assert!(pcm.iter().zip(&dec).all(|(a, b)| (a - b).abs() < 300));
        assert_eq!(G711::Pcmu.encode(&pcm, &mut enc[..10]), 10);
        assert_eq!(G711::from_payload_type(8), Some(G711::Pcma));
        assert_eq!(G711::from_payload_type(18), None);
        assert_eq!(G711::Pcmu.payload_type(), 0);
        assert_eq!(G711::Pcma.name(), "PCMA");
    }
}
