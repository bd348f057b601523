//! The fan-out hub: one per API process. It receives every event of every service through a
//! subscription of its own and hands each to the connections whose topics select it.
//!
//! Events are dispatched one at a time, in the order the subscription delivers them, so each
//! connection sees the events of a resource in publish order. A connection's queue is bounded;
//! when an event does not fit, the connection is a slow consumer: it is removed from the hub
//! and told to close, so a client that stops reading costs at most one full queue.

use super::credentials::{self, Effect};
use super::metrics::ws_metrics;
use super::topic::{Key, Scope, Topic};
use crate::auth::Via;
use async_trait::async_trait;
use axum::extract::ws::Utf8Bytes;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use voxbin_bus::{Bus, Consumer, Event, EventHandler};
use voxbin_core::Result;
use voxbin_svc_timeline::Subject;

/// Events a connection may have waiting before it counts as a slow consumer.
pub const QUEUE_CAPACITY: usize = 512;

/// Topics one connection may hold.
pub const MAX_TOPICS: usize = 100;

/// The hub of this process; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    table: Mutex<Table>,
    next_id: AtomicU64,
    /// Keeps the subscription alive as long as the hub.
    _subscription: Mutex<Option<Consumer>>,
}

/// The connections, and which of them hold topics of each scope (so an event is matched only
/// against the connections interested in its customer or agent, not against all of them).
#[derive(Default)]
struct Table {
    conns: HashMap<u64, Conn>,
    /// Scope -> connection id -> how many of its topics have that scope.
    by_scope: HashMap<Scope, HashMap<u64, usize>>,
}

impl Table {
    fn index(&mut self, id: u64, topic: &Topic, added: bool) {
        let ids = self.by_scope.entry(topic.scope).or_default();
        let count = ids.entry(id).or_default();
        match added {
            true => *count += 1,
            false => *count = count.saturating_sub(1),
        }
        if *count == 0 {
            ids.remove(&id);
        }
        if ids.is_empty() {
            self.by_scope.remove(&topic.scope);
        }
    }

    fn remove(&mut self, id: u64) -> Option<Conn> {
        let conn = self.conns.remove(&id)?;
        for topic in &conn.topics {
            self.index(id, topic, false);
        }
        Some(conn)
    }
}

struct Conn {
    /// The customer whose events it may receive; `None` for the super-admin (all of them).
    owner: Option<Uuid>,
    topics: Vec<Topic>,
    queue: mpsc::Sender<Utf8Bytes>,
    /// Cancelled when the hub dropped the connection for falling behind.
    evicted: CancellationToken,
    /// Whose credential it holds (customer, how it authenticated), once watched.
    credential: Option<(Uuid, Via)>,
    /// Cancelled when an event revoked its credential.
    revoked: CancellationToken,
    /// Woken when an event may have changed its credential.
    recheck: Arc<Notify>,
}

/// A connection's side of the hub: its queue of outgoing messages and its eviction signal.
pub struct Membership {
    /// The connection's id in the hub.
    pub id: u64,
    /// Messages to send, in order.
    pub queue: mpsc::Receiver<Utf8Bytes>,
    /// Cancelled when the connection fell behind and was dropped.
    pub evicted: CancellationToken,
    /// Cancelled when an event revoked the connection's credential (see
    /// [`Hub::watch_credential`]).
    pub revoked: CancellationToken,
    /// Woken when an event may have changed the connection's credential.
    pub recheck: Arc<Notify>,
    hub: Hub,
}

impl Drop for Membership {
    fn drop(&mut self) {
        if self.hub.inner.table.lock().remove(self.id).is_some() {
            ws_metrics().connections.add(&[], -1);
        }
    }
}

impl Hub {
    /// A hub fed by nothing (events come through [`Hub::dispatch`]).
    pub fn new() -> Hub {
        Hub {
            inner: Arc::new(Inner {
                table: Mutex::new(Table::default()),
                next_id: AtomicU64::new(1),
                _subscription: Mutex::new(None),
            }),
        }
    }

