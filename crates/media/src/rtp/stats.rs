//! Reception statistics for one remote source (RFC 3550 appendix A.1, A.3, A.8): sequence
//! number extension across roll-over, probation for new sources, loss counts and interarrival
//! jitter, turned into the report block of an RR/SR. Time comes from the caller.

use std::time::Duration;

use super::rtcp::ReportBlock;

/// Packets in sequence needed before a new source counts as valid.
const MIN_SEQUENTIAL: u16 = 2;
/// A forward jump up to this many is taken as loss, not a restart.
const MAX_DROPOUT: u16 = 3000;
/// A backward jump up to this many is taken as a late or duplicate packet.
const MAX_MISORDER: u16 = 100;
const SEQ_MOD: u32 = 1 << 16;

/// What the sequence tracker made of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqOutcome {
    /// In order or a small reorder: counted, with its extended sequence number.
    Accepted(u64),
    /// Still in probation (a new source must send a few packets in a row first).
    Probation,
    /// A large jump: dropped, unless the next packet confirms the source restarted.
    Jump,
}

/// Receive-side statistics of one SSRC.
#[derive(Debug, Clone, Default)]
pub struct ReceiverStats {
    started: bool,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u16,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Jitter estimate scaled by 16 (the RFC's integer form).
    jitter_q4: u64,
    transit: Option<i64>,
    last_sr: u32,
    last_sr_at: Option<Duration>,
}

impl ReceiverStats {
    /// A tracker that has not seen any packet yet.
    pub fn new() -> Self {
        ReceiverStats::default()
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// Feeds one packet: its sequence number, RTP timestamp, arrival time (any epoch, the
    /// same for every call) and the payload clock rate, e.g. 8000.
    pub fn on_packet(
        &mut self,
        seq: u16,
        rtp_ts: u32,
        arrival: Duration,
        clock_rate: u32,
    ) -> SeqOutcome {
        let outcome = self.update_seq(seq);
        if let SeqOutcome::Accepted(_) = outcome {
            self.update_jitter(rtp_ts, arrival, clock_rate);
        }
        outcome
    }

    fn update_seq(&mut self, seq: u16) -> SeqOutcome {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = MIN_SEQUENTIAL;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return SeqOutcome::Accepted(self.extended_max());
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return SeqOutcome::Probation;
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= SEQ_MOD - u32::from(MAX_MISORDER) {
            if u32::from(seq) == self.bad_seq {
                // two packets in a row after the jump: the source restarted its numbering
                self.init_seq(seq);
                self.transit = None;
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return SeqOutcome::Jump;
            }
        }
        // duplicate or reordered packet: counted, extended relative to the current cycle
        self.received += 1;
        SeqOutcome::Accepted(self.extend(seq))
    }

    fn extend(&self, seq: u16) -> u64 {
        let max = self.extended_max();
        let candidate = u64::from(self.cycles) | u64::from(seq);
        // a late packet from just before the last roll-over belongs to the previous cycle
        if candidate > max + u64::from(MAX_MISORDER) && candidate >= u64::from(SEQ_MOD) {
            candidate - u64::from(SEQ_MOD)
        } else {
            candidate
        }
    }

    fn update_jitter(&mut self, rtp_ts: u32, arrival: Duration, clock_rate: u32) {
        let arrival_units = (arrival.as_nanos() * u128::from(clock_rate) / 1_000_000_000) as i64;
        let transit = arrival_units.wrapping_sub(i64::from(rtp_ts));
        if let Some(prev) = self.transit {
            let d = (transit - prev).unsigned_abs();
            // J += (|D| - J) / 16, kept scaled by 16
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(transit);
    }

    /// Highest sequence number seen, extended with the roll-over count.
    pub fn extended_max(&self) -> u64 {
        u64::from(self.cycles) | u64::from(self.max_seq)
    }

    /// Packets received (duplicates included, as the RFC counts them).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Packets expected from the first to the highest sequence number.
    pub fn expected(&self) -> u64 {
        if !self.started || self.probation > 0 {
            return 0;
        }
        (self.extended_max() + 1).saturating_sub(u64::from(self.base_seq))
    }

    /// Cumulative packets lost (negative when duplicates outnumber losses).
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        (self.jitter_q4 >> 4).min(u64::from(u32::MAX)) as u32
    }

    /// Remembers the last sender report from this source, for LSR/DLSR in our reports.
    pub fn on_sender_report(&mut self, ntp: u64, now: Duration) {
        self.last_sr = (ntp >> 16) as u32;
        self.last_sr_at = Some(now);
    }

    /// The report block for this source at `now`; also starts the next fraction-lost interval.
    pub fn report_block(&mut self, ssrc: u32, now: Duration) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let delay_since_last_sr = match self.last_sr_at {
            Some(at) => {
                let d = now.saturating_sub(at);
                (d.as_nanos() * 65536 / 1_000_000_000).min(u128::from(u32::MAX)) as u32
            }
            None => 0,
        };
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7f_ffff) as i32,
            highest_seq: self.extended_max() as u32,
            jitter: self.jitter(),
            last_sr: self.last_sr,
            delay_since_last_sr,
        }
    }
}

