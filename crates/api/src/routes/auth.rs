//! `/auth/login` and `/auth/signup`: the routes that run before a caller has credentials.

use super::{bus_for, read_json_body};
use crate::auth::Identity;
use crate::{ApiError, ApiState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;
use voxbin_bus::Method;
use voxbin_core::Error;

/// The unauthenticated routes (login at the root, as VoIPBIN serves it, and under `/v1.0`).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/v1.0/auth/login", post(login))
        .route("/v1.0/auth/signup", post(signup))
        .route("/auth/logout", post(logout))
        .route("/v1.0/auth/logout", post(logout))
}

/// Revokes every login token of the calling agent (access keys are deleted instead).
async fn logout(
    State(state): State<ApiState>,
    identity: Identity,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, _) = req.into_parts();
    let Some(agent_id) = identity.agent_id() else {
        return Err(ApiError::new(Error::invalid_argument(
            "NOT_A_LOGIN",
            "Logout applies to login tokens; delete the access key instead.",
        )));
    };
    bus_for(&state, &parts)
        .call(
            "agent",
            Method::Post,
            &format!("/v1/agents/{agent_id}/revoke_tokens"),
            None,
        )
        .await?;
    let mut resp = Json(json!({ "id": agent_id, "revoked": true })).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("token=; Path=/; HttpOnly; Max-Age=0"),
    );
    Ok(resp)
}

/// The login request body.
#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// What the agent service answers for a good login.
#[derive(Deserialize)]
struct LoggedIn {
    id: Uuid,
    customer_id: Uuid,
    permission: u64,
}

async fn login(State(state): State<ApiState>, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    let bus = bus_for(&state, &parts);
    let value = read_json_body(&state, body).await?.ok_or_else(|| {
        Error::invalid_argument("INVALID_BODY", "username and password are required")
    })?;
    let creds: Login = serde_json::from_value(value).map_err(|e| {
        Error::invalid_argument(
            "INVALID_BODY",
            format!("username and password are required: {e}"),
        )
    })?;
    let agent: LoggedIn = bus
        .call_as(
            "agent",
            Method::Post,
            "/v1/login",
            Some(json!({ "username": creds.username, "password": creds.password })),
        )
        .await?;
    let token = state
        .auth
        .issue(agent.id, agent.customer_id, agent.permission)?;
    let mut resp = Json(json!({ "username": creds.username, "token": token })).into_response();
    let cookie = format!(
        "token={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        state.config.auth.token_ttl_secs
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn signup(State(state): State<ApiState>, req: Request<Body>) -> Result<Response, ApiError> {
    if !state.config.auth.signup_enabled {
        return Err(ApiError::new(Error::permission_denied(
            "Self-service signup is disabled on this installation.",
        )));
    }
    let (parts, body) = req.into_parts();
    let bus = bus_for(&state, &parts);
    let value = read_json_body(&state, body)
        .await?
        .ok_or_else(|| Error::invalid_argument("INVALID_BODY", "a signup body is required"))?;
    let result = bus
        .call("customer", Method::Post, "/v1/signup", Some(value))
        .await?;
    Ok(Json(result).into_response())
}
