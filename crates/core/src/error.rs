//! The error model shared by the bus, the services and the REST API.
//!
//! An [`Error`] carries a canonical [`ErrorKind`] (which fixes the HTTP status and the SIP
//! response class), a stable UPPER_SNAKE `reason` that clients can match on, and a message
//! for humans. The same value travels over the bus as a `voipbin_error` envelope and reaches
//! API clients as `{"error": {status, reason, message, request_id}}`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Canonical error status; maps one to one to an HTTP status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorKind {
    /// The request is malformed or a value is out of range (400).
    InvalidArgument,
    /// No valid credentials (401).
    Unauthenticated,
    /// The account has no balance for this (402).
    PaymentRequired,
    /// Credentials are valid but lack the permission (403).
    PermissionDenied,
    /// The resource does not exist or is not visible to the caller (404).
    NotFound,
    /// A resource with the same identity exists (409).
    AlreadyExists,
    /// The resource is not in a state that allows this (409).
    FailedPrecondition,
    /// A rate limit or quota was hit (429).
    ResourceExhausted,
    /// A dependency is down, the process is draining, or a call timed out (503).
    Unavailable,
    /// A bug or an unexpected failure (500).
    Internal,
}

impl ErrorKind {
    /// The HTTP status code of this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidArgument => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::PaymentRequired => 402,
            ErrorKind::PermissionDenied => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::AlreadyExists | ErrorKind::FailedPrecondition => 409,
            ErrorKind::ResourceExhausted => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }

    /// The kind for an HTTP status code (used when only a status travelled).
    pub fn from_http_status(status: u16) -> ErrorKind {
        match status {
            400 | 405 | 413 | 415 | 422 => ErrorKind::InvalidArgument,
            401 => ErrorKind::Unauthenticated,
            402 => ErrorKind::PaymentRequired,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::FailedPrecondition,
            429 => ErrorKind::ResourceExhausted,
            502..=504 => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }

    /// The UPPER_SNAKE name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::Unauthenticated => "UNAUTHENTICATED",
            ErrorKind::PaymentRequired => "PAYMENT_REQUIRED",
            ErrorKind::PermissionDenied => "PERMISSION_DENIED",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::AlreadyExists => "ALREADY_EXISTS",
            ErrorKind::FailedPrecondition => "FAILED_PRECONDITION",
            ErrorKind::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorKind::Unavailable => "UNAVAILABLE",
            ErrorKind::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as a value: kind, stable reason and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    /// Canonical status (serialised as `status`).
    #[serde(rename = "status")]
    pub kind: ErrorKind,
    /// Stable UPPER_SNAKE reason code, e.g. `FLOW_NOT_FOUND`.
    pub reason: String,
    /// Human-readable explanation.
    pub message: String,
}

/// Shorthand for results that fail with an [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of any kind.
    pub fn new(kind: ErrorKind, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind,
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// 400 with a reason.
    pub fn invalid_argument(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, reason, message)
    }

    /// 404 for a resource name such as `flow` (reason `FLOW_NOT_FOUND`).
    pub fn not_found(resource: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            format!("{}_NOT_FOUND", resource.to_ascii_uppercase()),
            format!("The {resource} was not found."),
        )
    }

    /// 401.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, "UNAUTHENTICATED", message)
    }

    /// 403.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, "PERMISSION_DENIED", message)
    }

    /// 503.
    pub fn unavailable(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, reason, message)
    }

    /// 500; the message is for logs, clients see a generic text.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, "INTERNAL", message)
    }

    /// The HTTP status code of this error.
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.kind, self.reason, self.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::invalid_argument("INVALID_JSON", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_http_and_back() {
        for kind in [
            ErrorKind::InvalidArgument,
            ErrorKind::Unauthenticated,
            ErrorKind::PaymentRequired,
            ErrorKind::PermissionDenied,
            ErrorKind::NotFound,
            ErrorKind::ResourceExhausted,
            ErrorKind::Unavailable,
            ErrorKind::Internal,
        ] {
            assert_eq!(ErrorKind::from_http_status(kind.http_status()), kind);
        }
    }

    #[test]
    fn serialises_as_voipbin_error_data() {
        let e = Error::not_found("flow");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["status"], "NOT_FOUND");
        assert_eq!(v["reason"], "FLOW_NOT_FOUND");
        let back: Error = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
