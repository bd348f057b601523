//! Foundations shared by every Voxbin crate.
//!
//! Nothing here knows about calls or flows: it holds the pieces every service needs the same
//! way: identifiers ([`id`]), time ([`clock`]), the public error model ([`error`]), layered
//! configuration ([`config`]), coordinated shutdown ([`shutdown`]) and logs and metrics
//! ([`telemetry`]).

pub mod clock;
pub mod config;
pub mod error;
pub mod id;
pub mod shutdown;
pub mod telemetry;

pub use error::{Error, ErrorKind, Result};
