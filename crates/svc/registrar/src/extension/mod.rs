//! Extensions: a customer's phones and softphones, which register with digest credentials in
//! the customer's realm `<customer_id>.registrar.<sip.domain>`.

pub mod contacts;
pub mod handlers;
pub mod model;
pub mod store;
#[cfg(test)]
mod tests;
