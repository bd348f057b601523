//! How a delivery is signed, so a receiver can tell it came from us and is not a replay.
//!
//! With a customer secret, every delivery carries
//! - `X-VoIPBIN-Timestamp: <unix seconds when this attempt was sent>`
//! - `X-VoIPBIN-Signature: sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
//!
//! The timestamp is inside the signed text, so it cannot be changed without breaking the
//! signature; a receiver recomputes the HMAC over the raw body and refuses timestamps older than
//! a few minutes (a captured request replayed later fails that check). Each attempt is signed
//! anew with its own timestamp. Without a secret the timestamp is still sent, unsigned.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-VoIPBIN-Signature";
/// The timestamp header (unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-VoIPBIN-Timestamp";
/// The delivery id header: the same on every attempt of a delivery, for de-duplication.
pub const DELIVERY_HEADER: &str = "X-VoIPBIN-Delivery";
/// The event type header.
pub const EVENT_HEADER: &str = "X-VoIPBIN-Event";

/// `sha256=<hex>` of `"<timestamp>.<body>"` under `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes keys of any length, so this cannot fail; an empty MAC would only fail checks.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return String::from("sha256=");
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Checks a received signature (what a receiver does), in constant time over the digest.
pub fn verify(secret: &str, timestamp: i64, body: &str, signature: &str) -> bool {
    let expected = sign(secret, timestamp, body);
    expected.len() == signature.len()
        && expected
            .bytes()
            .zip(signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2 style check against a known value computed independently:
        // HMAC-SHA256(key="Jefe", "what do ya want for nothing?").
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let s = sign("secret", 1_700_000_000, r#"{"type":"x","data":{}}"#);
        assert!(s.starts_with("sha256=") && s.len() == 71, "{s}");
        assert!(verify(
            "secret",
            1_700_000_000,
            r#"{"type":"x","data":{}}"#,
            &s
        ));
    }

    #[test]
    fn another_secret_timestamp_or_body_fails() {
        let body = r#"{"type":"flow_created","data":{"id":"1"}}"#;
        let s = sign("k1", 100, body);
        assert!(!verify("k2", 100, body, &s));
        assert!(!verify("k1", 101, body, &s));
        assert!(!verify("k1", 100, &body.replace('1', "2"), &s));
        assert!(!verify("k1", 100, body, "sha256=00"));
    }
}
