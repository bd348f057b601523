//! Digest algorithms and the RFC 7616 3.4.1 response computation.

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::error::ParseError;

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (RFC 2617; what nearly every phone uses).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// Name as written in the `algorithm=` parameter.
    pub fn as_str(&self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Parses an `algorithm=` value (case-insensitive); unknown ones are errors.
    pub fn parse(s: &str) -> Result<Algorithm, ParseError> {
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(s))
        .ok_or(ParseError::bad("Unsupported digest algorithm"))
    }

    /// True for the `-sess` variants.
    pub fn is_session(&self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// The plain algorithm behind a `-sess` variant (its HA1 is stored the same way).
    pub fn base(&self) -> Algorithm {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => Algorithm::Md5,
            Algorithm::Sha256 | Algorithm::Sha256Sess => Algorithm::Sha256,
        }
    }

    /// Lower-case hex hash of the `:`-joined parts.
    pub(crate) fn hash_hex(&self, parts: &[&str]) -> String {
        match self.base() {
            Algorithm::Md5 => hex(&joined::<Md5>(parts)),
            _ => hex(&joined::<Sha256>(parts)),
        }
    }
}

/// Hashes `parts` joined by `:` without building the joined string.
fn joined<D: Digest>(parts: &[&str]) -> Vec<u8> {
    let mut d = D::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            d.update(b":");
        }
        d.update(p.as_bytes());
    }
    d.finalize().to_vec()
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::new();
    crate::grammar::push_hex(&mut s, bytes);
    s
}

/// `H(username:realm:password)` for the algorithm's base hash.
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    alg.hash_hex(&[username, realm, password])
}

/// The expected `response=` value (RFC 7616 3.4.1) from a stored HA1 (`qop` None = RFC 2069).
#[allow(clippy::too_many_arguments)]
pub fn response(
    alg: Algorithm,
    ha1: &str,
    nonce: &str,
    nc: Option<&str>,
    cnonce: Option<&str>,
    qop: Option<&str>,
    method: &str,
    uri: &str,
) -> String {
    let session_ha1;
    let ha1 = if alg.is_session() {
        session_ha1 = alg.hash_hex(&[ha1, nonce, cnonce.unwrap_or("")]);
        session_ha1.as_str()
    } else {
        ha1
    };
    let ha2 = alg.hash_hex(&[method, uri]);
    match qop {
        Some(q) => alg.hash_hex(&[ha1, nonce, nc.unwrap_or(""), cnonce.unwrap_or(""), q, &ha2]),
        None => alg.hash_hex(&[ha1, nonce, &ha2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_example_response() {
        // RFC 2617 3.5 example (HTTP, MD5, qop=auth)
        let h = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let r = response(
            Algorithm::Md5,
            &h,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            Some("00000001"),
            Some("0a4f113b"),
            Some("auth"),
            "GET",
            "/dir/index.html",
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn rfc7616_sha256_example_response() {
        // RFC 7616 3.9.1 example
        let h = ha1(
            Algorithm::Sha256,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        let r = response(
            Algorithm::Sha256,
            &h,
            "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            Some("00000001"),
            Some("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"),
            Some("auth"),
            "GET",
            "/dir/index.html",
        );
        assert_eq!(
            r,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn algorithm_names() {
        assert_eq!(Algorithm::parse("sha-256").unwrap(), Algorithm::Sha256);
        assert_eq!(Algorithm::parse("MD5-sess").unwrap().base(), Algorithm::Md5);
        assert!(Algorithm::parse("SHA-512-256").is_err());
    }
}
