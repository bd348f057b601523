//! Call recording sink: takes each tick's inbound (what the caller says) and outbound (what
//! the caller hears) frames, writes any of inbound, outbound and their mix to WAV writers,
//! and decides when to stop: trailing silence on the inbound side, a stop key, or a maximum
//! duration.

use std::io::{Seek, Write};
use std::time::Duration;

use crate::g711::{Frame, FRAME_SAMPLES};
use crate::mixer::mix_two;
use crate::wav::{WavError, WavFormat, WavWriter};

/// When a recording stops by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordConfig {
    /// Stop after this much continuous inbound silence (frame RMS below `silence_rms`).
    pub stop_on_silence: Option<Duration>,
    /// RMS level under which an inbound frame counts as silence (about 300 = -40 dBov).
    pub silence_rms: f64,
    /// Digits that stop the recording (e.g. `"#"`).
    pub stop_keys: String,
    /// Longest recording.
    pub max_duration: Option<Duration>,
    /// Encoding of the files.
    pub format: WavFormat,
}

impl Default for RecordConfig {
    fn default() -> Self {
        RecordConfig {
            stop_on_silence: None,
            silence_rms: 300.0,
            stop_keys: "#".to_string(),
            max_duration: None,
            format: WavFormat::Pcm16,
        }
    }
}

/// Why a recording stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The inbound side was silent for the configured time.
    Silence,
    /// A stop key was pressed.
    Key(char),
    /// The maximum duration was reached.
    MaxDuration,
    /// The caller of `finish` ended it (hangup, stop command).
    Requested,
}

/// The sinks to write: any of the three directions.
#[derive(Debug)]
pub struct RecordSinks<W: Write + Seek> {
    /// What the remote party said.
    pub inbound: Option<W>,
    /// What the remote party heard.
    pub outbound: Option<W>,
    /// Both together.
    pub mixed: Option<W>,
}

/// The result of a finished recording, with the sinks handed back.
#[derive(Debug)]
pub struct RecordingSummary<W: Write + Seek> {
    /// Why it stopped.
    pub reason: StopReason,
    /// Length recorded in ms.
    pub duration_ms: u64,
    /// The finished sinks.
    pub sinks: RecordSinks<W>,
}

/// An active recording.
#[derive(Debug)]
pub struct Recorder<W: Write + Seek> {
    config: RecordConfig,
    inbound: Option<WavWriter<W>>,
    outbound: Option<WavWriter<W>>,
    mixed: Option<WavWriter<W>>,
    frames: u64,
    silent_frames: u64,
    stopped: Option<StopReason>,
    mix_buf: Frame,
}

/// Root mean square of a frame.
pub fn frame_rms(frame: &[i16]) -> f64 {
    if frame.is_empty() {
        return 0.0;
    }
    let sum: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / frame.len() as f64).sqrt()
}

impl<W: Write + Seek> Recorder<W> {
    /// Starts writing WAV headers to the given sinks.
    pub fn new(config: RecordConfig, sinks: RecordSinks<W>) -> Result<Self, WavError> {
        let open = |w: Option<W>| {
            w.map(|w| WavWriter::new(w, config.format, 8000))
                .transpose()
        };
        Ok(Recorder {
            inbound: open(sinks.inbound)?,
            outbound: open(sinks.outbound)?,
            mixed: open(sinks.mixed)?,
            config,
            frames: 0,
            silent_frames: 0,
            stopped: None,
            mix_buf: [0; FRAME_SAMPLES],
        })
    }

    /// Why it stopped, once it has.
    pub fn stopped(&self) -> Option<StopReason> {
        self.stopped
    }

    /// Recorded length in ms.
    pub fn duration_ms(&self) -> u64 {
        self.frames * 20
    }

    /// Records one tick; returns the stop reason on the tick the recording stops (frames after
    /// that are ignored).
    pub fn on_frame(
        &mut self,
        inbound: &Frame,
        outbound: &Frame,
    ) -> Result<Option<StopReason>, WavError> {
        if self.stopped.is_some() {
            return Ok(None);
        }
        if let Some(w) = &mut self.inbound {
            w.write_samples(inbound)?;
        }
        if let Some(w) = &mut self.outbound {
            w.write_samples(outbound)?;
        }
        if let Some(w) = &mut self.mixed {
            mix_two(inbound, outbound, &mut self.mix_buf);
            w.write_samples(&self.mix_buf)?;
        }
        self.frames += 1;
        if frame_rms(inbound) < self.config.silence_rms {
            self.silent_frames += 1;
        } else {
            self.silent_frames = 0;
        }
        let elapsed = Duration::from_millis(self.frames * 20);
        if self.config.max_duration.is_some_and(|max| elapsed >= max) {
            self.stopped = Some(StopReason::MaxDuration);
        } else if self
            .config
            .stop_on_silence
            .is_some_and(|s| Duration::from_millis(self.silent_frames * 20) >= s)
        {
            self.stopped = Some(StopReason::Silence);
        }
        Ok(self.stopped)
    }

