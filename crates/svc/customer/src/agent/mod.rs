//! agent-manager: the people who log in to a customer's account.
//!
//! Agents hold a username (unique among live agents platform-wide, without case), an argon2id
//! password hash that never leaves the service, and permission bits. Besides the resource
//! routes it answers the gateway's login check (`POST /v1/login`) and token revocation check
//! (`GET /v1/agents/{id}/auth`, whose `tm_password_update` moves on every password change).

pub mod handlers;
pub mod model;
pub mod password;
pub mod store;

use std::sync::Arc;
use voxbin_bus::{Handler, Method, Router};
use voxbin_svc_kit::Deps;

use handlers::AgentState;
use password::Hasher;

/// agent-manager's router over `deps`, hashing with `hasher`.
pub fn router(deps: Deps, hasher: Hasher) -> Arc<dyn Handler> {
    let outbox = voxbin_svc_kit::outbox::Outbox::new(&deps, crate::AGENT);
    let state = AgentState {
        deps,
        hasher,
        outbox,
    };
    Arc::new(
        Router::with_state(crate::AGENT, state)
            .route(Method::Get, "/v1/agents", handlers::list_agents)
            .route(Method::Post, "/v1/agents", handlers::create_agent)
            .route(
                Method::Delete,
                "/v1/agents",
                handlers::delete_customer_agents,
            )
            .route(Method::Get, "/v1/agents/{id}", handlers::get_agent)
            .route(Method::Delete, "/v1/agents/{id}", handlers::delete_agent)
            .route(
                Method::Get,
                "/v1/agents/{id}/auth",
                handlers::get_agent_auth,
            )
            .route(
                Method::Put,
                "/v1/agents/{id}/password",
                handlers::set_password,
            )
            .route(
                Method::Post,
                "/v1/agents/{id}/revoke_tokens",
                handlers::revoke_tokens,
            )
            .route(Method::Post, "/v1/login", handlers::login),
    )
}
