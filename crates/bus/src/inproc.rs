//! The in-process bus: every pattern of [`Bus`] over tokio tasks and channels, for the embedded
//! shape of the platform (one process, no broker) and for tests.
//!
//! - RPC: servers of a queue take requests in turn (round robin); each request runs in its own
//!   task so a panicking handler becomes a 500 answer and the server keeps going.
//! - Events: each subscriber name owns a bounded queue that outlives its consumers (the
//!   in-process stand-in for a durable queue); consumers of one name pull from it in turn and
//!   each handles its events one at a time, in order.
//! - Delays: one timer task drives a [`Schedule`]. A message due while its queue has no server
//!   is held until a server appears; if it waited longer than [`InProcOptions::max_hold`] by
//!   then, it is dropped with a warning (a timer that late is stale), and at most
//!   [`InProcOptions::max_held`] messages wait per queue.

use crate::bus::Bus;
use crate::consumer::Consumer;
use crate::envelope::{Event, Request, Response};
use crate::errors;
use crate::handler::{handle_event, handle_events, handle_request, EventHandler, Handler};
use crate::names::publisher_name;
use crate::schedule::Schedule;
use crate::workqueue::WorkQueue;
use async_trait::async_trait;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use voxbin_core::{Error, Result};

/// Limits of the in-process bus.
#[derive(Debug, Clone)]
pub struct InProcOptions {
    /// Events a subscriber queue keeps while its consumers lag or are away; oldest dropped first.
    pub subscriber_backlog: usize,
    /// How long a due delayed message may wait for a server of its queue before it is dropped.
    pub max_hold: Duration,
    /// Due delayed messages held per queue without a server; oldest dropped first.
    pub max_held: usize,
}

impl Default for InProcOptions {
    fn default() -> Self {
        InProcOptions {
            subscriber_backlog: 100_000,
            max_hold: Duration::from_secs(60),
            max_held: 10_000,
        }
    }
}

/// The bus inside one process.
#[derive(Clone)]
pub struct InProcBus {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Cancelled by `close` (and on drop); also stops the timer task.
    closed: CancellationToken,
    timer_wake: Arc<Notify>,
    options: InProcOptions,
}

#[derive(Default)]
struct State {
    queues: HashMap<String, RpcQueue>,
    subscribers: HashMap<String, SubscriberQueue>,
    schedule: Schedule<Delayed>,
    held: HashMap<String, VecDeque<Held>>,
    timer_started: bool,
}

#[derive(Default)]
struct RpcQueue {
    servers: Vec<Server>,
    next: usize,
}

struct Server {
    handler: Arc<dyn Handler>,
    token: CancellationToken,
    tracker: TaskTracker,
}

/// The server chosen for one request.
struct Pick {
    handler: Arc<dyn Handler>,
    tracker: TaskTracker,
}

impl RpcQueue {
    /// The next live server in turn, forgetting stopped ones.
    fn pick(&mut self) -> Option<Pick> {
        self.servers.retain(|server| !server.token.is_cancelled());
        if self.servers.is_empty() {
            return None;
        }
        let server = &self.servers[self.next % self.servers.len()];
        self.next = self.next.wrapping_add(1);
        Some(Pick {
            handler: server.handler.clone(),
            tracker: server.tracker.clone(),
        })
    }
}

enum TypeFilter {
    All,
    Only(HashSet<String>),
}

struct SubscriberQueue {
    /// Publisher name -> accepted event types; the union of every subscribe() for this name.
    bindings: HashMap<String, TypeFilter>,
    queue: Arc<WorkQueue<Event>>,
}

impl SubscriberQueue {
    fn bind(&mut self, publishers: &[&str], event_types: &[&str]) {
        for publisher in publishers {
            let filter = self
                .bindings
                .entry(publisher_name(publisher))
                .or_insert_with(|| TypeFilter::Only(HashSet::new()));
            match filter {
                TypeFilter::All => {}
                TypeFilter::Only(_) if event_types.is_empty() => *filter = TypeFilter::All,
                TypeFilter::Only(types) => {
                    types.extend(event_types.iter().map(|t| (*t).to_owned()))
                }
            }
        }
    }

