//! Domain services.
//!
//! Each service owns its tables and answers bus requests on
//! `bin-manager.<service>-manager.request`; services talk to each other only through the bus,
//! even inside one process. [`start_service`] wires one service onto the bus.

mod deps;
mod registry;

pub use deps::Deps;
pub use registry::{start_service, SERVICES};
