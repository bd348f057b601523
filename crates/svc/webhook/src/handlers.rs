//! Bus entry points: the deliveries a customer may look at.
//!
//! `GET /v1/webhook_deliveries?customer_id=&page_size=&page_token=&status=&resource_id=` lists
//! newest first; `GET /v1/webhook_deliveries/{id}` reads one. Another customer's delivery is
//! not found.

use std::sync::Arc;

use voxbin_core::{Error, Result};
use voxbin_store::{Db, Page};
use voxbin_svc_kit::{page_request, Scope};

use crate::model::{PublicDelivery, STATUSES};
use crate::store::{self, Filter};

/// What the routes share.
pub struct State {
    /// The service's database.
    pub db: Arc<Db>,
}

type Ctx = voxbin_bus::Ctx<State>;

/// A page of deliveries, newest first, filtered by `status` and `resource_id`.
pub async fn list(ctx: Ctx) -> Result<Page<PublicDelivery>> {
    let scope = Scope::from_ctx(&ctx)?;
    let req = page_request(&ctx)?;
    let status = match ctx.query("status").filter(|s| !s.is_empty()) {
        Some(s) if STATUSES.contains(&s) => Some(s.to_owned()),
        Some(s) => {
            return Err(Error::invalid_argument(
                "INVALID_ARGUMENT",
                format!("status {s:?} is not one of {}", STATUSES.join(", ")),
            ))
        }
        None => None,
    };
    let resource_id = ctx
        .query("resource_id")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if resource_id.as_ref().is_some_and(|r| r.len() > 64) {
        return Err(Error::invalid_argument(
            "INVALID_ARGUMENT",
            "resource_id is longer than 64 characters",
        ));
    }
    let filter = Filter {
        customer: scope.customer(),
        status,
        resource_id,
    };
    let db = &ctx.state().db;
    let rows = db.read(|pool| store::list(pool, &filter, &req)).await?;
    let page = Page::from_rows(rows, req.size, |d| (d.tm_create.clone(), d.id));
    Ok(Page {
        result: page.result.iter().map(|d| d.public()).collect(),
        next_page_token: page.next_page_token,
    })
}

/// One delivery.
pub async fn get(ctx: Ctx) -> Result<PublicDelivery> {
    let (scope, id) = (Scope::from_ctx(&ctx)?, ctx.param_uuid("id")?);
    let db = &ctx.state().db;
    let d = db
        .read(|pool| store::get(pool, scope.customer(), id))
        .await?;
    Ok(d.public())
}
