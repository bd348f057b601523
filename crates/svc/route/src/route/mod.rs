//! Routes: which provider a customer's outbound calls to a country go through, and the dial
//! routes outbound calling asks for.

pub mod dialroute;
pub mod handlers;
pub mod model;
pub mod store;
#[cfg(test)]
mod tests;
