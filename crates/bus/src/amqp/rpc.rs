//! RPC over the broker: callers publish to a service's request queue and wait on their own reply
//! queue; servers compete for requests and ack each one only after replying.
//!
//! - Caller: every request carries a fresh correlation id, this process's exclusive reply queue
//!   as `reply_to`, and the caller's remaining time as its expiration, so a request nobody took
//!   in time expires in the queue instead of running late. It is published `mandatory`: when no
//!   queue exists the broker returns it and the caller gets `SERVICE_UNAVAILABLE` at once. The
//!   reply pump matches replies to waiting callers by correlation id; a reply nobody waits for
//!   any more (the caller timed out) is dropped.
//! - Server: requests are taken with a prefetch window and run concurrently through
//!   [`handle_request`], so a panic answers 500. The reply is published and confirmed *before*
//!   the request is acked: a server that dies mid-request leaves it unacked, and the broker gives
//!   it to another replica.

use super::delay::DUE_HEADER;
use super::link::{broker_error, current_link, declare_quorum, Link, Published};
use super::Core;
use crate::envelope::{Request, Response};
use crate::errors;
use crate::handler::{handle_request, Handler};
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use voxbin_core::{Error, Result};

/// The content type of every message body.
pub(crate) const JSON: &str = "application/json";

/// Removes a caller's entry from the pending map however the call ends.
struct Pending<'a> {
    core: &'a Core,
    correlation: String,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.core.pending.lock().remove(&self.correlation);
    }
}

/// Sends `request` to `queue` and waits for the reply until `timeout` has passed.
pub(crate) async fn call(
    core: &Core,
    queue: &str,
    request: Request,
    timeout: Duration,
) -> Result<Response> {
    let deadline = Instant::now() + timeout;
    let uri = request.uri.clone();
    let payload = serde_json::to_vec(&request)
        .map_err(|e| Error::internal(format!("request not serialisable: {e}")))?;
    let Some(link) = current_link(core, deadline).await else {
        return Err(errors::rpc_timeout(queue, &uri));
    };
    // v7: ids derived from it by `Ctx::new_id` keep the time order of ids made locally.
    let correlation = uuid::Uuid::now_v7().simple().to_string();
    let (reply, answer) = oneshot::channel();
    core.pending.lock().insert(correlation.clone(), reply);
    let _pending = Pending {
        core,
        correlation: correlation.clone(),
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    let expiration = remaining.as_millis().max(1).to_string();
    let properties = BasicProperties::default()
        .with_content_type(JSON.into())
        .with_correlation_id(correlation.as_str().into())
        .with_reply_to(link.reply_queue.clone())
        .with_expiration(expiration.as_str().into());
    match tokio::time::timeout_at(
        deadline,
        link.publish("", queue, true, &payload, properties),
    )
    .await
    {
        Err(_) => return Err(errors::rpc_timeout(queue, &uri)),
        Ok(Err(error)) => return Err(error),
        Ok(Ok(Published::Unroutable)) => return Err(errors::service_unavailable(queue)),
        Ok(Ok(Published::Stored)) => {}
    }
    match tokio::time::timeout_at(deadline, answer).await {
        Ok(Ok(response)) => Ok(response),
        // The pending entry is only removed by the reply pump, which sends first.
        Ok(Err(_)) => Err(errors::service_unavailable(queue)),
        Err(_) => Err(errors::rpc_timeout(queue, &uri)),
    }
}

/// Hands every reply on this link's reply queue to the caller waiting for it.
pub(crate) async fn run_reply_pump(core: Arc<Core>, mut replies: lapin::Consumer) {
    while let Some(Ok(delivery)) = replies.next().await {
        let Some(correlation) = delivery.properties.correlation_id().as_ref() else {
            tracing::debug!("reply without correlation id dropped");
            continue;
        };
        let Some(caller) = core.pending.lock().remove(correlation.as_str()) else {
            tracing::debug!(correlation = correlation.as_str(), "late reply dropped");
            continue;
        };
        let response = serde_json::from_slice::<Response>(&delivery.data).unwrap_or_else(|e| {
            Response::error(&Error::internal(format!("unreadable reply: {e}")))
        });
        let _ = caller.send(response);
    }
}

/// Declares `queue` on `link` and consumes it with the configured prefetch.
pub(crate) async fn start_serving(
    core: &Core,
    link: &Link,
    queue: &str,
) -> Result<(Channel, lapin::Consumer)> {
    let channel = link
        .connection
        .create_channel()
        .await
        .map_err(|e| broker_error("open a channel", &e))?;
    channel
        .basic_qos(core.options.prefetch, BasicQosOptions::default())
        .await
        .map_err(|e| broker_error("set the prefetch", &e))?;
    declare_quorum(&channel, queue, core.options.delivery_limit)
        .await
        .map_err(|e| broker_error(&format!("declare {queue}"), &e))?;
    let consumer = channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| broker_error(&format!("consume {queue}"), &e))?;
    Ok((channel, consumer))
}

