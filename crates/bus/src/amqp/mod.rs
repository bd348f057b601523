//! The RabbitMQ bus: every pattern of [`Bus`] over AMQP 0-9-1, for the distributed shape.
//!
//! Names and envelopes are VoIPBIN's; the delivery guarantees are stronger:
//!
//! - RPC ([`rpc`]): request queues `bin-manager.<service>-manager.request` are durable quorum
//!   queues shared by the replicas of a role (competing consumers, prefetch 10). A request is
//!   acked only after its handler finished and the reply was confirmed, so one held by a server
//!   that dies is redelivered to another. Replies travel to a per-process exclusive reply queue
//!   and are matched by correlation id; every call has a timeout and late replies are dropped.
//!   A request to a queue that does not exist fails at once with `SERVICE_UNAVAILABLE`; one to
//!   a queue that exists but has no consumer times out with `RPC_TIMEOUT` and expires unhandled.
//! - Breaker ([`breaker`]): per target queue, 5 consecutive failures (timeouts, unroutable
//!   requests, broker errors) open it for 30 s (`CIRCUIT_OPEN`), then one probe goes through.
//! - Events ([`events`]): per-service fanout exchanges, durable per-subscriber quorum queues,
//!   type filters applied on receipt, acked after handling.
//! - Delays ([`delay`]): per-delay TTL queues dead-lettering into the target queue; no plugin.
//! - Every publish waits for the broker's confirm.
//! - Connection ([`link`]): one connection per bus; when it drops, a supervisor reconnects with
//!   capped backoff, and every consumer re-declares its topology and consumes again
//!   ([`consume`]). Calls made meanwhile wait for the new connection within their timeout.
//!
//! `close` stops consuming, waits (up to [`AmqpOptions::close_grace`]) for in-flight handlers to
//! reply and ack, then closes the connection. Dropping every handle of the bus closes the
//! connection at once without waiting: what was in flight is redelivered, as after a crash.

mod breaker;
mod consume;
mod delay;
mod events;
mod link;
mod rpc;

use crate::bus::Bus;
use crate::consumer::Consumer;
use crate::envelope::{Event, Request, Response};
use crate::errors;
use crate::handler::{EventHandler, Handler};
use crate::names::{event_exchange, subscribe_queue};
use async_trait::async_trait;
use breaker::{Admit, Breaker};
use consume::{drive, Pump, Start};
use events::Filters;
use link::{establish, short, supervise, Link};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use voxbin_core::{Error, Result};

/// Tuning of the RabbitMQ bus; the defaults suit production.
#[derive(Debug, Clone)]
pub struct AmqpOptions {
    /// Unacked messages a consumer may hold, i.e. requests one server runs in parallel.
    pub prefetch: u16,
    /// How long connecting (and a first `serve` or `subscribe`) may take.
    pub connect_timeout: Duration,
    /// The first pause between reconnection attempts; it doubles up to `reconnect_max`.
    pub reconnect_min: Duration,
    /// The longest pause between reconnection attempts.
    pub reconnect_max: Duration,
    /// Consecutive failures of one target that open its circuit breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker refuses calls before letting one probe through.
    pub breaker_open_for: Duration,
    /// Deliveries of one message before a quorum queue drops it (`x-delivery-limit`; 0: none).
    ///
    /// Part of every queue's arguments: all processes sharing a broker must agree on it.
    pub delivery_limit: u32,
    /// How long the broker may take to confirm an event or a delayed message.
    pub publish_timeout: Duration,
    /// How long `close` waits for in-flight handlers before closing the connection.
    pub close_grace: Duration,
    /// A delayed message that found no server for longer than this is dropped when one appears.
    pub max_hold: Duration,
    /// The connection name shown by the broker's management tools.
    pub connection_name: Option<String>,
}

impl Default for AmqpOptions {
    fn default() -> Self {
        AmqpOptions {
            prefetch: 10,
            connect_timeout: Duration::from_secs(5),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(2),
            breaker_threshold: 5,
            breaker_open_for: Duration::from_secs(30),
            delivery_limit: 5,
            publish_timeout: Duration::from_secs(5),
            close_grace: Duration::from_secs(10),
            max_hold: Duration::from_secs(60),
            connection_name: None,
        }
    }
}

/// The bus over a RabbitMQ broker; clones share one connection.
#[derive(Clone)]
pub struct AmqpBus {
    handle: Arc<Handle>,
}

/// Owned by the bus handles only: dropping the last one stops the supervisor.
struct Handle {
    core: Arc<Core>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.core.stopped.cancel();
    }
}

