//! Refuses a request whose announced body is over the limit before reading it, so a client
//! that sent `Expect: 100-continue` is told 413 instead of being invited to upload.

use crate::{ApiError, ApiState};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use voxbin_core::Error;

/// 413 when `Content-Length` is over `api.body_limit_bytes`.
pub async fn limit_body(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    let limit = state.config.api.body_limit_bytes;
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit) {
        let mut resp = ApiError::with_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            Error::invalid_argument(
                "BODY_TOO_LARGE",
                format!("The request body is larger than {limit} bytes."),
            ),
        )
        .into_response();
        // The unread body makes the connection unusable for another request.
        resp.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return resp;
    }
    next.run(req).await
}
