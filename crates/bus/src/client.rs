//! [`BusClient`]: how a service calls another one, in one line.
//!
//! It fills in what every request needs (the caller's publisher name, the target's queue, a
//! request id, a timeout) and turns error envelopes back into [`Error`] values, so a call reads
//! like a function call: `client.call_as::<Flow>("flow", Method::Get, &uri, None).await?`.

use crate::bus::Bus;
use crate::envelope::{Event, Method, Request, Response};
use crate::names::{publisher_name, request_queue};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use voxbin_core::{Error, ErrorKind, Result};

/// Calls services and publishes events over a [`Bus`] on behalf of one service.
#[derive(Clone)]
pub struct BusClient {
    bus: Arc<dyn Bus>,
    publisher: String,
    timeout: Duration,
    request_id: Option<String>,
}

impl BusClient {
    /// A client for `service` (e.g. `flow`, published as `flow-manager`) with a default timeout.
    pub fn new(bus: Arc<dyn Bus>, service: &str, timeout: Duration) -> Self {
        BusClient {
            bus,
            publisher: publisher_name(service),
            timeout,
            request_id: None,
        }
    }

    /// The bus underneath.
    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// The publisher name put on requests and events, e.g. `flow-manager`.
    pub fn publisher(&self) -> &str {
        &self.publisher
    }

    /// The request id put on requests, if one was set.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// A copy whose requests carry `request_id`, so one user request can be traced across services.
    pub fn with_request_id(&self, request_id: impl Into<String>) -> Self {
        BusClient {
            request_id: Some(request_id.into()),
            ..self.clone()
        }
    }

    /// A copy that carries on the request id of `request` (the one being handled), if any.
    pub fn for_request(&self, request: &Request) -> Self {
        BusClient {
            request_id: request.request_id.clone(),
            ..self.clone()
        }
    }

