//! The [`Bus`] trait: the only way one service reaches another.
//!
//! It is broker-neutral on purpose: the in-process bus and the RabbitMQ adapter implement the
//! same four patterns (RPC with timeouts, competing consumers on a named queue, publish and
//! subscribe per publisher with durable subscriber queues, delayed delivery), so service code
//! runs unchanged in both shapes of the platform.

use crate::consumer::Consumer;
use crate::envelope::{Event, Request, Response};
use crate::handler::{EventHandler, Handler};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use voxbin_core::Result;

/// RPC, events and delayed messages between services.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Sends `request` to `queue` and waits at most `timeout` for the response.
    ///
    /// Fails with 503 `RPC_TIMEOUT` when no reply arrives in time, `SERVICE_UNAVAILABLE` when
    /// nobody serves the queue and `BUS_CLOSED` after [`Bus::close`]. An error *answered* by the
    /// handler is an `Ok` response carrying the error envelope.
    async fn rpc(&self, queue: &str, request: Request, timeout: Duration) -> Result<Response>;

    /// Serves `queue` with `handler`; several servers of one queue compete for its requests.
    async fn serve(&self, queue: &str, handler: Arc<dyn Handler>) -> Result<Consumer>;

    /// Publishes `event` to every subscription listening to `event.publisher`.
    async fn publish(&self, event: Event) -> Result<()>;

    /// Subscribes the durable queue `subscriber` to all events of `publishers`.
    ///
    /// Consumers with the same subscriber name compete (each event is handled once per name);
    /// different names each receive every event.
    async fn subscribe(
        &self,
        subscriber: &str,
        publishers: &[&str],
        handler: Arc<dyn EventHandler>,
    ) -> Result<Consumer> {
        self.subscribe_filtered(subscriber, publishers, &[], handler)
            .await
    }

    /// Like [`Bus::subscribe`], limited to `event_types` (all types when empty).
    ///
    /// Filters of calls that share a subscriber name add up, as bindings of one queue do.
    async fn subscribe_filtered(
        &self,
        subscriber: &str,
        publishers: &[&str],
        event_types: &[&str],
        handler: Arc<dyn EventHandler>,
    ) -> Result<Consumer>;

    /// Subscribes a queue of this process only, to all events of `publishers`: it lives while
    /// this process consumes it and keeps nothing for it otherwise (a per-process fan-out such
    /// as the API's websocket hub). `subscriber` must be unique to the process.
    ///
    /// The default is [`Bus::subscribe`]; a broker adapter declares an exclusive, auto-deleted
    /// queue instead of a durable one, so a process that dies leaves no queue behind.
    async fn subscribe_volatile(
        &self,
        subscriber: &str,
        publishers: &[&str],
        handler: Arc<dyn EventHandler>,
    ) -> Result<Consumer> {
        self.subscribe(subscriber, publishers, handler).await
    }

    /// Delivers `request` to the handler of `queue` after `delay`; nobody waits for a reply.
    async fn delay(&self, queue: &str, request: Request, delay: Duration) -> Result<()>;

    /// Checks that the bus can take work (for `/ready`).
    async fn ping(&self) -> Result<()>;

    /// Refuses new work from now on; consumers finish what they hold.
    async fn close(&self);
}