/// NTP timestamp (RFC 3550 format) of a wall-clock time given as time since the Unix epoch.
pub fn ntp_from_unix(since_unix: Duration) -> u64 {
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    let secs = since_unix.as_secs() + UNIX_TO_NTP;
    let frac = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS20: Duration = Duration::from_millis(20);

    fn feed(stats: &mut ReceiverStats, seqs: impl IntoIterator<Item = u16>) -> Vec<SeqOutcome> {
        seqs.into_iter()
            .enumerate()
            .map(|(i, s)| stats.on_packet(s, 160 * i as u32, MS20 * i as u32, 8000))
            .collect()
    }

    #[test]
    fn extends_across_roll_over_after_probation() {
        let mut s = ReceiverStats::new();
        let out = feed(&mut s, [65533, 65534, 65535, 0, 1]);
        assert_eq!(out[0], SeqOutcome::Probation);
        assert_eq!(out[1], SeqOutcome::Accepted(65534));
        assert_eq!(out[3], SeqOutcome::Accepted(65536));
        assert_eq!(out[4], SeqOutcome::Accepted(65537));
        assert_eq!(s.expected(), 4);
        assert_eq!(s.lost(), 0);
        // a late packet from before the wrap keeps its old cycle
        assert_eq!(
            s.on_packet(65535, 0, MS20 * 6, 8000),
            SeqOutcome::Accepted(65535)
        );
    }

    #[test]
    fn counts_loss_and_fraction_per_interval() {
        let mut s = ReceiverStats::new();
        // 1..=100 with every tenth missing
        feed(&mut s, (1..=100).filter(|n| n % 10 != 5));
        assert_eq!(s.lost(), 10);
        let rb = s.report_block(99, Duration::from_secs(3));
        assert_eq!(rb.cumulative_lost, 10);
        assert_eq!(rb.highest_seq, 100);
        // 10 of 99 expected since the first accepted packet (seq 2) = 25/256
        assert_eq!(rb.fraction_lost, (10 * 256 / 99) as u8);
        // next interval: no new loss
        s.on_packet(101, 0, Duration::from_secs(4), 8000);
        assert_eq!(s.report_block(99, Duration::from_secs(4)).fraction_lost, 0);
    }

    #[test]
    fn big_jump_is_dropped_until_confirmed() {
        let mut s = ReceiverStats::new();
        feed(&mut s, [10, 11, 12]);
        assert_eq!(s.on_packet(40000, 0, MS20, 8000), SeqOutcome::Jump);
        assert_eq!(
            s.on_packet(40001, 0, MS20, 8000),
            SeqOutcome::Accepted(40001)
        );
        assert_eq!(s.extended_max(), 40001);
    }

    #[test]
    fn jitter_follows_arrival_variation() {
        let mut steady = ReceiverStats::new();
        for i in 0..200u32 {
            steady.on_packet(i as u16, i * 160, MS20 * i, 8000);
        }
        assert_eq!(steady.jitter(), 0);
        let mut jumpy = ReceiverStats::new();
        for i in 0..200u32 {
            // every other packet 10 ms late: |D| = 80 units, J converges to 80
            let late = if i % 2 == 1 {
                Duration::from_millis(10)
            } else {
                Duration::ZERO
            };
            jumpy.on_packet(i as u16, i * 160, MS20 * i + late, 8000);
        }
        assert!(
            (75..=80).contains(&jumpy.jitter()),
            "jitter {}",
            jumpy.jitter()
        );
    }

    #[test]
    fn lsr_and_dlsr() {
        let mut s = ReceiverStats::new();
        s.on_sender_report(0x1122_3344_5566_7788, Duration::from_secs(10));
        let rb = s.report_block(1, Duration::from_millis(10_500));
        assert_eq!(rb.last_sr, 0x3344_5566);
        assert_eq!(rb.delay_since_last_sr, 32768);
        assert_eq!(
            ntp_from_unix(Duration::from_millis(1500)),
            ((2_208_988_801u64) << 32) | (1u64 << 31)
        );
    }
}
