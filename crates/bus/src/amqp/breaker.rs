//! The per-target circuit breaker, as a plain state machine fed with the time.
//!
//! After `threshold` consecutive failures (timeouts, unroutable requests, lost connections) the
//! breaker opens: calls fail at once with `CIRCUIT_OPEN` instead of piling up behind a dead
//! service. After `open_for` it lets exactly one probe through; the probe's success closes it,
//! its failure opens it again. An answered error envelope is a success here: the service is
//! alive and said no.

use std::time::{Duration, Instant};

/// The state of one target's breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Breaker {
    /// Calls go through; `failures` counts consecutive failures.
    Closed { failures: u32 },
    /// Calls are refused until `until`.
    Open { until: Instant },
    /// One probe is in flight; other calls are refused until it reports.
    Probing,
}

/// What the breaker says about a call about to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Go ahead.
    Call,
    /// Go ahead as the single probe.
    Probe,
    /// Refused: the circuit is open.
    Refuse,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker::Closed { failures: 0 }
    }
}

impl Breaker {
    /// Whether a call may start at `now`.
    pub(crate) fn admit(&mut self, now: Instant) -> Admit {
        match *self {
            Breaker::Closed { .. } => Admit::Call,
            Breaker::Open { until } if now >= until => {
                *self = Breaker::Probing;
                Admit::Probe
            }
            Breaker::Open { .. } | Breaker::Probing => Admit::Refuse,
        }
    }

    /// Records the outcome of an admitted call that ended at `now`.
    pub(crate) fn record(
        &mut self,
        ok: bool,
        now: Instant,
        threshold: u32,
        open_for: Duration,
    ) -> bool {
        let was_closed = matches!(self, Breaker::Closed { .. });
        *self = match (&*self, ok) {
            (_, true) => Breaker::Closed { failures: 0 },
            (Breaker::Closed { failures }, false) if failures + 1 < threshold.max(1) => {
                Breaker::Closed {
                    failures: failures + 1,
                }
            }
            // The threshold was reached, or the probe failed.
            (Breaker::Closed { .. } | Breaker::Probing, false) => Breaker::Open {
                until: now + open_for,
            },
            // A call admitted before the circuit opened finished late: keep it open.
            (Breaker::Open { until }, false) => Breaker::Open { until: *until },
        };
        // True when this outcome opened a closed circuit, for the log line.
        was_closed && matches!(self, Breaker::Open { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN_FOR: Duration = Duration::from_secs(30);

    fn fail(breaker: &mut Breaker, now: Instant) -> bool {
        assert_ne!(breaker.admit(now), Admit::Refuse);
        breaker.record(false, now, 5, OPEN_FOR)
    }

    #[test]
    fn opens_after_five_consecutive_failures_and_refuses_for_thirty_seconds() {
        let start = Instant::now();
        let mut breaker = Breaker::default();
        for _ in 0..4 {
            assert!(!fail(&mut breaker, start));
        }
        assert!(fail(&mut breaker, start), "the fifth failure opens it");
        assert_eq!(breaker.admit(start), Admit::Refuse);
        assert_eq!(
            breaker.admit(start + OPEN_FOR - Duration::from_millis(1)),
            Admit::Refuse
        );
    }

    #[test]
    fn a_success_resets_the_count() {
        let now = Instant::now();
        let mut breaker = Breaker::default();
        for _ in 0..4 {
            fail(&mut breaker, now);
        }
        breaker.admit(now);
        breaker.record(true, now, 5, OPEN_FOR);
        for _ in 0..4 {
            assert!(!fail(&mut breaker, now));
        }
        assert_eq!(breaker.admit(now), Admit::Call);
    }

    #[test]
    fn lets_one_probe_through_after_the_open_period() {
        let start = Instant::now();
        let mut breaker = Breaker::default();
        for _ in 0..5 {
            fail(&mut breaker, start);
        }
        let later = start + OPEN_FOR;
        assert_eq!(breaker.admit(later), Admit::Probe);
        assert_eq!(breaker.admit(later), Admit::Refuse, "only one probe");
        breaker.record(true, later, 5, OPEN_FOR);
        assert_eq!(breaker.admit(later), Admit::Call);
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let start = Instant::now();
        let mut breaker = Breaker::default();
        for _ in 0..5 {
            fail(&mut breaker, start);
        }
        let later = start + OPEN_FOR;
        assert_eq!(breaker.admit(later), Admit::Probe);
        breaker.record(false, later, 5, OPEN_FOR);
        assert_eq!(breaker.admit(later + Duration::from_secs(1)), Admit::Refuse);
        assert_eq!(breaker.admit(later + OPEN_FOR), Admit::Probe);
    }
}
