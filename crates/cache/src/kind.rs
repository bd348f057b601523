//! What a cached value is, and therefore how long it may live.
//!
//! The TTLs are the production cache table of the seed deployment (section 6 of the design).

use std::time::Duration;

/// The kind of a cached value; fixes its time to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheKind {
    /// Session tokens: 1 hour.
    Session,
    /// Call records: 24 hours.
    Call,
    /// Agent status: 5 minutes.
    AgentStatus,
    /// Configuration: 1 hour.
    Config,
    /// Queue statistics: 1 minute.
    QueueStats,
    /// Flow definitions: 1 hour.
    Flow,
    /// Anything else, with an explicit TTL.
    Other(Duration),
}

impl CacheKind {
    /// The time to live of values of this kind.
    pub const fn ttl(self) -> Duration {
        const MINUTE: u64 = 60;
        const HOUR: u64 = 60 * MINUTE;
        match self {
            CacheKind::Session => Duration::from_secs(HOUR),
            CacheKind::Call => Duration::from_secs(24 * HOUR),
            CacheKind::AgentStatus => Duration::from_secs(5 * MINUTE),
            CacheKind::Config => Duration::from_secs(HOUR),
            CacheKind::QueueStats => Duration::from_secs(MINUTE),
            CacheKind::Flow => Duration::from_secs(HOUR),
            CacheKind::Other(ttl) => ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_the_seed_ttl() {
        let cases = [
            (CacheKind::Session, 3_600),
            (CacheKind::Call, 86_400),
            (CacheKind::AgentStatus, 300),
            (CacheKind::Config, 3_600),
            (CacheKind::QueueStats, 60),
            (CacheKind::Flow, 3_600),
            (CacheKind::Other(Duration::from_secs(42)), 42),
        ];
        for (kind, secs) in cases {
            assert_eq!(kind.ttl(), Duration::from_secs(secs), "{kind:?}");
        }
    }
}
