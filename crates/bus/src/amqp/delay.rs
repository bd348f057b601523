//! Delayed messages without a broker plugin: per-delay TTL queues that dead-letter into the
//! target queue.
//!
//! A delay is rounded *up* to two significant digits (steps of at least 10 ms), so a message is
//! never early and at most 10% late; round values such as 300 ms, 10 s, 30 s or 1 h are exact.
//! Each rounded delay `<ms>` gets a fanout exchange and a classic durable queue, both named
//! `bin-manager.delay.<ms>`; the queue has `x-message-ttl = <ms>` and dead-letters to the default
//! exchange. The message is published to that exchange with the *target queue* as routing key,
//! and keeps that key when it expires, so it lands in the target queue. Every message of one
//! queue has the same TTL, so the queue expires them strictly first in, first out.
//!
//! Ordering: messages arrive in the target queue in order of their rounded deadlines (send time
//! plus rounded delay), ties in send order; two delays that round to the same bucket keep send
//! order even if the later one asked for a slightly shorter delay. Handling order then depends on
//! the target's consumers, which run up to their prefetch in parallel.
//!
//! The bucket queues carry `x-expires = <ms> + 60 s`, renewed by re-declaring at most every 30 s
//! while in use, so unused buckets disappear; the exchanges are auto-delete and go with them.
//! The dead-letter hop of a classic queue is at-most-once: a broker crash at that instant can
//! lose a timer, which is why timers also carry what they guard and stale ones are ignored.

use super::link::{current_link, declare_quorum, short, Link, Published};
use super::rpc::JSON;
use super::Core;
use crate::envelope::Request;
use crate::errors;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, ExchangeKind};
use std::time::Duration;
use tokio::time::Instant;
use voxbin_core::{Error, Result};

/// The longest delay: queue TTLs are 32-bit milliseconds, minus the expiry margin.
pub(crate) const MAX_DELAY_MS: u64 = u32::MAX as u64 - EXPIRY_MARGIN_MS;

/// How long an idle bucket queue outlives its TTL before the broker deletes it.
pub(crate) const EXPIRY_MARGIN_MS: u64 = 60_000;

/// How often a bucket in use is re-declared to renew its expiry; well under the margin.
pub(crate) const REDECLARE_EVERY: Duration = Duration::from_secs(30);

/// The header carrying the epoch milliseconds at which a delayed message falls due.
pub(crate) const DUE_HEADER: &str = "x-voxbin-due";

/// The bucket of `delay` in milliseconds: rounded up to two significant digits, 10 ms at least.
pub(crate) fn bucket_ms(delay: Duration) -> u64 {
    let mut ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    if !delay.subsec_nanos().is_multiple_of(1_000_000) {
        ms = ms.saturating_add(1);
    }
    if ms == 0 {
        return 0;
    }
    let mut step: u64 = 10;
    while ms > step.saturating_mul(100) {
        step = step.saturating_mul(10);
    }
    ms.div_ceil(step).saturating_mul(step)
}

/// The exchange and queue name of a bucket: `bin-manager.delay.<ms>`.
pub(crate) fn bucket_name(ms: u64) -> String {
    format!("bin-manager.delay.{ms}")
}

