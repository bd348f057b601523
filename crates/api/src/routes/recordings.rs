//! Recording downloads. `GET /v1.0/recordingfiles/{id}` answers 307, as the contract says,
//! pointing at `GET /v1.0/recordingfiles/{id}/wav` (a Voxbin addition) which streams the WAV
//! the call service reads for the caller's scope, chunk by chunk, from the media node that
//! recorded it (503 naming the node when it is gone). The other recording routes are plain
//! forwards (see `forward`).

use crate::auth::{Identity, Permission};
use crate::middleware::RequestId;
use crate::{ApiError, ApiState};
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine as _;
use futures::StreamExt as _;
use voxbin_bus::{BusClient, Method};
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

/// The WAV, streamed chunk by chunk as the call service reads it from the media node that
/// recorded it; errors before the first byte are the usual JSON envelope.
async fn wav(
    State(state): State<ApiState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    identity.require(Permission::ADMIN_OR_MANAGER)?;
    let id = recording_id(&id)?;
    let bus = state.bus.with_request_id(rid);
    let scope = identity.scope().query();
    let (size, first) = chunk(&bus, id, &scope, 0).await?;
    let after_first = first.len() as u64;
    let rest = futures::stream::unfold(Some(after_first), move |at| {
        let (bus, scope) = (bus.clone(), scope.clone());
        async move {
            let at = at.filter(|at| *at < size)?;
            match chunk(&bus, id, &scope, at).await {
                Ok((_, bytes)) if !bytes.is_empty() => {
                    let next = at + bytes.len() as u64;
                    Some((Ok(Bytes::from(bytes)), Some(next)))
                }
                Ok(_) => Some((Err(std::io::Error::other("the file shrank")), None)),
                Err(e) => Some((Err(std::io::Error::other(e.message)), None)),
            }
        }
    });
    let body = futures::stream::once(async move { Ok(Bytes::from(first)) }).chain(rest);
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav".to_string()),
            (header::CONTENT_LENGTH, size.to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// The file's size and the bytes from `offset` (one chunk).
async fn chunk(
    bus: &BusClient,
    id: uuid::Uuid,
    scope: &str,
    offset: u64,
) -> Result<(u64, Vec<u8>), Error> {
    let rpc = format!("/v1/recordings/{id}/file?offset={offset}&{scope}");
    let answer = bus.call("call", Method::Get, &rpc, None).await?;
    let size = answer.get("size").and_then(|s| s.as_u64());
    let bytes = answer
        .get("data")
        .and_then(|d| d.as_str())
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok());
    match (size, bytes) {
        (Some(size), Some(bytes)) => Ok((size, bytes)),
        _ => Err(Error::internal("the call service sent no WAV data")),
    }
}
