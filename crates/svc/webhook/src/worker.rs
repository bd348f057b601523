//! The delivery worker: sends due deliveries, at most `webhook.concurrency` at a time, each
//! resource's in order, and records every attempt.
//!
//! It wakes when new deliveries were written or an attempt finished (the next delivery of that
//! resource may go), at the earliest retry time, and every `webhook.poll_ms` as a fallback
//! (rows written by another process, leases that ran out after a crash).

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Notify, Semaphore};
use voxbin_core::clock;
use voxbin_core::config::WebhookConfig;
use voxbin_store::Db;
use voxbin_svc_kit::http::{Http11Client, HttpRequest, HttpSettings};

use crate::backoff::{Backoff, Next};
use crate::model::{now_ms, Delivery, TO_CUSTOMER};
use crate::signature::{sign, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::store::{self, Outcome};
use crate::target::Targets;

/// Extra time a claimed row stays leased beyond the request timeout (recording the outcome).
const LEASE_SLACK: Duration = Duration::from_secs(5);

/// Wakes the worker; cheap to clone.
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    /// Asks the worker to look for due deliveries now.
    pub fn notify(&self) {
        self.0.notify_one();
    }

    async fn notified(&self) {
        self.0.notified().await
    }
}

/// Sends deliveries.
pub struct Worker {
    db: Arc<Db>,
    http: Http11Client,
    targets: Targets,
    backoff: Backoff,
    lease: Duration,
    poll: Duration,
    slots: Arc<Semaphore>,
    wake: Wake,
}

/// The HTTP client settings of `webhook.*`.
pub fn http_settings(config: &WebhookConfig) -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_millis(config.connect_timeout_ms),
        timeout: Duration::from_millis(config.timeout_ms),
        allow_private: config.allow_private_targets,
        allow_private_key: "webhook.allow_private_targets",
        timeout_key: "webhook.timeout_ms",
        user_agent: "voxbin-webhook",
    }
}

impl Worker {
    /// A worker over `db` with the policy of `config`.
    pub fn new(db: Arc<Db>, targets: Targets, config: &WebhookConfig, wake: Wake) -> Worker {
        Worker {
            db,
            http: Http11Client::new(http_settings(config)),
            targets,
            backoff: Backoff {
                base: Duration::from_millis(config.retry_base_ms),
                max: Duration::from_millis(config.retry_max_ms),
                max_age: Duration::from_secs(config.max_retry_secs),
            },
            lease: Duration::from_millis(config.timeout_ms) + LEASE_SLACK,
            poll: Duration::from_millis(config.poll_ms),
            slots: Arc::new(Semaphore::new(config.concurrency.max(1) as usize)),
            wake,
        }
    }

