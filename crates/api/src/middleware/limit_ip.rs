//! The per-client-IP rate limit, applied before authentication so floods cost little.

use crate::{ApiError, ApiState};
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

/// Answers 429 with `Retry-After` when the client's IP is over its rate.
pub async fn limit_ip(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        if let Err(wait) = state.limits.check_ip(addr.ip()).await {
            return ApiError::rate_limited(wait).into_response();
        }
    }
    next.run(req).await
}
