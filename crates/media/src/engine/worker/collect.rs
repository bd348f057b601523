//! Digit collection, sans-IO: digits and clock readings in, an end reason out (maximum
//! length, terminator key, inter-digit or total timeout).

use std::time::Duration;

use super::super::event::CollectReason;
use super::super::ops::CollectSpec;

/// One running collection.
#[derive(Debug)]
pub(crate) struct Collector {
    spec: CollectSpec,
    digits: String,
    started: Duration,
    last: Duration,
}

impl Collector {
    /// A collection starting at `now`.
    pub fn new(spec: CollectSpec, now: Duration) -> Self {
        Collector {
            digits: String::with_capacity(spec.max_digits.clamp(1, 64)),
            spec,
            started: now,
            last: now,
        }
    }

    /// Whether a digit should stop a running playback.
    pub fn barge_in(&self) -> bool {
        self.spec.stop_playback_on_digit
    }

    /// A digit arrived at `now`; returns the end reason if it ends the collection.
    pub fn on_digit(&mut self, digit: char, now: Duration) -> Option<CollectReason> {
        if self.spec.terminators.contains(digit) {
            return Some(CollectReason::Terminator(digit));
        }
        self.digits.push(digit);
        self.last = now;
        (self.spec.max_digits > 0 && self.digits.len() >= self.spec.max_digits)
            .then_some(CollectReason::MaxDigits)
    }

    /// The clock at `now`; returns the end reason if a timeout passed.
    pub fn on_tick(&self, now: Duration) -> Option<CollectReason> {
        if self
            .spec
            .total_timeout
            .is_some_and(|t| now >= self.started + t)
        {
            return Some(CollectReason::TotalTimeout);
        }
        if self
            .spec
            .inter_digit_timeout
            .is_some_and(|t| now >= self.last + t)
        {
            return Some(CollectReason::InterDigitTimeout);
        }
        None
    }

    /// The digits so far (the terminator is never included).
    pub fn into_digits(self) -> String {
        self.digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(max: usize, term: &str, inter: Option<u64>, total: Option<u64>) -> CollectSpec {
        CollectSpec {
            max_digits: max,
            terminators: term.into(),
            inter_digit_timeout: inter.map(Duration::from_millis),
            total_timeout: total.map(Duration::from_millis),
            stop_playback_on_digit: true,
        }
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn ends_by_length_terminator_and_timeouts() {
        let mut c = Collector::new(spec(3, "#", None, None), ms(0));
        assert_eq!(c.on_digit('1', ms(10)), None);
        assert_eq!(c.on_digit('2', ms(20)), None);
        assert_eq!(c.on_digit('3', ms(30)), Some(CollectReason::MaxDigits));
        assert_eq!(c.into_digits(), "123");

        let mut c = Collector::new(spec(0, "#*", None, None), ms(0));
        c.on_digit('4', ms(1));
        assert_eq!(c.on_digit('*', ms(2)), Some(CollectReason::Terminator('*')));
        assert_eq!(c.into_digits(), "4");

        let mut c = Collector::new(spec(0, "", Some(1000), Some(2500)), ms(0));
        assert_eq!(c.on_tick(ms(999)), None);
        assert_eq!(c.on_tick(ms(1000)), Some(CollectReason::InterDigitTimeout));
        c.on_digit('5', ms(900));
        c.on_digit('6', ms(1800));
        assert_eq!(c.on_tick(ms(2400)), None);
        // the total timeout wins even while digits keep coming
        assert_eq!(c.on_tick(ms(2500)), Some(CollectReason::TotalTimeout));
        assert_eq!(c.into_digits(), "56");
    }
}