    fn accepts(&self, publisher: &str, event_type: &str) -> bool {
        match self.bindings.get(publisher) {
            Some(TypeFilter::All) => true,
            Some(TypeFilter::Only(types)) => types.contains(event_type),
            None => false,
        }
    }
}

struct Delayed {
    queue: String,
    request: Request,
}

struct Held {
    request: Request,
    since: Instant,
}

impl Default for InProcBus {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcBus {
    /// A bus with default limits.
    pub fn new() -> Self {
        Self::with_options(InProcOptions::default())
    }

    /// A bus with the given limits.
    pub fn with_options(options: InProcOptions) -> Self {
        InProcBus {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                closed: CancellationToken::new(),
                timer_wake: Arc::new(Notify::new()),
                options,
            }),
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.inner.closed.is_cancelled() {
            Err(errors::bus_closed())
        } else {
            Ok(())
        }
    }

    /// Starts the timer task on first use; it only holds a weak reference to the bus.
    fn ensure_timer(&self, state: &mut State) {
        if state.timer_started {
            return;
        }
        state.timer_started = true;
        tokio::spawn(run_timer(
            Arc::downgrade(&self.inner),
            self.inner.timer_wake.clone(),
            self.inner.closed.clone(),
        ));
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

impl Inner {
    /// Delivers every delayed message due at `now`; returns the next deadline.
    fn fire_due(&self, now: Instant) -> Option<Instant> {
        let mut state = self.state.lock();
        let State {
            queues,
            schedule,
            held,
            ..
        } = &mut *state;
        while let Some(Delayed { queue, request }) = schedule.pop_due(now) {
            match queues.get_mut(&queue).and_then(RpcQueue::pick) {
                Some(pick) => spawn_delivery(pick, &queue, request, None),
                None => self.hold(held, queue, request, now),
            }
        }
        schedule.next_deadline()
    }

    /// Keeps a due message until its queue gets a server.
    fn hold(
        &self,
        held: &mut HashMap<String, VecDeque<Held>>,
        queue: String,
        request: Request,
        now: Instant,
    ) {
        tracing::debug!(%queue, uri = %request.uri, "delayed message due without a server; holding it");
        let waiting = held.entry(queue).or_default();
        if waiting.len() >= self.options.max_held.max(1) {
            if let Some(dropped) = waiting.pop_front() {
                tracing::warn!(uri = %dropped.request.uri, "too many delayed messages wait for a server; dropped the oldest");
            }
        }
        waiting.push_back(Held {
            request,
            since: now,
        });
    }
}

/// Runs the request on the chosen server in its own task, answering `reply` if given.
fn spawn_delivery(
    pick: Pick,
    queue: &str,
    request: Request,
    reply: Option<oneshot::Sender<Response>>,
) {
    let Pick { handler, tracker } = pick;
    let queue = queue.to_owned();
    tracker.spawn(async move {
        let uri = request.uri.clone();
        let response = handle_request(&*handler, request).await;
        match reply {
            // The caller may have timed out and gone; nothing to do then.
            Some(reply) => {
                let _ = reply.send(response);
            }
            None if response.is_error() => tracing::warn!(
                %queue,
                %uri,
                status_code = response.status_code,
                "delayed request failed"
            ),
            None => {}
        }
    });
}

/// The single timer task: sleeps until the next deadline or a new message, then fires.
async fn run_timer(inner: Weak<Inner>, wake: Arc<Notify>, stop: CancellationToken) {
    loop {
        let next = match inner.upgrade() {
            Some(inner) => inner.fire_due(Instant::now()),
            None => return,
        };
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = wake.notified() => {}
            _ = sleep => {}
        }
    }
}

/// One subscription consumer: pulls events of its subscriber queue, one at a time.
async fn run_event_worker(
    queue: Arc<WorkQueue<Event>>,
    handler: Arc<dyn EventHandler>,
    stop: CancellationToken,
    subscriber: String,
) {
    loop {
        let event = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            event = queue.pop() => event,
        };
        let most = handler.batch_size();
        if most > 1 {
            let mut events = vec![event];
            queue.take_ready(most - 1, &mut events);
            handle_events(&*handler, &subscriber, events).await;
            continue;
        }
        handle_event(&*handler, &subscriber, event).await;
    }
    queue.pass_on();
}

