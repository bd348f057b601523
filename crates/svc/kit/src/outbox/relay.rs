//! The relay: one task per (database, publisher) in a process moves committed outbox rows to
//! the bus, oldest first.
//!
//! Several processes may run the same service: a lease row per publisher lets one relay at a
//! time publish, so the events of a publisher (and so of each of its resources) leave in commit
//! order. A relay wakes when its process committed events and polls as a fallback, which also
//! picks up rows left by a process that died, and leases that ran out.
//!
//! After publishing, rows are deleted when the bus is durable (RabbitMQ confirmed them into
//! durable queues). The in-process bus keeps events in memory until its subscribers handled
//! them, so there rows are stamped `published_ms` and kept for [`KEEP`]; a relay that starts in
//! a new process publishes the rows of the last [`KEEP`] again before anything new, so events
//! a killed process had handed to its bus but not yet handled are not lost (subscribers see
//! them twice; the webhook service drops repeats).
//!
//! Cost under load: a woken relay waits [`GATHER`] so that the commits of that moment leave in
//! one round, skips wake-ups for rows an earlier round already took, runs a round on one
//! connection, and renews its lease only when half of it is gone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Notify;
use uuid::Uuid;
use voxbin_bus::{Bus, Event};
use voxbin_core::{Error, Result};
use voxbin_store::sqlx::AnyConnection;
use voxbin_store::{map_db_error, Db};

use super::store::{self, Row};
use crate::Deps;

/// Rows published per round.
const BATCH: i64 = 200;

/// How long a lease holds without renewal; a relay renews it every round.
const LEASE: Duration = Duration::from_secs(10);

/// Pause after a failed round (bus or database down) before the next try.
const RETRY: Duration = Duration::from_millis(500);

/// How long published rows are kept (and replayed by a new process) over a non-durable bus.
pub const KEEP: Duration = Duration::from_secs(300);

/// How often kept rows older than [`KEEP`] are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How long a woken relay waits for more commits before its round.
pub const GATHER: Duration = Duration::from_millis(2);

/// How commits reach a relay: a count of commits since its last round began, and a wake-up.
#[derive(Default)]
pub(crate) struct Signal {
    committed: AtomicU64,
    wake: Notify,
}

impl Signal {
    /// Events were committed: count them and wake the relay.
    pub(crate) fn committed(&self) {
        self.committed.fetch_add(1, Ordering::AcqRel);
        self.wake.notify_one();
    }

    /// Whether commits happened since the last [`Signal::take`].
    fn pending(&self) -> bool {
        self.committed.load(Ordering::Acquire) > 0
    }

    /// Starts a round: what is committed from here on is counted for the next one.
    fn take(&self) {
        self.committed.store(0, Ordering::Release);
    }
}

/// Running relays, by database handle and publisher.
type Registry = Mutex<HashMap<(usize, String), (Weak<Db>, Arc<Signal>)>>;

fn registry() -> &'static Registry {
    static RELAYS: OnceLock<Registry> = OnceLock::new();
    RELAYS.get_or_init(Registry::default)
}

/// The signal of the relay of `publisher` on `deps.db`, starting the relay when needed.
pub(crate) fn ensure_running(deps: &Deps, publisher: &str) -> Arc<Signal> {
    let key = (Arc::as_ptr(&deps.db) as usize, publisher.to_owned());
    // A poisoned lock only means another thread panicked while inserting; the map is intact.
    let mut relays = registry().lock().unwrap_or_else(|p| p.into_inner());
    if let Some((db, wake)) = relays.get(&key) {
        if db.upgrade().is_some_and(|db| Arc::ptr_eq(&db, &deps.db)) {
            return wake.clone();
        }
    }
    let wake = Arc::new(Signal::default());
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // Rows wait for a relay started inside a runtime (the next process to start one).
        tracing::warn!(
            publisher,
            "no async runtime: the outbox relay is not started"
        );
        return wake;
    };
    relays.insert(key, (Arc::downgrade(&deps.db), wake.clone()));
    let durable = deps.config.bus.address != "inproc";
    let relay = Relay::new(publisher, durable);
    let poll = Duration::from_millis(deps.config.webhook.poll_ms.max(1));
    runtime.spawn(run(
        Arc::downgrade(&deps.db),
        deps.bus.clone(),
        relay,
        wake.clone(),
        poll,
    ));
    wake
}

/// The relay loop; it ends when the database handle is dropped.
async fn run(
    db: Weak<Db>,
    bus: Arc<dyn Bus>,
    mut relay: Relay,
    signal: Arc<Signal>,
    poll: Duration,
) {
    loop {
        let Some(strong) = db.upgrade() else { return };
        signal.take();
        let outcome = relay.round(&strong, &*bus).await;
        drop(strong);
        let pause = match outcome {
            Ok(RelayOutcome::Published(n)) if n as i64 == BATCH => continue,
            Ok(_) => poll,
            Err(error) => {
                tracing::warn!(publisher = %relay.publisher, %error, "outbox relay round failed; rows stay for the next");
                RETRY
            }
        };
        let until = tokio::time::Instant::now() + pause;
        loop {
            tokio::select! {
                _ = signal.wake.notified() => {
                    // a wake-up for commits the last round already saw needs no round
                    if signal.pending() {
                        tokio::time::sleep(GATHER).await;
                        break;
                    }
                }
                _ = tokio::time::sleep_until(until) => break,
            }
        }
    }
}

