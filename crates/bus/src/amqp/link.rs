//! The connection to the broker and the supervisor that keeps it up.
//!
//! A [`Link`] is one live connection with what hangs off it: a confirm-mode channel for every
//! publish, and this process's exclusive reply queue. The supervisor task watches the
//! connection; when it drops it reconnects with capped backoff and publishes the new link on a
//! watch channel. Consumers wait on that channel and re-declare their topology on every new
//! link, so they come back by themselves.

use super::rpc::run_reply_pump;
use super::Core;
use crate::errors;
use futures::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use voxbin_core::{Error, Result};

/// One live connection and the channels every caller shares.
pub(crate) struct Link {
    /// Increases with every (re)connection.
    pub(crate) generation: u64,
    pub(crate) connection: Connection,
    /// The confirm-mode channel used for every publish; reopened if the broker closes it.
    publisher: Mutex<Channel>,
    /// This process's exclusive reply queue on this connection.
    pub(crate) reply_queue: ShortString,
    /// Exchanges and queues already declared on this connection.
    declared: Mutex<HashSet<String>>,
}

/// How the broker took a published message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Published {
    /// Stored (and routed, for a mandatory publish).
    Stored,
    /// A mandatory publish that no queue took.
    Unroutable,
}

impl Link {
    /// Whether the connection is still up.
    pub(crate) fn is_up(&self) -> bool {
        self.connection.status().connected()
    }

    /// Publishes and waits for the broker's confirm.
    pub(crate) async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        mandatory: bool,
        payload: &[u8],
        properties: BasicProperties,
    ) -> Result<Published> {
        let channel = self.publisher_channel().await?;
        let options = BasicPublishOptions {
            mandatory,
            ..BasicPublishOptions::default()
        };
        let confirm = channel
            .basic_publish(
                short(exchange)?,
                short(routing_key)?,
                options,
                payload,
                properties,
            )
            .await
            .map_err(|e| broker_error("publish", &e))?
            .await
            .map_err(|e| broker_error("publish confirm", &e))?;
        match confirm {
            Confirmation::Ack(None) | Confirmation::NotRequested => Ok(Published::Stored),
            Confirmation::Ack(Some(_)) => Ok(Published::Unroutable),
            Confirmation::Nack(_) => Err(Error::unavailable(
                errors::BROKER_UNAVAILABLE,
                "the broker refused to store a message",
            )),
        }
    }

    /// The publishing channel, reopened when a channel error closed it.
    async fn publisher_channel(&self) -> Result<Channel> {
        let current = self.publisher.lock().clone();
        if current.status().connected() {
            return Ok(current);
        }
        let fresh = open_confirm_channel(&self.connection).await?;
        *self.publisher.lock() = fresh.clone();
        Ok(fresh)
    }

    /// Runs `declare` on a throw-away channel unless `key` was declared on this link already.
    ///
    /// A throw-away channel because a failed declaration closes its channel.
    pub(crate) async fn declare_once<F, Fut>(&self, key: &str, declare: F) -> Result<()>
    where
        F: FnOnce(Channel) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<(), lapin::Error>>,
    {
        if self.declared.lock().contains(key) {
            return Ok(());
        }
        self.declare(declare).await?;
        self.declared.lock().insert(key.to_owned());
        Ok(())
    }

    /// Runs `declare` on a throw-away channel.
    pub(crate) async fn declare<F, Fut>(&self, declare: F) -> Result<()>
    where
        F: FnOnce(Channel) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<(), lapin::Error>>,
    {
        let channel = self
            .connection
            .create_channel()
            .await
            .map_err(|e| broker_error("open a channel", &e))?;
        let result = declare(channel.clone()).await;
        let _ = channel.close(200, "declared".into()).await;
        result.map_err(|e| broker_error("declare", &e))
    }

    /// Forgets that `key` was declared, e.g. after a publish to it failed.
    pub(crate) fn forget(&self, key: &str) {
        self.declared.lock().remove(key);
    }
}

/// A name as an AMQP short string; longer than 255 bytes is an invalid argument.
pub(crate) fn short(text: &str) -> Result<ShortString> {
    ShortString::try_new(text).map_err(|_| {
        Error::invalid_argument(
            "NAME_TOO_LONG",
            format!("the bus name {text:.40}... is longer than 255 bytes"),
        )
    })
}

/// A broker failure as a 503 `BROKER_UNAVAILABLE`.
pub(crate) fn broker_error(what: &str, error: &lapin::Error) -> Error {
    Error::unavailable(
        errors::BROKER_UNAVAILABLE,
        format!("could not {what}: {error}"),
    )
}

/// The arguments of a queue shared by competing consumers: a quorum queue with a redelivery cap.
pub(crate) fn quorum_args(delivery_limit: u32) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    if delivery_limit > 0 {
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(delivery_limit)),
        );
    }
    args
}

/// Declares a durable quorum queue on `channel`.
pub(crate) async fn declare_quorum(
    channel: &Channel,
    queue: &str,
    delivery_limit: u32,
) -> std::result::Result<(), lapin::Error> {
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions::durable(),
            quorum_args(delivery_limit),
        )
        .await
        .map(drop)
}