    /// A digit arrived; returns the stop reason if it is a stop key.
    pub fn on_digit(&mut self, digit: char) -> Option<StopReason> {
        if self.stopped.is_none() && self.config.stop_keys.contains(digit) {
            self.stopped = Some(StopReason::Key(digit));
            return self.stopped;
        }
        None
    }

    /// Finalises the files and hands the sinks back.
    pub fn finish(self) -> Result<RecordingSummary<W>, WavError> {
        let close = |w: Option<WavWriter<W>>| w.map(WavWriter::finish).transpose();
        Ok(RecordingSummary {
            reason: self.stopped.unwrap_or(StopReason::Requested),
            duration_ms: self.duration_ms(),
            sinks: RecordSinks {
                inbound: close(self.inbound)?,
                outbound: close(self.outbound)?,
                mixed: close(self.mixed)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wav::decode_wav;
    use std::io::Cursor;

    type Sink = Cursor<Vec<u8>>;

    fn all_sinks() -> RecordSinks<Sink> {
        RecordSinks {
            inbound: Some(Cursor::new(Vec::new())),
            outbound: Some(Cursor::new(Vec::new())),
            mixed: Some(Cursor::new(Vec::new())),
        }
    }

    fn samples(w: Option<Sink>) -> Vec<i16> {
        decode_wav(&w.unwrap().into_inner()).unwrap().samples
    }

    #[test]
    fn writes_each_direction_and_the_mix() {
        let mut r = Recorder::new(RecordConfig::default(), all_sinks()).unwrap();
        for _ in 0..10 {
            assert_eq!(
                r.on_frame(&[1000; FRAME_SAMPLES], &[-300; FRAME_SAMPLES])
                    .unwrap(),
                None
            );
        }
        let s = r.finish().unwrap();
        assert_eq!((s.reason, s.duration_ms), (StopReason::Requested, 200));
        assert_eq!(samples(s.sinks.inbound), vec![1000; 1600]);
        assert_eq!(samples(s.sinks.outbound), vec![-300; 1600]);
        assert_eq!(samples(s.sinks.mixed), vec![700; 1600]);
    }

    #[test]
    fn stops_on_silence_after_voice() {
        let config = RecordConfig {
            stop_on_silence: Some(Duration::from_millis(500)),
            ..RecordConfig::default()
        };
        let mut r = Recorder::new(
            config,
            RecordSinks {
                inbound: Some(Cursor::new(Vec::new())),
                outbound: None,
                mixed: None,
            },
        )
        .unwrap();
        let loud = [3000i16; FRAME_SAMPLES];
        let quiet = [20i16; FRAME_SAMPLES];
        for _ in 0..50 {
            assert_eq!(r.on_frame(&loud, &quiet).unwrap(), None);
        }
        let mut stop_at = None;
        for i in 0..100 {
            if let Some(reason) = r.on_frame(&quiet, &quiet).unwrap() {
                stop_at = Some((i, reason));
                break;
            }
        }
        // 25 silent frames = 500 ms
        assert_eq!(stop_at, Some((24, StopReason::Silence)));
        assert_eq!(r.on_frame(&loud, &loud).unwrap(), None);
        let s = r.finish().unwrap();
        assert_eq!(s.duration_ms, 1500);
        assert_eq!(samples(s.sinks.inbound).len(), 12000);
    }

    #[test]
    fn stops_on_key_or_max_duration() {
        let mut r = Recorder::new(
            RecordConfig {
                stop_keys: "#*".into(),
                ..RecordConfig::default()
            },
            all_sinks(),
        )
        .unwrap();
        assert_eq!(r.on_digit('1'), None);
        assert_eq!(r.on_digit('*'), Some(StopReason::Key('*')));
        assert_eq!(r.on_digit('#'), None);
        assert_eq!(r.finish().unwrap().reason, StopReason::Key('*'));

        let config = RecordConfig {
            max_duration: Some(Duration::from_secs(1)),
            format: WavFormat::Ulaw,
            ..RecordConfig::default()
        };
        let mut r = Recorder::new(config, all_sinks()).unwrap();
        let f = [5000i16; FRAME_SAMPLES];
        let stops: Vec<_> = (0..60)
            .filter_map(|_| r.on_frame(&f, &f).unwrap())
            .collect();
        assert_eq!(stops, vec![StopReason::MaxDuration]);
        let s = r.finish().unwrap();
        assert_eq!(s.duration_ms, 1000);
        assert_eq!(samples(s.sinks.mixed).len(), 8000);
        assert_eq!(frame_rms(&[3, -4, 3, -4]), 3.5355339059327378);
    }
}
