//! Recording downloads. `GET /v1.0/recordingfiles/{id}` answers 307, as the contract says,
//! pointing at `GET /v1.0/recordingfiles/{id}/wav` (a Voxbin addition) which streams the WAV
//! the call service reads for the caller's scope. The other recording routes are plain
//! forwards (see `forward`).

use crate::auth::{Identity, Permission};
use crate::middleware::RequestId;
use crate::{ApiError, ApiState};
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine as _;
use voxbin_bus::Method;
use voxbin_core::Error;

/// The routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1.0/recordingfiles/{id}", get(redirect))
        .route("/v1.0/recordingfiles/{id}/wav", get(wav))
}

fn recording_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(id).map_err(|_| {
        ApiError::new(Error::invalid_argument(
            "INVALID_ID",
            "the id is not a valid UUID",
        ))
    })
}

/// 307 to the WAV (credentials in the query travel along).
async fn redirect(
    State(state): State<ApiState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    identity: Identity,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    identity.require(Permission::ADMIN_OR_MANAGER)?;
    let id = recording_id(&id)?;
    // 404 here rather than after the redirect
    let rpc = format!("/v1/recordings/{id}?{}", identity.scope().query());
    state
        .bus
        .with_request_id(rid)
        .call("call", Method::Get, &rpc, None)
        .await?;
    let location = match uri.query() {
        Some(q) => format!("/v1.0/recordingfiles/{id}/wav?{q}"),
        None => format!("/v1.0/recordingfiles/{id}/wav"),
    };
    Ok((
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, location.clone())],
        Json(location),
    )
        .into_response())
}

/// The WAV bytes.
async fn wav(
    State(state): State<ApiState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    identity.require(Permission::ADMIN_OR_MANAGER)?;
    let id = recording_id(&id)?;
    let rpc = format!("/v1/recordings/{id}/file?{}", identity.scope().query());
    let answer = state
        .bus
        .with_request_id(rid)
        .call("call", Method::Get, &rpc, None)
        .await?;
    let bytes = answer
        .get("data")
        .and_then(|d| d.as_str())
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        .ok_or_else(|| ApiError::new(Error::internal("the call service sent no WAV data")))?;
    Ok(([(header::CONTENT_TYPE, "audio/wav")], bytes).into_response())
}
