//! The production [`HttpClient`]: svc-kit's HTTP/1.1 client (timeouts, bounded answer, SSRF
//! guard on the address actually connected to) with the `flow.*` settings.

use std::time::Duration;

use async_trait::async_trait;
use voxbin_core::config::FlowConfig;
use voxbin_svc_kit::http::{self, HttpSettings};

use super::http::{HttpClient, HttpRequest, HttpResponse};

/// HTTP/1.1 client of `fetch` and `webhook_send`.
pub struct Http11Client(http::Http11Client);

impl Http11Client {
    /// A client with the timeout and private-target policy of `flow.*`.
    pub fn new(config: &FlowConfig) -> Http11Client {
        let timeout = Duration::from_millis(config.http_timeout_ms);
        Http11Client(http::Http11Client::new(HttpSettings {
            connect_timeout: timeout,
            timeout,
            allow_private: config.allow_private_targets,
            allow_private_key: "flow.allow_private_targets",
            timeout_key: "flow.http_timeout_ms",
            user_agent: "voxbin-flow",
        }))
    }
}

#[async_trait]
impl HttpClient for Http11Client {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let request = http::HttpRequest {
            method: request.method.as_str().to_owned(),
            url: request.url.clone(),
            headers: Vec::new(),
            content_type: request.content_type.clone(),
            body: request.body.clone(),
        };
        self.0.send(&request).await
    }
}
