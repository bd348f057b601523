//! Flood and scanner protection, decided per source IP before a request costs anything.
//!
//! Sans-IO (callers pass the time): a token bucket per source IP limits the request rate; a
//! User-Agent naming a known scanner (friendly-scanner, sipvicious, ...) blocks its IP at once;
//! repeated failed digest authentications block an IP too. Blocked sources are dropped
//! silently, as answering a scanner only confirms that something is listening.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most source IPs tracked at once; beyond it, idle entries are swept first.
const MAX_TRACKED: usize = 100_000;

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle it.
    Pass,
    /// Over the rate limit: drop it.
    RateLimited,
    /// The source is blocked (scanner or repeated auth failures): drop it.
    Blocked,
    /// The User-Agent is a scanner's; the source is now blocked: drop it.
    Scanner,
}

impl Verdict {
    /// The metric label of a drop.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::RateLimited => "rate_limited",
            Verdict::Blocked => "blocked",
            Verdict::Scanner => "scanner",
        }
    }
}

/// Limits and blocklist settings.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Requests per second per IP.
    pub per_sec: u32,
    /// Burst per IP.
    pub burst: u32,
    /// Failed authentications before a block; 0 never blocks.
    pub auth_failures_before_block: u32,
    /// How long a block lasts.
    pub block_for: Duration,
    /// Lower-case scanner User-Agent substrings.
    pub scanner_agents: Vec<String>,
}

#[derive(Debug, Clone)]
struct Source {
    tokens: f64,
    refilled: Instant,
    auth_failures: u32,
    last_failure: Option<Instant>,
    blocked_until: Option<Instant>,
}

/// Per-source-IP rate limiting and blocking.
#[derive(Debug)]
pub struct Guard {
    config: GuardConfig,
    /// Seeded fast hash: looked up for every request, keyed by addresses peers choose.
    sources: HashMap<IpAddr, Source, foldhash::fast::RandomState>,
}

impl Guard {
    /// A guard with these limits.
    pub fn new(config: GuardConfig) -> Guard {
        Guard {
            config,
            sources: HashMap::default(),
        }
    }

