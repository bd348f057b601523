//! The registrar of the edge: REGISTER with digest authentication against the customer's
//! extensions, bindings kept in the shared cache.

pub mod apply;
mod key;

pub use key::contact_key;
