//! Jitter buffer for one inbound RTP stream: packets go in as they arrive (any order), one
//! 20 ms frame comes out per tick of the media clock, or a marker saying the frame is missing
//! (conceal it) or that the buffer is still filling (play silence). Slots are preallocated;
//! push and pop never allocate. Each packet is taken to hold one frame (20 ms of G.711).

use std::time::Duration;

/// How deep the buffer plays out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Always wait for this many frames before playing.
    Fixed(usize),
    /// Follow the measured interarrival jitter between `min` and `max` frames.
    Adaptive {
        /// Lowest target depth in frames.
        min: usize,
        /// Highest target depth in frames.
        max: usize,
    },
}

/// Configuration of a jitter buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// Number of packet slots (the most frames it can hold).
    pub capacity: usize,
    /// Largest payload a slot holds in bytes.
    pub max_payload: usize,
    /// Target depth policy.
    pub depth: Depth,
    /// Duration of one frame.
    pub frame: Duration,
    /// RTP clock rate of the payload.
    pub clock_rate: u32,
    /// Consecutive missing frames with an empty buffer after which it refills before playing.
    pub rebuffer_after: u32,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            capacity: 32,
            max_payload: 320,
            depth: Depth::Adaptive { min: 2, max: 10 },
            frame: Duration::from_millis(20),
            clock_rate: 8000,
            rebuffer_after: 5,
        }
    }
}

/// What happened to a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for playout.
    Stored,
    /// Its frame time has already been played: dropped.
    Late,
    /// Already in the buffer: dropped.
    Duplicate,
    /// Larger than a slot: dropped.
    TooLarge,
    /// The sequence jumped far (new stream): the buffer was emptied and this packet stored.
    Reset,
}

/// One tick's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// The next frame's payload.
    Audio {
        /// Encoded payload.
        payload: &'a [u8],
        /// Payload type it arrived with.
        payload_type: u8,
        /// Its sequence number.
        sequence: u16,
        /// Its RTP timestamp.
        timestamp: u32,
    },
    /// The frame due now never arrived: conceal (repeat, fade or silence).
    Missing,
    /// Not playing yet (filling to the target depth): play silence.
    Buffering,
}

/// Counters of a jitter buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JitterStats {
    /// Packets stored.
    pub stored: u64,
    /// Packets dropped as late.
    pub late: u64,
    /// Packets dropped as duplicates.
    pub duplicate: u64,
    /// Packets dropped as too large.
    pub too_large: u64,
    /// Frames played.
    pub played: u64,
    /// Frames reported missing.
    pub missing: u64,
    /// Frames skipped to bring an over-deep buffer back to its target.
    pub skipped: u64,
    /// Times the stream jumped and the buffer restarted.
    pub resets: u64,
}

#[derive(Debug, Clone)]
struct Slot {
    ext_seq: Option<u64>,
    timestamp: u32,
    payload_type: u8,
    len: usize,
    data: Box<[u8]>,
}

/// A jitter buffer for one stream.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    slots: Vec<Slot>,
    highest: Option<u64>,
    next_play: u64,
    playing: bool,
    missing_run: u32,
    count: usize,
    transit: Option<f64>,
    jitter_ms: f64,
    stats: JitterStats,
}

/// Sequence jumps beyond this many packets (either way) mean a new stream.
const MAX_JUMP: i64 = 1000;

