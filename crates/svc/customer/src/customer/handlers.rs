//! customer-manager's customer routes and signup.
//!
//! Creating a customer with a first admin agent spans two services: the agent is created
//! first, through agent-manager over the bus (so a taken username or a bad password stops
//! everything before any customer row exists), then the customer and its first access key are
//! written in one transaction; if that fails, the agent is deleted again. Nothing half-made
//! stays behind either way.

use serde_json::{json, Value};
use std::time::Duration;
use uuid::Uuid;
use voxbin_bus::{BusClient, Ctx, Method};
use voxbin_core::{clock, id::new_id, Error, ErrorKind, Result};
use voxbin_svc_kit::{Deps, Scope};

use super::model::Customer;
use super::store;
use crate::accesskey::handlers::new_accesskey;
use crate::accesskey::model::Accesskey;
use crate::accesskey::store as key_store;
use crate::agent::model::PERMISSION_CUSTOMER_ADMIN;
use crate::agent::password::{check_password, normalize_username};
use crate::common::require_all;
use crate::fields::{check_email, check_webhook_method, check_webhook_uri, MAX_LINE, MAX_TEXT};
use voxbin_svc_kit::body::{invalid, Body};
use voxbin_svc_kit::outbox::Outbox;
use voxbin_svc_kit::page_request;

/// How long customer-manager waits for agent-manager (which hashes a password on purpose slowly).
const AGENT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What customer-manager's handlers share.
pub struct CustomerState {
    /// Adapters.
    pub deps: Deps,
    /// For calls to agent-manager.
    pub client: BusClient,
    /// Events of customers and access keys, written with the change they report.
    pub outbox: Outbox,
}

impl CustomerState {
    /// The state over `deps`.
    pub fn new(deps: Deps) -> CustomerState {
        let client = BusClient::new(deps.bus.clone(), crate::CUSTOMER, AGENT_CALL_TIMEOUT);
        let outbox = Outbox::new(&deps, crate::CUSTOMER);
        CustomerState {
            deps,
            client,
            outbox,
        }
    }
}

type CustomerCtx = Ctx<CustomerState>;

fn not_found() -> Error {
    Error::not_found("customer")
}

/// The editable fields of a customer as given in a create, update or signup body.
#[derive(Debug, Default)]
pub struct CustomerInput {
    name: Option<String>,
    detail: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
    address: Option<String>,
    webhook_method: Option<String>,
    webhook_uri: Option<String>,
    webhook_secret: Option<String>,
}

impl CustomerInput {
    /// Reads and checks the fields present in `body`.
    pub fn parse(body: &Body) -> Result<CustomerInput> {
        let input = CustomerInput {
            name: body.opt_str_max("name", MAX_TEXT)?,
            detail: body.opt_str_max("detail", MAX_TEXT)?,
            email: body.opt_str("email")?.map(|e| e.trim().to_string()),
            phone_number: body.opt_str_max("phone_number", MAX_LINE)?,
            address: body.opt_str_max("address", MAX_TEXT)?,
            webhook_method: body.opt_str("webhook_method")?,
            webhook_uri: body.opt_str("webhook_uri")?,
            webhook_secret: body.opt_str_max("webhook_secret", MAX_LINE)?,
        };
        if let Some(email) = &input.email {
            check_email("email", email)?;
        }
        if let Some(method) = &input.webhook_method {
            check_webhook_method("webhook_method", method)?;
        }
        if let Some(uri) = &input.webhook_uri {
            check_webhook_uri("webhook_uri", uri)?;
        }
        Ok(input)
    }

    /// Writes the given fields onto `c`; absent fields keep their value.
    pub fn apply(self, c: &mut Customer) {
        let set = |target: &mut String, value: Option<String>| {
            if let Some(value) = value {
                *target = value;
            }
        };
        set(&mut c.name, self.name);
        set(&mut c.detail, self.detail);
        set(&mut c.email, self.email);
        set(&mut c.phone_number, self.phone_number);
        set(&mut c.address, self.address);
        set(&mut c.webhook_method, self.webhook_method);
        set(&mut c.webhook_uri, self.webhook_uri);
        set(&mut c.webhook_secret, self.webhook_secret);
    }
}

/// The first admin agent to create with a customer.
#[derive(Debug, Clone)]
pub struct AdminLogin {
    /// Login name (trimmed, checked).
    pub username: String,
    /// Password (checked).
    pub password: String,
}

