//! customer-manager and agent-manager: who may use the platform, and how they prove it.
//!
//! Two services live in this crate because they are built together, but they are separate on
//! the bus and own separate tables:
//! - **customer** ([`customer_handler`], queue `bin-manager.customer-manager.request`, tables
//!   `customer_customers`, `customer_accesskeys`): customers (tenants), self-service signup,
//!   access keys, and the gateway's access key check. RPCs: `GET|POST /v1/customers`,
//!   `GET|PUT|DELETE /v1/customers/{id}`, `GET /v1/customers/{id}/webhook` (internal: the
//!   webhook target and signing secret), `POST /v1/signup`, `GET|POST /v1/accesskeys`,
//!   `GET|PUT|DELETE /v1/accesskeys/{id}`, `POST /v1/accesskeys/verify`.
//! - **agent** ([`agent_handler`], queue `bin-manager.agent-manager.request`, table
//!   `agent_agents`): agents with usernames and argon2id passwords, the gateway's login check
//!   and token revocation data. RPCs: `GET|POST|DELETE /v1/agents`, `GET|DELETE
//!   /v1/agents/{id}`, `GET /v1/agents/{id}/auth`, `PUT /v1/agents/{id}/password`,
//!   `POST /v1/login`.
//!
//! customer-manager reaches agent-manager only over the bus (to create the first admin agent
//! of a customer and to delete the agents of a deleted customer). Scopes follow
//! `voxbin_svc_kit`: `customer_id` in the query limits a request to that customer; its
//! absence means the project super-admin or an internal service, which the internal routes
//! (`/v1/accesskeys/verify`, `/v1/login`, `/v1/agents/{id}/auth`, creating customers) require.

#![warn(missing_docs)]

pub mod accesskey;
pub mod agent;
mod common;
pub mod customer;
mod fields;

#[cfg(test)]
mod tests;

use serde_json::{json, Value};
use std::sync::Arc;
use voxbin_bus::{Handler, Method, Router};
use voxbin_core::{clock, id::new_id, Error, Result};
use voxbin_store::PageRequest;
use voxbin_svc_kit::Deps;

use customer::handlers::{create_customer as create_customer_rows, AdminLogin, CustomerState};
use customer::model::Customer;

/// Service name of customer-manager.
pub const CUSTOMER: &str = "customer";

/// Service name of agent-manager.
pub const AGENT: &str = "agent";

/// customer-manager's bus handler (serve it on `request_queue(CUSTOMER)`).
pub fn customer_handler(deps: Deps) -> Arc<dyn Handler> {
    Arc::new(customer_router(CustomerState::new(deps)))
}

fn customer_router(state: CustomerState) -> Router<CustomerState> {
    use accesskey::handlers as keys;
    use customer::handlers as customers;
    Router::with_state(CUSTOMER, state)
        .route(Method::Get, "/v1/customers", customers::list)
        .route(Method::Post, "/v1/customers", customers::create)
        .route(Method::Get, "/v1/customers/{id}", customers::get)
        .route(Method::Put, "/v1/customers/{id}", customers::update)
        .route(Method::Delete, "/v1/customers/{id}", customers::delete)
        .route(
            Method::Get,
            "/v1/customers/{id}/webhook",
            customers::webhook_target,
        )
        .route(Method::Post, "/v1/signup", customers::signup)
        .route(Method::Get, "/v1/accesskeys", keys::list)
        .route(Method::Post, "/v1/accesskeys", keys::create)
        .route(Method::Post, "/v1/accesskeys/verify", keys::verify)
        .route(Method::Get, "/v1/accesskeys/{id}", keys::get)
        .route(Method::Put, "/v1/accesskeys/{id}", keys::update)
        .route(Method::Delete, "/v1/accesskeys/{id}", keys::delete)
}

/// agent-manager's bus handler (serve it on `request_queue(AGENT)`); hashes passwords with
/// argon2id's recommended parameters.
pub fn agent_handler(deps: Deps) -> Arc<dyn Handler> {
    agent::router(deps, agent::password::Hasher::new())
}

/// For the operator CLI: creates an active customer named `name` with a first access key
/// (never expiring) and, when `username` is not empty, a first admin agent with `password`.
/// Returns `{"customer": {...admin shape}, "accesskey": {..., "token": "vb_..."}}`.
///
/// The customer and key rows are written directly (this is customer-manager's own code); the
/// agent is created through agent-manager over `deps.bus`, so agent-manager must be served on
/// that bus (as it is in `voxbin serve`). On failure nothing is left behind.
pub async fn create_customer_with_key(
    deps: &Deps,
    name: &str,
    username: &str,
    password: &str,
) -> Result<Value> {
    let admin = if username.trim().is_empty() {
        None
    } else {
        Some(AdminLogin::new(username, password)?)
    };
    let mut customer = Customer::new(new_id(), &clock::now());
    customer.name = name.to_string();
    let state = CustomerState::new(deps.clone());
    let created = create_customer_rows(&state, customer, admin, true).await?;
    let accesskey = created
        .accesskey
        .as_ref()
        .map(|(key, token)| key.to_public_with_token(token))
        .ok_or_else(|| Error::internal("the first access key was not created"))?;
    Ok(json!({
        "customer": created.customer.to_admin(),
        "accesskey": accesskey,
    }))
}

/// For the operator CLI: every live customer (admin shape), newest first. Reads the database
/// directly; no bus needed.
pub async fn list_customers(deps: &Deps) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut req = PageRequest {
        size: voxbin_store::page::MAX_PAGE_SIZE,
        token: None,
    };
    loop {
        let page = customer::store::list(&deps.db, None, &req).await?;
        out.extend(page.result.iter().map(Customer::to_admin));
        if page.next_page_token.is_empty() {
            return Ok(out);
        }
        req = PageRequest::from_query(None, Some(&page.next_page_token))?;
        req.size = voxbin_store::page::MAX_PAGE_SIZE;
    }
}
