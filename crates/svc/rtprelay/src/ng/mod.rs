//! rtpengine's ng control protocol, so an unmodified Kamailio (`rtpengine` module) or
//! OpenSIPS can drive the relay: UDP datagrams `<cookie> <bencoded dict>`, answered with the
//! same cookie and a bencoded result.

pub mod bencode;
mod command;
mod server;

pub use command::{handle, handle_datagram};
pub use server::NgServer;