/// Sends `request` to `queue` through the bucket of `delay`.
pub(crate) async fn send(
    core: &Core,
    queue: &str,
    request: &Request,
    delay: Duration,
) -> Result<()> {
    let bucket = bucket_ms(delay);
    if bucket > MAX_DELAY_MS {
        return Err(Error::invalid_argument(
            "DELAY_TOO_LONG",
            format!("a delay of {delay:?} is longer than the broker's 49 days"),
        ));
    }
    short(queue)?;
    let payload = serde_json::to_vec(request)
        .map_err(|e| Error::internal(format!("request not serialisable: {e}")))?;
    let deadline = Instant::now() + core.options.publish_timeout;
    let link = current_link(core, deadline)
        .await
        .ok_or_else(|| core.not_connected())?;
    let send = async {
        // The target queue exists from now on, so a message due before any server runs waits
        // in it (servers drop it once older than `max_hold`).
        let limit = core.options.delivery_limit;
        let target = queue.to_owned();
        link.declare_once(&format!("queue {queue}"), |channel| async move {
            declare_quorum(&channel, &target, limit).await
        })
        .await?;
        let mut headers = FieldTable::default();
        let due = super::epoch_ms().saturating_add(bucket);
        headers.insert(DUE_HEADER.into(), AMQPValue::LongLongInt(due as i64));
        let properties = BasicProperties::default()
            .with_content_type(JSON.into())
            .with_delivery_mode(2)
            .with_headers(headers);
        if bucket == 0 {
            return link
                .publish("", queue, false, &payload, properties)
                .await
                .map(drop);
        }
        let name = bucket_name(bucket);
        for _ in 0..2 {
            ensure_bucket(core, &link, bucket).await?;
            let sent = link
                .publish(&name, queue, true, &payload, properties.clone())
                .await;
            match sent {
                Ok(Published::Stored) => return Ok(()),
                // Someone deleted the bucket under us: declare it again and retry once.
                Ok(Published::Unroutable) => {
                    core.delay_buckets.lock().remove(&bucket);
                }
                Err(error) => {
                    core.delay_buckets.lock().remove(&bucket);
                    return Err(error);
                }
            }
        }
        Err(Error::unavailable(
            errors::BROKER_UNAVAILABLE,
            format!("the delay queue {name} keeps disappearing"),
        ))
    };
    tokio::time::timeout_at(deadline, send).await.map_err(|_| {
        Error::unavailable(
            errors::BROKER_UNAVAILABLE,
            format!("the broker did not confirm a delayed message for {queue} in time"),
        )
    })?
}

/// Declares the exchange and queue of a bucket unless this process did so recently.
async fn ensure_bucket(core: &Core, link: &Link, bucket: u64) -> Result<()> {
    let fresh = core
        .delay_buckets
        .lock()
        .get(&bucket)
        .is_some_and(|at| at.elapsed() < REDECLARE_EVERY);
    if fresh {
        return Ok(());
    }
    let name = bucket_name(bucket);
    link.declare(|channel| async move {
        channel
            .exchange_declare(
                name.as_str().into(),
                ExchangeKind::Fanout,
                ExchangeDeclareOptions {
                    durable: true,
                    auto_delete: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let mut args = FieldTable::default();
        args.insert(
            "x-message-ttl".into(),
            AMQPValue::LongLongInt(bucket as i64),
        );
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        args.insert(
            "x-expires".into(),
            AMQPValue::LongLongInt((bucket + EXPIRY_MARGIN_MS) as i64),
        );
        channel
            .queue_declare(name.as_str().into(), QueueDeclareOptions::durable(), args)
            .await?;
        channel
            .queue_bind(
                name.as_str().into(),
                name.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
    })
    .await?;
    core.delay_buckets
        .lock()
        .insert(bucket, std::time::Instant::now());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn round_delays_are_exact() {
        for n in [10, 100, 200, 300, 1_000, 10_000, 30_000, 60_000, 3_600_000] {
            assert_eq!(bucket_ms(ms(n)), n);
        }
    }

    #[test]
    fn other_delays_round_up_by_less_than_ten_percent() {
        assert_eq!(bucket_ms(ms(0)), 0);
        assert_eq!(bucket_ms(ms(1)), 10);
        assert_eq!(bucket_ms(Duration::from_micros(100_001)), 110);
        assert_eq!(bucket_ms(ms(999)), 1_000);
        assert_eq!(bucket_ms(ms(1_001)), 1_100);
        assert_eq!(bucket_ms(ms(3_456)), 3_500);
        assert_eq!(bucket_ms(ms(45_123)), 46_000);
        for n in (1..2_000_000).step_by(997) {
            let bucket = bucket_ms(ms(n));
            assert!(bucket >= n, "never early: {n} -> {bucket}");
            assert!(
                bucket - n < 10.max(n / 10 + 1),
                "at most 10% late: {n} -> {bucket}"
            );
        }
    }
}
