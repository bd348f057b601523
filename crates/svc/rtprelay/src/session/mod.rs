//! The relay's control core, sans-IO: calls and their media streams, offer/answer/delete/
//! query and idle timeouts, over a [`DataPlane`] that owns the sockets.

mod ports;
mod table;

pub use ports::PortPool;
pub use table::{
    DataPlane, Deleted, LegInfo, SessionInfo, StreamId, StreamInfo, Table, TableEvent,
};
