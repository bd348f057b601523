//! Events over the broker: one durable fanout exchange per publishing service, one durable
//! quorum queue per subscriber name.
//!
//! `publish` sends the event, persistent and confirmed, to `bin-manager.<publisher>.event`.
//! A subscription declares `bin-manager.<subscriber>.subscribe`, binds it to the exchange of
//! every publisher it listens to, and consumes it; consumers of one name compete, different
//! names each get every event. Type filters are applied on receipt: an event the filter refuses
//! is acked and dropped. Within one process the filters of one subscriber name add up, as its
//! bindings do; replicas of a role subscribe alike, so they agree. Each consumer handles its
//! events one at a time, in queue order, and acks each after its handler returned (VoIPBIN ran
//! them unordered on many workers).

use super::link::{broker_error, current_link, declare_quorum, short, Link};
use super::rpc::{ack, JSON};
use super::Core;
use crate::envelope::Event;
use crate::errors;
use crate::handler::{handle_event, EventHandler};
use crate::names::{event_exchange, publisher_name};
use futures::StreamExt;
use lapin::options::{
    BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, ExchangeKind};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use voxbin_core::{Error, Result};

/// The event types a subscriber accepts, per publisher name.
#[derive(Default)]
pub(crate) struct Filters {
    /// Publisher name -> accepted types (`None`: all of them).
    bindings: HashMap<String, Option<HashSet<String>>>,
}

impl Filters {
    /// Adds `event_types` (all when empty) of `publishers` to what is accepted.
    pub(crate) fn bind(&mut self, publishers: &[&str], event_types: &[&str]) {
        for publisher in publishers {
            let filter = self
                .bindings
                .entry(publisher_name(publisher))
                .or_insert_with(|| Some(HashSet::new()));
            match filter {
                None => {}
                Some(_) if event_types.is_empty() => *filter = None,
                Some(types) => types.extend(event_types.iter().map(|t| (*t).to_owned())),
            }
        }
    }

    /// Whether an event of `event_type` from `publisher` is wanted.
    pub(crate) fn accepts(&self, publisher: &str, event_type: &str) -> bool {
        match self.bindings.get(&publisher_name(publisher)) {
            Some(None) => true,
            Some(Some(types)) => types.contains(event_type),
            None => false,
        }
    }
}

/// Declares the fanout exchange of a publishing service.
pub(crate) async fn declare_exchange(
    channel: &Channel,
    exchange: &str,
) -> std::result::Result<(), lapin::Error> {
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
}

/// Publishes `event` to its publisher's exchange and waits for the broker's confirm.
pub(crate) async fn publish(core: &Core, event: &Event) -> Result<()> {
    let exchange = event_exchange(&event.publisher);
    short(&exchange)?;
    let payload = serde_json::to_vec(event)
        .map_err(|e| Error::internal(format!("event not serialisable: {e}")))?;
    let deadline = Instant::now() + core.options.publish_timeout;
    let link = current_link(core, deadline)
        .await
        .ok_or_else(|| core.not_connected())?;
    let properties = BasicProperties::default()
        .with_content_type(JSON.into())
        .with_delivery_mode(2);
    let key = format!("exchange {exchange}");
    let send = async {
        let name = exchange.clone();
        link.declare_once(&key, |channel| async move {
            declare_exchange(&channel, &name).await
        })
        .await?;
        let sent = link
            .publish(&exchange, "", false, &payload, properties)
            .await;
        if sent.is_err() {
            // Maybe the exchange was deleted under us: declare it again next time.
            link.forget(&key);
        }
        sent.map(drop)
    };
    tokio::time::timeout_at(deadline, send).await.map_err(|_| {
        Error::unavailable(
            errors::BROKER_UNAVAILABLE,
            format!("the broker did not confirm an event for {exchange} in time"),
        )
    })?
}

/// Declares the subscriber queue, binds it to the publishers' exchanges and consumes it. A
/// `volatile` queue belongs to this connection (exclusive, deleted with it): it is declared
/// anew on every reconnection, and events published meanwhile are not kept for it.
pub(crate) async fn start_subscription(
    core: &Core,
    link: &Link,
    queue: &str,
    exchanges: &[String],
    volatile: bool,
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
    let declared = match volatile {
        true => channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map(drop),
        false => declare_quorum(&channel, queue, core.options.delivery_limit).await,
    };
    declared.map_err(|e| broker_error(&format!("declare {queue}"), &e))?;
    for exchange in exchanges {
        declare_exchange(&channel, exchange)
            .await
            .map_err(|e| broker_error(&format!("declare {exchange}"), &e))?;
        channel
            .queue_bind(
                queue.into(),
                exchange.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| broker_error(&format!("bind {queue} to {exchange}"), &e))?;
    }
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

/// Handles the events of one consumer, one at a time, until its stream ends or it is stopped.
pub(crate) async fn pump_events(
    subscriber: Arc<str>,
    filters: Arc<Mutex<Filters>>,
    handler: Arc<dyn EventHandler>,
    stop: CancellationToken,
    channel: Channel,
    mut stream: lapin::Consumer,
) {
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.cancelled() => {
                let _ = channel.basic_cancel(stream.tag(), BasicCancelOptions::default()).await;
                return;
            }
            next = stream.next() => next,
        };
        let delivery = match next {
            Some(Ok(delivery)) => delivery,
            Some(Err(error)) => {
                tracing::debug!(%subscriber, %error, "event consumer interrupted");
                return;
            }
            None => return,
        };
        match serde_json::from_slice::<Event>(&delivery.data) {
            Ok(event) if filters.lock().accepts(&event.publisher, &event.event_type) => {
                handle_event(&*handler, &subscriber, event).await
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%subscriber, %error, "unreadable event dropped"),
        }
        ack(&delivery, &subscriber).await;
    }
}
