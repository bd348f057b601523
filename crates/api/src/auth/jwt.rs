//! HS256 JSON Web Tokens, written against RFC 7519 with the workspace's HMAC and SHA-256 so
//! the build does not pull in RSA and elliptic-curve code we never use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;
use voxbin_core::{Error, Result};

/// The claims of a Voxbin login token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The agent the token was issued to.
    pub sub: Uuid,
    /// The agent's customer.
    pub customer_id: Uuid,
    /// The agent's permission bits at issue time.
    pub permission: u64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Issued at in microseconds, so revocation can compare with sub-second timestamps.
    #[serde(default)]
    pub iat_us: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Token id.
    pub jti: Uuid,
    /// Token type, as VoIPBIN's `type` claim.
    #[serde(rename = "type")]
    pub kind: String,
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn mac(secret: &[u8]) -> Result<Hmac<Sha256>> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .map_err(|_| Error::internal("invalid JWT secret"))
}

/// Signs claims into a compact JWT.
pub fn sign(secret: &[u8], claims: &Claims) -> Result<String> {
    let payload = serde_json::to_vec(claims).map_err(|e| Error::internal(e.to_string()))?;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut m = mac(secret)?;
    m.update(signing_input.as_bytes());
    let sig = m.finalize().into_bytes();
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

fn invalid() -> Error {
    Error::unauthenticated("The token is invalid or has expired.")
}

/// Verifies signature, algorithm and expiry; returns the claims.
pub fn verify(secret: &[u8], token: &str, now: i64) -> Result<Claims> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|_| invalid())?)
            .map_err(|_| invalid())?;
    // Only HS256 is accepted: a token that names another algorithm is refused, never downgraded.
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(invalid());
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid())?;
    let mut m = mac(secret)?;
    m.update(h.as_bytes());
    m.update(b".");
    m.update(p.as_bytes());
    m.verify_slice(&sig).map_err(|_| invalid())?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).map_err(|_| invalid())?)
        .map_err(|_| invalid())?;
    if claims.exp <= now {
        return Err(Error::unauthenticated("The token has expired."));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: Uuid::now_v7(),
            customer_id: Uuid::now_v7(),
            permission: 0x20,
            iat: 100,
            iat_us: 100_000_000,
            exp,
            jti: Uuid::now_v7(),
            kind: "agent".into(),
        }
    }

    #[test]
    fn round_trip_and_tamper_detection() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let c = claims(1000);
        let t = sign(secret, &c).unwrap();
        assert_eq!(verify(secret, &t, 500).unwrap(), c);
        assert!(verify(b"another-secret-another-secret-xx", &t, 500).is_err());
        let mut forged = t.clone();
        forged.insert(t.find('.').unwrap() + 3, 'x');
        assert!(verify(secret, &forged, 500).is_err());
        assert!(verify(secret, "a.b", 500).is_err());
        assert!(verify(secret, "", 500).is_err());
    }

    #[test]
    fn expired_and_alg_none_are_refused() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let t = sign(secret, &claims(1000)).unwrap();
        assert!(verify(secret, &t, 1000).is_err());
        let payload = t.split('.').nth(1).unwrap();
        let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        assert!(verify(secret, &none, 500).is_err());
    }
}
