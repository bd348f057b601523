//! The routing core of the edge: a sans-IO record-routing proxy.

pub mod branch;
pub mod core;
pub mod flow;
pub mod reply;
pub mod route;

#[cfg(test)]
mod core_tests;
