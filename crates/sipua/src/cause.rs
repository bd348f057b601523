//! Why a call leg ended, and how that maps to SIP status codes both ways (the call service
//! reports these as VoIPBIN hangup reasons).

use serde::{Deserialize, Serialize};

/// Why a leg ended (VoIPBIN's call hangup reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HangupCause {
    /// Ordinary clearing (BYE, or 200 then BYE).
    Normal,
    /// The callee was busy (486, 600).
    Busy,
    /// Nobody answered (408, 480, 487 after our own timeout).
    Noanswer,
    /// The call was cancelled before answer (CANCEL, 487).
    Cancel,
    /// A timer ran out (session timer, ACK never came, ring timeout).
    Timeout,
    /// Anything else that went wrong (4xx, 5xx, 6xx, transport failure).
    Failed,
}

impl HangupCause {
    /// The reason name used on the bus (`normal`, `busy`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            HangupCause::Normal => "normal",
            HangupCause::Busy => "busy",
            HangupCause::Noanswer => "noanswer",
            HangupCause::Cancel => "cancel",
            HangupCause::Timeout => "timeout",
            HangupCause::Failed => "failed",
        }
    }

    /// Parses a reason name as written by `as_str`.
    pub fn parse(s: &str) -> Option<HangupCause> {
        Some(match s {
            "normal" => HangupCause::Normal,
            "busy" => HangupCause::Busy,
            "noanswer" => HangupCause::Noanswer,
            "cancel" => HangupCause::Cancel,
            "timeout" => HangupCause::Timeout,
            "failed" => HangupCause::Failed,
            _ => return None,
        })
    }

    /// The cause a final failure response of an outgoing INVITE stands for.
    pub fn from_status(status: u16) -> HangupCause {
        match status {
            200..=299 => HangupCause::Normal,
            486 | 600 => HangupCause::Busy,
            408 | 480 => HangupCause::Noanswer,
            487 => HangupCause::Cancel,
            _ => HangupCause::Failed,
        }
    }

    /// The status and reason phrase to refuse an incoming INVITE with for this cause.
    pub fn to_status(&self) -> (u16, &'static str) {
        match self {
            HangupCause::Normal => (603, "Decline"),
            HangupCause::Busy => (486, "Busy Here"),
            HangupCause::Noanswer => (480, "Temporarily Unavailable"),
            HangupCause::Cancel => (487, "Request Terminated"),
            HangupCause::Timeout => (408, "Request Timeout"),
            HangupCause::Failed => (500, "Server Internal Error"),
        }
    }
}

impl std::fmt::Display for HangupCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side ended the leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// We did (a bus command, a timer, shutdown).
    Local,
    /// The peer did (BYE, CANCEL, a final failure response).
    Remote,
}

impl Party {
    /// `local` or `remote`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Party::Local => "local",
            Party::Remote => "remote",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_both_ways() {
        for cause in [
            HangupCause::Busy,
            HangupCause::Noanswer,
            HangupCause::Cancel,
            HangupCause::Failed,
        ] {
            let (status, _) = cause.to_status();
            assert_eq!(HangupCause::from_status(status), cause, "{cause}");
        }
        assert_eq!(HangupCause::from_status(600), HangupCause::Busy);
        assert_eq!(HangupCause::from_status(503), HangupCause::Failed);
        assert_eq!(HangupCause::from_status(404), HangupCause::Failed);
        assert_eq!(HangupCause::from_status(408), HangupCause::Noanswer);
    }

    #[test]
    fn names_round_trip() {
        for cause in [
            HangupCause::Normal,
            HangupCause::Busy,
            HangupCause::Noanswer,
            HangupCause::Cancel,
            HangupCause::Timeout,
            HangupCause::Failed,
        ] {
            assert_eq!(HangupCause::parse(cause.as_str()), Some(cause));
        }
        assert_eq!(HangupCause::parse("nope"), None);
    }
}
