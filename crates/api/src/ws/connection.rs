//! One websocket connection: the shell around [`session`](super::session) and the hub.
//!
//! It sends the hub's events in order, answers the client's messages, pings every
//! [`PING_INTERVAL`] and closes after [`IDLE_TIMEOUT`] without any frame from the client.
//! A client that does not read is closed with 1008 "slow consumer", whether the hub evicted it
//! (its queue filled) or one write stalled for [`WRITE_TIMEOUT`]; on shutdown it gets 1001.
//! Its credential is verified again every [`RECHECK_INTERVAL`] and when the hub hears of a
//! change to it; one no longer valid closes it with 1008 "credentials expired/revoked".

use super::credentials::{Checker, RECHECK_INTERVAL};
use super::hub::{Hub, Membership};
use super::metrics::ws_metrics;
use super::session::{self, Command};
use crate::auth::Identity;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocket};
use serde_json::Value;
use std::time::Duration;
use tokio::time::{interval_at, timeout, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use voxbin_core::Error;

/// How often the server pings.
pub const PING_INTERVAL: Duration = Duration::from_secs(10);

/// How long the client may stay silent (no pong, no message) before it is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How long one write may wait for the client to make room.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the closing handshake may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the server ends a connection.
enum End {
    /// The client closed, vanished or broke the protocol.
    Client,
    /// A write to the client stalled.
    SlowConsumer,
    /// The hub dropped the connection for a full queue (and counted it).
    Evicted,
    /// No frame from the client for too long.
    Idle,
    /// The process is shutting down.
    Shutdown,
    /// The credential was deleted, expired or revoked.
    Revoked,
}

/// Serves one authenticated connection until it ends.
pub async fn run(
    mut socket: WebSocket,
    who: Identity,
    checker: Checker,
    hub: Hub,
    draining: CancellationToken,
) {
    let owner = (!who.is_super_admin()).then_some(who.customer_id);
    let mut member = hub.join(owner);
    hub.watch_credential(member.id, who.customer_id, who.via.clone());
    let end = serve(&mut socket, &who, &checker, &hub, &mut member, &draining).await;
    drop(member);
    let close = match end {
        End::Client => None,
        End::SlowConsumer => {
            ws_metrics().slow_consumers.inc(&[]);
            Some((close_code::POLICY, "slow consumer"))
        }
        End::Evicted => Some((close_code::POLICY, "slow consumer")),
        End::Idle => Some((close_code::POLICY, "idle timeout")),
        End::Shutdown => Some((close_code::AWAY, "server shutting down")),
        End::Revoked => Some((close_code::POLICY, "credentials expired/revoked")),
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        // The client may not read any more; then the socket is simply dropped.
        let _ = timeout(CLOSE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
    }
}

async fn serve(
    socket: &mut WebSocket,
    who: &Identity,
    checker: &Checker,
    hub: &Hub,
    member: &mut Membership,
    draining: &CancellationToken,
) -> End {
    let mut ping = interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut recheck = interval_at(Instant::now() + RECHECK_INTERVAL, RECHECK_INTERVAL);
    recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        let out = tokio::select! {
            biased;
            _ = member.evicted.cancelled() => return End::Evicted,
            _ = draining.cancelled() => return End::Shutdown,
            _ = member.revoked.cancelled() => return End::Revoked,
            _ = member.recheck.notified() => {
                if !checker.still_valid(who).await {
                    return End::Revoked;
                }
                continue;
            }
            _ = recheck.tick() => {
                if !checker.still_valid(who).await {
                    return End::Revoked;
                }
                continue;
            }
            frame = socket.recv() => match frame {
                Some(Ok(frame)) => {
                    last_heard = Instant::now();
                    match frame {
                        Message::Text(text) => answer(text.as_str(), who, hub, member.id),
                        Message::Binary(_) => vec![session::error(
                            None,
                            &Error::invalid_argument("INVALID_MESSAGE", "Messages must be JSON text."),
                        )],
                        Message::Close(_) => return End::Client,
                        Message::Ping(_) | Message::Pong(_) => continue,
                    }
                }
                Some(Err(_)) | None => return End::Client,
            },
            event = member.queue.recv() => match event {
                Some(text) => {
                    if !send(socket, Message::Text(text), &member.evicted).await {
                        return End::SlowConsumer;
                    }
                    continue;
                }
                // The hub dropped this connection.
                None => return End::Evicted,
            },
            _ = ping.tick() => {
                if last_heard.elapsed() >= IDLE_TIMEOUT {
                    return End::Idle;
                }
                if !send(socket, Message::Ping(Default::default()), &member.evicted).await {
                    return End::SlowConsumer;
                }
                continue;
            }
        };
        for reply in out {
            let text = Utf8Bytes::from(reply.to_string());
            if !send(socket, Message::Text(text), &member.evicted).await {
                return End::SlowConsumer;
            }
        }
    }
}

/// Sends one frame; `false` when the client did not take it within [`WRITE_TIMEOUT`] or the
/// hub evicted it meanwhile.
async fn send(socket: &mut WebSocket, message: Message, evicted: &CancellationToken) -> bool {
    tokio::select! {
        sent = timeout(WRITE_TIMEOUT, socket.send(message)) => matches!(sent, Ok(Ok(()))),
        _ = evicted.cancelled() => false,
    }
}

/// Applies one client message to the hub; the answers to send.
fn answer(text: &str, who: &Identity, hub: &Hub, id: u64) -> Vec<Value> {
    match session::parse(text, who) {
        Command::Ping => vec![serde_json::json!({"type": "pong"})],
        Command::Invalid(e) => vec![e],
        Command::Subscribe {
            accepted,
            mut refused,
        } => {
            if accepted.is_empty() {
                return refused;
            }
            if !hub.subscribe(id, &accepted) {
                refused.push(session::error(
                    None,
                    &Error::invalid_argument(
                        "TOO_MANY_TOPICS",
                        format!(
                            "A connection may hold at most {} topics.",
                            super::hub::MAX_TOPICS
                        ),
                    ),
                ));
                return refused;
            }
            let mut out = vec![session::done("subscribed", &accepted)];
            out.append(&mut refused);
            out
        }
        Command::Unsubscribe {
            topics,
            mut refused,
        } => {
            hub.unsubscribe(id, &topics);
            let mut out = vec![session::done("unsubscribed", &topics)];
            out.append(&mut refused);
            out
        }
    }
}
