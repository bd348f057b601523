//! Bus entry points of the timeline service: a resource's event history and an activeflow's
//! aggregated events, in the caller's scope.

use std::sync::Arc;

use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_store::{Db, Page};
use voxbin_svc_kit::{page_request, Scope};

use crate::model::PublicEvent;
use crate::store;

/// What the routes share.
pub struct State {
    /// The database.
    pub db: Arc<Db>,
}

type Ctx = voxbin_bus::Ctx<State>;

/// The resource types of `/timelines/{resource_type}/...` and their singular names.
const RESOURCE_TYPES: &[(&str, &str)] = &[
    ("calls", "call"),
    ("conferences", "conference"),
    ("flows", "flow"),
    ("activeflows", "activeflow"),
];

/// `GET /v1/timelines/{resource_type}/{resource_id}/events`: the resource's events, newest
/// first. 404 (as for a missing resource) when the caller's scope holds none of them.
pub async fn resource_events(ctx: Ctx) -> Result<Page<PublicEvent>> {
    let scope = Scope::from_ctx(&ctx)?;
    let plural = ctx.param("resource_type")?;
    let resource = RESOURCE_TYPES
        .iter()
        .find(|(p, _)| *p == plural)
        .map(|(_, singular)| *singular)
        .ok_or_else(|| {
            Error::invalid_argument(
                "INVALID_RESOURCE_TYPE",
                "resource_type must be one of calls, conferences, flows, activeflows.",
            )
        })?;
    let id = ctx.param_uuid("resource_id")?;
    let req = page_request(&ctx)?;
    let first_page = req.token.is_none();
    let page =
        store::list_by_resource(&ctx.state().db, scope.customer(), resource, id, &req).await?;
    if first_page && page.result.is_empty() {
        return Err(Error::not_found(resource));
    }
    Ok(public(page))
}

/// `GET /v1/aggregated-events?activeflow_id=|call_id=`: every event of one activeflow run
/// (the activeflow's and those of the resources it drove), newest first.
pub async fn aggregated_events(ctx: Ctx) -> Result<Page<PublicEvent>> {
    let scope = Scope::from_ctx(&ctx)?;
    let activeflow: Option<Uuid> = ctx.query_as("activeflow_id")?;
    let call: Option<Uuid> = ctx.query_as("call_id")?;
    let req = page_request(&ctx)?;
    let db = &ctx.state().db;
    let activeflow = match (activeflow, call) {
        (Some(id), None) => id,
        (None, Some(call)) => store::activeflow_of_call(db, scope.customer(), call)
            .await?
            .ok_or_else(|| Error::not_found("call"))?,
        _ => {
            return Err(Error::invalid_argument(
                "INVALID_ARGUMENT",
                "Exactly one of activeflow_id or call_id must be given.",
            ))
        }
    };
    let first_page = req.token.is_none();
    let page = store::list_by_activeflow(db, scope.customer(), activeflow, &req).await?;
    if first_page && page.result.is_empty() {
        return Err(Error::not_found("activeflow"));
    }
    Ok(public(page))
}

fn public(page: Page<crate::model::TimelineEvent>) -> Page<PublicEvent> {
    Page {
        result: page.result.iter().map(|e| e.public()).collect(),
        next_page_token: page.next_page_token,
    }
}
