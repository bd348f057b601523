//! Dial routes: the ordered list of (route, provider) pairs an outbound call to a number tries,
//! failing over down the list.
//!
//! The order is VoIPBIN's: the customer's routes for the number's country code, then the
//! customer's `all` routes, then the same two groups of the platform's default routes (owned by
//! customer `00000000-0000-0000-0000-000000000001`); within a group by `priority`, lower first
//! (ties by age). A provider appears once, at its first place, since retrying the same carrier
//! is pointless. Routes through deleted providers are skipped.
//!
//! Country codes (ITU E.164) form a prefix code, so "the number's country code" is whichever of
//! the number's first 1, 2 or 3 digits a route names; no code table is needed.

use serde::Serialize;
use uuid::Uuid;
use voxbin_bus::Ctx;
use voxbin_core::Result;
use voxbin_svc_kit::Scope;

use super::model::{Route, TARGET_ALL};
use super::store;
use crate::provider::model::Provider;
use crate::State;
use voxbin_svc_kit::body::invalid;

/// The customer whose routes are every customer's fallback.
pub const DEFAULT_ROUTES_CUSTOMER: Uuid = Uuid::from_u128(1);

/// One entry of the answer: the route's fields and its provider.
#[derive(Debug, Clone, Serialize)]
pub struct DialRoute {
    /// The route.
    #[serde(flatten)]
    pub route: Route,
    /// The provider the route goes through.
    pub provider: Provider,
}

/// The digits of an E.164 number (`+` optional): 1 to 15 digits, not starting with 0.
fn e164_digits(target: &str) -> Result<&str> {
    let digits = target.strip_prefix('+').unwrap_or(target);
    let ok = !digits.is_empty()
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(digits)
    } else {
        Err(invalid(
            "target",
            "must be an E.164 number such as +821012345678",
        ))
    }
}

/// Orders and de-duplicates candidate routes for `customer` as the module doc says.
pub fn order(customer: Uuid, mut rows: Vec<(Route, Provider)>) -> Vec<DialRoute> {
    rows.sort_by(|(a, _), (b, _)| {
        let rank = |r: &Route| (r.customer_id != customer, r.target == TARGET_ALL);
        (rank(a), a.priority, &a.tm_create, a.id).cmp(&(rank(b), b.priority, &b.tm_create, b.id))
    });
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for (route, provider) in rows {
        if seen.contains(&provider.id) {
            continue;
        }
        seen.push(provider.id);
        out.push(DialRoute { route, provider });
    }
    out
}

/// `GET /v1/dialroutes?customer_id=<cid>&target=<e164>` (internal): the routes to try, in order.
pub async fn list(ctx: Ctx<State>) -> Result<Vec<DialRoute>> {
    let customer = Scope::from_ctx(&ctx)?
        .customer()
        .ok_or_else(|| invalid("customer_id", "is required"))?;
    let target = ctx
        .query("target")
        .ok_or_else(|| invalid("target", "is required"))?;
    let digits = e164_digits(target)?;
    let mut targets: Vec<String> = (1..=3.min(digits.len()))
        .map(|n| digits[..n].to_string())
        .collect();
    targets.push(TARGET_ALL.to_string());
    let mut customers = vec![customer];
    if customer != DEFAULT_ROUTES_CUSTOMER {
        customers.push(DEFAULT_ROUTES_CUSTOMER);
    }
    let rows = store::with_providers(ctx.state().deps.db.writer(), &customers, &targets).await?;
    Ok(order(customer, rows))
}
