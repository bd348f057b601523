//! The errors the bus itself produces, and their stable reasons.
//!
//! Callers match on these reasons (for example to retry on `RPC_TIMEOUT`), so every adapter
//! must produce the same ones for the same situation.

use std::any::Any;
use voxbin_core::Error;

/// The reply did not arrive within the caller's timeout (503).
pub const RPC_TIMEOUT: &str = "RPC_TIMEOUT";
/// No consumer is serving the target queue (503).
pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
/// The bus was closed and refuses new work (503).
pub const BUS_CLOSED: &str = "BUS_CLOSED";
/// No route matches the request's uri (404).
pub const ROUTE_NOT_FOUND: &str = "ROUTE_NOT_FOUND";
/// A route matches the uri but not the method (400).
pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
/// A handler failed unexpectedly, e.g. it panicked (500).
pub const INTERNAL: &str = "INTERNAL";
/// The target's circuit breaker is open after repeated failures (503).
pub const CIRCUIT_OPEN: &str = "CIRCUIT_OPEN";
/// The message broker cannot be reached (503).
pub const BROKER_UNAVAILABLE: &str = "BROKER_UNAVAILABLE";

/// 503 `RPC_TIMEOUT` for a request to `queue`.
pub fn rpc_timeout(queue: &str, uri: &str) -> Error {
    Error::unavailable(
        RPC_TIMEOUT,
        format!("no reply from {queue} for {uri} in time"),
    )
}

/// 503 `SERVICE_UNAVAILABLE` for a queue without consumers.
pub fn service_unavailable(queue: &str) -> Error {
    Error::unavailable(
        SERVICE_UNAVAILABLE,
        format!("no consumer is serving {queue}"),
    )
}

/// 503 `CIRCUIT_OPEN` for calls to `queue` refused by its circuit breaker.
pub fn circuit_open(queue: &str) -> Error {
    Error::unavailable(
        CIRCUIT_OPEN,
        format!("{queue} failed repeatedly; calls are paused"),
    )
}

/// 503 `BUS_CLOSED`.
pub fn bus_closed() -> Error {
    Error::unavailable(BUS_CLOSED, "the bus is closed")
}

/// 500 `INTERNAL` for a handler that panicked; the panic text stays in the logs.
pub fn handler_panicked() -> Error {
    Error::internal("the handler failed unexpectedly")
}

/// The text of a panic payload, for the log line.
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "non-text panic payload"
    }
}
