//! The routing core of the edge: a sans-IO record-routing proxy.

pub mod flow;
pub mod reply;
pub mod route;