impl JitterBuffer {
    /// A buffer with all its slots allocated up front.
    pub fn new(mut config: JitterConfig) -> Self {
        config.capacity = config.capacity.max(2);
        if let Depth::Adaptive { min, max } = config.depth {
            let min = min.clamp(1, config.capacity - 1);
            config.depth = Depth::Adaptive {
                min,
                max: max.clamp(min, config.capacity - 1),
            };
        }
        if let Depth::Fixed(n) = config.depth {
            config.depth = Depth::Fixed(n.clamp(1, config.capacity - 1));
        }
        let slot = Slot {
            ext_seq: None,
            timestamp: 0,
            payload_type: 0,
            len: 0,
            data: vec![0; config.max_payload].into(),
        };
        JitterBuffer {
            slots: vec![slot; config.capacity],
            config,
            highest: None,
            next_play: 0,
            playing: false,
            missing_run: 0,
            count: 0,
            transit: None,
            jitter_ms: 0.0,
            stats: JitterStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Frames currently held.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when no frame is held.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Measured interarrival jitter in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter_ms
    }

    /// Depth in frames the buffer fills to before playing.
    pub fn target_depth(&self) -> usize {
        match self.config.depth {
            Depth::Fixed(n) => n,
            Depth::Adaptive { min, max } => {
                let frame_ms = self.config.frame.as_secs_f64() * 1000.0;
                // three times the jitter covers nearly all arrivals of a normal spread
                let want = 1 + (3.0 * self.jitter_ms / frame_ms).ceil() as usize;
                want.clamp(min, max)
            }
        }
    }

    fn clear(&mut self) {
        for s in &mut self.slots {
            s.ext_seq = None;
        }
        self.count = 0;
        self.playing = false;
        self.missing_run = 0;
        self.highest = None;
        self.transit = None;
    }

    fn index(&self, ext: u64) -> usize {
        (ext % self.slots.len() as u64) as usize
    }

    /// Stores a packet that arrived at `now` (any epoch, the same for every call).
    pub fn push(
        &mut self,
        sequence: u16,
        timestamp: u32,
        payload_type: u8,
        payload: &[u8],
        now: Duration,
    ) -> PushOutcome {
        if payload.len() > self.config.max_payload {
            self.stats.too_large += 1;
            return PushOutcome::TooLarge;
        }
        let mut outcome = PushOutcome::Stored;
        let ext = match self.highest {
            None => u64::from(sequence) + (1 << 16),
            Some(h) => {
                let delta = i64::from(sequence.wrapping_sub(h as u16) as i16);
                let ext = h as i64 + delta;
                let behind_play = self.playing && (ext as u64) < self.next_play;
                if delta.abs() > MAX_JUMP || (behind_play && self.next_play as i64 - ext > MAX_JUMP)
                {
                    self.clear();
                    self.stats.resets += 1;
                    outcome = PushOutcome::Reset;
                    u64::from(sequence) + (1 << 16)
                } else {
                    ext as u64
                }
            }
        };
        let cap = self.slots.len() as u64;
        if self.highest.is_none() || (!self.playing && self.count == 0) {
            // first packet, or the first after an underrun: playout starts here
            self.next_play = ext;
        } else if ext < self.next_play {
            if self.playing || self.next_play - ext >= cap {
                self.stats.late += 1;
                return PushOutcome::Late;
            }
            // still filling: an earlier packet moves the start back
            self.next_play = ext;
        }
        if ext >= self.next_play + cap {
            // too far ahead to fit: drop the oldest frames to make room
            while ext >= self.next_play + cap {
                let i = self.index(self.next_play);
                if self.slots[i].ext_seq.take().is_some() {
                    self.count -= 1;
                    self.stats.skipped += 1;
                }
                self.next_play += 1;
            }
        }
        let i = self.index(ext);
        match self.slots[i].ext_seq {
            Some(e) if e == ext => {
                self.stats.duplicate += 1;
                return PushOutcome::Duplicate;
            }
            Some(_) => {}
            None => self.count += 1,
        }
        let slot = &mut self.slots[i];
        slot.ext_seq = Some(ext);
        slot.timestamp = timestamp;
        slot.payload_type = payload_type;
        slot.len = payload.len();
        slot.data[..payload.len()].copy_from_slice(payload);
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        self.update_jitter(timestamp, now);
        self.stats.stored += 1;
        outcome
    }

    fn update_jitter(&mut self, timestamp: u32, now: Duration) {
        let ts_ms = f64::from(timestamp) * 1000.0 / f64::from(self.config.clock_rate.max(1));
        let transit = now.as_secs_f64() * 1000.0 - ts_ms;
        if let Some(prev) = self.transit {
            let d = (transit - prev).abs();
            // ignore timestamp jumps (new talkspurt after silence suppression, wrap)
            if d < 1000.0 {
                self.jitter_ms += (d - self.jitter_ms) / 16.0;
            }
        }
        self.transit = Some(transit);
    }

    /// The frame for this tick of the 20 ms clock.
    pub fn pop(&mut self) -> Frame<'_> {
        if !self.playing {
            if self.count == 0 || self.count < self.target_depth() {
                return Frame::Buffering;
            }
            self.playing = true;
            self.missing_run = 0;
        }
        // over-deep (the sender's clock runs fast or a burst arrived): skip one frame a tick
        if self.count > self.target_depth() + 2 {
            let i = self.index(self.next_play);
            if self.slots[i].ext_seq.take().is_some() {
                self.count -= 1;
            }
            self.stats.skipped += 1;
            self.next_play += 1;
        }
        let ext = self.next_play;
        self.next_play += 1;
        let i = self.index(ext);
        if self.slots[i].ext_seq == Some(ext) {
            self.slots[i].ext_seq = None;
            self.count -= 1;
            self.missing_run = 0;
            self.stats.played += 1;
            let slot = &self.slots[i];
            return Frame::Audio {
                payload: &slot.data[..slot.len],
                payload_type: slot.payload_type,
                sequence: ext as u16,
                timestamp: slot.timestamp,
            };
        }
        self.stats.missing += 1;
        self.missing_run += 1;
        if self.count == 0 && self.missing_run >= self.config.rebuffer_after {
            // the stream paused: wait for the target depth again when it comes back
            self.playing = false;
        }
        Frame::Missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(n: usize) -> JitterBuffer {
        JitterBuffer::new(JitterConfig {
            depth: Depth::Fixed(n),
            ..JitterConfig::default()
        })
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn push(jb: &mut JitterBuffer, seq: u16, at_ms: u64) -> PushOutcome {
        jb.push(
            seq,
            u32::from(seq).wrapping_mul(160),
            0,
            &[seq as u8; 160],
            ms(at_ms),
        )
    }

    /// Pops one frame: Some(seq) for audio, None for missing, panics on buffering.
    fn pop_seq(jb: &mut JitterBuffer) -> Option<u16> {
        match jb.pop() {
            Frame::Audio {
                sequence, payload, ..
            } => {
                assert_eq!(payload, &[sequence as u8; 160][..]);
                Some(sequence)
            }
            Frame::Missing => None,
            Frame::Buffering => panic!("still buffering"),
        }
    }

    #[test]
    fn reorders_and_waits_for_target_depth() {
        let mut jb = fixed(3);
        assert_eq!(push(&mut jb, 12, 0), PushOutcome::Stored);
        assert_eq!(push(&mut jb, 10, 1), PushOutcome::Stored);
        assert_eq!(jb.pop(), Frame::Buffering);
        push(&mut jb, 11, 2);
        assert_eq!(pop_seq(&mut jb), Some(10));
        assert_eq!(pop_seq(&mut jb), Some(11));
        assert_eq!(pop_seq(&mut jb), Some(12));
        assert_eq!(jb.stats().played, 3);
    }

    #[test]
    fn gaps_late_and_duplicates() {
        let mut jb = fixed(2);
        push(&mut jb, 1, 0);
        push(&mut jb, 3, 40);
        assert_eq!(push(&mut jb, 3, 41), PushOutcome::Duplicate);
        assert_eq!(pop_seq(&mut jb), Some(1));
        assert_eq!(pop_seq(&mut jb), None);
        assert_eq!(push(&mut jb, 2, 60), PushOutcome::Late);
        assert_eq!(pop_seq(&mut jb), Some(3));
        let s = jb.stats();
        assert_eq!((s.late, s.duplicate, s.missing), (1, 1, 1));
        assert_eq!(jb.push(4, 0, 0, &[0; 400], ms(80)), PushOutcome::TooLarge);
    }

    #[test]
    fn sequence_roll_over_plays_through() {
        let mut jb = fixed(2);
        let seqs = [65533u16, 65534, 65535, 0, 1, 2];
        let mut played = Vec::new();
        for (i, &s) in seqs.iter().enumerate() {
            push(&mut jb, s, 20 * i as u64);
            if i >= 1 {
                played.push(pop_seq(&mut jb).unwrap());
            }
        }
        assert_eq!(played, vec![65533, 65534, 65535, 0, 1]);
    }

    #[test]
    fn underrun_rebuffers_and_jump_resets() {
        let mut jb = fixed(2);
        push(&mut jb, 1, 0);
        push(&mut jb, 2, 20);
        assert_eq!(pop_seq(&mut jb), Some(1));
        assert_eq!(pop_seq(&mut jb), Some(2));
        for _ in 0..5 {
            assert_eq!(jb.pop(), Frame::Missing);
        }
        // five empty ticks: filling again
        assert_eq!(jb.pop(), Frame::Buffering);
        push(&mut jb, 9, 200);
        push(&mut jb, 10, 220);
        assert_eq!(pop_seq(&mut jb), Some(9));
        assert_eq!(push(&mut jb, 30000, 240), PushOutcome::Reset);
        assert_eq!(jb.stats().resets, 1);
        assert_eq!(jb.pop(), Frame::Buffering);
        push(&mut jb, 30001, 260);
        assert_eq!(pop_seq(&mut jb), Some(30000));
    }

    #[test]
    fn over_deep_buffer_catches_up() {
        let mut jb = fixed(2);
        for s in 0..8 {
            push(&mut jb, s, 0);
        }
        // 8 held, target 2: one frame skipped per tick until within target + 2
        assert_eq!(pop_seq(&mut jb), Some(1));
        assert_eq!(pop_seq(&mut jb), Some(3));
        assert_eq!(pop_seq(&mut jb), Some(4));
        assert_eq!(jb.stats().skipped, 2);
    }

    #[test]
    fn adaptive_depth_follows_jitter() {
        let adaptive = JitterConfig {
            depth: Depth::Adaptive { min: 2, max: 8 },
            ..JitterConfig::default()
        };
        let mut steady = JitterBuffer::new(adaptive);
        let mut jumpy = JitterBuffer::new(adaptive);
        for i in 0..300u16 {
            let at = 20 * u64::from(i);
            steady.push(i, u32::from(i) * 160, 0, &[0; 160], ms(at));
            // every third packet 40 ms late
            let late = if i % 3 == 0 { 40 } else { 0 };
            jumpy.push(i, u32::from(i) * 160, 0, &[0; 160], ms(at + late));
            steady.pop();
            jumpy.pop();
        }
        assert_eq!(steady.target_depth(), 2);
        assert!(jumpy.jitter_ms() > 15.0, "jitter {}", jumpy.jitter_ms());
        assert!(jumpy.target_depth() >= 4, "depth {}", jumpy.target_depth());
        assert!(jumpy.target_depth() <= 8);
    }
}
