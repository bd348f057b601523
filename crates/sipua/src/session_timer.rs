//! RFC 4028 session timers: the Session-Expires and Min-SE values, who refreshes, and when
//! to refresh or give up.

use std::time::Duration;

/// Smallest interval we accept (RFC 4028 recommends 90 s as Min-SE).
pub const MIN_SE: u32 = 90;

/// Who sends the refreshes, in the words of the request that set it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    /// The sender of the request.
    Uac,
    /// The receiver of the request.
    Uas,
}

/// A parsed `Session-Expires: <seconds>[;refresher=uac|uas]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpires {
    /// Interval in seconds.
    pub interval: u32,
    /// Refresher, if named.
    pub refresher: Option<Refresher>,
}

impl SessionExpires {
    /// Parses a header value; `None` when it is not a number.
    pub fn parse(value: &str) -> Option<SessionExpires> {
        let mut parts = value.split(';');
        let interval = parts.next()?.trim().parse().ok()?;
        let mut refresher = None;
        for p in parts {
            let (name, v) = p.split_once('=').unwrap_or((p, ""));
            if name.trim().eq_ignore_ascii_case("refresher") {
                refresher = match v.trim().to_ascii_lowercase().as_str() {
                    "uac" => Some(Refresher::Uac),
                    "uas" => Some(Refresher::Uas),
                    _ => None,
                };
            }
        }
        Some(SessionExpires {
            interval,
            refresher,
        })
    }

    /// The header value.
    pub fn to_header_value(&self) -> String {
        match self.refresher {
            Some(Refresher::Uac) => format!("{};refresher=uac", self.interval),
            Some(Refresher::Uas) => format!("{};refresher=uas", self.interval),
            None => self.interval.to_string(),
        }
    }
}

/// When the refresher sends its refresh: half the interval (RFC 4028 10).
pub fn refresh_after(interval: u32) -> Duration {
    Duration::from_secs(u64::from(interval.max(2) / 2))
}

/// When the other side gives up without a refresh: the interval minus the lesser of 32 s
/// and a third of it (RFC 4028 10).
pub fn expire_after(interval: u32) -> Duration {
    let margin = (interval / 3).min(32);
    Duration::from_secs(u64::from(interval - margin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_session_expires() {
        let se = SessionExpires::parse("1800;refresher=uas").unwrap();
        assert_eq!(se.interval, 1800);
        assert_eq!(se.refresher, Some(Refresher::Uas));
        assert_eq!(se.to_header_value(), "1800;refresher=uas");
        let bare = SessionExpires::parse(" 90 ").unwrap();
        assert_eq!(bare.refresher, None);
        assert_eq!(SessionExpires::parse("soon"), None);
        assert_eq!(
            SessionExpires::parse("120; Refresher = UAC")
                .unwrap()
                .refresher,
            Some(Refresher::Uac)
        );
    }

    #[test]
    fn refresh_comes_before_expiry() {
        assert_eq!(refresh_after(1800), Duration::from_secs(900));
        assert_eq!(expire_after(1800), Duration::from_secs(1768));
        assert_eq!(expire_after(90), Duration::from_secs(60));
        assert!(refresh_after(90) < expire_after(90));
    }
}
