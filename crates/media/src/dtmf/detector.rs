//! In-band DTMF detection on 8 kHz linear audio, the fallback for peers that send digits as
//! tones: Goertzel filters on the eight DTMF frequencies over 205-sample blocks, with energy,
//! dominance and twist checks, and a minimum duration before a digit is reported once.

/// Samples per analysis block (25.6 ms at 8 kHz, the classic choice for DTMF).
pub const BLOCK_SAMPLES: usize = 205;
const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Thresholds of the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Minimum mean square sample value of a block (about -50 dBov by default).
    pub min_mean_square: f32,
    /// Share of the block's energy the two tones must hold together (0-1).
    pub min_tone_share: f32,
    /// High group may be this many dB weaker than the low group (normal twist).
    pub max_normal_twist_db: f32,
    /// High group may be this many dB stronger than the low group (reverse twist).
    pub max_reverse_twist_db: f32,
    /// Consecutive blocks with the same digit before it is reported (2 = about 51 ms).
    pub min_blocks: u32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            min_mean_square: 100.0,
            min_tone_share: 0.7,
            max_normal_twist_db: 8.0,
            max_reverse_twist_db: 4.0,
            min_blocks: 2,
        }
    }
}

/// A digit heard in the audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InbandDigit {
    /// The digit.
    pub digit: char,
    /// Sample index (since the detector started) where the first block of the digit began.
    pub start_sample: u64,
}

/// Streaming in-band DTMF detector.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    config: DetectorConfig,
    row_coeff: [f32; 4],
    col_coeff: [f32; 4],
    block: [f32; BLOCK_SAMPLES],
    filled: usize,
    samples_seen: u64,
    candidate: Option<char>,
    candidate_start: u64,
    run: u32,
    reported: bool,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        DtmfDetector::new(DetectorConfig::default())
    }
}

fn coeff(freq: f32) -> f32 {
    2.0 * (2.0 * std::f32::consts::PI * freq / 8000.0).cos()
}

