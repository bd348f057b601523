//! The deadlines of every transaction, ordered for firing.
//!
//! Nearly every deadline is "now + one of a few fixed durations" (T1 doublings, T2, T4,
//! 64*T1), so deadlines armed with the same delay arrive in time order: each delay gets a FIFO
//! lane, and the earliest deadline is the smallest lane front. That keeps the 100 000+ entries
//! of a busy proxy (transactions linger 32 s) in sequential memory instead of a binary heap
//! whose every push and pop walks 17 cache-missing levels. Deadlines that fit no lane (a clock
//! going backwards, too many distinct delays) go to a small heap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

use crate::transaction::timer::TimerKind;

/// Most lanes kept; further delays use the heap.
const MAX_LANES: usize = 16;

/// One armed deadline: when, which transaction, which slot.
pub(crate) type Entry = (Instant, u64, TimerKind);

/// Deadlines in firing order (stale entries are left for the caller to skip).
#[derive(Debug, Default)]
pub(crate) struct DeadlineQueue {
    lanes: Vec<(Duration, VecDeque<Entry>)>,
    heap: BinaryHeap<Reverse<Entry>>,
}

impl DeadlineQueue {
    /// Adds a deadline armed at `now`.
    pub fn push(&mut self, entry: Entry, now: Instant) {
        let delay = entry.0.saturating_duration_since(now);
        let lane = match self.lanes.iter().position(|(d, _)| *d == delay) {
            Some(i) => Some(i),
            None if self.lanes.len() < MAX_LANES => {
                self.lanes.push((delay, VecDeque::new()));
                Some(self.lanes.len() - 1)
            }
            None => None,
        };
        if let Some(i) = lane {
            let q = &mut self.lanes[i].1;
            if q.back().is_none_or(|last| *last <= entry) {
                q.push_back(entry);
                return;
            }
        }
        self.heap.push(Reverse(entry));
    }

    /// The earliest deadline.
    pub fn peek(&self) -> Option<Entry> {
        let lanes = self.lanes.iter().filter_map(|(_, q)| q.front().copied());
        let heap = self.heap.peek().map(|Reverse(e)| *e);
        lanes.chain(heap).min()
    }

    /// Removes and returns the earliest deadline if it is due by `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Entry> {
        let mut best: Option<(Entry, Option<usize>)> =
            self.heap.peek().map(|Reverse(e)| (*e, None));
        for (i, (_, q)) in self.lanes.iter().enumerate() {
            if let Some(front) = q.front() {
                if best.is_none_or(|(b, _)| *front < b) {
                    best = Some((*front, Some(i)));
                }
            }
        }
        let (entry, lane) = best?;
        if entry.0 > now {
            return None;
        }
        match lane {
            Some(i) => self.lanes[i].1.pop_front(),
            None => self.heap.pop().map(|Reverse(e)| e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_come_out_in_time_order_whatever_lane_they_took() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut q = DeadlineQueue::default();
        // Several delays, interleaved, plus a clock going backwards (heap).
        q.push((t0 + ms(500), 1, TimerKind::Retransmit), t0);
        q.push((t0 + ms(32_000), 1, TimerKind::Timeout), t0);
        q.push((t0 + ms(510), 2, TimerKind::Retransmit), t0 + ms(10));
        q.push((t0 + ms(5_000), 3, TimerKind::Linger), t0);
        q.push((t0 + ms(200), 4, TimerKind::Linger), t0 + ms(5));
        q.push((t0 + ms(400), 5, TimerKind::Retransmit), t0 - ms(100));
        for extra in 0..20u64 {
            // more distinct delays than lanes
            q.push((t0 + ms(1_000 + extra), 10 + extra, TimerKind::Timeout), t0);
        }
        assert_eq!(q.peek().map(|e| e.1), Some(4));
        assert_eq!(q.pop_due(t0 + ms(100)), None);
        let mut fired = Vec::new();
        while let Some(e) = q.pop_due(t0 + ms(60_000)) {
            fired.push(e);
        }
        assert_eq!(fired.len(), 26);
        assert!(fired.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(q.peek(), None);
    }
}