async fn open_confirm_channel(connection: &Connection) -> Result<Channel> {
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| broker_error("open a channel", &e))?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|e| broker_error("enable publisher confirms", &e))?;
    Ok(channel)
}

/// `host:port` of an AMQP url, for messages; never the credentials.
pub(crate) fn target_of(url: &str) -> Result<String> {
    let uri: lapin::uri::AMQPUri = url.parse().map_err(|_| {
        Error::invalid_argument(
            "INVALID_AMQP_URL",
            "the broker url is not a valid amqp:// or amqps:// url",
        )
    })?;
    Ok(format!("{}:{}", uri.authority.host, uri.authority.port))
}

/// Connects and sets up a link: the publishing channel and the reply queue with its pump.
pub(crate) async fn establish(core: &Arc<Core>, generation: u64) -> Result<Arc<Link>> {
    let unavailable = |what: String| {
        Error::unavailable(
            errors::BROKER_UNAVAILABLE,
            format!("cannot reach the message broker at {}: {what}", core.target),
        )
    };
    let mut properties = ConnectionProperties::default();
    if let Some(name) = &core.options.connection_name {
        properties = properties.with_connection_name(name.as_str().into());
    }
    let connection = tokio::time::timeout(
        core.options.connect_timeout,
        Connection::connect(&core.url, properties),
    )
    .await
    .map_err(|_| unavailable("connection timed out".into()))?
    // lapin's errors name the failure (refused, access refused, ...) but never the password.
    .map_err(|e| unavailable(e.to_string()))?;
    let publisher = open_confirm_channel(&connection).await?;
    let reply_channel = connection
        .create_channel()
        .await
        .map_err(|e| broker_error("open a channel", &e))?;
    let reply_queue = format!("bin-manager.reply.{}", uuid::Uuid::new_v4().simple());
    reply_channel
        .queue_declare(
            reply_queue.as_str().into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| broker_error("declare the reply queue", &e))?;
    let replies = reply_channel
        .basic_consume(
            reply_queue.as_str().into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                exclusive: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| broker_error("consume the reply queue", &e))?;
    tokio::spawn(run_reply_pump(core.clone(), replies));
    Ok(Arc::new(Link {
        generation,
        connection,
        publisher: Mutex::new(publisher),
        reply_queue: reply_queue.as_str().into(),
        declared: Mutex::new(HashSet::new()),
    }))
}

/// Keeps the bus connected until it is dropped or closed; then closes the connection.
pub(crate) async fn supervise(core: Arc<Core>, mut link: Arc<Link>) {
    loop {
        let lost = tokio::select! {
            _ = core.stopped.cancelled() => false,
            _ = wait_lost(&link) => true,
        };
        if !lost {
            core.link.send_replace(None);
            let close = link.connection.close(200, "bus closed".into());
            let _ = tokio::time::timeout(Duration::from_secs(2), close).await;
            return;
        }
        core.link.send_replace(None);
        tracing::warn!(broker = %core.target, "lost the broker connection; reconnecting");
        let generation = link.generation + 1;
        let mut backoff = core.options.reconnect_min;
        link = loop {
            match establish(&core, generation).await {
                Ok(link) => break link,
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?backoff, "reconnecting to the broker failed")
                }
            }
            tokio::select! {
                _ = core.stopped.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(core.options.reconnect_max);
        };
        tracing::info!(broker = %core.target, generation, "reconnected to the broker");
        core.link.send_replace(Some(link.clone()));
    }
}

/// Returns when the connection of `link` is gone.
async fn wait_lost(link: &Link) {
    let mut events = link.connection.events_listener();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            event = events.next() => match event {
                None => return,
                Some(lapin::Event::Error(error)) => {
                    tracing::debug!(%error, "broker connection error");
                    if !link.is_up() {
                        return;
                    }
                }
                Some(_) => {}
            },
            _ = tick.tick() => if !link.is_up() {
                return;
            },
        }
    }
}

/// Waits for a live link until `deadline`.
pub(crate) async fn current_link(core: &Core, deadline: Instant) -> Option<Arc<Link>> {
    let mut watch = core.link.subscribe();
    let wait = async {
        let link = watch
            .wait_for(|link| link.as_ref().is_some_and(|l| l.is_up()))
            .await
            .ok()?;
        link.clone()
    };
    tokio::time::timeout_at(deadline, wait).await.ok().flatten()
}

/// Waits for links as the supervisor publishes them.
pub(crate) struct LinkWatch {
    watch: tokio::sync::watch::Receiver<Option<Arc<Link>>>,
}

impl LinkWatch {
    /// A watch on the links of `core`.
    pub(crate) fn new(core: &Core) -> Self {
        LinkWatch {
            watch: core.link.subscribe(),
        }
    }

    /// The live link once its generation is above `generation` (0: any link).
    pub(crate) async fn newer_than(&mut self, generation: u64) -> Option<Arc<Link>> {
        let link = self
            .watch
            .wait_for(|link| {
                link.as_ref()
                    .is_some_and(|l| l.is_up() && l.generation > generation)
            })
            .await
            .ok()?;
        link.clone()
    }
}