    /// A hub fed by a subscription of this process to every event of `publishers`.
    ///
    /// The subscription is volatile and unique to the process (`api-ws-<uuid>`): every API
    /// replica must see every event, since its clients may subscribe to anything, and a
    /// replica that goes away must leave no queue filling up behind it.
    pub async fn start(bus: Arc<dyn Bus>, publishers: &[&str]) -> Result<Hub> {
        let hub = Hub::new();
        let name = format!("api-ws-{}", Uuid::now_v7().simple());
        let feed = Arc::new(Feed(hub.clone()));
        let consumer = bus.subscribe_volatile(&name, publishers, feed).await?;
        *hub.inner._subscription.lock() = Some(consumer);
        Ok(hub)
    }

    /// Adds a connection that may receive `owner`'s events (all when `None`).
    pub fn join(&self, owner: Option<Uuid>) -> Membership {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        let evicted = CancellationToken::new();
        let revoked = CancellationToken::new();
        let recheck = Arc::new(Notify::new());
        let conn = Conn {
            owner,
            topics: Vec::new(),
            queue,
            evicted: evicted.clone(),
            credential: None,
            revoked: revoked.clone(),
            recheck: recheck.clone(),
        };
        self.inner.table.lock().conns.insert(id, conn);
        ws_metrics().connections.add(&[], 1);
        Membership {
            id,
            queue: rx,
            evicted,
            revoked,
            recheck,
            hub: self.clone(),
        }
    }

    /// Makes connection `id` hear of events about the credential it authenticated with
    /// (`customer`'s, presented `via`): see [`credentials::effect`].
    pub fn watch_credential(&self, id: u64, customer: Uuid, via: Via) {
        if let Some(conn) = self.inner.table.lock().conns.get_mut(&id) {
            conn.credential = Some((customer, via));
        }
    }

    /// Tells the connections whose credential `event` may have revoked or changed.
    fn credential_event(&self, event: &Event) {
        let table = self.inner.table.lock();
        for conn in table.conns.values() {
            let Some((customer, via)) = &conn.credential else {
                continue;
            };
            match credentials::effect(event, *customer, via) {
                Some(Effect::Revoked) => conn.revoked.cancel(),
                Some(Effect::Recheck) => conn.recheck.notify_one(),
                None => {}
            }
        }
    }

    /// Adds `topics` to connection `id`; `false` when it would hold more than [`MAX_TOPICS`].
    pub fn subscribe(&self, id: u64, topics: &[Topic]) -> bool {
        let mut table = self.inner.table.lock();
        let Some(conn) = table.conns.get_mut(&id) else {
            return false;
        };
        let mut new: Vec<Topic> = Vec::new();
        for t in topics {
            if !conn.topics.contains(t) && !new.contains(t) {
                new.push(t.clone());
            }
        }
        if conn.topics.len() + new.len() > MAX_TOPICS {
            return false;
        }
        conn.topics.extend(new.iter().cloned());
        for t in &new {
            table.index(id, t, true);
        }
        true
    }

    /// Removes `topics` from connection `id`.
    pub fn unsubscribe(&self, id: u64, topics: &[Topic]) {
        let mut table = self.inner.table.lock();
        let Some(conn) = table.conns.get_mut(&id) else {
            return;
        };
        let (gone, kept) = std::mem::take(&mut conn.topics)
            .into_iter()
            .partition(|t| topics.contains(t));
        conn.topics = kept;
        let gone: Vec<Topic> = gone;
        for t in &gone {
            table.index(id, t, false);
        }
    }

