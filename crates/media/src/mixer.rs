//! Conference mixing on 20 ms frames: every participant hears the saturated sum of all the
//! others (never itself); a muted participant is heard by nobody, a deaf one hears silence.
//! Also the two-leg bridge of a 1:1 call and a helper that mixes two frames (for recording).
//! Buffers live in the mixer; a tick does not allocate.

use thiserror::Error;

use crate::g711::{Frame, FRAME_SAMPLES};

/// Why a mixer operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MixerError {
    /// The id was never issued by this mixer or its participant has left.
    #[error("unknown conference participant {0:?}")]
    UnknownParticipant(ParticipantId),
}

/// Handle of a participant; stale handles (after removal) are rejected, not confused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParticipantId {
    slot: u32,
    generation: u32,
}

#[derive(Debug, Clone)]
struct Participant {
    generation: u32,
    active: bool,
    muted: bool,
    deaf: bool,
    has_input: bool,
    input: Frame,
    output: Frame,
}

/// An N-party mixer.
#[derive(Debug, Clone)]
pub struct Mixer {
    slots: Vec<Participant>,
    active: usize,
    sum: [i32; FRAME_SAMPLES],
}

#[inline]
fn saturate(v: i32) -> i16 {
    v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

impl Mixer {
    /// A mixer with room for `capacity` participants before it has to grow.
    pub fn with_capacity(capacity: usize) -> Self {
        Mixer {
            slots: Vec::with_capacity(capacity),
            active: 0,
            sum: [0; FRAME_SAMPLES],
        }
    }

    /// Number of participants.
    pub fn len(&self) -> usize {
        self.active
    }

    /// True when nobody is in the conference.
    pub fn is_empty(&self) -> bool {
        self.active == 0
    }

    /// Adds a participant (not muted, not deaf) and returns its handle.
    pub fn add(&mut self) -> ParticipantId {
        self.active += 1;
        if let Some(slot) = self.slots.iter().position(|p| !p.active) {
            let p = &mut self.slots[slot];
            p.generation = p.generation.wrapping_add(1);
            p.active = true;
            p.muted = false;
            p.deaf = false;
            p.has_input = false;
            p.output = [0; FRAME_SAMPLES];
            return ParticipantId {
                slot: slot as u32,
                generation: p.generation,
            };
        }
        self.slots.push(Participant {
            generation: 0,
            active: true,
            muted: false,
            deaf: false,
            has_input: false,
            input: [0; FRAME_SAMPLES],
            output: [0; FRAME_SAMPLES],
        });
        ParticipantId {
            slot: (self.slots.len() - 1) as u32,
            generation: 0,
        }
    }

    fn get(&mut self, id: ParticipantId) -> Result<&mut Participant, MixerError> {
        match self.slots.get_mut(id.slot as usize) {
            Some(p) if p.active && p.generation == id.generation => Ok(p),
            _ => Err(MixerError::UnknownParticipant(id)),
        }
    }

    /// Removes a participant.
    pub fn remove(&mut self, id: ParticipantId) -> Result<(), MixerError> {
        self.get(id)?.active = false;
        self.active -= 1;
        Ok(())
    }

    /// Mutes or unmutes: a muted participant's audio reaches nobody.
    pub fn set_muted(&mut self, id: ParticipantId, muted: bool) -> Result<(), MixerError> {
        self.get(id)?.muted = muted;
        Ok(())
    }

    /// Makes a participant deaf (hears silence) or not.
    pub fn set_deaf(&mut self, id: ParticipantId, deaf: bool) -> Result<(), MixerError> {
        self.get(id)?.deaf = deaf;
        Ok(())
    }

    /// Gives a participant's frame for this tick (no frame = silence).
    pub fn push(&mut self, id: ParticipantId, frame: &Frame) -> Result<(), MixerError> {
        let p = self.get(id)?;
        p.input = *frame;
        p.has_input = true;
        Ok(())
    }

    /// Mixes this tick: computes every output and clears the inputs for the next tick.
    pub fn mix(&mut self) {
        self.sum = [0; FRAME_SAMPLES];
        for p in self
            .slots
            .iter()
            .filter(|p| p.active && p.has_input && !p.muted)
        {
            for (s, &x) in self.sum.iter_mut().zip(&p.input) {
                *s += i32::from(x);
            }
        }
        for p in self.slots.iter_mut().filter(|p| p.active) {
            if p.deaf {
                p.output = [0; FRAME_SAMPLES];
            } else if p.has_input && !p.muted {
                // the sum minus one's own contribution: everyone but oneself
                for ((o, &s), &x) in p.output.iter_mut().zip(&self.sum).zip(&p.input) {
                    *o = saturate(s - i32::from(x));
                }
            } else {
                for (o, &s) in p.output.iter_mut().zip(&self.sum) {
                    *o = saturate(s);
                }
            }
            p.has_input = false;
        }
    }

    /// What a participant hears this tick (after `mix`).
    pub fn output(&self, id: ParticipantId) -> Result<&Frame, MixerError> {
        match self.slots.get(id.slot as usize) {
            Some(p) if p.active && p.generation == id.generation => Ok(&p.output),
            _ => Err(MixerError::UnknownParticipant(id)),
        }
    }

    /// The mix of every unmuted participant (what a recording of the conference holds).
    pub fn full_mix(&self, out: &mut Frame) {
        for (o, &s) in out.iter_mut().zip(&self.sum) {
            *o = saturate(s);
        }
    }
}

/// The two legs of a 1:1 call: each hears the other unless that one is muted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bridge {
    /// Leg A's audio does not reach B.
    pub a_muted: bool,
    /// Leg B's audio does not reach A.
    pub b_muted: bool,
}

