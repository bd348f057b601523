//! The message bus every Voxbin service talks through, even inside one process.
//!
//! Services never call each other's code: they send RPC requests to a service's queue, publish
//! events that other services subscribe to, and schedule delayed messages for timers. The
//! [`Bus`] trait is that contract; [`InProcBus`] implements it with tokio tasks for the embedded
//! shape, and [`AmqpBus`] implements it over RabbitMQ for the distributed one. Messages use VoIPBIN's
//! JSON envelopes ([`Request`], [`Response`], [`Event`]) and queue names ([`request_queue`]).
//! On top sit the [`Router`], which maps a service's requests to handler functions, and the
//! [`BusClient`], which makes a call to another service one line.

#![warn(missing_docs)]

mod amqp;
mod bus;
mod client;
mod consumer;
mod envelope;
pub mod errors;
mod handler;
mod inproc;
mod names;
mod router;
mod schedule;
pub mod uri;
mod workqueue;

pub use amqp::{AmqpBus, AmqpOptions};
pub use bus::Bus;
pub use client::BusClient;
pub use consumer::Consumer;
pub use envelope::{Event, Method, Request, Response, DATA_TYPE_ERROR, DATA_TYPE_JSON};
pub use handler::{
    event_handler_fn, handle_event, handle_events, handle_request, handler_fn, EventHandler,
    Handler,
};
pub use inproc::{InProcBus, InProcOptions};
pub use names::{event_exchange, publisher_name, request_queue, service_name, subscribe_queue};
pub use router::{Ctx, Router};
