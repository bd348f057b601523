//! What a consumer plugs into the bus: a [`Handler`] answers requests, an [`EventHandler`]
//! reacts to events.
//!
//! [`handle_request`] and [`handle_event`] wrap a call to either so that a panicking handler
//! becomes a 500 answer or a log line instead of a dead consumer; every adapter uses them.

use crate::envelope::{Event, Request, Response};
use crate::errors;
use async_trait::async_trait;
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use voxbin_core::Result;

/// Answers the RPC requests of a queue.
#[async_trait]
pub trait Handler: Send + Sync {
    /// Handles one request; errors are answered as error envelopes.
    async fn handle(&self, request: Request) -> Response;
}

/// Reacts to the events of a subscription.
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Handles one event; an error is logged with the event type.
    async fn handle(&self, event: Event) -> Result<()>;

    /// Most events this handler takes at once through [`EventHandler::handle_batch`]; 1 (the
    /// default) hands them over one by one.
    fn batch_size(&self) -> usize {
        1
    }

    /// Handles events that were waiting together, in order (an in-process subscriber is handed
    /// up to [`EventHandler::batch_size`] of them); by default one by one. A handler that stores
    /// several in one statement overrides it; an error is logged for the whole batch.
    async fn handle_batch(&self, events: Vec<Event>) -> Result<()> {
        for event in events {
            self.handle(event).await?;
        }
        Ok(())
    }
}

struct FnHandler<F>(F);

#[async_trait]
impl<F, Fut> Handler for FnHandler<F>
where
    F: Fn(Request) -> Fut + Send + Sync,
    Fut: Future<Output = Response> + Send + 'static,
{
    async fn handle(&self, request: Request) -> Response {
        (self.0)(request).await
    }
}

struct FnEventHandler<F>(F);

#[async_trait]
impl<F, Fut> EventHandler for FnEventHandler<F>
where
    F: Fn(Event) -> Fut + Send + Sync,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    async fn handle(&self, event: Event) -> Result<()> {
        (self.0)(event).await
    }
}

/// A [`Handler`] from an async closure.
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn Handler>
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// An [`EventHandler`] from an async closure.
pub fn event_handler_fn<F, Fut>(f: F) -> Arc<dyn EventHandler>
where
    F: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    Arc::new(FnEventHandler(f))
}

/// Runs `handler` on `request`; a panic becomes a 500 `INTERNAL` error envelope.
pub async fn handle_request(handler: &dyn Handler, request: Request) -> Response {
    let method = request.method;
    let uri = request.uri.clone();
    // AssertUnwindSafe: after a panic we only build a fresh response; no state of the handler
    // is observed by this frame.
    match AssertUnwindSafe(handler.handle(request))
        .catch_unwind()
        .await
    {
        Ok(response) => response,
        Err(payload) => {
            tracing::error!(%method, %uri, panic = errors::panic_text(&*payload), "rpc handler panicked");
            Response::error(&errors::handler_panicked())
        }
    }
}

/// Runs `handler` on `events` taken together; an error or a panic is logged, never propagated.
pub async fn handle_events(handler: &dyn EventHandler, subscriber: &str, events: Vec<Event>) {
    let (event_type, publisher) = events
        .first()
        .map(|e| (e.event_type.clone(), e.publisher.clone()))
        .unwrap_or_default();
    let count = events.len();
    match AssertUnwindSafe(handler.handle_batch(events))
        .catch_unwind()
        .await
    {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(%event_type, %publisher, %subscriber, count, %error, "event handler failed on a batch")
        }
        Err(payload) => tracing::error!(
            %event_type,
            %publisher,
            %subscriber,
            count,
            panic = errors::panic_text(&*payload),
            "event handler panicked on a batch"
        ),
    }
}

/// Runs `handler` on `event`; an error or a panic is logged, never propagated.
pub async fn handle_event(handler: &dyn EventHandler, subscriber: &str, event: Event) {
    let event_type = event.event_type.clone();
    let publisher = event.publisher.clone();
    match AssertUnwindSafe(handler.handle(event)).catch_unwind().await {
        Ok(Ok(())) => {}
        // Durable retry with backoff (the outbox) comes in a later issue; for now we log.
        Ok(Err(error)) => {
            tracing::warn!(%event_type, %publisher, %subscriber, %error, "event handler failed")
        }
        Err(payload) => tracing::error!(
            %event_type,
            %publisher,
            %subscriber,
            panic = errors::panic_text(&*payload),
            "event handler panicked"
        ),
    }
}