    /// Decides on a request from `ip` carrying `user_agent` at `now`.
    pub fn check(&mut self, ip: IpAddr, user_agent: Option<&str>, now: Instant) -> Verdict {
        if let Some(ua) = user_agent {
            if self.is_scanner(ua) {
                self.block(ip, now);
                return Verdict::Scanner;
            }
        }
        if self.sources.len() >= MAX_TRACKED && !self.sources.contains_key(&ip) {
            self.sweep(now);
        }
        let burst = f64::from(self.config.burst);
        let rate = f64::from(self.config.per_sec);
        let s = self.sources.entry(ip).or_insert(Source {
            tokens: burst,
            refilled: now,
            auth_failures: 0,
            last_failure: None,
            blocked_until: None,
        });
        if let Some(until) = s.blocked_until {
            if now < until {
                return Verdict::Blocked;
            }
            s.blocked_until = None;
            s.auth_failures = 0;
        }
        let elapsed = now.saturating_duration_since(s.refilled).as_secs_f64();
        s.tokens = (s.tokens + elapsed * rate).min(burst);
        s.refilled = now;
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            Verdict::Pass
        } else {
            Verdict::RateLimited
        }
    }

    /// Whether `user_agent` names a known scanner.
    pub fn is_scanner(&self, user_agent: &str) -> bool {
        let ua = user_agent.to_ascii_lowercase();
        self.config
            .scanner_agents
            .iter()
            .any(|s| ua.contains(s.as_str()))
    }

    /// Records a failed authentication; true when it blocked the source.
    pub fn auth_failed(&mut self, ip: IpAddr, now: Instant) -> bool {
        let limit = self.config.auth_failures_before_block;
        if limit == 0 {
            return false;
        }
        let block_for = self.config.block_for;
        let Some(s) = self.sources.get_mut(&ip) else {
            return false;
        };
        // Failures long ago do not add up with new ones.
        if s.last_failure
            .is_some_and(|t| now.saturating_duration_since(t) > block_for)
        {
            s.auth_failures = 0;
        }
        s.auth_failures += 1;
        s.last_failure = Some(now);
        if s.auth_failures >= limit {
            s.blocked_until = Some(now + block_for);
            return true;
        }
        false
    }

    /// Records a successful authentication: earlier failures are forgiven.
    pub fn auth_succeeded(&mut self, ip: IpAddr) {
        if let Some(s) = self.sources.get_mut(&ip) {
            s.auth_failures = 0;
        }
    }

    /// Whether `ip` is blocked at `now`.
    pub fn is_blocked(&self, ip: IpAddr, now: Instant) -> bool {
        self.sources
            .get(&ip)
            .and_then(|s| s.blocked_until)
            .is_some_and(|until| now < until)
    }

    /// Sources currently tracked.
    pub fn tracked(&self) -> usize {
        self.sources.len()
    }

    fn block(&mut self, ip: IpAddr, now: Instant) {
        let until = now + self.config.block_for;
        let burst = f64::from(self.config.burst);
        self.sources
            .entry(ip)
            .or_insert(Source {
                tokens: burst,
                refilled: now,
                auth_failures: 0,
                last_failure: None,
                blocked_until: None,
            })
            .blocked_until = Some(until);
    }

    /// Forgets sources that are not blocked, have a full bucket and no recent failures.
    pub fn sweep(&mut self, now: Instant) {
        let burst = f64::from(self.config.burst);
        let rate = f64::from(self.config.per_sec).max(1.0);
        let refill = Duration::from_secs_f64(burst / rate);
        let block_for = self.config.block_for;
        self.sources.retain(|_, s| {
            let blocked = s.blocked_until.is_some_and(|u| now < u);
            let failing = s
                .last_failure
                .is_some_and(|t| now.saturating_duration_since(t) <= block_for);
            let full = now.saturating_duration_since(s.refilled) >= refill;
            blocked || failing || !full
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard::new(GuardConfig {
            per_sec: 10,
            burst: 5,
            auth_failures_before_block: 3,
            block_for: Duration::from_secs(60),
            scanner_agents: vec!["friendly-scanner".into(), "sipvicious".into()],
        })
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn burst_then_rate_per_source() {
        let mut g = guard();
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(g.check(ip(1), None, t0), Verdict::Pass);
        }
        assert_eq!(g.check(ip(1), None, t0), Verdict::RateLimited);
        // Another source has its own bucket.
        assert_eq!(g.check(ip(2), None, t0), Verdict::Pass);
        // 10 per second: one token back after 100 ms.
        assert_eq!(
            g.check(ip(1), None, t0 + Duration::from_millis(100)),
            Verdict::Pass
        );
        assert_eq!(
            g.check(ip(1), None, t0 + Duration::from_millis(100)),
            Verdict::RateLimited
        );
    }

    #[test]
    fn scanner_user_agents_block_the_source() {
        let mut g = guard();
        let t0 = Instant::now();
        assert_eq!(
            g.check(ip(3), Some("Friendly-Scanner 1.0"), t0),
            Verdict::Scanner
        );
        // Even a harmless-looking request from it is dropped until the block ends.
        assert_eq!(g.check(ip(3), Some("Linphone"), t0), Verdict::Blocked);
        assert_eq!(
            g.check(ip(3), None, t0 + Duration::from_secs(61)),
            Verdict::Pass
        );
        assert_eq!(g.check(ip(4), Some("Yealink SIP-T46S"), t0), Verdict::Pass);
    }

    #[test]
    fn repeated_auth_failures_block_and_success_forgives() {
        let mut g = guard();
        let t0 = Instant::now();
        g.check(ip(5), None, t0);
        assert!(!g.auth_failed(ip(5), t0));
        assert!(!g.auth_failed(ip(5), t0));
        g.auth_succeeded(ip(5));
        assert!(!g.auth_failed(ip(5), t0));
        assert!(!g.auth_failed(ip(5), t0));
        assert!(g.auth_failed(ip(5), t0));
        assert!(g.is_blocked(ip(5), t0));
        assert_eq!(
            g.check(ip(5), None, t0 + Duration::from_secs(1)),
            Verdict::Blocked
        );
    }

    #[test]
    fn sweeping_forgets_idle_sources_only() {
        let mut g = guard();
        let t0 = Instant::now();
        g.check(ip(6), None, t0);
        g.check(ip(7), Some("sipvicious"), t0);
        g.sweep(t0 + Duration::from_secs(2));
        assert_eq!(g.tracked(), 1, "the blocked source is kept");
        assert!(g.is_blocked(ip(7), t0 + Duration::from_secs(2)));
    }
}
