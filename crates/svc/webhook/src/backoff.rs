//! When to try a failed delivery again, and when to give up.
//!
//! Exponential backoff with jitter: the n-th retry waits a random time between half and all
//! of `min(max, base * 2^(n-1))`, so receivers that come back are not hit by every sender at
//! the same instant, and one that stays down is tried less and less often. A delivery is
//! dead-lettered once its next try would fall after `created + max_age`.

use std::time::Duration;

/// The retry policy (from `webhook.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// First retry delay.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
    /// How long after its creation a delivery is still tried.
    pub max_age: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try again at this time (epoch milliseconds).
    RetryAt(i64),
    /// Give up: the delivery is dead.
    Dead,
}

impl Backoff {
    /// The delay before retry number `attempts` (1 after the first failure), with `jitter` in
    /// `[0, 1]` choosing where in the upper half of the window it falls.
    pub fn delay(&self, attempts: u32, jitter: f64) -> Duration {
        let exp = attempts.saturating_sub(1).min(32);
        let full = self.base.saturating_mul(1u32 << exp.min(31)).min(self.max);
        let half = full / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// After `attempts` failed attempts at `now_ms` of a delivery created at `created_ms`.
    pub fn next(&self, attempts: u32, created_ms: i64, now_ms: i64, jitter: f64) -> Next {
        let at = now_ms.saturating_add(self.delay(attempts, jitter).as_millis() as i64);
        let deadline = created_ms.saturating_add(self.max_age.as_millis() as i64);
        if at > deadline {
            Next::Dead
        } else {
            Next::RetryAt(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Backoff {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(600),
            max_age: Duration::from_secs(86_400),
        }
    }

    #[test]
    fn delays_double_within_their_jitter_window_up_to_the_cap() {
        let b = policy();
        assert_eq!(b.delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(500));
        assert_eq!(b.delay(2, 1.0), Duration::from_secs(2));
        assert_eq!(b.delay(4, 1.0), Duration::from_secs(8));
        assert_eq!(b.delay(4, 0.5), Duration::from_secs(6));
        assert_eq!(b.delay(11, 1.0), Duration::from_secs(600));
        assert_eq!(b.delay(200, 1.0), Duration::from_secs(600));
        assert_eq!(b.delay(200, 0.0), Duration::from_secs(300));
    }

    #[test]
    fn retries_last_a_day_then_the_delivery_is_dead() {
        let b = policy();
        let created = 1_000_000;
        assert_eq!(
            b.next(1, created, created, 1.0),
            Next::RetryAt(created + 1000)
        );
        // Count the tries a receiver that never answers gets, with the slowest jitter.
        let (mut now, mut attempts) = (created, 1);
        while let Next::RetryAt(at) = b.next(attempts, created, now, 1.0) {
            now = at;
            attempts += 1;
        }
        assert!(now - created <= 86_400_000 && now - created > 86_400_000 - 600_000);
        assert!((150..=160).contains(&attempts), "{attempts}");
    }
}
