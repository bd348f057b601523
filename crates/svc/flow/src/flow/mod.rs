//! Flows: a customer's stored action lists (`flow_flows`), served on `/v1/flows`.
//!
//! Cache discipline for `flow:<id>` (the database is the truth, the cache a copy):
//! - a read miss loads the row from the writer (never a lagging replica) and fills the cache
//!   with *set-if-absent*, so a reader that loaded an old row cannot overwrite a newer value;
//! - update and delete hold a short per-flow write lock (`flow:lock:<id>`), write the
//!   database, then overwrite the cache with the new value, or with a tombstone after a delete,
//!   before answering; the lock keeps two writers from putting their values in the wrong order;
//! - create caches the new flow (its id is fresh, so nothing stale can exist yet);
//! - an update or delete that cannot reach the cache is refused before the database is
//!   touched (503), or reported as failed, rather than risk a stale read.

pub(crate) mod cache;
pub(crate) mod handlers;
pub mod model;
pub(crate) mod store;
#[cfg(test)]
mod tests;

pub use model::{Flow, FlowType, MAX_DETAIL_CHARS, MAX_FLOWS_PER_CUSTOMER, MAX_NAME_CHARS};
