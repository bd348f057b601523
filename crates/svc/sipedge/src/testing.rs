//! Test fixtures: a stand-in for the registrar service on an in-process bus, and SIP messages.

use crate::directory::Directory;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;
use voxbin_bus::{Bus, BusClient, Consumer, Ctx, InProcBus, Method, Router};
use voxbin_core::Error;
use voxbin_sip::digest::{ha1, Algorithm};
use voxbin_sip::{parse_datagram, Message, Request};

/// The customer owning the fixtures.
pub const CUSTOMER: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
/// The extension's user name and password.
pub const EXT: (&str, &str) = ("1001", "s3cret");
/// The trunk's name, user name and password; it also admits 203.0.113.0/24.
pub const TRUNK: (&str, &str, &str) = ("pbx1", "pbx", "trunkpw");

/// The extensions' realm.
pub fn realm() -> String {
    format!("{CUSTOMER}.registrar.voxbin.local")
}

/// A bus serving the registrar's two internal routes with the fixtures, and a directory on it.
pub async fn directory() -> (Directory, Consumer) {
    let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
    let router = Router::new("registrar")
        .route(
            Method::Get,
            "/v1/extensions/by_username/{customer_id}/{username}",
            |ctx: Ctx| async move {
                let customer = ctx.param_uuid("customer_id")?;
                if customer != CUSTOMER || ctx.param("username")? != EXT.0 {
                    return Err(Error::not_found("extension"));
                }
                let realm = realm();
                Ok(json!({
                    "id": Uuid::from_u128(7), "customer_id": CUSTOMER, "extension": EXT.0,
                    "realm": realm,
                    "ha1_md5": ha1(Algorithm::Md5, EXT.0, &realm, EXT.1),
                    "ha1_sha256": ha1(Algorithm::Sha256, EXT.0, &realm, EXT.1),
                }))
            },
        )
        .route(
            Method::Get,
            "/v1/trunks/by_domain/{domain_name}",
            |ctx: Ctx| async move {
                let name = ctx.param("domain_name")?.to_string();
                if name != TRUNK.0 && name != format!("{}.trunk.voxbin.local", TRUNK.0) {
                    return Err(Error::not_found("trunk"));
                }
                let realm = format!("{}.trunk.voxbin.local", TRUNK.0);
                Ok(json!({
                    "id": Uuid::from_u128(8), "customer_id": CUSTOMER, "domain_name": TRUNK.0,
                    "realm": realm, "auth_types": ["basic", "ip"], "username": TRUNK.1,
                    "ha1_md5": ha1(Algorithm::Md5, TRUNK.1, &realm, TRUNK.2),
                    "ha1_sha256": ha1(Algorithm::Sha256, TRUNK.1, &realm, TRUNK.2),
                    "allowed_ips": ["203.0.113.0/24"],
                }))
            },
        );
    let consumer = bus.serve(&router.queue(), Arc::new(router)).await.unwrap();
    let client = BusClient::new(bus, "sipedge", Duration::from_secs(2));
    (Directory::new(client), consumer)
}

/// Parses a request written with `\n` line ends.
pub fn request(text: &str) -> Request {
    match parse_datagram(text.replace('\n', "\r\n").as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("not a request: {other:?}"),
    }
}
