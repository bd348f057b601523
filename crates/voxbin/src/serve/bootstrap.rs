//! First start of an embedded install: when no customer exists yet, create one with a
//! super-admin login and an access key, and show both once, so `voxbin serve` with no flags
//! leaves the operator able to call the API at once.

use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};
use voxbin_bus::{BusClient, Method};
use voxbin_store::Db;

const SETTING: &str = "bootstrap.customer_id";
/// Every permission bit, including project super-admin.
const ALL_PERMISSIONS: u64 = 0xffff;

/// What the banner shows about credentials.
pub enum Credentials {
    /// Made just now; the secrets are shown only this once.
    Created {
        customer_id: String,
        accesskey: String,
        username: String,
        password: String,
    },
    /// Made on an earlier start (or customers already existed).
    Existing,
}

/// Creates the first customer if there is none; safe to run on every start.
pub async fn ensure(db: &Db, bus: &BusClient) -> Result<Credentials, String> {
    let fail =
        |what: &str, e: voxbin_core::Error| format!("first-start set-up ({what}): {}", e.message);
    if db
        .get_setting(SETTING)
        .await
        .map_err(|e| fail("settings", e))?
        .is_some()
    {
        return Ok(Credentials::Existing);
    }
    let existing = bus
        .call("customer", Method::Get, "/v1/customers?page_size=1", None)
        .await
        .map_err(|e| fail("list customers", e))?;
    if existing["result"].as_array().is_some_and(|r| !r.is_empty()) {
        db.put_setting(SETTING, "existing")
            .await
            .map_err(|e| fail("settings", e))?;
        return Ok(Credentials::Existing);
    }
    let customer = bus
        .call(
            "customer",
            Method::Post,
            "/v1/customers",
            Some(json!({ "name": "default", "detail": "created at first start" })),
        )
        .await
        .map_err(|e| fail("customer", e))?;
    let customer_id = text(&customer, "id");
    let password = Alphanumeric.sample_string(&mut rand::rng(), 20);
    bus.call(
        "agent",
        Method::Post,
        "/v1/agents",
        Some(json!({
            "customer_id": customer_id, "username": "admin", "password": password,
            "name": "Administrator", "permission": ALL_PERMISSIONS,
        })),
    )
    .await
    .map_err(|e| fail("admin login", e))?;
    let key = bus
        .call(
            "customer",
            Method::Post,
            &format!("/v1/accesskeys?customer_id={customer_id}"),
            Some(json!({ "name": "bootstrap", "detail": "created at first start" })),
        )
        .await
        .map_err(|e| fail("access key", e))?;
    db.put_setting(SETTING, &customer_id)
        .await
        .map_err(|e| fail("settings", e))?;
    Ok(Credentials::Created {
        customer_id,
        accesskey: text(&key, "token"),
        username: "admin".into(),
        password,
    })
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
