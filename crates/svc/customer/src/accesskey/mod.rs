//! Access keys of customer-manager: long-lived API credentials of a customer.
//!
//! Only a hash of each token is stored; `POST /v1/accesskeys/verify` is how the gateway turns a
//! presented token into a customer (see [`model`] for the token format).

pub mod handlers;
pub mod model;
pub mod store;
