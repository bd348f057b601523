//! Wall-clock timestamps in the contract's format (`2026-01-15T09:30:00.000000Z`).
//!
//! The format has a fixed width, so timestamps stored as text sort in time order in both
//! SQLite and MySQL; that is what the paging cursor relies on.

use chrono::{DateTime, NaiveDateTime, Utc};

/// The `strftime` pattern of every timestamp in the API and the database.
pub const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// The current time as a contract timestamp.
pub fn now() -> String {
    format(Utc::now())
}

/// Formats a UTC time as a contract timestamp.
pub fn format(t: DateTime<Utc>) -> String {
    t.format(TIMESTAMP_FORMAT).to_string()
}

/// Parses a contract timestamp; `None` when it is not one.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, TIMESTAMP_FORMAT)
        .ok()
        .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_has_fixed_width() {
        let s = now();
        assert_eq!(s.len(), 27, "{s}");
        assert!(s.ends_with('Z'));
        assert_eq!(format(parse(&s).unwrap()), s);
        assert!(parse("2026-01-15 09:30:00").is_none());
    }
}
