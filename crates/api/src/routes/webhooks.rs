//! Webhook delivery attempts, so a customer can see what reached them and what did not:
//! `GET /v1.0/webhook_deliveries` (filters `status`, `resource_id`; paging `page_size`,
//! `page_token`) and `GET /v1.0/webhook_deliveries/{id}`. Not in VoIPBIN's contract: a Voxbin
//! addition, answered by webhook-manager in the caller's scope.

use crate::auth::{Identity, Permission};
use crate::middleware::RequestId;
use crate::{ApiError, ApiState};
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use voxbin_bus::Method;
use voxbin_core::Error;

/// Query parameters passed on to the service; anything else is dropped.
const PASSED: &[&str] = &["page_size", "page_token", "status", "resource_id"];

/// The operations served here, as (METHOD, path under `/v1.0`).
pub(crate) const OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/webhook_deliveries"),
    ("GET", "/webhook_deliveries/{id}"),
];

/// The routes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1.0/webhook_deliveries", get(list))
        .route("/v1.0/webhook_deliveries/{id}", get(one))
}

async fn list(
    State(state): State<ApiState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    identity: Identity,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, ApiError> {
    identity.require(Permission::ADMIN_OR_MANAGER)?;
    let mut parts: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|kv| PASSED.contains(&kv.split('=').next().unwrap_or("")))
        .collect();
    let scope = identity.scope().query();
    if !scope.is_empty() {
        parts.push(&scope);
    }
    let rpc = format!("/v1/webhook_deliveries?{}", parts.join("&"));
    call(&state, rid, &rpc).await
}

async fn one(
    State(state): State<ApiState>,
    Extension(RequestId(rid)): Extension<RequestId>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    identity.require(Permission::ADMIN_OR_MANAGER)?;
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| Error::invalid_argument("INVALID_ID", "the id is not a valid UUID"))?;
    let rpc = format!("/v1/webhook_deliveries/{id}?{}", identity.scope().query());
    call(&state, rid, &rpc).await
}

async fn call(state: &ApiState, rid: String, rpc: &str) -> Result<Response, ApiError> {
    let answer = state
        .bus
        .with_request_id(rid)
        .call_raw("webhook", Method::Get, rpc, None)
        .await?;
    let status = StatusCode::from_u16(answer.status_code).unwrap_or(StatusCode::OK);
    let value = answer.into_result()?;
    Ok((status, Json(value)).into_response())
}
