//! Commands to the media node holding a call's leg, in the media role's bus protocol (see the
//! `voxbin-svc-media` crate docs): requests to the node's own queue
//! `bin-manager.media-manager.request.<node_id>`, `originate` on the shared queue.

use std::time::Duration;

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::{request_queue, BusClient, Method};
use voxbin_core::{Error, Result};

/// The bus service name of the media role.
pub const MEDIA: &str = "media";

/// How long a media command may take to be answered (operations answer at once).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The request queue of media node `node_id`.
pub fn node_queue(node_id: &str) -> String {
    format!("{}.{node_id}", request_queue(MEDIA))
}

/// Sends `POST /v1/legs/{leg}/{verb}` with `body` to `node_id`; the node's answer.
pub async fn command(
    bus: &BusClient,
    node_id: &str,
    leg: Uuid,
    verb: &str,
    body: Value,
) -> Result<Value> {
    if node_id.is_empty() {
        return Err(Error::invalid_argument(
            "NO_MEDIA",
            "the call has no media leg to act on",
        ));
    }
    let uri = format!("/v1/legs/{leg}/{verb}");
    let request = bus.request(Method::Post, &uri, Some(body));
    bus.bus()
        .rpc(&node_queue(node_id), request, COMMAND_TIMEOUT)
        .await?
        .into_result()
}

/// Whether leg `leg` still exists on `node_id` (`Ok(false)` when the node says 404).
pub async fn leg_exists(bus: &BusClient, node_id: &str, leg: Uuid) -> Result<bool> {
    let request = bus.request(Method::Get, &format!("/v1/legs/{leg}"), None);
    let answer = bus
        .bus()
        .rpc(&node_queue(node_id), request, COMMAND_TIMEOUT)
        .await?
        .into_result();
    match answer {
        Ok(_) => Ok(true),
        Err(e) if e.kind == voxbin_core::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// What `originate` needs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Dial {
    /// The leg id (= the call id).
    pub id: Uuid,
    /// Request-URI.
    pub uri: String,
    /// `host:port` to send the INVITE to, when not the URI's host.
    pub proxy: Option<String>,
    /// From header value.
    pub from: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Digest credentials.
    pub auth: Option<(String, String)>,
}

/// Places an outgoing leg on any media node; the node's id.
pub async fn originate(bus: &BusClient, dial: &Dial) -> Result<String> {
    originate_on(bus, None, dial).await
}

/// Places an outgoing leg on media node `node` (any node when `None`); the node's id.
pub async fn originate_on(bus: &BusClient, node: Option<&str>, dial: &Dial) -> Result<String> {
    let mut body = json!({"id": dial.id, "uri": dial.uri, "from": dial.from});
    if let Some(p) = &dial.proxy {
        body["proxy"] = json!(p);
    }
    if !dial.headers.is_empty() {
        let headers: serde_json::Map<String, Value> = dial
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        body["headers"] = Value::Object(headers);
    }
    if let Some((user, pass)) = &dial.auth {
        body["auth_username"] = json!(user);
        body["auth_password"] = json!(pass);
    }
    let answer = match node {
        Some(node) => {
            let request = bus.request(Method::Post, "/v1/legs", Some(body));
            bus.bus()
                .rpc(&node_queue(node), request, COMMAND_TIMEOUT)
                .await?
                .into_result()?
        }
        None => {
            bus.with_timeout(COMMAND_TIMEOUT)
                .call(MEDIA, Method::Post, "/v1/legs", Some(body))
                .await?
        }
    };
    answer
        .get("node_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Error::internal("the media node did not say which node took the call"))
}
