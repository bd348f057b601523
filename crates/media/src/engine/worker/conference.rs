//! A conference inside a worker: the mixer of its members, entry/exit tones heard by all, and
//! the recording of the mix.

use tokio::sync::broadcast;

use crate::g711::Frame;
use crate::mixer::{mix_two, Mixer, ParticipantId};
use crate::player::{Player, Source};
use crate::tone::ToneSpec;

use super::super::event::{EngineEvent, RecordReason};
use super::super::ids::ConferenceId;
use super::leg::{Recording, SILENCE};

/// Members a mixer has room for before growing.
const INITIAL_MEMBERS: usize = 8;

fn entry_tone() -> ToneSpec {
    ToneSpec {
        freqs: [880.0, 0.0],
        amplitude: 4000.0,
        on_ms: 100,
        off_ms: 50,
        total_ms: Some(250),
    }
}

fn exit_tone() -> ToneSpec {
    ToneSpec {
        freqs: [440.0, 0.0],
        amplitude: 4000.0,
        on_ms: 250,
        off_ms: 0,
        total_ms: Some(250),
    }
}

/// One conference.
pub(crate) struct Conference {
    pub id: ConferenceId,
    pub mixer: Mixer,
    tones: bool,
    tone: Player,
    tone_frame: Frame,
    mix: Frame,
    pub recording: Option<Recording>,
}

impl Conference {
    /// An empty conference.
    pub fn new(id: ConferenceId, tones: bool) -> Self {
        Conference {
            id,
            mixer: Mixer::with_capacity(INITIAL_MEMBERS),
            tones,
            tone: Player::new(),
            tone_frame: SILENCE,
            mix: SILENCE,
            recording: None,
        }
    }

    /// Adds a member; everyone hears the entry tone.
    pub fn join(&mut self, muted: bool) -> ParticipantId {
        let id = self.mixer.add();
        let _ = self.mixer.set_muted(id, muted);
        if self.tones {
            self.tone.play(0, Source::Tone(entry_tone()));
        }
        id
    }

    /// Removes a member; the others hear the exit tone.
    pub fn leave(&mut self, id: ParticipantId) {
        if self.mixer.remove(id).is_ok() && self.tones && !self.mixer.is_empty() {
            self.tone.play(0, Source::Tone(exit_tone()));
        }
    }

    /// Mixes the tick (inputs pushed before) and records the mix.
    pub fn mix(&mut self, events: &broadcast::Sender<EngineEvent>) {
        self.mixer.mix();
        self.tone.fill(&mut self.tone_frame);
        if let Some(r) = &mut self.recording {
            if r.delay > 0 {
                r.delay -= 1;
                return;
            }
            self.mixer.full_mix(&mut self.mix);
            let voices = self.mix;
            mix_two(&voices, &self.tone_frame, &mut self.mix);
            let stop = match r.recorder.on_frame(&self.mix, &SILENCE) {
                Ok(None) => None,
                Ok(Some(_)) => Some(None),
                Err(e) => Some(Some(RecordReason::Failed(e.to_string()))),
            };
            if let Some(reason) = stop {
                if let Some(r) = self.recording.take() {
                    r.finish(reason, events, None, Some(self.id));
                }
            }
        }
    }

    /// What member `id` hears this tick.
    pub fn heard(&self, id: ParticipantId, out: &mut Frame) {
        match self.mixer.output(id) {
            Ok(f) => mix_two(f, &self.tone_frame, out),
            Err(_) => *out = SILENCE,
        }
    }

    /// Ends the recording as stopped.
    pub fn stop_record(&mut self, events: &broadcast::Sender<EngineEvent>) {
        if let Some(r) = self.recording.take() {
            r.finish(Some(RecordReason::Stopped), events, None, Some(self.id));
        }
    }
}