/// What one relay round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayOutcome {
    /// Another relay holds the lease of this publisher.
    NotLeader,
    /// This many events were published.
    Published(usize),
}

/// One publisher's relay in this process.
pub struct Relay {
    publisher: String,
    owner: String,
    durable: bool,
    /// Over a non-durable bus: the replay still to do (`published_ms` floor, last seq done).
    replay: Option<(i64, i64)>,
    last_sweep: Option<Instant>,
    /// When the lease this relay last took runs out (ms since the epoch; 0: not held).
    lease_until: i64,
}

impl Relay {
    /// A relay of `publisher`; `durable` when the bus keeps what it confirmed across restarts.
    pub fn new(publisher: &str, durable: bool) -> Relay {
        Relay {
            publisher: publisher.to_owned(),
            owner: Uuid::now_v7().to_string(),
            durable,
            replay: (!durable).then(|| (now_ms() - KEEP.as_millis() as i64, 0)),
            last_sweep: None,
            lease_until: 0,
        }
    }

    /// One round: take the lease, publish the oldest rows in order (after the replay, once),
    /// delete or stamp them. A failed publish stops the round; what was published before it is
    /// recorded, the rest stays.
    pub async fn round(&mut self, db: &Db, bus: &dyn Bus) -> Result<RelayOutcome> {
        let mut conn = db.writer().acquire().await.map_err(map_db_error)?;
        let now = now_ms();
        if !self.hold_lease(&mut conn, now).await? {
            return Ok(RelayOutcome::NotLeader);
        }
        if let Some((since, after)) = self.replay {
            let rows =
                store::published_since(&mut conn, &self.publisher, since, after, BATCH).await?;
            drop(conn);
            let (last, failure) = self.publish(bus, &rows).await;
            if let Some(e) = failure {
                self.replay = Some((since, last.unwrap_or(after)));
                return Err(e);
            }
            self.replay = match last {
                Some(seq) if rows.len() as i64 == BATCH => Some((since, seq)),
                _ => None,
            };
            if !rows.is_empty() {
                tracing::info!(publisher = %self.publisher, events = rows.len(), "outbox events of an earlier process published again");
                return Ok(RelayOutcome::Published(rows.len()));
            }
            conn = db.writer().acquire().await.map_err(map_db_error)?;
        }
        let rows = store::oldest(&mut conn, &self.publisher, BATCH).await?;
        let (last, failure) = if rows.is_empty() {
            (None, None)
        } else {
            // publishing (a broker's confirms, or decoding a batch for the in-process bus)
            // takes a while: writers do not wait for the connection meanwhile
            drop(conn);
            let published = self.publish(bus, &rows).await;
            conn = db.writer().acquire().await.map_err(map_db_error)?;
            published
        };
        if let Some(seq) = last {
            if self.durable {
                store::delete_through(&mut conn, &self.publisher, seq).await?;
            } else {
                store::mark_through(&mut conn, &self.publisher, seq, now_ms()).await?;
            }
        }
        if !self.durable && self.last_sweep.is_none_or(|t| t.elapsed() >= SWEEP_EVERY) {
            store::sweep(&mut conn, &self.publisher, now - KEEP.as_millis() as i64).await?;
            self.last_sweep = Some(Instant::now());
        }
        if let Some(e) = failure {
            return Err(e);
        }
        if rows.is_empty() {
            // Nothing to do: let another process's relay take over without waiting.
            self.lease_until = 0;
            store::drop_lease(&mut conn, &self.publisher, &self.owner).await?;
        }
        Ok(RelayOutcome::Published(rows.len()))
    }

    /// Makes sure this relay holds the publisher's lease at `now`, renewing it once half of
    /// it is gone (until then no other relay can take it); false when another relay holds it.
    async fn hold_lease(&mut self, conn: &mut AnyConnection, now: i64) -> Result<bool> {
        let lease = LEASE.as_millis() as i64;
        if self.lease_until - now > lease / 2 {
            return Ok(true);
        }
        // unknown until the statement answers
        self.lease_until = 0;
        let until = now + lease;
        if !store::take_lease(conn, &self.publisher, &self.owner, now, until).await? {
            return Ok(false);
        }
        self.lease_until = until;
        Ok(true)
    }

    /// Publishes `rows` in order; the last seq handed to the bus, and the error that stopped
    /// it, if one did.
    async fn publish(&self, bus: &dyn Bus, rows: &[Row]) -> (Option<i64>, Option<Error>) {
        let mut last = None;
        for row in rows {
            let data: Value = match serde_json::from_str(&row.data) {
                Ok(v) => v,
                Err(e) => {
                    // Our own serialisation wrote it; an unreadable row must not block the rest.
                    tracing::error!(publisher = %self.publisher, seq = row.seq, error = %e, "unreadable outbox row skipped");
                    last = Some(row.seq);
                    continue;
                }
            };
            let mut event = Event::new(row.event_type.clone(), self.publisher.clone(), data);
            event.seq = Some(row.seq);
            if let Err(e) = bus.publish(event).await {
                let e = Error::new(
                    e.kind,
                    e.reason.clone(),
                    format!("publishing {}'s events: {}", self.publisher, e.message),
                );
                return (last, Some(e));
            }
            last = Some(row.seq);
        }
        (last, None)
    }
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