/// Goertzel power of `x` at the frequency whose coefficient is `c`.
fn goertzel(x: &[f32], c: f32) -> f32 {
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &v in x {
        let s = v + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - c * s1 * s2
}

impl DtmfDetector {
    /// A detector with the given thresholds.
    pub fn new(config: DetectorConfig) -> Self {
        DtmfDetector {
            config,
            row_coeff: ROWS.map(coeff),
            col_coeff: COLS.map(coeff),
            block: [0.0; BLOCK_SAMPLES],
            filled: 0,
            samples_seen: 0,
            candidate: None,
            candidate_start: 0,
            run: 0,
            reported: false,
        }
    }

    /// Feeds audio of any length; `on_digit` is called once per digit, when it has lasted
    /// the minimum duration.
    pub fn process(&mut self, pcm: &[i16], mut on_digit: impl FnMut(InbandDigit)) {
        for &s in pcm {
            self.block[self.filled] = f32::from(s);
            self.filled += 1;
            if self.filled == BLOCK_SAMPLES {
                self.filled = 0;
                let block_start = self.samples_seen;
                self.samples_seen += BLOCK_SAMPLES as u64;
                let digit = self.classify();
                self.advance(digit, block_start, &mut on_digit);
            }
        }
    }

    fn advance(
        &mut self,
        digit: Option<char>,
        block_start: u64,
        on_digit: &mut impl FnMut(InbandDigit),
    ) {
        if digit != self.candidate {
            self.candidate = digit;
            self.candidate_start = block_start;
            self.run = 0;
            self.reported = false;
        }
        let Some(d) = digit else { return };
        self.run += 1;
        if !self.reported && self.run >= self.config.min_blocks {
            self.reported = true;
            on_digit(InbandDigit {
                digit: d,
                start_sample: self.candidate_start,
            });
        }
    }

    /// The digit the current block holds, if it passes every check.
    fn classify(&self) -> Option<char> {
        let x = &self.block;
        let energy: f32 = x.iter().map(|v| v * v).sum();
        let n = BLOCK_SAMPLES as f32;
        if energy / n < self.config.min_mean_square {
            return None;
        }
        // a pure tone of amplitude A gives Goertzel power (A N / 2)^2 and energy A^2 N / 2,
        // so power / (energy N / 2) is that tone's share of the block's energy
        let scale = 2.0 / (energy * n);
        let rows = self.row_coeff.map(|c| goertzel(x, c) * scale);
        let cols = self.col_coeff.map(|c| goertzel(x, c) * scale);
        let (ri, rp) = strongest(&rows);
        let (ci, cp) = strongest(&cols);
        if rp + cp < self.config.min_tone_share {
            return None;
        }
        // every other tone of each group must be well below the strongest (6 dB)
        let dominant = |powers: &[f32; 4], best: usize, bp: f32| {
            powers
                .iter()
                .enumerate()
                .all(|(i, &p)| i == best || p * 4.0 < bp)
        };
        if !dominant(&rows, ri, rp) || !dominant(&cols, ci, cp) {
            return None;
        }
        let twist_db = 10.0 * (cp / rp.max(f32::MIN_POSITIVE)).log10();
        if twist_db < -self.config.max_normal_twist_db
            || twist_db > self.config.max_reverse_twist_db
        {
            return None;
        }
        Some(KEYPAD[ri][ci])
    }
}

fn strongest(p: &[f32; 4]) -> (usize, f32) {
    let mut best = (0, p[0]);
    for (i, &v) in p.iter().enumerate().skip(1) {
        if v > best.1 {
            best = (i, v);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two tones at the given amplitudes for `ms` milliseconds, starting at sample `start`.
    fn dual(f1: f32, a1: f32, f2: f32, a2: f32, ms: usize) -> Vec<i16> {
        let w = |f: f32, i: usize| (2.0 * std::f32::consts::PI * f * i as f32 / 8000.0).sin();
        (0..ms * 8)
            .map(|i| (a1 * w(f1, i) + a2 * w(f2, i)) as i16)
            .collect()
    }

    fn digit_audio(d: char, ms: usize) -> Vec<i16> {
        let (r, c) = (0..16)
            .map(|k| (k / 4, k % 4))
            .find(|&(r, c)| KEYPAD[r][c] == d)
            .unwrap();
        dual(ROWS[r], 6000.0, COLS[c], 6000.0, ms)
    }

    fn detect(audio: &[i16]) -> Vec<char> {
        let mut det = DtmfDetector::default();
        let mut out = Vec::new();
        // feed in 20 ms frames, as the media path does
        for frame in audio.chunks(160) {
            det.process(frame, |d| out.push(d.digit));
        }
        out
    }

    #[test]
    fn every_key_is_detected_once() {
        for d in "0123456789*#ABCD".chars() {
            let mut audio = vec![0i16; 400];
            audio.extend(digit_audio(d, 100));
            audio.extend(vec![0i16; 800]);
            assert_eq!(detect(&audio), vec![d], "digit {d}");
        }
    }

    #[test]
    fn repeated_key_after_a_gap_counts_twice() {
        let mut audio = digit_audio('5', 80);
        audio.extend(vec![0i16; 480]);
        audio.extend(digit_audio('5', 80));
        audio.extend(vec![0i16; 480]);
        audio.extend(digit_audio('9', 80));
        assert_eq!(detect(&audio), vec!['5', '5', '9']);
    }

    #[test]
    fn rejects_short_weak_single_and_twisted_tones() {
        // 30 ms: under the minimum duration
        assert!(detect(&digit_audio('1', 30)).is_empty());
        // very quiet
        assert!(detect(&dual(697.0, 5.0, 1209.0, 5.0, 200)).is_empty());
        // a single 1 kHz tone and a dial-tone pair (350 + 440 Hz)
        assert!(detect(&dual(1000.0, 8000.0, 1000.0, 0.0, 200)).is_empty());
        assert!(detect(&dual(350.0, 6000.0, 440.0, 6000.0, 200)).is_empty());
        // high group 14 dB below the low group: beyond the 8 dB normal twist
        assert!(detect(&dual(770.0, 10000.0, 1336.0, 2000.0, 200)).is_empty());
        // within twist limits (high 4 dB weaker) still passes
        assert_eq!(detect(&dual(770.0, 8000.0, 1336.0, 5000.0, 200)), vec!['5']);
        // white-ish noise
        let mut seed = 12345u32;
        let noise: Vec<i16> = (0..8000)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                ((seed >> 16) as i16) / 4
            })
            .collect();
        assert!(detect(&noise).is_empty());
    }

    #[test]
    fn reports_start_sample() {
        let mut audio = vec![0i16; 2050];
        audio.extend(digit_audio('#', 120));
        let mut det = DtmfDetector::default();
        let mut got = Vec::new();
        det.process(&audio, |d| got.push(d));
        assert_eq!(got.len(), 1);
        // the first block fully inside the tone starts at 2255 (block 11 of 205)
        assert!((2050..=2255).contains(&got[0].start_sample), "{:?}", got[0]);
    }
}
