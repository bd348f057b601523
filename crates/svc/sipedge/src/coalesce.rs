//! When the edge's loop waits before reading its UDP socket again.
//!
//! Under load, datagrams arrive faster than the loop can sleep and wake for each one. A short
//! wait after handling a read lets the next read take several datagrams at once: up to one
//! window of delay for far fewer wake-ups and system calls, for the edge and for the peers its
//! batched answers wake. The wait is only taken while the measured arrival rate would gather
//! at least [`WORTH_WAITING`] datagrams in a window (about 300 calls/s through the edge with
//! the default 2 ms window), so an edge with CPU to spare answers at once.

use std::time::{Duration, Instant};

/// How long arrivals are counted before the rate is judged again.
const SLOT: Duration = Duration::from_millis(100);

/// Datagrams a window must be expected to gather before the edge trades delay for CPU.
pub const WORTH_WAITING: u128 = 8;

/// Decides the wait after each read from the arrival rate of the last slot.
#[derive(Debug)]
pub struct Coalescer {
    window: Duration,
    slot_start: Instant,
    arrived: u64,
    busy: bool,
}

impl Coalescer {
    /// A coalescer waiting up to `window` (zero never waits), counting from `now`.
    pub fn new(window: Duration, now: Instant) -> Coalescer {
        Coalescer {
            window,
            slot_start: now,
            arrived: 0,
            busy: false,
        }
    }

    /// Records a read of `n` datagrams at `now` (`full`: the read filled its buffers, so more
    /// are waiting) and answers how long to wait before the next read; zero reads at once.
    pub fn after_read(&mut self, n: usize, full: bool, now: Instant) -> Duration {
        if self.window.is_zero() {
            return Duration::ZERO;
        }
        self.arrived += n as u64;
        let elapsed = now.saturating_duration_since(self.slot_start);
        if elapsed >= SLOT {
            let per_window =
                u128::from(self.arrived) * self.window.as_nanos() / elapsed.as_nanos().max(1);
            self.busy = per_window >= WORTH_WAITING;
            self.arrived = 0;
            self.slot_start = now;
        }
        if n == 0 || full || !self.busy {
            Duration::ZERO
        } else {
            self.window
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const WINDOW: Duration = Duration::from_millis(2);

    /// Feeds one read of `n` every `every` for `total`, answering the last decision.
    fn feed(
        c: &mut Coalescer,
        start: Instant,
        every: Duration,
        n: usize,
        total: Duration,
    ) -> (Instant, Duration) {
        let mut t = start;
        let mut last = Duration::ZERO;
        while t < start + total {
            t += every;
            last = c.after_read(n, false, t);
        }
        (t, last)
    }

    #[test]
    fn a_quiet_edge_never_waits() {
        let start = Instant::now();
        let mut c = Coalescer::new(WINDOW, start);
        // 100 datagrams/s: 0.2 per window
        let (t, wait) = feed(&mut c, start, MS * 10, 1, MS * 1000);
        assert_eq!(wait, Duration::ZERO);
        // 2,000 datagrams/s (about 150 calls/s): 4 per window, still answered at once
        let (_, wait) = feed(&mut c, t, MS, 2, MS * 1000);
        assert_eq!(wait, Duration::ZERO);
    }

    #[test]
    fn a_busy_edge_waits_one_window_and_stops_when_traffic_fades() {
        let start = Instant::now();
        let mut c = Coalescer::new(WINDOW, start);
        // 13,000 datagrams/s, as 1,000 calls/s through a proxy: 26 per window
        let (t, wait) = feed(&mut c, start, MS, 13, MS * 250);
        assert_eq!(wait, WINDOW);
        assert_eq!(
            c.after_read(16, true, t),
            Duration::ZERO,
            "a full read reads again at once"
        );
        assert_eq!(
            c.after_read(0, false, t),
            Duration::ZERO,
            "nothing read, nothing to wait for"
        );
        let (_, wait) = feed(&mut c, t, MS * 50, 1, MS * 500);
        assert_eq!(wait, Duration::ZERO);
    }

    #[test]
    fn a_zero_window_never_waits() {
        let start = Instant::now();
        let mut c = Coalescer::new(Duration::ZERO, start);
        let (_, wait) = feed(&mut c, start, Duration::from_micros(100), 8, MS * 300);
        assert_eq!(wait, Duration::ZERO);
    }
}
