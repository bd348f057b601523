//! The public error body `{"error": {status, reason, message, request_id}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use voxbin_core::{Error, ErrorKind};

/// An error on its way to an API client.
#[derive(Debug)]
pub struct ApiError {
    /// The error.
    pub error: Error,
    /// A status other than the kind's own (413 for an oversize body).
    status: Option<StatusCode>,
    /// Seconds for `Retry-After`.
    retry_after: Option<u64>,
}

impl ApiError {
    /// The error with its kind's status.
    pub fn new(error: Error) -> Self {
        ApiError {
            error,
            status: None,
            retry_after: None,
        }
    }

    /// The error with a specific HTTP status.
    pub fn with_status(status: StatusCode, error: Error) -> Self {
        ApiError {
            error,
            status: Some(status),
            retry_after: None,
        }
    }

    /// 429 with `Retry-After` rounded up to whole seconds.
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError {
            error: Error::new(
                ErrorKind::ResourceExhausted,
                "RATE_LIMITED",
                "Too many requests; slow down.",
            ),
            status: None,
            retry_after: Some(secs.max(1)),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::new(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.error;
        let status = self.status.unwrap_or_else(|| {
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        });
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
        if let Some(secs) = self.retry_after {
            if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert("retry-after", v);
            }
        }
        resp
    }
}

/// Marks responses whose body is an error envelope, so the request id can be put in it.
#[derive(Clone, Copy, Debug)]
pub struct ErrorBodyMarker;

/// The fallback for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError::new(Error::new(
        ErrorKind::NotFound,
        "ROUTE_NOT_FOUND",
        "No such API path.",
    ))
}

/// The fallback for a known path with a method it does not serve.
pub async fn method_not_allowed() -> ApiError {
    ApiError::with_status(
        StatusCode::METHOD_NOT_ALLOWED,
        Error::new(
            ErrorKind::InvalidArgument,
            "METHOD_NOT_ALLOWED",
            "This path does not serve that method.",
        ),
    )
}