#[async_trait]
impl Bus for InProcBus {
    async fn rpc(&self, queue: &str, request: Request, timeout: Duration) -> Result<Response> {
        self.check_open()?;
        let uri = request.uri.clone();
        let (reply, answer) = oneshot::channel();
        {
            let mut state = self.inner.state.lock();
            let pick = state
                .queues
                .get_mut(queue)
                .and_then(RpcQueue::pick)
                .ok_or_else(|| errors::service_unavailable(queue))?;
            spawn_delivery(pick, queue, request, Some(reply));
        }
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(response)) => Ok(response),
            // Only when the handler task was torn down, e.g. by a runtime shutdown.
            Ok(Err(_)) => Err(Error::unavailable(
                errors::SERVICE_UNAVAILABLE,
                format!("{queue} dropped {uri} without answering"),
            )),
            Err(_) => Err(errors::rpc_timeout(queue, &uri)),
        }
    }

    async fn serve(&self, queue: &str, handler: Arc<dyn Handler>) -> Result<Consumer> {
        self.check_open()?;
        let consumer = Consumer::new();
        let now = Instant::now();
        let mut state = self.inner.state.lock();
        let State { queues, held, .. } = &mut *state;
        let rpc_queue = queues.entry(queue.to_owned()).or_default();
        rpc_queue.servers.push(Server {
            handler,
            token: consumer.token().clone(),
            tracker: consumer.tracker().clone(),
        });
        // Messages that fell due while nobody served the queue go first, in their order.
        for Held { request, since } in held.remove(queue).unwrap_or_default() {
            if now.duration_since(since) > self.inner.options.max_hold {
                tracing::warn!(%queue, uri = %request.uri, "delayed message waited too long for a server; dropped");
            } else if let Some(pick) = rpc_queue.pick() {
                spawn_delivery(pick, queue, request, None);
            }
        }
        Ok(consumer)
    }

    async fn publish(&self, event: Event) -> Result<()> {
        self.check_open()?;
        let publisher = publisher_name(&event.publisher);
        let state = self.inner.state.lock();
        for (subscriber, subscription) in &state.subscribers {
            if !subscription.accepts(&publisher, &event.event_type) {
                continue;
            }
            if let Some(dropped) = subscription.queue.push(event.clone()) {
                tracing::warn!(
                    %subscriber,
                    event_type = %dropped.event_type,
                    "subscriber backlog full; dropped its oldest event"
                );
            }
        }
        Ok(())
    }

    async fn subscribe_filtered(
        &self,
        subscriber: &str,
        publishers: &[&str],
        event_types: &[&str],
        handler: Arc<dyn EventHandler>,
    ) -> Result<Consumer> {
        self.check_open()?;
        if publishers.is_empty() {
            return Err(Error::invalid_argument(
                "NO_PUBLISHERS",
                format!("subscriber {subscriber} names no publisher to listen to"),
            ));
        }
        let queue = {
            let mut state = self.inner.state.lock();
            let subscription = state
                .subscribers
                .entry(subscriber.to_owned())
                .or_insert_with(|| SubscriberQueue {
                    bindings: HashMap::new(),
                    queue: Arc::new(WorkQueue::new(self.inner.options.subscriber_backlog)),
                });
            subscription.bind(publishers, event_types);
            subscription.queue.clone()
        };
        let consumer = Consumer::new();
        consumer.tracker().spawn(run_event_worker(
            queue,
            handler,
            consumer.token().clone(),
            subscriber.to_owned(),
        ));
        Ok(consumer)
    }

    async fn delay(&self, queue: &str, request: Request, delay: Duration) -> Result<()> {
        self.check_open()?;
        let now = Instant::now();
        // A delay too large to represent means "practically never"; ~30 years will do.
        let at = now
            .checked_add(delay)
            .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 24 * 3600));
        {
            let mut state = self.inner.state.lock();
            state.schedule.push(
                at,
                Delayed {
                    queue: queue.to_owned(),
                    request,
                },
            );
            self.ensure_timer(&mut state);
        }
        self.inner.timer_wake.notify_one();
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        self.check_open()
    }

    async fn close(&self) {
        self.inner.closed.cancel();
        let discarded = {
            let mut state = self.inner.state.lock();
            let count =
                state.schedule.len() + state.held.values().map(VecDeque::len).sum::<usize>();
            state.schedule.clear();
            state.held.clear();
            // Registrations are useless once nothing new comes in; dropping them also breaks the
            // cycle bus -> handler -> client -> bus. In-flight work keeps what it holds.
            state.queues.clear();
            state.subscribers.clear();
            count
        };
        if discarded > 0 {
            tracing::info!(discarded, "bus closed; pending delayed messages discarded");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::{event_handler_fn, handler_fn};
    use crate::Method;
    use futures::FutureExt;
    use serde_json::{json, Value};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::sync::mpsc;
    use voxbin_core::ErrorKind;

    const Q: &str = "bin-manager.test-manager.request";
    const SECOND: Duration = Duration::from_secs(1);

    fn echo() -> Arc<dyn Handler> {
        handler_fn(|request: Request| async move {
            Response::ok(json!({"uri": request.uri, "data": request.data}))
        })
    }

    fn get(uri: &str) -> Request {
        Request::new(Method::Get, uri)
    }

    #[tokio::test]
    async fn rpc_round_trip() {
        let bus = InProcBus::new();
        let _server = bus.serve(Q, echo()).await.unwrap();
        let request = Request::new(Method::Post, "/v1/things").with_data(json!({"n": 1}));
        let response = bus.rpc(Q, request, SECOND).await.unwrap();
        assert_eq!(response.status_code, 200);
        assert_eq!(
            response.into_result().unwrap(),
            json!({"uri": "/v1/things", "data": {"n": 1}})
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rpc_times_out_with_rpc_timeout_when_the_handler_never_answers() {
        let bus = InProcBus::new();
        let _server = bus
            .serve(Q, handler_fn(|_| std::future::pending::<Response>()))
            .await
            .unwrap();
        let started = Instant::now();
        let error = bus
            .rpc(Q, get("/v1/slow"), Duration::from_millis(500))
            .await
            .unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_millis(500));
        assert_eq!(error.kind, ErrorKind::Unavailable);
        assert_eq!(error.reason, errors::RPC_TIMEOUT);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_hundred_concurrent_rpcs_each_get_their_own_answer() {
        let bus = InProcBus::new();
        let _server = bus
            .serve(
                Q,
                handler_fn(|request: Request| async move {
                    // Yield so that requests interleave instead of finishing one by one.
                    tokio::task::yield_now().await;
                    Response::ok(request.data.unwrap_or(Value::Null))
                }),
            )
            .await
            .unwrap();
        let calls = (0..200).map(|i| {
            let bus = bus.clone();
            async move {
                let request = Request::new(Method::Post, "/v1/echo").with_data(json!({"id": i}));
                (i, bus.rpc(Q, request, 5 * SECOND).await)
            }
        });
        for (i, answer) in futures::future::join_all(calls).await {
            assert_eq!(answer.unwrap().into_result().unwrap(), json!({"id": i}));
        }
    }

    #[tokio::test]
    async fn competing_servers_take_requests_in_turn() {
        let bus = InProcBus::new();
        let named =
            |name: &'static str| handler_fn(move |_| async move { Response::ok(json!(name)) });
        let _a = bus.serve(Q, named("a")).await.unwrap();
        let _b = bus.serve(Q, named("b")).await.unwrap();
        let mut served = Vec::new();
        for _ in 0..6 {
            served.push(
                bus.rpc(Q, get("/v1/x"), SECOND)
                    .await
                    .unwrap()
                    .into_result()
                    .unwrap(),
            );
        }
        assert_eq!(served, ["a", "b", "a", "b", "a", "b"].map(|n| json!(n)));
    }

    #[tokio::test]
    async fn stopped_server_no_longer_takes_requests() {
        let bus = InProcBus::new();
        let named =
            |name: &'static str| handler_fn(move |_| async move { Response::ok(json!(name)) });
        let a = bus.serve(Q, named("a")).await.unwrap();
        let _b = bus.serve(Q, named("b")).await.unwrap();
        a.shutdown().await;
        for _ in 0..3 {
            let answer = bus.rpc(Q, get("/v1/x"), SECOND).await.unwrap();
            assert_eq!(answer.into_result().unwrap(), json!("b"));
        }
    }

    #[tokio::test]
    async fn handler_error_travels_as_envelope_and_comes_back_as_the_error() {
        let bus = InProcBus::new();
        let _server = bus
            .serve(
                Q,
                handler_fn(|_| async { Response::error(&voxbin_core::Error::not_found("flow")) }),
            )
            .await
            .unwrap();
        let response = bus.rpc(Q, get("/v1/flows/x"), SECOND).await.unwrap();
        assert_eq!(response.status_code, 404);
        assert_eq!(response.data_type, "voipbin_error");
        assert_eq!(response.data.as_ref().unwrap()["reason"], "FLOW_NOT_FOUND");
        assert_eq!(
            response.into_result().unwrap_err(),
            voxbin_core::Error::not_found("flow")
        );
    }

    #[tokio::test]
    async fn panicking_handler_answers_500_and_the_server_survives() {
        let bus = InProcBus::new();
        let _server = bus
            .serve(
                Q,
                handler_fn(|request: Request| async move {
                    if request.uri == "/v1/boom" {
                        panic!("boom");
                    }
                    Response::ok(json!("fine"))
                }),
            )
            .await
            .unwrap();
        let response = bus.rpc(Q, get("/v1/boom"), SECOND).await.unwrap();
        assert_eq!(response.status_code, 500);
        assert_eq!(response.data_type, "voipbin_error");
        assert_eq!(response.into_result().unwrap_err().reason, errors::INTERNAL);
        let next = bus.rpc(Q, get("/v1/ok"), SECOND).await.unwrap();
        assert_eq!(next.into_result().unwrap(), json!("fine"));
    }

    #[tokio::test]
    async fn rpc_without_a_server_is_service_unavailable() {
        let bus = InProcBus::new();
        let error = bus.rpc(Q, get("/v1/x"), SECOND).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Unavailable);
        assert_eq!(error.reason, errors::SERVICE_UNAVAILABLE);
        // A server that went away leaves the queue unserved again.
        let server = bus.serve(Q, echo()).await.unwrap();
        drop(server);
        let error = bus.rpc(Q, get("/v1/x"), SECOND).await.unwrap_err();
        assert_eq!(error.reason, errors::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn closed_bus_refuses_new_work() {
        let bus = InProcBus::new();
        let _server = bus.serve(Q, echo()).await.unwrap();
        assert!(bus.ping().await.is_ok());
        bus.close().await;
        assert_eq!(bus.ping().await.unwrap_err().reason, errors::BUS_CLOSED);
        assert_eq!(
            bus.rpc(Q, get("/v1/x"), SECOND).await.unwrap_err().reason,
            errors::BUS_CLOSED
        );
        let event = Event::new("thing_created", "test-manager", Value::Null);
        assert_eq!(
            bus.publish(event).await.unwrap_err().reason,
            errors::BUS_CLOSED
        );
        let delayed = bus.delay(Q, get("/v1/x"), SECOND).await.unwrap_err();
        assert_eq!(delayed.reason, errors::BUS_CLOSED);
        assert_eq!(
            bus.serve(Q, echo()).await.unwrap_err().reason,
            errors::BUS_CLOSED
        );
    }

    #[tokio::test]
    async fn in_flight_request_completes_after_its_server_stops() {
        let bus = InProcBus::new();
        let (entered_tx, mut entered) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let gate = release.clone();
        let server = bus
            .serve(
                Q,
                handler_fn(move |_| {
                    let entered_tx = entered_tx.clone();
                    let gate = gate.clone();
                    async move {
                        let _ = entered_tx.send(());
                        gate.notified().await;
                        Response::ok(json!("done"))
                    }
                }),
            )
            .await
            .unwrap();
        let call = tokio::spawn({
            let bus = bus.clone();
            async move { bus.rpc(Q, get("/v1/x"), 5 * SECOND).await }
        });
        entered.recv().await.unwrap();
        server.stop();
        release.notify_one();
        assert_eq!(
            call.await.unwrap().unwrap().into_result().unwrap(),
            json!("done")
        );
        server.shutdown().await;
    }

    /// A server that reports the uri of every delayed request it receives.
    async fn recording_server(bus: &InProcBus) -> (Consumer, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let server = bus
            .serve(
                Q,
                handler_fn(move |request: Request| {
                    let _ = tx.send(request.uri);
                    async { Response::ok(Value::Null) }
                }),
            )
            .await
            .unwrap();
        (server, rx)
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<String>) -> Vec<String> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_messages_arrive_in_deadline_order_and_ties_in_send_order() {
        let bus = InProcBus::new();
        let (_server, mut received) = recording_server(&bus).await;
        let ms = Duration::from_millis;
        for (uri, delay) in [("/300", 300), ("/100", 100), ("/200", 200), ("/200b", 200)] {
            bus.delay(Q, get(uri), ms(delay)).await.unwrap();
        }
        tokio::time::sleep(ms(150)).await;
        assert_eq!(drain(&mut received), ["/100"]);
        tokio::time::sleep(ms(200)).await;
        assert_eq!(drain(&mut received), ["/200", "/200b", "/300"]);
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_message_waits_for_a_server_to_appear() {
        let bus = InProcBus::new();
        bus.delay(Q, get("/first"), Duration::from_millis(10))
            .await
            .unwrap();
        bus.delay(Q, get("/second"), Duration::from_millis(20))
            .await
            .unwrap();
        tokio::time::sleep(SECOND).await;
        let (_server, mut received) = recording_server(&bus).await;
        tokio::task::yield_now().await;
        assert_eq!(drain(&mut received), ["/first", "/second"]);
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_message_held_too_long_is_dropped() {
        let options = InProcOptions {
            max_hold: SECOND,
            ..InProcOptions::default()
        };
        let bus = InProcBus::with_options(options);
        bus.delay(Q, get("/stale"), Duration::from_millis(10))
            .await
            .unwrap();
        tokio::time::sleep(5 * SECOND).await;
        bus.delay(Q, get("/fresh"), Duration::from_millis(10))
            .await
            .unwrap();
        tokio::time::sleep(SECOND / 2).await;
        let (_server, mut received) = recording_server(&bus).await;
        tokio::task::yield_now().await;
        assert_eq!(drain(&mut received), ["/fresh"]);
    }

    /// A subscription handler that reports `(tag, event type)` for every event.
    fn recorder(
        tag: &'static str,
        tx: &mpsc::UnboundedSender<(&'static str, String)>,
    ) -> Arc<dyn EventHandler> {
        let tx = tx.clone();
        event_handler_fn(move |event: Event| {
            let _ = tx.send((tag, event.event_type));
            // Give the other consumers of the same name a turn, as a slower handler would.
            tokio::task::yield_now().map(Ok)
        })
    }

    async fn settle() {
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn events_fan_out_to_subscriber_names_and_compete_within_one() {
        let bus = InProcBus::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _flow = bus
            .subscribe("flow-manager", &["call-manager"], recorder("flow", &tx))
            .await
            .unwrap();
        let _q1 = bus
            .subscribe("queue-manager", &["call"], recorder("queue-1", &tx))
            .await
            .unwrap();
        let _q2 = bus
            .subscribe("queue-manager", &["call"], recorder("queue-2", &tx))
            .await
            .unwrap();
        let _other = bus
            .subscribe("agent-manager", &["agent"], recorder("agent", &tx))
            .await
            .unwrap();
        for i in 0..20 {
            let event = Event::new(format!("call_{i}"), "call-manager", json!({"i": i}));
            bus.publish(event).await.unwrap();
        }
        let mut flow = Vec::new();
        let mut queue = Vec::new();
        let mut per_consumer = HashMap::new();
        for _ in 0..40 {
            let (tag, event_type) = rx.recv().await.unwrap();
            match tag {
                "flow" => flow.push(event_type),
                "queue-1" | "queue-2" => {
                    *per_consumer.entry(tag).or_insert(0) += 1;
                    queue.push(event_type)
                }
                other => panic!("{other} got an event of another publisher"),
            }
        }
        settle().await;
        assert!(rx.try_recv().is_err(), "no event is handled twice");
        let all: Vec<String> = (0..20).map(|i| format!("call_{i}")).collect();
        assert_eq!(flow, all, "every event once, in order, for flow-manager");
        queue.sort_by_key(|t| t[5..].parse::<u32>().unwrap());
        assert_eq!(
            queue, all,
            "every event exactly once across queue-manager's consumers"
        );
        assert_eq!(
            per_consumer.len(),
            2,
            "both queue-manager consumers took a share"
        );
    }

    #[tokio::test]
    async fn type_filter_limits_what_a_subscriber_gets() {
        let bus = InProcBus::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let _sub = bus
            .subscribe_filtered(
                "webhook-manager",
                &["call"],
                &["call_hangup"],
                recorder("w", &tx),
            )
            .await
            .unwrap();
        for event_type in ["call_created", "call_hangup"] {
            bus.publish(Event::new(event_type, "call-manager", Value::Null))
                .await
                .unwrap();
        }
        settle().await;
        assert_eq!(rx.try_recv().unwrap(), ("w", "call_hangup".to_owned()));
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn subscriber_queue_keeps_events_while_no_consumer_runs() {
        let bus = InProcBus::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let first = bus
            .subscribe("flow-manager", &["call"], recorder("1", &tx))
            .await
            .unwrap();
        first.shutdown().await;
        bus.publish(Event::new("call_created", "call-manager", Value::Null))
            .await
            .unwrap();
        let _second = bus
            .subscribe("flow-manager", &["call"], recorder("2", &tx))
            .await
            .unwrap();
        settle().await;
        assert_eq!(rx.try_recv().unwrap(), ("2", "call_created".to_owned()));
    }

    #[tokio::test]
    async fn failing_or_panicking_event_handler_keeps_consuming() {
        let bus = InProcBus::new();
        let handled = Arc::new(AtomicUsize::new(0));
        let count = handled.clone();
        let _sub = bus
            .subscribe(
                "flow-manager",
                &["call"],
                event_handler_fn(move |event: Event| {
                    count.fetch_add(1, Ordering::SeqCst);
                    async move {
                        match event.event_type.as_str() {
                            "call_bad" => Err(voxbin_core::Error::internal("nope")),
                            "call_panic" => panic!("event boom"),
                            _ => Ok(()),
                        }
                    }
                }),
            )
            .await
            .unwrap();
        for event_type in ["call_bad", "call_panic", "call_ok"] {
            bus.publish(Event::new(event_type, "call-manager", Value::Null))
                .await
                .unwrap();
        }
        settle().await;
        assert_eq!(handled.load(Ordering::SeqCst), 3);
    }

    /// Records the sizes of the batches it is handed and the events in order.
    struct Batcher(parking_lot::Mutex<(Vec<usize>, Vec<String>)>);

    #[async_trait]
    impl EventHandler for Batcher {
        async fn handle(&self, event: Event) -> Result<()> {
            self.handle_batch(vec![event]).await
        }
        fn batch_size(&self) -> usize {
            4
        }
        async fn handle_batch(&self, events: Vec<Event>) -> Result<()> {
            let mut seen = self.0.lock();
            seen.0.push(events.len());
            seen.1.extend(events.into_iter().map(|e| e.event_type));
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_batching_subscriber_gets_waiting_events_together_in_order() {
        let bus = InProcBus::new();
        let batcher = Arc::new(Batcher(parking_lot::Mutex::default()));
        let sub = bus
            .subscribe("timeline-manager", &["call"], batcher.clone())
            .await
            .unwrap();
        // published while no consumer runs, so all ten wait together
        sub.shutdown().await;
        for n in 0..10 {
            bus.publish(Event::new(format!("call_{n}"), "call-manager", Value::Null))
                .await
                .unwrap();
        }
        let _sub = bus
            .subscribe("timeline-manager", &["call"], batcher.clone())
            .await
            .unwrap();
        settle().await;
        let seen = batcher.0.lock();
        assert_eq!(seen.0, vec![4, 4, 2]);
        let expected: Vec<String> = (0..10).map(|n| format!("call_{n}")).collect();
        assert_eq!(seen.1, expected);
    }
}