    /// Runs until the process ends.
    pub async fn run(self: Arc<Self>) {
        loop {
            let pause = match self.round().await {
                Ok(pause) => pause,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook worker round failed");
                    self.poll
                }
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Starts what is due and free; returns how long to wait at most before the next round.
    async fn round(self: &Arc<Self>) -> voxbin_core::Result<Duration> {
        let pool = self.db.writer();
        // SQLite's readers see every commit (WAL) and spare the single writer; MySQL replicas
        // may lag, so there the writer reads. The claim below rechecks either way.
        let reader = match self.db.dialect() {
            voxbin_store::Dialect::Sqlite => self.db.reader(),
            voxbin_store::Dialect::MySql => pool,
        };
        let free = self.slots.available_permits();
        if free == 0 {
            return Ok(self.poll);
        }
        let now = now_ms();
        let heads = store::due_heads(reader, now, free as i64).await?;
        for d in heads {
            let Ok(permit) = self.slots.clone().try_acquire_owned() else {
                break;
            };
            let lease_until = now_ms() + self.lease.as_millis() as i64;
            if !store::claim(pool, d.seq, now, lease_until).await? {
                continue;
            }
            let worker = self.clone();
            tokio::spawn(async move {
                worker.attempt(d).await;
                drop(permit);
                worker.wake.notify();
            });
        }
        let next = store::next_due(reader).await?;
        let until_next = next.map(|at| Duration::from_millis((at - now_ms()).max(0) as u64));
        Ok(until_next.map_or(self.poll, |d| d.min(self.poll)))
    }

    /// One attempt of `d`, recorded.
    async fn attempt(&self, d: Delivery) {
        let outcome = self.send(&d).await;
        let pool = self.db.writer();
        let result = match outcome {
            Ok(status_code) => store::finish(pool, d.seq, Outcome::Delivered { status_code }).await,
            Err(Failure::Final(error)) => {
                store::finish(
                    pool,
                    d.seq,
                    Outcome::Dead {
                        status_code: 0,
                        error: &error,
                    },
                )
                .await
            }
            Err(Failure::Retry { status_code, error }) => {
                let created = clock::parse(&d.tm_create)
                    .map(|t| t.timestamp_millis())
                    .unwrap_or_else(now_ms);
                let attempts = u32::try_from(d.attempts + 1).unwrap_or(u32::MAX);
                let jitter = rand::rng().random::<f64>();
                let outcome = match self.backoff.next(attempts, created, now_ms(), jitter) {
                    Next::RetryAt(next_try_ms) => Outcome::Retry {
                        status_code,
                        error: &error,
                        next_try_ms,
                    },
                    Next::Dead => Outcome::Dead {
                        status_code,
                        error: &error,
                    },
                };
                store::finish(pool, d.seq, outcome).await
            }
        };
        if let Err(e) = result {
            // The lease runs out and the row is tried again: at least once, never lost.
            tracing::warn!(delivery = %d.id, error = %e, "cannot record a webhook attempt");
        }
    }

    /// Sends `d`; the 2xx status it got, or why not.
    async fn send(&self, d: &Delivery) -> Result<u16, Failure> {
        let target = match self.targets.of(d.customer_id).await {
            Ok(Some(t)) => t,
            Ok(None) => return Err(Failure::Final("the customer no longer exists".into())),
            Err(e) => {
                return Err(Failure::Retry {
                    status_code: 0,
                    error: format!("cannot look up the customer's webhook: {}", e.message),
                })
            }
        };
        let (uri, method) = if d.uri.is_empty() && d.destination == TO_CUSTOMER {
            if target.webhook_uri.is_empty() {
                return Err(Failure::Final("the customer has no webhook_uri".into()));
            }
            let method = target.method().to_owned();
            if let Err(e) =
                store::set_target(self.db.writer(), d.seq, &target.webhook_uri, &method).await
            {
                tracing::debug!(delivery = %d.id, error = %e, "cannot record the resolved target");
            }
            (target.webhook_uri.clone(), method)
        } else {
            (d.uri.clone(), d.method.clone())
        };
        let timestamp = now_ms() / 1000;
        let mut headers = vec![
            (TIMESTAMP_HEADER.to_owned(), timestamp.to_string()),
            (DELIVERY_HEADER.to_owned(), d.id.to_string()),
            (EVENT_HEADER.to_owned(), d.event_type.clone()),
        ];
        if !target.webhook_secret.is_empty() {
            let signature = sign(&target.webhook_secret, timestamp, &d.payload);
            headers.push((SIGNATURE_HEADER.to_owned(), signature));
        }
        let request = HttpRequest {
            method,
            url: uri,
            headers,
            content_type: Some("application/json".into()),
            body: Some(d.payload.clone()),
        };
        match self.http.send(&request).await {
            Ok(r) if (200..300).contains(&r.status) => Ok(r.status),
            Ok(r) => Err(Failure::Retry {
                status_code: r.status,
                error: format!("the receiver answered {}", r.status),
            }),
            // The SSRF guard's verdict does not change by waiting.
            Err(error) if error.starts_with("refused:") => Err(Failure::Final(error)),
            Err(error) => Err(Failure::Retry {
                status_code: 0,
                error,
            }),
        }
    }
}

/// Why an attempt failed.
enum Failure {
    /// Worth another try later.
    Retry { status_code: u16, error: String },
    /// Never going to work (no such customer, no target).
    Final(String),
}
