//! The `sip-edge` role: what Kamailio does in the seed deployment, in Rust.
//!
//! Phones register here (digest authentication against the customers' extensions, bindings in
//! the shared cache), trunks are admitted by password or source address, and new calls are
//! dispatched to healthy media nodes (configured, or announced on the bus: [`medianode`]) by
//! weighted rendezvous hashing of the Call-ID, so every edge node picks the same node for a
//! call, with the edge record-routing itself, so in-dialog requests reach the media node that
//! owns the dialog through any edge node: nothing a later request needs is kept only in one
//! node's memory. Floods and scanners are dropped per source IP, before any answer (a 400 for
//! a broken request included); while draining, new requests get 503 with Retry-After.

pub mod auth;
pub mod bindings;
pub mod coalesce;
pub mod directory;
pub mod dispatcher;
pub mod driver;
pub mod guard;
pub mod medianode;
pub mod metrics;
pub mod proxy;
pub mod registrar;
pub mod secret;
pub mod server;
pub mod settings;
#[cfg(test)]
mod testing;
pub mod tls;
pub mod udp;

pub use server::{EdgeDeps, SipEdge};
