//! Customers (tenants) of customer-manager, and self-service signup.

pub mod handlers;
pub mod model;
pub mod store;
