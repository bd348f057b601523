//! The driver shared by RPC servers and subscriptions: consume on every link, forever.
//!
//! A driver waits for a live link, declares its topology and starts consuming, then pumps
//! deliveries until the stream ends (the connection dropped) or its consumer is stopped. After
//! a drop it waits for the supervisor's next link and starts again, which is how consumers come
//! back by themselves after a reconnection. The first start reports to whoever called `serve` or
//! `subscribe`, so a queue that cannot be declared fails that call instead of retrying forever.

use super::link::{Link, LinkWatch};
use super::Core;
use futures::future::BoxFuture;
use lapin::Channel;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use voxbin_core::Result;

/// Declares the topology and starts consuming on a link.
pub(crate) type Start =
    Box<dyn Fn(Arc<Link>) -> BoxFuture<'static, Result<(Channel, lapin::Consumer)>> + Send + Sync>;

/// Handles deliveries until the stream ends or the consumer is stopped.
pub(crate) type Pump =
    Box<dyn Fn(Arc<Link>, Channel, lapin::Consumer) -> BoxFuture<'static, ()> + Send + Sync>;

/// Runs one consumer across reconnections until `stop` (or the bus) is cancelled.
pub(crate) async fn drive(
    core: Arc<Core>,
    stop: CancellationToken,
    first: oneshot::Sender<Result<()>>,
    start: Start,
    pump: Pump,
    what: String,
) {
    let mut first = Some(first);
    let mut consumed_on = 0;
    let mut watch = LinkWatch::new(&core);
    loop {
        let link = tokio::select! {
            _ = stop.cancelled() => return,
            _ = core.stopped.cancelled() => return,
            link = watch.newer_than(consumed_on) => match link {
                Some(link) => link,
                None => return,
            },
        };
        match start(link.clone()).await {
            Ok((channel, consumer)) => {
                if let Some(first) = first.take() {
                    let _ = first.send(Ok(()));
                } else {
                    tracing::info!(consumer = %what, generation = link.generation, "consuming again after reconnecting");
                }
                consumed_on = link.generation;
                pump(link, channel, consumer).await;
                if stop.is_cancelled() {
                    return;
                }
            }
            Err(error) => {
                if let Some(first) = first.take() {
                    let _ = first.send(Err(error));
                    return;
                }
                tracing::warn!(consumer = %what, %error, "could not start consuming; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(core.options.reconnect_max) => {}
                }
            }
        }
    }
}
