//! Tone generation for prompts and signalling: beeps, DTMF pairs, call-progress cadences and
//! silence, produced frame by frame with a rotating phasor (no per-sample trigonometry).

use crate::dtmf::{event_code, DtmfError};
use crate::g711::{Frame, SAMPLE_RATE};

const DTMF_ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const DTMF_COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneSpec {
    /// Up to two frequencies in Hz summed together (0 = unused).
    pub freqs: [f64; 2],
    /// Peak amplitude of each frequency.
    pub amplitude: f64,
    /// Tone-on time of a cadence in ms (0 = silence only).
    pub on_ms: u32,
    /// Tone-off time of a cadence in ms (0 = continuous).
    pub off_ms: u32,
    /// Total length in ms (`None` = until stopped).
    pub total_ms: Option<u32>,
}

impl ToneSpec {
    /// The record/confirmation beep: 1 kHz for 250 ms.
    pub fn beep() -> Self {
        ToneSpec {
            freqs: [1000.0, 0.0],
            amplitude: 8000.0,
            on_ms: 250,
            off_ms: 0,
            total_ms: Some(250),
        }
    }

    /// The DTMF pair of `digit` for `ms` milliseconds.
    pub fn dtmf(digit: char, ms: u32) -> Result<Self, DtmfError> {
        let code = event_code(digit)?;
        // event codes 0-15 map onto the keypad rows and columns
        let (row, col) = match code {
            0 => (3, 1),
            1..=9 => ((code - 1) / 3, (code - 1) % 3),
            10 => (3, 0),
            11 => (3, 2),
            _ => (code - 12, 3),
        };
        Ok(ToneSpec {
            freqs: [DTMF_ROWS[usize::from(row)], DTMF_COLS[usize::from(col)]],
            amplitude: 6000.0,
            on_ms: ms,
            off_ms: 0,
            total_ms: Some(ms),
        })
    }

    /// Silence for `ms` milliseconds.
    pub fn silence(ms: u32) -> Self {
        ToneSpec {
            freqs: [0.0, 0.0],
            amplitude: 0.0,
            on_ms: 0,
            off_ms: 0,
            total_ms: Some(ms),
        }
    }

    /// North American ringback (440 + 480 Hz, 2 s on, 4 s off) until stopped.
    pub fn ringback() -> Self {
        ToneSpec {
            freqs: [440.0, 480.0],
            amplitude: 4000.0,
            on_ms: 2000,
            off_ms: 4000,
            total_ms: None,
        }
    }
}

/// Produces a tone frame by frame.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    spec: ToneSpec,
    sample: u64,
    total_samples: Option<u64>,
    phasor: [(f64, f64); 2],
    step: [(f64, f64); 2],
}

impl ToneGenerator {
    /// A generator at the start of `spec`.
    pub fn new(spec: ToneSpec) -> Self {
        let step = spec.freqs.map(|f| {
            let w = 2.0 * std::f64::consts::PI * f / f64::from(SAMPLE_RATE);
            (w.cos(), w.sin())
        });
        ToneGenerator {
            spec,
            sample: 0,
            total_samples: spec
                .total_ms
                .map(|ms| u64::from(ms) * u64::from(SAMPLE_RATE) / 1000),
            phasor: [(1.0, 0.0); 2],
            step,
        }
    }

    /// True once the whole length has been produced.
    pub fn finished(&self) -> bool {
        self.total_samples.is_some_and(|t| self.sample >= t)
    }

    /// Samples produced so far.
    pub fn position_samples(&self) -> u64 {
        self.sample
    }

    fn tone_on(&self, sample: u64) -> bool {
        if self.spec.on_ms == 0 {
            return false;
        }
        if self.spec.off_ms == 0 {
            return true;
        }
        let period = u64::from(self.spec.on_ms + self.spec.off_ms) * 8;
        sample % period < u64::from(self.spec.on_ms) * 8
    }

    /// Fills one frame; samples past the end are silence. Returns the samples of tone written.
    pub fn fill(&mut self, out: &mut Frame) -> usize {
        let remaining = self
            .total_samples
            .map_or(u64::MAX, |t| t.saturating_sub(self.sample));
        let n = (out.len() as u64).min(remaining) as usize;
        for (i, o) in out.iter_mut().enumerate() {
            if i >= n {
                *o = 0;
                continue;
            }
            let on = self.tone_on(self.sample + i as u64);
            let mut v = 0.0;
            for k in 0..2 {
                if self.spec.freqs[k] == 0.0 {
                    continue;
                }
                let (c, s) = self.phasor[k];
                if on {
                    v += s;
                }
                let (sc, ss) = self.step[k];
                self.phasor[k] = (c * sc - s * ss, s * sc + c * ss);
            }
            *o = (v * self.spec.amplitude).round().clamp(-32768.0, 32767.0) as i16;
        }
        // keep the phasors on the unit circle despite rounding
        for p in &mut self.phasor {
            let norm = (p.0 * p.0 + p.1 * p.1).sqrt();
            if norm > 0.0 {
                *p = (p.0 / norm, p.1 / norm);
            }
        }
        self.sample += n as u64;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::DtmfDetector;
    use crate::g711::FRAME_SAMPLES;

    fn render(spec: ToneSpec, frames: usize) -> Vec<i16> {
        let mut g = ToneGenerator::new(spec);
        let mut out = Vec::new();
        let mut f = [0i16; FRAME_SAMPLES];
        for _ in 0..frames {
            g.fill(&mut f);
            out.extend_from_slice(&f);
        }
        out
    }

    #[test]
    fn beep_is_a_quarter_second_of_1khz() {
        let mut g = ToneGenerator::new(ToneSpec::beep());
        let mut f = [0i16; FRAME_SAMPLES];
        let mut total = 0;
        let mut audio = Vec::new();
        while !g.finished() {
            total += g.fill(&mut f);
            audio.extend_from_slice(&f);
        }
        assert_eq!(total, 2000);
        // 1 kHz = 2000 zero crossings per second: 500 in 250 ms
        let crossings = audio[..2000]
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count();
        assert!((498..=501).contains(&crossings), "{crossings}");
        let peak = audio.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((7990..=8000).contains(&peak), "{peak}");
        // after the end: silence
        assert_eq!(g.fill(&mut f), 0);
        assert_eq!(f, [0; FRAME_SAMPLES]);
    }

    #[test]
    fn dtmf_tones_are_detected_as_their_digit() {
        for d in "0123456789*#ABCD".chars() {
            let mut audio = render(ToneSpec::dtmf(d, 100).unwrap(), 5);
            audio.extend(vec![0; 800]);
            let mut got = Vec::new();
            DtmfDetector::default().process(&audio, |x| got.push(x.digit));
            assert_eq!(got, vec![d]);
        }
        assert!(ToneSpec::dtmf('x', 100).is_err());
    }

    #[test]
    fn cadence_and_silence() {
        let audio = render(ToneSpec::ringback(), 300);
        // 2 s on, then 4 s off
        assert!(audio[..16000].iter().any(|&s| s.abs() > 3000));
        assert!(audio[16000..48000].iter().all(|&s| s == 0));
        let mut g = ToneGenerator::new(ToneSpec::silence(30));
        let mut f = [1i16; FRAME_SAMPLES];
        assert_eq!(g.fill(&mut f), 160);
        assert_eq!(g.fill(&mut f), 80);
        assert!(g.finished());
        assert_eq!(f, [0; FRAME_SAMPLES]);
    }
}
