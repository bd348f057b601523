//! The three timer slots a transaction can have armed at once: retransmit (A, E, G),
//! give up (B, F, H, L, M) and linger before forgetting (D, I, J, K).

use std::time::{Duration, Instant};

/// Which slot a timer occupies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerKind {
    /// A, E, G.
    Retransmit,
    /// B, F, H, L, M.
    Timeout,
    /// D, I, J, K.
    Linger,
}

/// Armed deadlines of one transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Deadlines {
    pub retransmit: Option<Instant>,
    pub timeout: Option<Instant>,
    pub linger: Option<Instant>,
}

impl Deadlines {
    /// The deadline in `kind`'s slot.
    pub fn get(&self, kind: TimerKind) -> Option<Instant> {
        match kind {
            TimerKind::Retransmit => self.retransmit,
            TimerKind::Timeout => self.timeout,
            TimerKind::Linger => self.linger,
        }
    }

    /// Every armed (kind, deadline).
    pub fn armed(&self) -> impl Iterator<Item = (TimerKind, Instant)> {
        [
            (TimerKind::Retransmit, self.retransmit),
            (TimerKind::Timeout, self.timeout),
            (TimerKind::Linger, self.linger),
        ]
        .into_iter()
        .filter_map(|(k, t)| t.map(|t| (k, t)))
    }

    /// Disarms everything.
    pub fn clear(&mut self) {
        *self = Deadlines::default();
    }
}

/// `now + d`, saturating instead of panicking on overflow.
pub(crate) fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d).unwrap_or(now)
}