impl Bridge {
    /// Routes one tick: `a_out` is what A hears, `b_out` what B hears.
    pub fn route(&self, a_in: &Frame, b_in: &Frame, a_out: &mut Frame, b_out: &mut Frame) {
        if self.b_muted {
            a_out.fill(0);
        } else {
            a_out.copy_from_slice(b_in);
        }
        if self.a_muted {
            b_out.fill(0);
        } else {
            b_out.copy_from_slice(a_in);
        }
    }
}

/// Saturating sum of two frames (e.g. both directions of a call for a mixed recording).
pub fn mix_two(a: &[i16], b: &[i16], out: &mut [i16]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x.saturating_add(y);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(v: i16) -> Frame {
        [v; FRAME_SAMPLES]
    }

    #[test]
    fn each_hears_all_but_itself() {
        let mut m = Mixer::with_capacity(3);
        let ids = [m.add(), m.add(), m.add()];
        for (i, id) in ids.iter().enumerate() {
            m.push(*id, &frame(10i16.pow(i as u32))).unwrap();
        }
        m.mix();
        assert_eq!(m.output(ids[0]).unwrap(), &frame(110));
        assert_eq!(m.output(ids[1]).unwrap(), &frame(101));
        assert_eq!(m.output(ids[2]).unwrap(), &frame(11));
        let mut all = frame(0);
        m.full_mix(&mut all);
        assert_eq!(all, frame(111));
        // next tick without input: silence everywhere
        m.mix();
        assert_eq!(m.output(ids[0]).unwrap(), &frame(0));
    }

    #[test]
    fn mute_deaf_and_saturation() {
        let mut m = Mixer::with_capacity(4);
        let a = m.add();
        let b = m.add();
        let c = m.add();
        m.set_muted(a, true).unwrap();
        m.set_deaf(b, true).unwrap();
        m.push(a, &frame(1000)).unwrap();
        m.push(b, &frame(20000)).unwrap();
        m.push(c, &frame(20000)).unwrap();
        m.mix();
        // a is muted: nobody hears it, but a hears b + c, saturated
        assert_eq!(m.output(a).unwrap(), &frame(i16::MAX));
        assert_eq!(m.output(b).unwrap(), &frame(0));
        assert_eq!(m.output(c).unwrap(), &frame(20000));
        m.push(b, &frame(-30000)).unwrap();
        m.push(c, &frame(-30000)).unwrap();
        m.mix();
        assert_eq!(m.output(a).unwrap(), &frame(i16::MIN));
    }

    #[test]
    fn removed_ids_are_rejected_and_slots_reused() {
        let mut m = Mixer::with_capacity(2);
        let a = m.add();
        let b = m.add();
        m.remove(a).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m.push(a, &frame(1)), Err(MixerError::UnknownParticipant(a)));
        assert_eq!(m.remove(a), Err(MixerError::UnknownParticipant(a)));
        let c = m.add();
        assert_ne!(c, a);
        m.push(b, &frame(5)).unwrap();
        m.push(c, &frame(7)).unwrap();
        m.mix();
        assert_eq!(m.output(c).unwrap(), &frame(5));
        assert!(m.output(a).is_err());
    }

    #[test]
    fn bridge_and_mix_two() {
        let mut bridge = Bridge::default();
        let (mut a_out, mut b_out) = (frame(0), frame(0));
        bridge.route(&frame(1), &frame(2), &mut a_out, &mut b_out);
        assert_eq!((a_out[0], b_out[0]), (2, 1));
        bridge.a_muted = true;
        bridge.route(&frame(1), &frame(2), &mut a_out, &mut b_out);
        assert_eq!((a_out[0], b_out[0]), (2, 0));
        let mut out = frame(0);
        mix_two(&frame(30000), &frame(30000), &mut out);
        assert_eq!(out, frame(i16::MAX));
    }
}
