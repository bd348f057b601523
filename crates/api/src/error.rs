//! The public error body `{"error": {status, reason, message, request_id}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use voxbin_core::Error;

/// An error on its way to an API client.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // Internal details stay in the logs; clients get a stable text.
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(reason = %e.reason, message = %e.message, "internal error");
            "An internal error occurred.".to_string()
        } else {
            e.message
        };
        let body = json!({ "error": {
            "status": e.kind.as_str(),
            "reason": e.reason,
            "message": message,
            // Filled in by the request-id middleware, which knows the id.
            "request_id": "",
        }});
        let mut resp = (status, axum::Json(body)).into_response();
        resp.extensions_mut().insert(ErrorBodyMarker);
        resp
    }
}

/// Marks responses whose body is an error envelope, so the request id can be put in it.
#[derive(Clone, Copy, Debug)]
pub struct ErrorBodyMarker;

/// The fallback for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError(Error::new(voxbin_core::ErrorKind::NotFound, "ROUTE_NOT_FOUND", "No such API path."))
}
