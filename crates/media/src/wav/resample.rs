//! Sample-rate conversion to 8 kHz for prompts: a windowed-sinc low-pass below the new
//! Nyquist frequency, evaluated only at the input positions each output sample needs, then
//! linear interpolation between them. Works for any input rate (16, 22.05, 44.1, 48 kHz...).

use crate::g711::SAMPLE_RATE;

/// Pass-band edge of the anti-alias filter (Hz): telephone audio ends near 3.4 kHz.
const CUTOFF_HZ: f64 = 3600.0;

/// Low-pass taps for `in_rate`, Blackman-windowed sinc, normalised to unit DC gain.
fn lowpass_taps(in_rate: u32) -> Vec<f32> {
    let ratio = f64::from(in_rate) / f64::from(SAMPLE_RATE);
    // more taps for steeper decimation, odd so the filter is centred
    let n = ((16.0 * ratio).ceil() as usize) | 1;
    let fc = CUTOFF_HZ / f64::from(in_rate);
    let mid = (n / 2) as f64;
    let mut taps: Vec<f64> = (0..n)
        .map(|i| {
            let x = i as f64 - mid;
            let sinc = if x == 0.0 {
                2.0 * fc
            } else {
                (2.0 * std::f64::consts::PI * fc * x).sin() / (std::f64::consts::PI * x)
            };
            let w = 0.42 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos()
                + 0.08 * (4.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos();
            sinc * w
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    for t in &mut taps {
        *t /= sum;
    }
    taps.into_iter().map(|t| t as f32).collect()
}

/// Converts mono 16-bit audio at `in_rate` Hz to 8 kHz.
pub fn resample_to_8k(input: &[i16], in_rate: u32) -> Vec<i16> {
    if in_rate == SAMPLE_RATE || input.is_empty() || in_rate == 0 {
        return input.to_vec();
    }
    let out_len = (input.len() as u64 * u64::from(SAMPLE_RATE) / u64::from(in_rate)) as usize;
    let step = f64::from(in_rate) / f64::from(SAMPLE_RATE);
    let taps = if in_rate > SAMPLE_RATE {
        lowpass_taps(in_rate)
    } else {
        vec![1.0]
    };
    let half = taps.len() / 2;
    let filtered = |k: usize| -> f32 {
        // samples outside the input count as silence
        let mut acc = 0.0f32;
        for (j, &h) in taps.iter().enumerate() {
            if let Some(idx) = (k + j).checked_sub(half) {
                if let Some(&x) = input.get(idx) {
                    acc += h * f32::from(x);
                }
            }
        }
        acc
    };
    (0..out_len)
        .map(|n| {
            let pos = n as f64 * step;
            let i = pos.floor() as usize;
            let frac = (pos - i as f64) as f32;
            let a = filtered(i);
            let b = if frac > 0.0 { filtered(i + 1) } else { a };
            (a + (b - a) * frac).round().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// Averages interleaved channels into mono.
pub fn downmix(interleaved: &[i16], channels: usize) -> Vec<i16> {
    if channels <= 1 {
        return interleaved.to_vec();
    }
    interleaved
        .chunks_exact(channels)
        .map(|frame| (frame.iter().map(|&s| i32::from(s)).sum::<i32>() / channels as i32) as i16)
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sine(freq: f64, rate: u32, amplitude: f64, samples: usize) -> Vec<i16> {
        (0..samples)
            .map(|i| {
                (amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin())
                    as i16
            })
            .collect()
    }

    /// Amplitude of `freq` in `x` at 8 kHz by correlation with a sine and cosine.
    pub(crate) fn amplitude_at(x: &[i16], freq: f64) -> f64 {
        let (mut s, mut c) = (0.0, 0.0);
        for (i, &v) in x.iter().enumerate() {
            let ph = 2.0 * std::f64::consts::PI * freq * i as f64 / 8000.0;
            s += f64::from(v) * ph.sin();
            c += f64::from(v) * ph.cos();
        }
        2.0 * (s * s + c * c).sqrt() / x.len() as f64
    }

    #[test]
    fn keeps_in_band_tones_at_every_rate() {
        for rate in [11025, 16000, 22050, 44100, 48000] {
            let input = sine(1000.0, rate, 10000.0, rate as usize);
            let out = resample_to_8k(&input, rate);
            assert_eq!(out.len(), 8000, "rate {rate}");
            // skip the filter's edges
            let amp = amplitude_at(&out[200..7800], 1000.0);
            assert!(
                (9500.0..10300.0).contains(&amp),
                "rate {rate}: amplitude {amp}"
            );
        }
    }

    #[test]
    fn removes_content_above_4khz() {
        for rate in [16000, 22050, 48000] {
            // 6 kHz would alias to 2 kHz without the filter
            let out = resample_to_8k(&sine(6000.0, rate, 10000.0, rate as usize), rate);
            let alias = amplitude_at(&out[200..7800], 2000.0);
            assert!(alias < 300.0, "rate {rate}: alias amplitude {alias}");
        }
    }

    #[test]
    fn passthrough_and_downmix() {
        assert_eq!(resample_to_8k(&[1, 2, 3], 8000), vec![1, 2, 3]);
        assert_eq!(downmix(&[100, 300, -100, -300], 2), vec![200, -200]);
        assert_eq!(downmix(&[5, 6], 1), vec![5, 6]);
    }
}
