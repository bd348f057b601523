//! Bus entry points of the number service: each reads the caller's scope, validates the
//! request completely (flows included) and only then makes one write.

use std::sync::Arc;

use uuid::Uuid;
use voxbin_bus::{BusClient, Method};
use voxbin_core::{clock, Error, ErrorKind, Result};
use voxbin_store::{Db, Page};
use voxbin_svc_kit::outbox::{Outbox, OutboxTx};
use voxbin_svc_kit::{made_before, page_request, Scope};

use crate::model::{
    check_e164, CreateNumber, FlowIds, Metadata, Number, UpdateFlowIds, UpdateNumber,
};
use crate::store;
use voxbin_svc_kit::body::parse_body;

/// What the routes share.
pub struct State {
    /// The database.
    pub db: Arc<Db>,
    /// Calls to the flow service, as `number-manager`.
    pub bus: BusClient,
    /// Events, written with the change they report.
    pub outbox: Outbox,
}

type Ctx = voxbin_bus::Ctx<State>;

/// `GET /v1/numbers`: a page of live numbers, newest first.
pub async fn list(ctx: Ctx) -> Result<Page<Number>> {
    let scope = Scope::from_ctx(&ctx)?;
    let req = page_request(&ctx)?;
    store::list(&ctx.state().db, scope.customer(), &req).await
}

/// `POST /v1/numbers`: registers a number for the calling customer.
pub async fn create(ctx: Ctx) -> Result<Number> {
    let customer = Scope::from_ctx(&ctx)?.customer().ok_or_else(|| {
        Error::invalid_argument(
            "INVALID_ARGUMENT",
            "customer_id is required to create a number",
        )
    })?;
    let new = parse_body::<CreateNumber>(ctx.request().data.as_ref())?.validate()?;
    check_flows(&ctx, customer, &new.flows).await?;
    let mut number = Number::new(customer, new, clock::now());
    number.id = ctx.new_id();
    let state = ctx.state();
    let made = async {
        let mut tx = state.outbox.begin().await?;
        store::insert(&mut tx, &number).await?;
        tx.event("number_created", number.id, &number).await?;
        tx.commit().await
    };
    let number = match made.await {
        Ok(()) => number,
        Err(e) => {
            let again = store::get(state.db.writer(), Some(customer), number.id);
            made_before(&ctx, e, again).await?
        }
    };
    Ok(number)
}

/// `GET /v1/numbers/{id}`.
pub async fn get(ctx: Ctx) -> Result<Number> {
    let scope = Scope::from_ctx(&ctx)?;
    let id = ctx.param_uuid("id")?;
    ctx.state()
        .db
        .read(|pool| store::get(pool, scope.customer(), id))
        .await
}

/// `GET /v1/numbers/by_number/{number}`: the live number with this E.164 text (inbound routing).
pub async fn get_by_number(ctx: Ctx) -> Result<Number> {
    let scope = Scope::from_ctx(&ctx)?;
    let number = ctx.param("number")?;
    check_e164(number)?;
    store::get_by_number(&ctx.state().db, scope.customer(), number).await
}

/// `PUT /v1/numbers/{id}`: replaces name, detail and both flows.
pub async fn update(ctx: Ctx) -> Result<Number> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    let info = parse_body::<UpdateNumber>(ctx.request().data.as_ref())?.validate()?;
    let current = store::get(ctx.state().db.writer(), scope.customer(), id).await?;
    check_flows(&ctx, current.customer_id, &info.flows).await?;
    let mut tx = ctx.state().outbox.begin().await?;
    let found = store::update_info(&mut tx, id, &info).await?;
    changed(tx, found, id).await
}

/// `PUT /v1/numbers/{id}/flow_ids`: sets both flows.
pub async fn update_flow_ids(ctx: Ctx) -> Result<Number> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    let flows = parse_body::<UpdateFlowIds>(ctx.request().data.as_ref())?.validate()?;
    let current = store::get(ctx.state().db.writer(), scope.customer(), id).await?;
    check_flows(&ctx, current.customer_id, &flows).await?;
    let mut tx = ctx.state().outbox.begin().await?;
    let found = store::update_flows(&mut tx, id, &flows).await?;
    changed(tx, found, id).await
}

/// `PUT /v1/numbers/{id}/metadata`: sets the per-number switches.
pub async fn update_metadata(ctx: Ctx) -> Result<Number> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    let metadata = parse_body::<Metadata>(ctx.request().data.as_ref())?;
    store::get(ctx.state().db.writer(), scope.customer(), id).await?;
    let mut tx = ctx.state().outbox.begin().await?;
    let found = store::update_metadata(&mut tx, id, &metadata).await?;
    changed(tx, found, id).await
}

/// `DELETE /v1/numbers/{id}`: soft-deletes and answers the deleted number.
pub async fn delete(ctx: Ctx) -> Result<Number> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    let mut tx = ctx.state().outbox.begin().await?;
    let number = store::delete(&mut tx, scope.customer(), id).await?;
    tx.event("number_deleted", number.id, &number).await?;
    tx.commit().await?;
    Ok(number)
}

/// After an update in `tx`: 404 if the row vanished meanwhile, else the fresh row (read in
/// the transaction, so the caller sees its own write), committed with a `number_updated` event.
async fn changed(mut tx: OutboxTx<'_>, found: bool, id: Uuid) -> Result<Number> {
    if !found {
        return Err(Error::not_found("number"));
    }
    let number = store::get(&mut *tx, None, id).await?;
    tx.event("number_updated", number.id, &number).await?;
    tx.commit().await?;
    Ok(number)
}

/// Asks the flow service whether each non-nil flow exists for `customer`; a missing flow is
/// the caller's mistake (400 naming the field), any other failure passes through.
async fn check_flows(ctx: &Ctx, customer: Uuid, flows: &FlowIds) -> Result<()> {
    let bus = ctx.state().bus.for_request(ctx.request());
    for (field, flow) in flows.named() {
        let uri = format!("/v1/flows/{flow}?customer_id={customer}");
        match bus.call("flow", Method::Get, &uri, None).await {
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {
                return Err(Error::invalid_argument(
                    "INVALID_ARGUMENT",
                    format!("{field}: the flow {flow} does not exist"),
                ))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
