//! Outbound HTTP of `fetch` and `webhook_send`: the request and response the engine speaks,
//! the small trait the service shell calls (a fake in tests, [`super::http_client`] in
//! production), and the SSRF guard that refuses private targets.

use async_trait::async_trait;
use voxbin_actions::option::HttpMethod;

/// An HTTP request the engine wants made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: HttpMethod,
    /// The absolute `http://` or `https://` URL.
    pub url: String,
    /// `Content-Type` of the body, when there is one.
    pub content_type: Option<String>,
    /// The body.
    pub body: Option<String>,
}

pub use voxbin_svc_kit::http::HttpResponse;

/// Makes outbound requests; errors are one-line reasons (refused target, timeout, ...).
#[async_trait]
pub trait HttpClient: Send + Sync {
    /// Sends `request` and reads the whole answer.
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String>;
}

pub use voxbin_svc_kit::http::forbidden_target;