    /// Hands `event` to every connection that selects it; evicts those whose queue is full.
    pub fn dispatch(&self, event: &Event) {
        if credentials::about_credentials(&event.event_type) {
            self.credential_event(event);
        }
        let Some(subject) = Subject::of(&event.event_type, event.data.as_ref()) else {
            return;
        };
        let keys = Key::of(&subject);
        // Built lazily, once per key, and shared by every connection it goes to.
        let mut messages: Vec<Option<Utf8Bytes>> = vec![None; keys.len()];
        let mut table = self.inner.table.lock();
        // Connections holding a topic of one of the event's scopes, each once, in id order.
        let mut ids: Vec<u64> = keys
            .iter()
            .filter_map(|key| table.by_scope.get(&key.scope))
            .flat_map(|ids| ids.keys().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut evict = Vec::new();
        for id in ids {
            let Some(conn) = table.conns.get(&id) else {
                continue;
            };
            if conn.owner.is_some_and(|c| c != subject.customer_id) {
                continue;
            }
            let Some(k) = keys
                .iter()
                .position(|key| conn.topics.iter().any(|t| t.matches(key)))
            else {
                continue;
            };
            let message = messages[k]
                .get_or_insert_with(|| message(&keys[k], event))
                .clone();
            match conn.queue.try_send(message) {
                Ok(()) => ws_metrics().events.inc(&[]),
                Err(mpsc::error::TrySendError::Full(_)) => evict.push(id),
                // The connection is closing; its membership removes it.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        for id in evict {
            if let Some(conn) = table.remove(id) {
                tracing::info!(
                    connection = id,
                    "websocket client fell behind; disconnecting it"
                );
                conn.evicted.cancel();
                ws_metrics().slow_consumers.inc(&[]);
                ws_metrics().connections.add(&[], -1);
            }
        }
    }

    /// How many connections the hub holds.
    pub fn len(&self) -> usize {
        self.inner.table.lock().conns.len()
    }

    /// Whether the hub holds no connection.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

/// The text a client receives for `event` published under `key`.
fn message(key: &Key, event: &Event) -> Utf8Bytes {
    let body = json!({
        "type": event.event_type,
        "topic": key.to_string(),
        "data": event.data.clone().unwrap_or(Value::Null),
    });
    Utf8Bytes::from(body.to_string())
}

/// The hub as the handler of its subscription.
struct Feed(Hub);

#[async_trait]
impl EventHandler for Feed {
    async fn handle(&self, event: Event) -> Result<()> {
        self.0.dispatch(&event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Uuid = Uuid::from_u128(0xc1);
    const D: Uuid = Uuid::from_u128(0xd1);

    fn flow_event(customer: Uuid, n: u64) -> Event {
        let id = Uuid::from_u128(0xf000 + u128::from(n));
        Event::new(
            "flow_created",
            "flow-manager",
            json!({"id": id, "customer_id": customer, "n": n}),
        )
    }

    fn topic(t: String) -> Topic {
        Topic::parse(&t).unwrap()
    }

    fn next(m: &mut Membership) -> Option<Value> {
        let text = m.queue.try_recv().ok()?;
        Some(serde_json::from_str(text.as_str()).unwrap())
    }

    #[test]
    fn events_reach_subscribers_of_their_customer_in_order() {
        let hub = Hub::new();
        let mut mine = hub.join(Some(C));
        let mut other = hub.join(Some(D));
        assert!(hub.subscribe(mine.id, &[topic(format!("customer_id:{C}:flow:*"))]));
        // A topic naming another customer never delivers, even if it got into the list.
        assert!(hub.subscribe(other.id, &[topic(format!("customer_id:{C}:*:*"))]));
        for n in 0..3 {
            hub.dispatch(&flow_event(C, n));
        }
        for n in 0..3 {
            let got = next(&mut mine).unwrap();
            assert_eq!(got["type"], "flow_created");
            assert_eq!(got["data"]["n"], n);
            assert!(got["topic"].as_str().unwrap().starts_with("customer_id:"));
        }
        assert_eq!(next(&mut mine), None);
        assert_eq!(next(&mut other), None);
    }

    #[test]
    fn unsubscribed_topics_stop_delivering() {
        let hub = Hub::new();
        let mut m = hub.join(Some(C));
        let t = topic(format!("customer_id:{C}:*:*"));
        hub.subscribe(m.id, std::slice::from_ref(&t));
        hub.dispatch(&flow_event(C, 1));
        hub.unsubscribe(m.id, &[t]);
        hub.dispatch(&flow_event(C, 2));
        assert_eq!(next(&mut m).unwrap()["data"]["n"], 1);
        assert_eq!(next(&mut m), None);
        assert!(
            hub.inner.table.lock().by_scope.is_empty(),
            "index cleaned up"
        );
    }

    #[test]
    fn a_connection_that_falls_behind_is_evicted_and_its_queue_stays_bounded() {
        let hub = Hub::new();
        let slow = hub.join(Some(C));
        hub.subscribe(slow.id, &[topic(format!("customer_id:{C}:*:*"))]);
        for n in 0..(QUEUE_CAPACITY as u64 + 10) {
            hub.dispatch(&flow_event(C, n));
        }
        assert!(slow.evicted.is_cancelled());
        assert!(
            hub.inner.table.lock().by_scope.is_empty(),
            "index cleaned up"
        );
        assert_eq!(slow.queue.len(), QUEUE_CAPACITY);
        assert!(hub.is_empty());
        drop(slow);
        assert!(hub.is_empty());
    }

    #[test]
    fn agent_topics_deliver_only_the_owners_events() {
        let agent = Uuid::from_u128(0xa1);
        let call = |customer: Uuid| {
            let data =
                json!({"id": Uuid::from_u128(0xca11), "customer_id": customer, "owner_id": agent});
            Event::new("call_ringing", "call-manager", data)
        };
        let hub = Hub::new();
        let mut admin_of_d = hub.join(Some(D));
        let mut admin_of_c = hub.join(Some(C));
        for m in [&admin_of_d, &admin_of_c] {
            assert!(hub.subscribe(m.id, &[topic(format!("agent_id:{agent}:*:*"))]));
        }
        hub.dispatch(&call(C));
        let got = next(&mut admin_of_c).unwrap();
        assert_eq!(
            got["topic"],
            format!("agent_id:{agent}:call:{}", Uuid::from_u128(0xca11))
        );
        assert_eq!(
            next(&mut admin_of_d),
            None,
            "another customer's agent topic stays silent"
        );
    }

    #[test]
    fn topics_per_connection_are_limited() {
        let hub = Hub::new();
        let m = hub.join(Some(C));
        let many: Vec<Topic> = (0..=MAX_TOPICS as u128)
            .map(|i| topic(format!("customer_id:{C}:flow:{}", Uuid::from_u128(i + 1))))
            .collect();
        assert!(!hub.subscribe(m.id, &many));
        assert!(hub.subscribe(m.id, &many[..MAX_TOPICS]));
        // Topics already held do not count twice.
        assert!(hub.subscribe(m.id, &many[..1]));
    }

    #[tokio::test]
    async fn credential_events_revoke_or_recheck_the_connections_they_touch() {
        let hub = Hub::new();
        let (key, other_key) = (Uuid::from_u128(0x41), Uuid::from_u128(0x42));
        let doomed = hub.join(Some(C));
        let sibling = hub.join(Some(C));
        let stranger = hub.join(Some(D));
        hub.watch_credential(doomed.id, C, Via::AccessKey { id: key });
        hub.watch_credential(sibling.id, C, Via::AccessKey { id: other_key });
        hub.watch_credential(stranger.id, D, Via::AccessKey { id: key });
        let data = json!({"id": key, "customer_id": C});
        hub.dispatch(&Event::new("accesskey_deleted", "customer-manager", data));
        assert!(doomed.revoked.is_cancelled());
        assert!(!sibling.revoked.is_cancelled() && !stranger.revoked.is_cancelled());
        // The sibling was asked to check (a stored wake-up), the stranger was not.
        let woken = |m: &Membership| {
            let n = m.recheck.clone();
            async move {
                tokio::select! {
                    biased;
                    _ = n.notified() => true,
                    _ = std::future::ready(()) => false,
                }
            }
        };
        assert!(woken(&sibling).await);
        assert!(!woken(&stranger).await);
    }
}
