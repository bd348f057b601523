//! The webhook service: durable, signed, retried delivery of every event to customers'
//! webhook URIs.
//!
//! Pipeline: services write events to their outbox in the transaction of the change
//! (`voxbin_svc_kit::outbox`); relays publish them; this service subscribes durably to every
//! publisher ([`ingest`]) and writes one `webhook_deliveries` row per destination before the
//! event is acknowledged; the [`worker`] sends due rows over HTTP, one at a time per resource
//! in publish order (the event's outbox sequence, so replicas that ingested a resource's
//! events in another order still send them in order; a new row waits
//! [`ingest::ORDER_HOLD_MS`] for earlier events still being ingested elsewhere),
//! signed as [`signature`] describes, retried with exponential backoff and jitter
//! ([`backoff`]) until `webhook.max_retry_secs` after the event, then dead-lettered.
//! A process killed mid-delivery leaves its rows `delivering` with a lease; when the lease
//! runs out they are due again, so nothing is lost (a receiver may see an attempt twice: the
//! `X-VoIPBIN-Delivery` header is the same on every attempt of a delivery).
//!
//! RPCs: `GET /v1/webhook_deliveries`, `GET /v1/webhook_deliveries/{id}` ([`handlers`]).

#![warn(missing_docs)]

pub mod backoff;
pub mod handlers;
pub mod ingest;
pub mod model;
pub mod signature;
pub mod store;
pub mod target;
pub mod worker;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use voxbin_bus::{publisher_name, BusClient, Consumer, Handler, Method, Router};
use voxbin_core::Result;
use voxbin_svc_kit::Deps;

/// The service name: queue `bin-manager.webhook-manager.request`.
pub const SERVICE: &str = "webhook";

/// The services whose events customers receive (those without events yet cost a binding).
pub const PUBLISHERS: &[&str] = &[
    "customer",
    "agent",
    "flow",
    "call",
    "conference",
    "queue",
    "number",
    "route",
    "registrar",
    "storage",
    "tts",
    "transcribe",
    "campaign",
    "message",
    "billing",
    "tag",
    "ai",
];

/// How long a customer lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The bus handler of the webhook service; also starts, in the background, its event
/// subscription and delivery worker for the life of the process.
pub fn handler(deps: Deps) -> Arc<dyn Handler> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            let deps = deps.clone();
            runtime.spawn(async move {
                let mut pause = Duration::from_millis(200);
                loop {
                    match start(&deps).await {
                        Ok(pipeline) => {
                            // Runs until the process ends.
                            pipeline.worker_done().await;
                            return;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "webhook service cannot subscribe yet; retrying");
                            tokio::time::sleep(pause).await;
                            pause = (pause * 2).min(Duration::from_secs(10));
                        }
                    }
                }
            });
        }
        Err(_) => tracing::error!("no async runtime: webhook deliveries are not started"),
    }
    routes(&deps)
}

/// The RPC routes alone.
pub fn routes(deps: &Deps) -> Arc<dyn Handler> {
    Arc::new(
        Router::with_state(
            SERVICE,
            handlers::State {
                db: deps.db.clone(),
            },
        )
        .route(Method::Get, "/v1/webhook_deliveries", handlers::list)
        .route(Method::Get, "/v1/webhook_deliveries/{id}", handlers::get),
    )
}

/// The running subscription and worker; dropping it stops both.
pub struct Pipeline {
    _consumer: Consumer,
    worker: tokio::task::JoinHandle<()>,
}

impl Pipeline {
    /// Waits for the worker (it only ends when the runtime does, or on a panic).
    async fn worker_done(mut self) {
        let _ = (&mut self.worker).await;
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.worker.abort();
    }
}

/// Subscribes to every publisher and starts the delivery worker; events published from
/// now on are delivered (and rows left by an earlier process are sent).
pub async fn start(deps: &Deps) -> Result<Pipeline> {
    let targets = target::Targets::new(
        BusClient::new(deps.bus.clone(), SERVICE, LOOKUP_TIMEOUT),
        deps.cache.clone(),
    );
    let wake = worker::Wake::default();
    let worker = Arc::new(worker::Worker::new(
        deps.db.clone(),
        targets.clone(),
        &deps.config.webhook,
        wake.clone(),
    ));
    let ingest = Arc::new(ingest::Ingest {
        db: deps.db.clone(),
        targets,
        wake,
    });
    let publishers: Vec<String> = PUBLISHERS.iter().map(|p| publisher_name(p)).collect();
    let names: Vec<&str> = publishers.iter().map(String::as_str).collect();
    let consumer = deps
        .bus
        .subscribe(&publisher_name(SERVICE), &names, ingest)
        .await?;
    Ok(Pipeline {
        _consumer: consumer,
        worker: tokio::spawn(worker.run()),
    })
}
