//! HTTP digest authentication for SIP (RFC 2617, RFC 7616, RFC 8760): challenges and
//! credentials as header values, MD5 and SHA-256 (and their `-sess` forms) with `qop=auth`,
//! stateless HMAC-signed nonces any edge node can check, and the client's answer to a challenge.

mod client;
mod hash;
mod header;
mod nonce;
mod server;

pub use client::respond;
pub use hash::{ha1, response, Algorithm};
pub use header::{Challenge, Credentials};
pub use nonce::{NonceSigner, NonceState};
pub use server::{verify, AuthOutcome, DigestServer};