/// What the bus, its supervisor and its consumers share.
pub(crate) struct Core {
    options: AmqpOptions,
    /// The url with credentials: only ever handed to the client library.
    url: String,
    /// `host:port` of the broker, for messages.
    target: String,
    /// The live link, `None` while reconnecting.
    link: watch::Sender<Option<Arc<Link>>>,
    /// Callers waiting for a reply, by correlation id.
    pending: Mutex<HashMap<String, oneshot::Sender<Response>>>,
    breakers: Mutex<HashMap<String, Breaker>>,
    /// Stop tokens and trackers of the consumers, for `close`.
    consumers: Mutex<Vec<(CancellationToken, TaskTracker)>>,
    /// Type filters per subscriber queue.
    subscriptions: Mutex<HashMap<String, Arc<Mutex<Filters>>>>,
    /// When this process last declared each delay bucket.
    delay_buckets: Mutex<HashMap<u64, std::time::Instant>>,
    /// Cancelled by `close`: no new work.
    closed: CancellationToken,
    /// Cancelled when the connection must go: after `close`, or when the bus is dropped.
    stopped: CancellationToken,
}

impl Core {
    fn not_connected(&self) -> Error {
        Error::unavailable(
            errors::BROKER_UNAVAILABLE,
            format!("not connected to the message broker at {}", self.target),
        )
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.is_cancelled() {
            Err(errors::bus_closed())
        } else {
            Ok(())
        }
    }

    /// Registers a consumer for `close`, forgetting stopped ones.
    fn register(&self, consumer: &Consumer) {
        let mut consumers = self.consumers.lock();
        consumers.retain(|(token, _)| !token.is_cancelled());
        consumers.push((consumer.token().clone(), consumer.tracker().clone()));
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl AmqpBus {
    /// Connects to the broker at `url` (`amqp://user:password@host:port/vhost`).
    ///
    /// Fails with 503 `BROKER_UNAVAILABLE` naming `host:port` (never the password) when the
    /// broker cannot be reached, and 400 `INVALID_AMQP_URL` for a malformed url.
    pub async fn connect(url: &str, options: AmqpOptions) -> Result<AmqpBus> {
        let target = link::target_of(url)?;
        let (link, _) = watch::channel(None);
        let core = Arc::new(Core {
            options,
            url: url.to_owned(),
            target,
            link,
            pending: Mutex::new(HashMap::new()),
            breakers: Mutex::new(HashMap::new()),
            consumers: Mutex::new(Vec::new()),
            subscriptions: Mutex::new(HashMap::new()),
            delay_buckets: Mutex::new(HashMap::new()),
            closed: CancellationToken::new(),
            stopped: CancellationToken::new(),
        });
        let first = establish(&core, 1).await?;
        core.link.send_replace(Some(first.clone()));
        tokio::spawn(supervise(core.clone(), first));
        Ok(AmqpBus {
            handle: Arc::new(Handle { core }),
        })
    }

    fn core(&self) -> &Arc<Core> {
        &self.handle.core
    }

    /// Subscribes `subscriber`'s queue (durable, or of this process only when `volatile`).
    async fn subscribe_with(
        &self,
        subscriber: &str,
        publishers: &[&str],
        event_types: &[&str],
        handler: Arc<dyn EventHandler>,
        volatile: bool,
    ) -> Result<Consumer> {
        let core = self.core().clone();
        core.check_open()?;
        if publishers.is_empty() {
            return Err(Error::invalid_argument(
                "NO_PUBLISHERS",
                format!("subscriber {subscriber} names no publisher to listen to"),
            ));
        }
        let queue = subscribe_queue(subscriber);
        short(&queue)?;
        let exchanges: Arc<[String]> = publishers.iter().map(|p| event_exchange(p)).collect();
        for exchange in exchanges.iter() {
            short(exchange)?;
        }
        let filters = core
            .subscriptions
            .lock()
            .entry(queue.clone())
            .or_default()
            .clone();
        filters.lock().bind(publishers, event_types);
        let queue: Arc<str> = queue.into();
        let start: Start = {
            let (core, queue) = (core.clone(), queue.clone());
            Box::new(move |link| {
                let (core, queue, exchanges) = (core.clone(), queue.clone(), exchanges.clone());
                Box::pin(async move {
                    events::start_subscription(&core, &link, &queue, &exchanges, volatile).await
                })
            })
        };
        let consumer = Consumer::new();
        let pump: Pump = {
            let stop = consumer.token().clone();
            let subscriber: Arc<str> = queue.clone();
            Box::new(move |_link, channel, stream| {
                Box::pin(events::pump_events(
                    subscriber.clone(),
                    filters.clone(),
                    handler.clone(),
                    stop.clone(),
                    channel,
                    stream,
                ))
            })
        };
        self.start_with(consumer, format!("subscriber {queue}"), start, pump)
            .await
    }

    /// Starts the driver of `consumer` and waits for its first start.
    async fn start_with(
        &self,
        consumer: Consumer,
        what: String,
        start: Start,
        pump: Pump,
    ) -> Result<Consumer> {
        let core = self.core().clone();
        let (first, started) = oneshot::channel();
        consumer.tracker().spawn(drive(
            core.clone(),
            consumer.token().clone(),
            first,
            start,
            pump,
            what,
        ));
        match tokio::time::timeout(core.options.connect_timeout, started).await {
            Ok(Ok(Ok(()))) => {
                core.register(&consumer);
                Ok(consumer)
            }
            Ok(Ok(Err(error))) => Err(error),
            _ => Err(core.not_connected()),
        }
    }
}

/// Settles the breaker of one call, also when the call is abandoned midway.
struct BreakerCall<'a> {
    core: &'a Core,
    queue: &'a str,
    probe: bool,
    settled: bool,
}

impl BreakerCall<'_> {
    fn settle(mut self, ok: bool) {
        self.settled = true;
        let options = &self.core.options;
        let opened = self
            .core
            .breakers
            .lock()
            .entry(self.queue.to_owned())
            .or_default()
            .record(
                ok,
                std::time::Instant::now(),
                options.breaker_threshold,
                options.breaker_open_for,
            );
        if opened {
            tracing::warn!(queue = self.queue, open_for = ?options.breaker_open_for, "circuit breaker opened");
        }
    }
}