    /// A copy with another default timeout.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        BusClient {
            timeout,
            ..self.clone()
        }
    }

    /// A request from this client; without a request id set, a fresh one keeps calls traceable.
    pub fn request(&self, method: Method, uri: &str, data: Option<Value>) -> Request {
        let request_id = self
            .request_id
            .clone()
            .unwrap_or_else(|| voxbin_core::id::new_id().to_string());
        Request::new(method, uri)
            .with_publisher(self.publisher.clone())
            .with_data(data.unwrap_or(Value::Null))
            .with_request_id(request_id)
    }

    /// Calls `service` and returns its raw response, error envelopes included.
    pub async fn call_raw(
        &self,
        service: &str,
        method: Method,
        uri: &str,
        data: Option<Value>,
    ) -> Result<Response> {
        let request = self.request(method, uri, data);
        self.bus
            .rpc(&request_queue(service), request, self.timeout)
            .await
    }

    /// Calls `service`; an error envelope comes back as `Err`.
    pub async fn call(
        &self,
        service: &str,
        method: Method,
        uri: &str,
        data: Option<Value>,
    ) -> Result<Value> {
        self.call_raw(service, method, uri, data)
            .await?
            .into_result()
    }

    /// Calls `service` and decodes the answer as `T`; an answer that does not fit is a 500.
    pub async fn call_as<T: DeserializeOwned>(
        &self,
        service: &str,
        method: Method,
        uri: &str,
        data: Option<Value>,
    ) -> Result<T> {
        let value = self.call(service, method, uri, data).await?;
        serde_json::from_value(value).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                "INVALID_RESPONSE",
                format!("{service} answered {method} {uri} with an unexpected shape: {e}"),
            )
        })
    }

    /// Sends a request to `service` that is delivered after `delay`; no reply is awaited.
    pub async fn delay(
        &self,
        service: &str,
        method: Method,
        uri: &str,
        data: Option<Value>,
        delay: Duration,
    ) -> Result<()> {
        let request = self.request(method, uri, data);
        self.bus
            .delay(&request_queue(service), request, delay)
            .await
    }

    /// Publishes an event of `event_type` from this client's service.
    pub async fn publish_event(&self, event_type: &str, data: impl Serialize) -> Result<()> {
        let data = serde_json::to_value(data).map_err(|e| {
            Error::internal(format!("cannot serialise the {event_type} event: {e}"))
        })?;
        self.bus
            .publish(Event::new(event_type, self.publisher.clone(), data))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::event_handler_fn;
    use crate::router::{Ctx, Router};
    use crate::InProcBus;
    use serde::Deserialize;
    use serde_json::json;
    use tokio::sync::mpsc;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Flow {
        id: String,
        name: String,
    }

    async fn setup() -> (BusClient, crate::Consumer) {
        let bus: Arc<dyn Bus> = Arc::new(InProcBus::new());
        let router = Router::new("flow")
            .route(Method::Get, "/v1/flows/{id}", |ctx: Ctx| async move {
                Ok(json!({"id": ctx.param("id")?, "name": "main"}))
            })
            .route(Method::Get, "/v1/whoami", |ctx: Ctx| async move {
                Ok(json!({"publisher": ctx.publisher(), "request_id": ctx.request_id()}))
            })
            .route(Method::Delete, "/v1/flows/{id}", |_ctx| async {
                Err::<(), _>(Error::not_found("flow"))
            });
        let server = bus.serve(&router.queue(), Arc::new(router)).await.unwrap();
        (BusClient::new(bus, "call", Duration::from_secs(1)), server)
    }

    #[tokio::test]
    async fn call_as_decodes_the_answer() {
        let (client, _server) = setup().await;
        let flow: Flow = client
            .call_as("flow", Method::Get, "/v1/flows/f1", None)
            .await
            .unwrap();
        assert_eq!(
            flow,
            Flow {
                id: "f1".into(),
                name: "main".into()
            }
        );
        let wrong = client
            .call_as::<Vec<u8>>("flow", Method::Get, "/v1/flows/f1", None)
            .await;
        assert_eq!(wrong.unwrap_err().reason, "INVALID_RESPONSE");
    }

    #[tokio::test]
    async fn error_envelope_comes_back_as_err() {
        let (client, _server) = setup().await;
        let error = client
            .call("flow", Method::Delete, "/v1/flows/f1", None)
            .await
            .unwrap_err();
        assert_eq!(error, Error::not_found("flow"));
    }

    #[tokio::test]
    async fn publisher_and_request_id_travel_with_the_call() {
        let (client, _server) = setup().await;
        let traced = client.with_request_id("req-42");
        let answer = traced
            .call("flow-manager", Method::Get, "/v1/whoami", None)
            .await
            .unwrap();
        assert_eq!(
            answer,
            json!({"publisher": "call-manager", "request_id": "req-42"})
        );
        let handled = Request::new(Method::Get, "/x").with_request_id("req-7");
        let carried = client.for_request(&handled);
        let answer = carried
            .call("flow", Method::Get, "/v1/whoami", None)
            .await
            .unwrap();
        assert_eq!(answer["request_id"], "req-7");
        let fresh = client
            .call("flow", Method::Get, "/v1/whoami", None)
            .await
            .unwrap();
        assert!(fresh["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()));
    }

    #[tokio::test]
    async fn unserved_service_is_unavailable() {
        let (client, _server) = setup().await;
        let error = client
            .call("nobody", Method::Get, "/v1/ping", None)
            .await
            .unwrap_err();
        assert_eq!(error.reason, crate::errors::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn publish_event_comes_from_the_client_s_service() {
        let (client, _server) = setup().await;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _sub = client
            .bus()
            .subscribe(
                "flow-manager",
                &["call-manager"],
                event_handler_fn(move |event: Event| {
                    let _ = tx.send(event);
                    async { Ok(()) }
                }),
            )
            .await
            .unwrap();
        client
            .publish_event("call_created", json!({"id": "c1"}))
            .await
            .unwrap();
        let event = rx.recv().await.unwrap();
        assert_eq!(
            event,
            Event::new("call_created", "call-manager", json!({"id": "c1"}))
        );
    }
}
