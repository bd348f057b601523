//! Frame player for one leg: plays decoded 8 kHz audio (shared, e.g. from the prompt cache)
//! or a generated tone, one 20 ms frame per tick, and reports once when a playback ends,
//! whether it ran out or was stopped.

use std::sync::Arc;

use crate::g711::{Frame, SAMPLE_RATE};
use crate::tone::{ToneGenerator, ToneSpec};

/// What to play.
#[derive(Debug, Clone)]
pub enum Source {
    /// Decoded 8 kHz mono audio, shared without copying.
    Pcm(Arc<[i16]>),
    /// A generated tone or silence.
    Tone(ToneSpec),
}

/// Why a playback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// It played to the end.
    Completed,
    /// `stop` was called or another playback replaced it.
    Stopped,
}

/// The end of one playback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaybackFinished {
    /// The id given to `play`.
    pub id: u64,
    /// How far it got, in ms.
    pub position_ms: u64,
    /// Why it ended.
    pub reason: FinishReason,
}

#[derive(Debug, Clone)]
enum Playing {
    Pcm {
        samples: Arc<[i16]>,
        position: usize,
    },
    Tone(ToneGenerator),
}

/// Plays one source at a time.
#[derive(Debug, Clone, Default)]
pub struct Player {
    current: Option<(u64, Playing)>,
}

impl Player {
    /// An idle player.
    pub fn new() -> Self {
        Player::default()
    }

    /// Starts playing `source` under `id`; a playback already running is stopped and its
    /// end returned.
    pub fn play(&mut self, id: u64, source: Source) -> Option<PlaybackFinished> {
        let previous = self.stop();
        let playing = match source {
            Source::Pcm(samples) => Playing::Pcm {
                samples,
                position: 0,
            },
            Source::Tone(spec) => Playing::Tone(ToneGenerator::new(spec)),
        };
        self.current = Some((id, playing));
        previous
    }

    /// Stops the current playback, if any, and returns its end.
    pub fn stop(&mut self) -> Option<PlaybackFinished> {
        let (id, playing) = self.current.take()?;
        Some(PlaybackFinished {
            id,
            position_ms: Self::position_of(&playing),
            reason: FinishReason::Stopped,
        })
    }

    fn position_of(playing: &Playing) -> u64 {
        let samples = match playing {
            Playing::Pcm { position, .. } => *position as u64,
            Playing::Tone(g) => g.position_samples(),
        };
        samples * 1000 / u64::from(SAMPLE_RATE)
    }

    /// True while something is playing.
    pub fn is_playing(&self) -> bool {
        self.current.is_some()
    }

    /// Id of the current playback.
    pub fn current_id(&self) -> Option<u64> {
        self.current.as_ref().map(|(id, _)| *id)
    }

    /// Position of the current playback in ms.
    pub fn position_ms(&self) -> Option<u64> {
        self.current.as_ref().map(|(_, p)| Self::position_of(p))
    }

    /// Fills this tick's frame (silence when idle or after the end) and returns the
    /// playback's end on the tick it completes.
    pub fn fill(&mut self, out: &mut Frame) -> Option<PlaybackFinished> {
        let Some((id, playing)) = self.current.as_mut() else {
            out.fill(0);
            return None;
        };
        let done = match playing {
            Playing::Pcm { samples, position } => {
                let n = out.len().min(samples.len() - *position);
                out[..n].copy_from_slice(&samples[*position..*position + n]);
                out[n..].fill(0);
                *position += n;
                *position >= samples.len()
            }
            Playing::Tone(g) => {
                g.fill(out);
                g.finished()
            }
        };
        if !done {
            return None;
        }
        let finished = PlaybackFinished {
            id: *id,
            position_ms: Self::position_of(playing),
            reason: FinishReason::Completed,
        };
        self.current = None;
        Some(finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::g711::FRAME_SAMPLES;

    #[test]
    fn plays_pcm_to_the_end_once() {
        let audio: Arc<[i16]> = (0..400).map(|i| i as i16).collect::<Vec<_>>().into();
        let mut p = Player::new();
        assert_eq!(p.play(7, Source::Pcm(audio)), None);
        let mut f = [0i16; FRAME_SAMPLES];
        assert_eq!(p.fill(&mut f), None);
        assert_eq!(f[0], 0);
        assert_eq!(p.fill(&mut f), None);
        assert_eq!(f[0], 160);
        assert_eq!(p.position_ms(), Some(40));
        // last 80 samples then silence, with the end event
        let end = p.fill(&mut f).unwrap();
        assert_eq!(
            end,
            PlaybackFinished {
                id: 7,
                position_ms: 50,
                reason: FinishReason::Completed
            }
        );
        assert_eq!((f[79], f[80]), (399, 0));
        assert!(!p.is_playing());
        f[0] = 5;
        assert_eq!(p.fill(&mut f), None);
        assert_eq!(f, [0; FRAME_SAMPLES]);
    }

    #[test]
    fn stop_and_replace_report_stopped() {
        let mut p = Player::new();
        p.play(1, Source::Tone(ToneSpec::ringback()));
        let mut f = [0i16; FRAME_SAMPLES];
        for _ in 0..10 {
            assert_eq!(p.fill(&mut f), None);
        }
        assert!(f.iter().any(|&s| s != 0));
        let replaced = p.play(2, Source::Tone(ToneSpec::beep())).unwrap();
        assert_eq!(
            replaced,
            PlaybackFinished {
                id: 1,
                position_ms: 200,
                reason: FinishReason::Stopped
            }
        );
        assert_eq!(p.current_id(), Some(2));
        let mut ends = Vec::new();
        for _ in 0..20 {
            ends.extend(p.fill(&mut f));
        }
        assert_eq!(
            ends,
            vec![PlaybackFinished {
                id: 2,
                position_ms: 250,
                reason: FinishReason::Completed
            }]
        );
        assert_eq!(p.stop(), None);
        // an empty file completes on its first tick
        p.play(3, Source::Pcm(Vec::new().into()));
        assert_eq!(
            p.fill(&mut f).map(|e| e.reason),
            Some(FinishReason::Completed)
        );
    }
}