impl Drop for BreakerCall<'_> {
    fn drop(&mut self) {
        // An abandoned probe must not leave the breaker waiting for it forever.
        if !self.settled && self.probe {
            if let Some(breaker) = self.core.breakers.lock().get_mut(self.queue) {
                *breaker = Breaker::Open {
                    until: std::time::Instant::now(),
                };
            }
        }
    }
}

#[async_trait]
impl Bus for AmqpBus {
    async fn rpc(&self, queue: &str, request: Request, timeout: Duration) -> Result<Response> {
        let core = self.core();
        core.check_open()?;
        short(queue)?;
        let admit = core
            .breakers
            .lock()
            .entry(queue.to_owned())
            .or_default()
            .admit(std::time::Instant::now());
        if admit == Admit::Refuse {
            return Err(errors::circuit_open(queue));
        }
        let call = BreakerCall {
            core,
            queue,
            probe: admit == Admit::Probe,
            settled: false,
        };
        let result = rpc::call(core, queue, request, timeout).await;
        call.settle(result.is_ok());
        result
    }

    async fn serve(&self, queue: &str, handler: Arc<dyn Handler>) -> Result<Consumer> {
        let core = self.core().clone();
        core.check_open()?;
        short(queue)?;
        let queue: Arc<str> = queue.into();
        let start: Start = {
            let (core, queue) = (core.clone(), queue.clone());
            Box::new(move |link| {
                let (core, queue) = (core.clone(), queue.clone());
                Box::pin(async move { rpc::start_serving(&core, &link, &queue).await })
            })
        };
        let consumer = Consumer::new();
        let server = rpc::Server {
            core: core.clone(),
            queue: queue.clone(),
            handler,
            stop: consumer.token().clone(),
            tracker: consumer.tracker().clone(),
        };
        let pump: Pump = Box::new(move |link, channel, stream| {
            Box::pin(server.clone().pump(link, channel, stream))
        });
        self.start_with(consumer, format!("server of {queue}"), start, pump)
            .await
    }

    async fn publish(&self, event: Event) -> Result<()> {
        self.core().check_open()?;
        events::publish(self.core(), &event).await
    }

    async fn subscribe_filtered(
        &self,
        subscriber: &str,
        publishers: &[&str],
        event_types: &[&str],
        handler: Arc<dyn EventHandler>,
    ) -> Result<Consumer> {
        self.subscribe_with(subscriber, publishers, event_types, handler, false)
            .await
    }

    async fn subscribe_volatile(
        &self,
        subscriber: &str,
        publishers: &[&str],
        handler: Arc<dyn EventHandler>,
    ) -> Result<Consumer> {
        self.subscribe_with(subscriber, publishers, &[], handler, true)
            .await
    }

    async fn delay(&self, queue: &str, request: Request, delay: Duration) -> Result<()> {
        self.core().check_open()?;
        delay::send(self.core(), queue, &request, delay).await
    }

    async fn ping(&self) -> Result<()> {
        let core = self.core();
        core.check_open()?;
        match &*core.link.borrow() {
            Some(link) if link.is_up() => Ok(()),
            _ => Err(core.not_connected()),
        }
    }

    async fn close(&self) {
        let core = self.core();
        core.closed.cancel();
        let consumers: Vec<_> = core.consumers.lock().drain(..).collect();
        for (token, tracker) in &consumers {
            token.cancel();
            tracker.close();
        }
        let in_flight = futures::future::join_all(consumers.iter().map(|(_, t)| t.wait()));
        if tokio::time::timeout(core.options.close_grace, in_flight)
            .await
            .is_err()
        {
            tracing::warn!(
                "handlers still busy after the close grace; closing the connection anyway"
            );
        }
        core.subscriptions.lock().clear();
        core.stopped.cancel();
    }
}