impl AdminLogin {
    /// Reads optional `username` / `password`; both or neither (`default_username` stands in for
    /// a missing username when a password is given).
    fn parse(body: &Body, default_username: Option<&str>) -> Result<Option<AdminLogin>> {
        let username = body.opt_str("username")?;
        let password = body.opt_str("password")?;
        match (username, password) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(invalid("password", "is required with username")),
            (None, Some(password)) => match default_username {
                Some(username) => AdminLogin::new(username, &password).map(Some),
                None => Err(invalid("username", "is required with password")),
            },
            (Some(username), Some(password)) => AdminLogin::new(&username, &password).map(Some),
        }
    }

    /// Checks a username and password pair.
    pub fn new(username: &str, password: &str) -> Result<AdminLogin> {
        let username = normalize_username("username", username)?;
        check_password("password", password)?;
        Ok(AdminLogin {
            username,
            password: password.to_string(),
        })
    }
}

/// What [`create_customer`] made.
pub struct Created {
    /// The new customer.
    pub customer: Customer,
    /// The first access key and its plain token, when one was asked for.
    pub accesskey: Option<(Accesskey, String)>,
}

/// Creates `customer`, optionally with a first admin agent (through agent-manager) and a first
/// access key that never expires; see the module doc for the order and the clean-up.
pub async fn create_customer(
    state: &CustomerState,
    customer: Customer,
    admin: Option<AdminLogin>,
    with_key: bool,
) -> Result<Created> {
    let agent_id = match &admin {
        Some(login) => {
            let agent = state
                .client
                .call(
                    crate::AGENT,
                    Method::Post,
                    "/v1/agents",
                    Some(json!({
                        "customer_id": customer.id,
                        "username": login.username,
                        "password": login.password,
                        "name": "admin",
                        "detail": "first admin of the account",
                        "permission": PERMISSION_CUSTOMER_ADMIN,
                    })),
                )
                .await?;
            let id = agent
                .get("id")
                .and_then(Value::as_str)
                .and_then(|id| Uuid::parse_str(id).ok())
                .ok_or_else(|| Error::internal("agent-manager answered without an agent id"))?;
            Some(id)
        }
        None => None,
    };
    let accesskey = if with_key {
        Some(new_accesskey(
            customer.id,
            "default".into(),
            "created with the account".into(),
            None,
        )?)
    } else {
        None
    };
    let written = write_customer(state, &customer, accesskey.as_ref().map(|(k, _)| k)).await;
    if let Err(error) = written {
        if let Some(agent_id) = agent_id {
            let uri = format!("/v1/agents/{agent_id}");
            if let Err(undo) = state
                .client
                .call(crate::AGENT, Method::Delete, &uri, None)
                .await
            {
                tracing::error!(%agent_id, %undo, "cannot delete the admin agent of a failed customer create");
            }
        }
        return Err(error);
    }
    Ok(Created {
        customer,
        accesskey,
    })
}

/// Inserts the customer and its first key, with their events, in one transaction.
async fn write_customer(
    state: &CustomerState,
    customer: &Customer,
    key: Option<&Accesskey>,
) -> Result<()> {
    let mut tx = state.outbox.begin().await?;
    store::insert(&mut *tx, customer).await?;
    tx.event("customer_created", customer.id, customer.to_admin())
        .await?;
    if let Some(key) = key {
        key_store::insert(&mut *tx, key).await?;
        tx.event("accesskey_created", key.id, key.to_public())
            .await?;
    }
    tx.commit().await
}

/// `POST /v1/customers` (super-admin / internal): the contract's create body plus optional
/// `username` and `password` for a first admin agent -> the customer (admin shape).
pub async fn create(ctx: CustomerCtx) -> Result<Value> {
    require_all(Scope::from_ctx(&ctx)?)?;
    let body = Body::new(ctx.request().data.as_ref())?;
    let input = CustomerInput::parse(&body)?;
    let admin = AdminLogin::parse(&body, None)?;
    let mut customer = Customer::new(new_id(), &clock::now());
    input.apply(&mut customer);
    let created = create_customer(ctx.state(), customer, admin, false).await?;
    Ok(created.customer.to_admin())
}

/// `GET /v1/customers`: every live customer (super-admin) or only the caller's own.
pub async fn list(ctx: CustomerCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let req = page_request(&ctx)?;
    let page = store::list(&ctx.state().deps.db, scope.customer(), &req).await?;
    let admin = scope == Scope::All;
    Ok(json!({
        "result": page.result.iter().map(|c| c.shape_for(admin)).collect::<Vec<_>>(),
        "next_page_token": page.next_page_token,
    }))
}

/// The live customer `id` if the scope may see it.
async fn visible(state: &CustomerState, scope: Scope, id: Uuid) -> Result<Customer> {
    if !scope.allows(id) {
        return Err(not_found());
    }
    store::get(&state.deps.db, id).await?.ok_or_else(not_found)
}

/// `GET /v1/customers/{id}`: admin shape for the super-admin, the plain shape for the customer.
pub async fn get(ctx: CustomerCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let customer = visible(ctx.state(), scope, id).await?;
    Ok(customer.shape_for(scope == Scope::All))
}

