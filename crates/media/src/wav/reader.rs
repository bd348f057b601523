//! WAV (RIFF) reading: 8- and 16-bit PCM, mu-law and A-law, mono or multi-channel, any rate,
//! plus the loader that turns any of them into 8 kHz mono linear audio for playback.

use thiserror::Error;

use super::resample::{downmix, resample_to_8k};
use crate::g711::{pcma_decode_sample, pcmu_decode_sample};

/// Sample encodings this module reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavFormat {
    /// Linear PCM, 16-bit little-endian signed.
    Pcm16,
    /// Linear PCM, 8-bit unsigned (read only).
    Pcm8,
    /// G.711 mu-law, 8-bit.
    Ulaw,
    /// G.711 A-law, 8-bit.
    Alaw,
}

impl WavFormat {
    /// The format tag of the fmt chunk.
    pub fn tag(self) -> u16 {
        match self {
            WavFormat::Pcm16 | WavFormat::Pcm8 => 1,
            WavFormat::Alaw => 6,
            WavFormat::Ulaw => 7,
        }
    }

    /// Bytes per sample per channel.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            WavFormat::Pcm16 => 2,
            _ => 1,
        }
    }
}

/// Why a WAV file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WavError {
    /// Not a RIFF/WAVE file.
    #[error("not a RIFF WAVE file")]
    NotWave,
    /// A required chunk is missing.
    #[error("wav file has no {0} chunk")]
    MissingChunk(&'static str),
    /// The fmt chunk is shorter than 16 bytes or a chunk runs past the end.
    #[error("wav file is truncated or has a malformed chunk")]
    Truncated,
    /// An encoding this module does not read.
    #[error("unsupported wav encoding: format tag {tag}, {bits} bits")]
    Unsupported {
        /// Format tag.
        tag: u16,
        /// Bits per sample.
        bits: u16,
    },
    /// Zero or more than 8 channels, or a sample rate outside 4-192 kHz.
    #[error("unsupported wav layout: {channels} channels at {rate} Hz")]
    BadLayout {
        /// Channels.
        channels: u16,
        /// Sample rate.
        rate: u32,
    },
    /// Writing failed.
    #[error("wav write failed: {0}")]
    Io(String),
}

/// The fmt chunk facts that matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    /// Sample encoding.
    pub format: WavFormat,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u16,
}

/// Decoded audio: interleaved linear samples with their layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedWav {
    /// Layout and original encoding.
    pub info: WavInfo,
    /// Interleaved 16-bit samples.
    pub samples: Vec<i16>,
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Finds the format and the data bytes of a WAV file without decoding.
pub fn parse_wav(bytes: &[u8]) -> Result<(WavInfo, &[u8]), WavError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWave);
    }
    let mut pos = 12;
    let mut info = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32_at(bytes, pos + 4) as usize;
        let body_start = pos + 8;
        let available = bytes.len() - body_start;
        if id == b"data" {
            let info = info.ok_or(WavError::MissingChunk("fmt"))?;
            // streaming writers leave 0 or 0xFFFFFFFF: take what is there
            let len = if size == 0 || size > available {
                available
            } else {
                size
            };
            return Ok((info, &bytes[body_start..body_start + len]));
        }
        if size > available {
            return Err(WavError::Truncated);
        }
        let body = &bytes[body_start..body_start + size];
        if id == b"fmt " {
            info = Some(parse_fmt(body)?);
        }
        // chunks are padded to an even length
        pos = body_start + size + (size & 1);
    }
    Err(if info.is_some() {
        WavError::MissingChunk("data")
    } else {
        WavError::MissingChunk("fmt")
    })
}

fn parse_fmt(body: &[u8]) -> Result<WavInfo, WavError> {
    if body.len() < 16 {
        return Err(WavError::Truncated);
    }
    let mut tag = u16_at(body, 0);
    let channels = u16_at(body, 2);
    let rate = u32_at(body, 4);
    let bits = u16_at(body, 14);
    if tag == 0xfffe {
        // WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID
        if body.len() < 26 {
            return Err(WavError::Truncated);
        }
        tag = u16_at(body, 24);
    }
    let format = match (tag, bits) {
        (1, 16) => WavFormat::Pcm16,
        (1, 8) => WavFormat::Pcm8,
        (6, 8) => WavFormat::Alaw,
        (7, 8) => WavFormat::Ulaw,
        _ => return Err(WavError::Unsupported { tag, bits }),
    };
    if channels == 0 || channels > 8 || !(4000..=192_000).contains(&rate) {
        return Err(WavError::BadLayout { channels, rate });
    }
    Ok(WavInfo {
        format,
        sample_rate: rate,
        channels,
    })
}