/// What one RPC server needs for each request.
#[derive(Clone)]
pub(crate) struct Server {
    pub(crate) core: Arc<Core>,
    pub(crate) queue: Arc<str>,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) stop: CancellationToken,
    pub(crate) tracker: TaskTracker,
}

impl Server {
    /// Takes requests until the stream ends or the server is stopped; each runs in its own task.
    pub(crate) async fn pump(self, link: Arc<Link>, channel: Channel, mut stream: lapin::Consumer) {
        loop {
            let next = tokio::select! {
                biased;
                _ = self.stop.cancelled() => {
                    // Prefetched but unstarted requests go back to the queue when the channel
                    // closes, after the in-flight ones (which hold it) have been acked.
                    let _ = channel.basic_cancel(stream.tag(), BasicCancelOptions::default()).await;
                    return;
                }
                next = stream.next() => next,
            };
            match next {
                Some(Ok(delivery)) => {
                    let server = self.clone();
                    let (link, channel) = (link.clone(), channel.clone());
                    self.tracker
                        .spawn(async move { server.serve_one(&link, channel, delivery).await });
                }
                Some(Err(error)) => {
                    tracing::debug!(queue = %self.queue, %error, "request consumer interrupted");
                    return;
                }
                None => return,
            }
        }
    }

    /// Handles one request: run the handler, publish the reply, then ack.
    ///
    /// Holds `_channel` so that the channel stays open until the ack, even after a stop.
    async fn serve_one(&self, link: &Link, _channel: Channel, delivery: Delivery) {
        let properties = &delivery.properties;
        let reply_to = properties.reply_to().clone();
        let correlation = properties.correlation_id().clone();
        if reply_to.is_none() && self.is_stale(properties) {
            ack(&delivery, &self.queue).await;
            return;
        }
        let response = match serde_json::from_slice::<Request>(&delivery.data) {
            Ok(mut request) => {
                request.delivery_id = correlation.as_ref().map(|c| c.to_string());
                handle_request(&*self.handler, request).await
            }
            Err(error) => {
                tracing::warn!(queue = %self.queue, %error, "unreadable request dropped");
                Response::error(&Error::invalid_argument(
                    "INVALID_REQUEST",
                    format!("the request is not a valid envelope: {error}"),
                ))
            }
        };
        match reply_to {
            Some(reply_to) => {
                let payload = serde_json::to_vec(&response).unwrap_or_default();
                let mut reply = BasicProperties::default().with_content_type(JSON.into());
                if let Some(correlation) = correlation {
                    reply = reply.with_correlation_id(correlation);
                }
                let sent = link
                    .publish("", reply_to.as_str(), false, &payload, reply)
                    .await;
                if let Err(error) = sent {
                    tracing::warn!(queue = %self.queue, %error, "could not publish a reply");
                    if !link.is_up() {
                        // Unacked on a dead connection: the broker redelivers it elsewhere.
                        return;
                    }
                }
            }
            None if response.is_error() => tracing::warn!(
                queue = %self.queue,
                status_code = response.status_code,
                "delayed request failed"
            ),
            None => {}
        }
        ack(&delivery, &self.queue).await;
    }

    /// Whether a delayed request fell due longer ago than the bus lets it wait for a server.
    fn is_stale(&self, properties: &BasicProperties) -> bool {
        let due = properties
            .headers()
            .as_ref()
            .and_then(|headers| headers.inner().get(DUE_HEADER))
            .and_then(|value| match value {
                AMQPValue::LongLongInt(ms) => u64::try_from(*ms).ok(),
                AMQPValue::Timestamp(ms) => Some(*ms),
                _ => None,
            });
        let Some(due) = due else { return false };
        let late = super::epoch_ms().saturating_sub(due);
        let stale = late > self.core.options.max_hold.as_millis() as u64;
        if stale {
            tracing::warn!(queue = %self.queue, late_ms = late, "delayed message waited too long for a server; dropped");
        }
        stale
    }
}

/// Acks `delivery`; a failure means the channel is gone and the broker will redeliver.
pub(crate) async fn ack(delivery: &Delivery, queue: &str) {
    if let Err(error) = delivery.acker.ack(BasicAckOptions::default()).await {
        tracing::debug!(%queue, %error, "could not ack; the broker will redeliver");
    }
}