/// `PUT /v1/customers/{id}`: the contract's update body; fields left out keep their value.
pub async fn update(ctx: CustomerCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let body = Body::new(ctx.request().data.as_ref())?;
    let input = CustomerInput::parse(&body)?;
    let state = ctx.state();
    let mut customer = visible(state, scope, id).await?;
    input.apply(&mut customer);
    let mut tx = state.outbox.begin().await?;
    if !store::update(&mut *tx, &customer).await? {
        return Err(not_found());
    }
    let customer = store::get_in(&mut *tx, id, false)
        .await?
        .ok_or_else(not_found)?;
    tx.event("customer_updated", customer.id, customer.to_admin())
        .await?;
    tx.commit().await?;
    Ok(customer.shape_for(scope == Scope::All))
}

/// `DELETE /v1/customers/{id}`: soft-deletes the customer and its access keys, asks
/// agent-manager to delete its agents (freeing their usernames), publishes
/// `customer_deleted` for the other services, and answers the deleted customer.
pub async fn delete(ctx: CustomerCtx) -> Result<Value> {
    let scope = Scope::from_ctx(&ctx)?;
    let id = ctx.param_uuid("id")?;
    let state = ctx.state();
    visible(state, scope, id).await?;
    let key_hashes = crate::accesskey::store::live_hashes_of(&state.deps.db, id).await?;
    let mut tx = state.outbox.begin().await?;
    if !store::delete(&mut tx, id).await? {
        return Err(not_found());
    }
    let customer = store::get_in(&mut *tx, id, true)
        .await?
        .ok_or_else(not_found)?;
    tx.event("customer_deleted", customer.id, customer.to_admin())
        .await?;
    tx.commit().await?;
    // The keys went with the customer; the gateway's cached verifications must go too.
    for hash in key_hashes {
        if let Err(e) = state
            .deps
            .cache
            .delete(&voxbin_svc_kit::cache_keys::accesskey(&hash))
            .await
        {
            tracing::warn!(customer_id = %id, error = %e, "cannot evict a cached access key");
        }
    }
    let uri = format!("/v1/agents?customer_id={id}");
    if let Err(error) = state
        .client
        .call(crate::AGENT, Method::Delete, &uri, None)
        .await
    {
        // The customer is gone either way (its keys with it); agents left behind keep their
        // usernames until deleted by hand, which the log line below is there to prompt.
        tracing::warn!(customer_id = %id, %error, "cannot delete the agents of a deleted customer");
    }
    Ok(customer.shape_for(scope == Scope::All))
}

/// `POST /v1/signup`: the contract's signup body (`email` and `accepted_tos: true` required)
/// plus optional `username` (defaults to the email) and `password` for the first admin agent
/// -> `{customer, accesskey}` with the access key's token. The customer starts `active` (no
/// email verification in Voxbin). A taken email or username answers `{}` as the contract
/// says for failed signups, so signup cannot be used to find out which accounts exist.
pub async fn signup(ctx: CustomerCtx) -> Result<Value> {
    let body = Body::new(ctx.request().data.as_ref())?;
    let input = CustomerInput::parse(&body)?;
    let email = input
        .email
        .clone()
        .filter(|e| !e.is_empty())
        .ok_or_else(|| invalid("email", "is required"))?;
    if body.opt_bool("accepted_tos")? != Some(true) {
        return Err(invalid(
            "accepted_tos",
            "must be true to accept the Terms of Service",
        ));
    }
    let admin = AdminLogin::parse(&body, Some(&email))?;
    let state = ctx.state();
    if store::email_taken(&state.deps.db, &email).await? {
        return Ok(json!({}));
    }
    let mut customer = Customer::new(new_id(), &clock::now());
    input.apply(&mut customer);
    let created = match create_customer(state, customer, admin, true).await {
        Ok(created) => created,
        Err(e) if e.kind == ErrorKind::AlreadyExists => return Ok(json!({})),
        Err(e) => return Err(e),
    };
    let accesskey = created
        .accesskey
        .as_ref()
        .map(|(key, token)| key.to_public_with_token(token))
        .unwrap_or(Value::Null);
    Ok(json!({
        "customer": created.customer.to_public(),
        "accesskey": accesskey,
    }))
}

/// `GET /v1/customers/{id}/webhook` (internal, for the webhook service): where and how the
/// customer's webhooks go -> `{customer_id, webhook_method, webhook_uri, webhook_secret}`.
/// The secret leaves customer-manager only here; 404 for a customer that is not live.
pub async fn webhook_target(ctx: CustomerCtx) -> Result<Value> {
    require_all(Scope::from_ctx(&ctx)?)?;
    let id = ctx.param_uuid("id")?;
    let customer = store::get(&ctx.state().deps.db, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(json!({
        "customer_id": customer.id,
        "webhook_method": customer.webhook_method,
        "webhook_uri": customer.webhook_uri,
        "webhook_secret": customer.webhook_secret,
    }))
}