/// Decodes a WAV file to interleaved linear samples at its own rate.
pub fn decode_wav(bytes: &[u8]) -> Result<DecodedWav, WavError> {
    let (info, data) = parse_wav(bytes)?;
    let frame = info.format.bytes_per_sample() * usize::from(info.channels);
    // a partial last frame (truncated file) is dropped
    let data = &data[..data.len() / frame * frame];
    let samples = match info.format {
        WavFormat::Pcm16 => data
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect(),
        WavFormat::Pcm8 => data.iter().map(|&b| (i16::from(b) - 128) << 8).collect(),
        WavFormat::Ulaw => data.iter().map(|&b| pcmu_decode_sample(b)).collect(),
        WavFormat::Alaw => data.iter().map(|&b| pcma_decode_sample(b)).collect(),
    };
    Ok(DecodedWav { info, samples })
}

/// Loads any supported WAV as 8 kHz mono linear audio, ready for the player.
pub fn load_wav_8k(bytes: &[u8]) -> Result<Vec<i16>, WavError> {
    let wav = decode_wav(bytes)?;
    let mono = downmix(&wav.samples, usize::from(wav.info.channels));
    Ok(resample_to_8k(&mono, wav.info.sample_rate))
}

#[cfg(test)]
mod tests {
    use super::super::resample::tests::{amplitude_at, sine};
    use super::*;

    /// A WAV file built by hand (not with our writer) to test the reader independently.
    fn wav_bytes(
        tag: u16,
        channels: u16,
        rate: u32,
        bits: u16,
        data: &[u8],
        extra_chunk: bool,
    ) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(b"WAVE");
        if extra_chunk {
            v.extend_from_slice(b"LIST\x03\x00\x00\x00abc\x00");
        }
        v.extend_from_slice(b"fmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        let align = channels * bits / 8;
        v.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        v.extend_from_slice(&align.to_le_bytes());
        v.extend_from_slice(&bits.to_le_bytes());
        v.extend_from_slice(b"data");
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
        let riff = (v.len() - 8) as u32;
        v[4..8].copy_from_slice(&riff.to_le_bytes());
        v
    }

    fn pcm_le(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    #[test]
    fn reads_pcm16_mono_8k_as_is() {
        let samples = sine(440.0, 8000, 5000.0, 800);
        let file = wav_bytes(1, 1, 8000, 16, &pcm_le(&samples), true);
        assert_eq!(load_wav_8k(&file).unwrap(), samples);
        let (info, data) = parse_wav(&file).unwrap();
        assert_eq!(
            info,
            WavInfo {
                format: WavFormat::Pcm16,
                sample_rate: 8000,
                channels: 1
            }
        );
        assert_eq!(data.len(), 1600);
    }

    #[test]
    fn reads_g711_wavs() {
        let mut ulaw = [0u8; 4];
        crate::g711::encode_pcmu(&[0, 1000, -1000, 8000], &mut ulaw);
        let decoded = decode_wav(&wav_bytes(7, 1, 8000, 8, &ulaw, false)).unwrap();
        assert_eq!(decoded.info.format, WavFormat::Ulaw);
        assert!(decoded
            .samples
            .iter()
            .zip([0i16, 1000, -1000, 8000])
            .all(|(a, b)| (a - b).abs() < 300));
        let alaw = decode_wav(&wav_bytes(6, 1, 8000, 8, &[0xd5, 0x55], false)).unwrap();
        assert_eq!(alaw.samples, vec![8, -8]);
    }

    #[test]
    fn resamples_stereo_48k_to_8k_mono() {
        let left = sine(500.0, 48000, 8000.0, 48000);
        let interleaved: Vec<i16> = left.iter().flat_map(|&s| [s, s]).collect();
        let out = load_wav_8k(&wav_bytes(1, 2, 48000, 16, &pcm_le(&interleaved), false)).unwrap();
        assert_eq!(out.len(), 8000);
        let amp = amplitude_at(&out[100..7900], 500.0);
        assert!((7600.0..8300.0).contains(&amp), "amplitude {amp}");
    }

    #[test]
    fn bad_files_are_errors() {
        assert_eq!(parse_wav(b"RIFX0000WAVE").err(), Some(WavError::NotWave));
        assert_eq!(
            parse_wav(b"RIFF\0\0\0\0WAVE").err(),
            Some(WavError::MissingChunk("fmt"))
        );
        let mp3 = wav_bytes(0x55, 1, 8000, 0, &[1, 2], false);
        assert_eq!(
            parse_wav(&mp3).err(),
            Some(WavError::Unsupported { tag: 0x55, bits: 0 })
        );
        let ghz = wav_bytes(1, 1, 1_000_000, 16, &[0, 0], false);
        assert_eq!(
            parse_wav(&ghz).err(),
            Some(WavError::BadLayout {
                channels: 1,
                rate: 1_000_000
            })
        );
        let mut cut = wav_bytes(1, 1, 8000, 16, &[0; 10], false);
        cut.truncate(30);
        assert_eq!(parse_wav(&cut).err(), Some(WavError::Truncated));
        // data size larger than the file (streamed): the bytes present are used
        let mut streamed = wav_bytes(1, 1, 8000, 16, &pcm_le(&[7, 8, 9]), false);
        let at = streamed.len() - 10;
        streamed[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_wav(&streamed).unwrap().samples, vec![7, 8, 9]);
    }
}
