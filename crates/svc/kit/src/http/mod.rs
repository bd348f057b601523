//! Outbound HTTP of services (flow `fetch`/`webhook_send`, webhook deliveries): a small
//! HTTP/1.1 client with connect and total timeouts, a bounded answer, and the SSRF guard.
//!
//! The guard ([`forbidden_target`]) refuses private, loopback and link-local addresses unless
//! the caller's configuration allows them. The client resolves a name once, checks every
//! address it got, and connects to a checked address, so a DNS answer that changes between
//! the check and the connection (rebinding) cannot smuggle a private target in.

mod client;
mod guard;

pub use client::{Http11Client, HttpSettings};
pub use guard::forbidden_target;

/// A request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method, upper case (`GET`, `POST`, ...).
    pub method: String,
    /// The absolute `http://` or `https://` URL.
    pub url: String,
    /// Extra headers (name, value); CR and LF are removed from both.
    pub headers: Vec<(String, String)>,
    /// `Content-Type` of the body, when there is one.
    pub content_type: Option<String>,
    /// The body.
    pub body: Option<String>,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body as text (lossy UTF-8).
    pub body: String,
}
