//! Flows: a customer's stored action lists (`flow_flows`), served on `/v1/flows`.
//!
//! The database is the truth and `flow:<id>` in the cache a copy ordered by the row's version
//! (see [`cache`]): reads fill it on a miss from the writer, writes put their new version in
//! it, and a cache outage costs database reads, never a refused write or a stale copy.
//! Creates take their id from the bus delivery, so a create the broker redelivers after a
//! replica died makes the same row again, not a second flow.

pub(crate) mod cache;
pub(crate) mod handlers;
pub mod model;
pub(crate) mod store;
#[cfg(test)]
mod tests;

pub use model::{Flow, FlowType, MAX_DETAIL_CHARS, MAX_FLOWS_PER_CUSTOMER, MAX_NAME_CHARS};
