//! The server side: build challenges and check credentials against a stored HA1.

use std::time::Duration;

use crate::digest::hash::{response, Algorithm};
use crate::digest::header::{Challenge, Credentials};
use crate::digest::nonce::{constant_time_eq, NonceSigner, NonceState};

/// Verdict on presented credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Correct response on a fresh nonce.
    Ok,
    /// Correct response on an expired nonce: challenge again with `stale=true`.
    Stale,
    /// The nonce is not one of ours (or garbled): challenge again.
    BadNonce,
    /// Wrong response (wrong password) or unsupported qop: a failed attempt.
    Failed,
}

/// Challenges and verifies digest credentials with stateless nonces.
///
/// Nonce counts are not tracked (that would need state shared by every node), so a captured
/// answer can be replayed until its nonce expires; keep `max_age` short.
#[derive(Debug, Clone)]
pub struct DigestServer {
    signer: NonceSigner,
}

impl DigestServer {
    /// A server with the cluster-wide `secret` and the nonce lifetime.
    pub fn new(secret: &[u8], max_age: Duration) -> DigestServer {
        DigestServer {
            signer: NonceSigner::new(secret, max_age),
        }
    }

    /// A `qop=auth` challenge for `realm` with a fresh nonce.
    pub fn challenge(
        &self,
        realm: &str,
        algorithm: Algorithm,
        stale: bool,
        now_unix: u64,
    ) -> Challenge {
        Challenge {
            realm: realm.to_string(),
            nonce: self.signer.issue(now_unix),
            opaque: None,
            algorithm,
            qop: vec!["auth".to_string()],
            stale,
        }
    }

    /// Checks `creds` for a request with `method`, given the user's HA1 for
    /// `creds.algorithm.base()` (`H(username:realm:password)`).
    pub fn check(
        &self,
        creds: &Credentials,
        method: &str,
        ha1: &str,
        now_unix: u64,
    ) -> AuthOutcome {
        let state = self.signer.check(&creds.nonce, now_unix);
        if state == NonceState::Invalid {
            return AuthOutcome::BadNonce;
        }
        if !verify(creds, method, ha1) {
            return AuthOutcome::Failed;
        }
        match state {
            NonceState::Valid => AuthOutcome::Ok,
            _ => AuthOutcome::Stale,
        }
    }

    /// The nonce signer (to check nonces without credentials).
    pub fn signer(&self) -> &NonceSigner {
        &self.signer
    }
}

/// True when `creds.response` is right for `method` and the stored `ha1` (constant time).
pub fn verify(creds: &Credentials, method: &str, ha1: &str) -> bool {
    if let Some(q) = &creds.qop {
        if !q.eq_ignore_ascii_case("auth") {
            return false;
        }
    }
    let expected = response(
        creds.algorithm,
        ha1,
        &creds.nonce,
        creds.nc.as_deref(),
        creds.cnonce.as_deref(),
        creds.qop.as_deref(),
        method,
        &creds.uri,
    );
    constant_time_eq(
        expected.as_bytes(),
        creds.response.to_ascii_lowercase().as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{ha1, respond};

    const REALM: &str = "c1.registrar.voxbin.local";

    #[test]
    fn right_password_passes_wrong_fails_on_both_algorithms() {
        let server = DigestServer::new(b"s", Duration::from_secs(60));
        for alg in [Algorithm::Md5, Algorithm::Sha256] {
            let ch = server.challenge(REALM, alg, false, 1000);
            let creds = respond(
                &ch,
                "REGISTER",
                "sip:c1.registrar.voxbin.local",
                "1001",
                "pw",
                "cn1",
                1,
            );
            let stored = ha1(alg, "1001", REALM, "pw");
            assert_eq!(
                server.check(&creds, "REGISTER", &stored, 1010),
                AuthOutcome::Ok
            );
            assert_eq!(
                server.check(&creds, "INVITE", &stored, 1010),
                AuthOutcome::Failed
            );
            let wrong = ha1(alg, "1001", REALM, "nope");
            assert_eq!(
                server.check(&creds, "REGISTER", &wrong, 1010),
                AuthOutcome::Failed
            );
            assert_eq!(
                server.check(&creds, "REGISTER", &stored, 1061),
                AuthOutcome::Stale
            );
        }
    }

    #[test]
    fn nonce_from_another_secret_is_bad() {
        let a = DigestServer::new(b"a", Duration::from_secs(60));
        let b = DigestServer::new(b"b", Duration::from_secs(60));
        let ch = a.challenge(REALM, Algorithm::Md5, false, 1000);
        let creds = respond(&ch, "REGISTER", "sip:x", "u", "p", "c", 1);
        let stored = ha1(Algorithm::Md5, "u", REALM, "p");
        assert_eq!(
            b.check(&creds, "REGISTER", &stored, 1000),
            AuthOutcome::BadNonce
        );
        assert!(a.signer().check(&ch.nonce, 1000) == NonceState::Valid);
    }

    #[test]
    fn session_algorithm_and_rfc2069_answers_verify() {
        let server = DigestServer::new(b"s", Duration::from_secs(60));
        let mut ch = server.challenge(REALM, Algorithm::Sha256Sess, false, 5);
        let stored = ha1(Algorithm::Sha256, "u", REALM, "p");
        let creds = respond(&ch, "INVITE", "sip:bob@x", "u", "p", "c", 2);
        assert_eq!(server.check(&creds, "INVITE", &stored, 5), AuthOutcome::Ok);
        ch.qop.clear();
        ch.algorithm = Algorithm::Md5;
        let creds = respond(&ch, "INVITE", "sip:bob@x", "u", "p", "c", 2);
        assert!(creds.qop.is_none());
        let stored = ha1(Algorithm::Md5, "u", REALM, "p");
        assert_eq!(server.check(&creds, "INVITE", &stored, 5), AuthOutcome::Ok);
    }
}
