//! The timeline service: per-resource event history from the event stream.
//!
//! A durable subscription (`bin-manager.timeline-manager.subscribe`) to every service's events
//! records each event that names a resource and its customer in `timeline_events`, once per
//! event even when the broker redelivers it. Bus routes read the history back in the caller's
//! scope: `GET /v1/timelines/{resource_type}/{resource_id}/events` and
//! `GET /v1/aggregated-events`. [`subject`] is how an event is tied to a resource, shared with
//! the websocket hub of the API.

mod handlers;
mod model;
mod recorder;
mod store;
pub mod subject;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use voxbin_bus::{request_queue, Consumer, Handler, Method, Router};
use voxbin_core::Result;
use voxbin_svc_kit::Deps;

pub use model::{dedupe_key, PublicEvent, TimelineEvent};
pub use recorder::Recorder;
pub use subject::Subject;

/// The service name: queue `bin-manager.timeline-manager.request`, publisher `timeline-manager`.
pub const SERVICE: &str = "timeline";

/// The bus handler of the timeline service (its read routes).
pub fn handler(deps: Deps) -> Arc<dyn Handler> {
    let state = handlers::State { db: deps.db };
    Arc::new(
        Router::with_state(SERVICE, state)
            .route(
                Method::Get,
                "/v1/timelines/{resource_type}/{resource_id}/events",
                handlers::resource_events,
            )
            .route(
                Method::Get,
                "/v1/aggregated-events",
                handlers::aggregated_events,
            ),
    )
}

/// Serves the read routes and records the events of `publishers`; stopping the returned
/// consumer stops both.
pub async fn start(deps: Deps, publishers: &[&str]) -> Result<Consumer> {
    let recorder = Arc::new(Recorder {
        db: deps.db.clone(),
    });
    let events = deps.bus.subscribe(SERVICE, publishers, recorder).await?;
    let bus = deps.bus.clone();
    let served = bus.serve(&request_queue(SERVICE), handler(deps)).await?;
    let stop = served.token().clone();
    tokio::spawn(async move {
        stop.cancelled().await;
        events.shutdown().await;
    });
    Ok(served)
}
