//! Providers: the platform's SIP carriers for outbound PSTN calls.

pub mod handlers;
pub mod model;
pub mod store;
#[cfg(test)]
pub mod tests;
