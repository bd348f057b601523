//! Streaming WAV writer for recordings: writes a header with empty sizes up front, appends
//! encoded samples as they come, and fixes the sizes when finished, so a recording of any
//! length needs no buffering.

use std::io::{Seek, SeekFrom, Write};

use super::reader::{WavError, WavFormat};
use crate::g711::{pcma_encode_sample, pcmu_encode_sample};

/// Writes mono WAV audio in one of the writable formats to a seekable sink.
#[derive(Debug)]
pub struct WavWriter<W: Write + Seek> {
    inner: W,
    format: WavFormat,
    data_bytes: u64,
    samples: u64,
    sample_rate: u32,
}

fn io(e: std::io::Error) -> WavError {
    WavError::Io(e.to_string())
}

/// Offset of the RIFF size field.
const RIFF_SIZE_AT: u64 = 4;

impl<W: Write + Seek> WavWriter<W> {
    /// Starts a mono file at `sample_rate` in `format` (Pcm16, Ulaw or Alaw) at the sink's
    /// current position, which must be its start.
    pub fn new(mut inner: W, format: WavFormat, sample_rate: u32) -> Result<Self, WavError> {
        if format == WavFormat::Pcm8 {
            return Err(WavError::Unsupported { tag: 1, bits: 8 });
        }
        let bytes = format.bytes_per_sample() as u16;
        let mut h = Vec::with_capacity(58);
        h.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
        let g711 = format != WavFormat::Pcm16;
        // non-PCM formats carry cbSize and a fact chunk
        h.extend_from_slice(&(if g711 { 18u32 } else { 16 }).to_le_bytes());
        h.extend_from_slice(&format.tag().to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&sample_rate.to_le_bytes());
        h.extend_from_slice(&(sample_rate * u32::from(bytes)).to_le_bytes());
        h.extend_from_slice(&bytes.to_le_bytes());
        h.extend_from_slice(&(bytes * 8).to_le_bytes());
        if g711 {
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(b"fact\x04\0\0\0\0\0\0\0");
        }
        h.extend_from_slice(b"data\0\0\0\0");
        inner.write_all(&h).map_err(io)?;
        Ok(WavWriter {
            inner,
            format,
            data_bytes: 0,
            samples: 0,
            sample_rate,
        })
    }

    fn header_len(&self) -> u64 {
        if self.format == WavFormat::Pcm16 {
            44
        } else {
            58
        }
    }

    /// Appends linear samples, encoding them to the file's format.
    pub fn write_samples(&mut self, pcm: &[i16]) -> Result<(), WavError> {
        // encode through a stack buffer: no allocation per frame
        let mut buf = [0u8; 640];
        let per = self.format.bytes_per_sample();
        for chunk in pcm.chunks(buf.len() / per) {
            let out = &mut buf[..chunk.len() * per];
            match self.format {
                WavFormat::Pcm16 => {
                    for (o, s) in out.chunks_exact_mut(2).zip(chunk) {
                        o.copy_from_slice(&s.to_le_bytes());
                    }
                }
                WavFormat::Ulaw => out
                    .iter_mut()
                    .zip(chunk)
                    .for_each(|(o, &s)| *o = pcmu_encode_sample(s)),
                WavFormat::Alaw => out
                    .iter_mut()
                    .zip(chunk)
                    .for_each(|(o, &s)| *o = pcma_encode_sample(s)),
                WavFormat::Pcm8 => return Err(WavError::Unsupported { tag: 1, bits: 8 }),
            }
            self.inner.write_all(out).map_err(io)?;
            self.data_bytes += out.len() as u64;
        }
        self.samples += pcm.len() as u64;
        Ok(())
    }

    /// Samples written so far.
    pub fn samples_written(&self) -> u64 {
        self.samples
    }

    /// Duration written so far in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.samples * 1000 / u64::from(self.sample_rate.max(1))
    }

    /// Pads the data to an even length, writes the final sizes and returns the sink.
    pub fn finish(mut self) -> Result<W, WavError> {
        if self.data_bytes % 2 == 1 {
            self.inner.write_all(&[0]).map_err(io)?;
        }
        let data = u32::try_from(self.data_bytes)
            .map_err(|_| WavError::Io("recording exceeds 4 GiB".into()))?;
        let padded = u64::from(data) + u64::from(data % 2);
        let riff = (self.header_len() - 8 + padded) as u32;
        self.inner.seek(SeekFrom::Start(RIFF_SIZE_AT)).map_err(io)?;
        self.inner.write_all(&riff.to_le_bytes()).map_err(io)?;
        if self.format != WavFormat::Pcm16 {
            // fact chunk body: sample count
            self.inner.seek(SeekFrom::Start(46)).map_err(io)?;
            self.inner
                .write_all(&(self.samples as u32).to_le_bytes())
                .map_err(io)?;
        }
        self.inner
            .seek(SeekFrom::Start(self.header_len() - 4))
            .map_err(io)?;
        self.inner.write_all(&data.to_le_bytes()).map_err(io)?;
        self.inner.seek(SeekFrom::End(0)).map_err(io)?;
        self.inner.flush().map_err(io)?;
        Ok(self.inner)
    }
}

/// A whole mono WAV file in memory (for caches and tests).
pub fn wav_to_vec(pcm: &[i16], format: WavFormat, sample_rate: u32) -> Result<Vec<u8>, WavError> {
    let mut w = WavWriter::new(std::io::Cursor::new(Vec::new()), format, sample_rate)?;
    w.write_samples(pcm)?;
    Ok(w.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::super::reader::{decode_wav, parse_wav, WavInfo};
    use super::*;

    #[test]
    fn streaming_pcm16_file_reads_back() {
        let mut w =
            WavWriter::new(std::io::Cursor::new(Vec::new()), WavFormat::Pcm16, 8000).unwrap();
        for i in 0..50 {
            w.write_samples(&[i as i16; 160]).unwrap();
        }
        assert_eq!(w.duration_ms(), 1000);
        let bytes = w.finish().unwrap().into_inner();
        assert_eq!(bytes.len(), 44 + 16000);
        assert_eq!(
            u32::from_le_bytes(bytes[4..8].try_into().unwrap()),
            36 + 16000
        );
        let wav = decode_wav(&bytes).unwrap();
        assert_eq!(
            wav.info,
            WavInfo {
                format: WavFormat::Pcm16,
                sample_rate: 8000,
                channels: 1
            }
        );
        assert_eq!(wav.samples.len(), 8000);
        assert_eq!(wav.samples[160 * 49], 49);
    }

    #[test]
    fn g711_files_have_fact_and_padding() {
        let pcm = [0i16, 500, -500];
        for format in [WavFormat::Ulaw, WavFormat::Alaw] {
            let bytes = wav_to_vec(&pcm, format, 8000).unwrap();
            // 58-byte header, 3 data bytes, 1 pad byte
            assert_eq!(bytes.len(), 62);
            assert_eq!(&bytes[38..42], b"fact");
            assert_eq!(u32::from_le_bytes(bytes[46..50].try_into().unwrap()), 3);
            let (info, data) = parse_wav(&bytes).unwrap();
            assert_eq!((info.format, data.len()), (format, 3));
            let back = decode_wav(&bytes).unwrap().samples;
            assert!(
                back.iter().zip(pcm).all(|(a, b)| (a - b).abs() < 40),
                "{format:?} {back:?}"
            );
        }
        assert!(WavWriter::new(std::io::Cursor::new(Vec::new()), WavFormat::Pcm8, 8000).is_err());
    }
}
