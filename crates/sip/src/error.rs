//! Parse errors as values: a SIP status to answer with and a short reason phrase naming what
//! was wrong, so a server can reply `400 Bad Via header` without guessing.

use std::fmt;

/// Why a message, header or URI could not be understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    status: u16,
    reason: &'static str,
}

impl ParseError {
    /// A malformed input answered with 400 and `reason`.
    pub const fn bad(reason: &'static str) -> Self {
        Self {
            status: 400,
            reason,
        }
    }

    /// An error answered with a specific status (413, 416, 505, 513 ...).
    pub const fn with_status(status: u16, reason: &'static str) -> Self {
        Self { status, reason }
    }

    /// Reason phrase suitable for the response line (`400 <reason>`).
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// SIP status code a server should answer with.
    pub fn status(&self) -> u16 {
        self.status
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

impl std::error::Error for ParseError {}
