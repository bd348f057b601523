//! Timer settings of RFC 3261 17 (table 4).

use std::time::Duration;

/// T1, T2, T4 and the derived transaction timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate (default 500 ms).
    pub t1: Duration,
    /// Longest retransmit interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// Longest time a message stays in the network (5 s).
    pub t4: Duration,
    /// Timer D: how long a client INVITE transaction absorbs final-response repeats over an
    /// unreliable transport (at least 32 s).
    pub timer_d: Duration,
    /// Send 100 Trying as soon as an INVITE server transaction starts.
    pub auto_trying: bool,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            auto_trying: true,
        }
    }
}

impl TimerConfig {
    /// 64*T1: timers B, F, H, J, L and M.
    pub fn t64(&self) -> Duration {
        self.t1 * 64
    }
}
