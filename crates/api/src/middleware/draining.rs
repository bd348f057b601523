//! While the process drains, new requests get 503 with `Retry-After`; requests already
//! running are not affected.

use crate::{ApiError, ApiState};
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use voxbin_core::Error;

/// Refuses work once shutdown has begun.
pub async fn refuse_when_draining(
    State(state): State<ApiState>,
    req: Request,
    next: Next,
) -> Response {
    if state.shutdown.is_draining() {
        let mut resp = ApiError::new(Error::unavailable(
            "SHUTTING_DOWN",
            "The server is shutting down; retry shortly.",
        ))
        .into_response();
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        resp.headers_mut()
            .insert("connection", HeaderValue::from_static("close"));
        return resp;
    }
    next.run(req).await
}
