//! Activeflows: runs of a flow against a reference such as a call (`flow_activeflows`),
//! served on `/v1/activeflows`, and the engine that moves their cursor.
//!
//! [`engine`] is the sans-IO core (control actions, stacks, jumps, budgets); [`variables`]
//! the `${name}` substitution and built-ins; [`runner`] the shell that loads, steps, saves
//! (one transaction per step, variables included), publishes and performs effects; [`http`]
//! and [`http_client`] the outbound HTTP of `fetch` and `webhook_send` behind a small trait.
//!
//! How the call service drives a call's activeflow: `POST /v1/activeflows/{id}/execute`
//! returns the first action it must run (`result: execute`); when that action is done it
//! calls `POST .../next {action_id, variables}` (result variables such as
//! `voipbin.call.digits`) and gets the next one, until `result: ended`. Services push their
//! own stacks (`push_actions` with their id as `stack_id`, `service_stop` to drop them), jump
//! (`forward_action_id`) and release blocks (`continue`).

pub mod engine;
#[cfg(test)]
mod engine_bus_tests;
#[cfg(test)]
mod engine_tests;
pub(crate) mod handlers;
pub mod http;
pub mod http_client;
pub mod metrics;
pub mod model;
pub(crate) mod runner;
pub(crate) mod store;
#[cfg(test)]
mod tests;
pub mod variables;

pub use model::{Activeflow, ActiveflowStatus, ReferenceType, Stack, MAIN_STACK_ID};
