//! Digest authentication of phones (extensions) and trunks, against credentials from the
//! registrar service.
//!
//! REGISTER is challenged with 401 (WWW-Authenticate / Authorization), other requests with 407
//! (Proxy-Authenticate / Proxy-Authorization). Each challenge offers MD5 first (what nearly
//! every phone speaks) and SHA-256 (RFC 8760). Nonces are stateless and signed with the cluster
//! secret, so the answer to a challenge may reach any edge node. A trunk whose `auth_types`
//! include `ip` is admitted from an allowed source address without a challenge.

use crate::directory::{Directory, ExtensionCreds, TrunkCreds};
use std::net::IpAddr;
use std::time::Duration;
use uuid::Uuid;
use voxbin_core::Result;
use voxbin_sip::digest::{Algorithm, AuthOutcome, Credentials, DigestServer};
use voxbin_sip::{HeaderName, Request, Response};

/// How long a nonce stays fresh; older answers get a `stale=true` challenge.
pub const NONCE_MAX_AGE: Duration = Duration::from_secs(300);

/// Which pair of headers a challenge uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 401, `WWW-Authenticate` / `Authorization` (registrar).
    Www,
    /// 407, `Proxy-Authenticate` / `Proxy-Authorization` (calls and other requests).
    Proxy,
}

impl Kind {
    fn status(self) -> u16 {
        match self {
            Kind::Www => 401,
            Kind::Proxy => 407,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Kind::Www => "Unauthorized",
            Kind::Proxy => "Proxy Authentication Required",
        }
    }

    fn challenge_header(self) -> HeaderName {
        match self {
            Kind::Www => HeaderName::WwwAuthenticate,
            Kind::Proxy => HeaderName::ProxyAuthenticate,
        }
    }

    fn credentials_header(self) -> HeaderName {
        match self {
            Kind::Www => HeaderName::Authorization,
            Kind::Proxy => HeaderName::ProxyAuthorization,
        }
    }
}

/// The outcome of authenticating a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// An extension proved its password.
    Extension(ExtensionCreds),
    /// A trunk proved its password or came from an allowed address.
    Trunk(TrunkCreds),
    /// Ask for credentials: status 401 or 407 with these challenge header values.
    Challenge {
        /// The kind of challenge.
        kind: Kind,
        /// Header values, MD5 first.
        values: Vec<String>,
    },
    /// Refuse with this status; `failed_attempt` when it counts towards blocking the source.
    Refused {
        /// SIP status.
        status: u16,
        /// Reason phrase.
        reason: &'static str,
        /// Whether a wrong password or unknown user was presented.
        failed_attempt: bool,
    },
}

impl Verdict {
    /// The response to send for a challenge or a refusal (`None` when authenticated).
    pub fn response(&self, req: &Request) -> Option<Response> {
        match self {
            Verdict::Challenge { kind, values } => {
                let mut resp = crate::proxy::reply::reply(req, kind.status(), kind.reason());
                for v in values {
                    resp.headers.push(kind.challenge_header(), v.clone());
                }
                Some(resp)
            }
            Verdict::Refused { status, reason, .. } => {
                Some(crate::proxy::reply::reply(req, *status, reason))
            }
            _ => None,
        }
    }
}

fn refused(status: u16, reason: &'static str, failed_attempt: bool) -> Verdict {
    Verdict::Refused {
        status,
        reason,
        failed_attempt,
    }
}

/// Checks digest credentials; cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    server: DigestServer,
    directory: Directory,
}

impl Authenticator {
    /// An authenticator signing nonces with the cluster `secret`.
    pub fn new(secret: &[u8], directory: Directory) -> Authenticator {
        Authenticator {
            server: DigestServer::new(secret, NONCE_MAX_AGE),
            directory,
        }
    }

    fn challenge(&self, kind: Kind, realm: &str, stale: bool, now: u64) -> Verdict {
        let values = [Algorithm::Md5, Algorithm::Sha256]
            .into_iter()
            .map(|alg| {
                self.server
                    .challenge(realm, alg, stale, now)
                    .to_header_value()
            })
            .collect();
        Verdict::Challenge { kind, values }
    }

    /// The request's credentials for `realm`, if any; `Err` when they do not parse.
    fn credentials(
        req: &Request,
        kind: Kind,
        realm: &str,
    ) -> std::result::Result<Option<Credentials>, ()> {
        for value in req.headers.get_all(&kind.credentials_header()) {
            let creds = Credentials::parse(value).map_err(|_| ())?;
            if creds.realm.eq_ignore_ascii_case(realm) {
                return Ok(Some(creds));
            }
        }
        Ok(None)
    }

    /// Checks `creds` against an HA1 pair for the request's method.
    fn check(
        &self,
        req: &Request,
        creds: &Credentials,
        ha1_md5: &str,
        ha1_sha256: &str,
        now: u64,
    ) -> AuthOutcome {
        let ha1 = match creds.algorithm.base() {
            Algorithm::Sha256 => ha1_sha256,
            _ => ha1_md5,
        };
        if ha1.is_empty() {
            return AuthOutcome::Failed;
        }
        self.server.check(creds, req.method.as_str(), ha1, now)
    }

    /// Authenticates `user` as an extension of `customer_id` in `realm`.
    pub async fn extension(
        &self,
        req: &Request,
        kind: Kind,
        realm: &str,
        customer_id: Uuid,
        user: &str,
        now: u64,
    ) -> Result<Verdict> {
        let creds = match Self::credentials(req, kind, realm) {
            Err(()) => return Ok(refused(400, "Bad Credentials", false)),
            Ok(None) => return Ok(self.challenge(kind, realm, false, now)),
            Ok(Some(c)) => c,
        };
        if creds.username != user {
            return Ok(refused(403, "Forbidden", true));
        }
        // Answers to nonces we did not issue are not looked up at all.
        if self.server.signer().check(&creds.nonce, now) == voxbin_sip::digest::NonceState::Invalid
        {
            return Ok(self.challenge(kind, realm, false, now));
        }
        let Some(ext) = self.directory.extension(customer_id, user).await? else {
            return Ok(refused(403, "Forbidden", true));
        };
        Ok(
            match self.check(req, &creds, &ext.ha1_md5, &ext.ha1_sha256, now) {
                AuthOutcome::Ok => Verdict::Extension(ext),
                AuthOutcome::Stale => self.challenge(kind, realm, true, now),
                AuthOutcome::BadNonce => self.challenge(kind, realm, false, now),
                AuthOutcome::Failed => refused(403, "Forbidden", true),
            },
        )
    }

    /// Authenticates a request for the trunk `domain` coming from `source`.
    pub async fn trunk(
        &self,
        req: &Request,
        domain: &str,
        source: IpAddr,
        now: u64,
    ) -> Result<Verdict> {
        let Some(trunk) = self.directory.trunk(domain).await? else {
            return Ok(refused(404, "Not Found", false));
        };
        if trunk.allows("ip") && trunk.ip_allowed(source) {
            return Ok(Verdict::Trunk(trunk));
        }
        if !trunk.allows("basic") {
            return Ok(refused(403, "Forbidden", true));
        }
        let realm = trunk.realm.clone();
        let creds = match Self::credentials(req, Kind::Proxy, &realm) {
            Err(()) => return Ok(refused(400, "Bad Credentials", false)),
            Ok(None) => return Ok(self.challenge(Kind::Proxy, &realm, false, now)),
            Ok(Some(c)) => c,
        };
        if creds.username != trunk.username {
            return Ok(refused(403, "Forbidden", true));
        }
        Ok(
            match self.check(req, &creds, &trunk.ha1_md5, &trunk.ha1_sha256, now) {
                AuthOutcome::Ok => Verdict::Trunk(trunk),
                AuthOutcome::Stale => self.challenge(Kind::Proxy, &realm, true, now),
                AuthOutcome::BadNonce => self.challenge(Kind::Proxy, &realm, false, now),
                AuthOutcome::Failed => refused(403, "Forbidden", true),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{directory, request, TRUNK};
    use voxbin_sip::digest::{respond, Challenge};

    const NOW: u64 = 1_700_000_000;

    fn invite(auth: Option<String>) -> Request {
        let auth = auth
            .map(|a| format!("Proxy-Authorization: {a}\n"))
            .unwrap_or_default();
        request(&format!(
            "INVITE sip:+15550100@pbx1.trunk.voxbin.local SIP/2.0
Via: SIP/2.0/UDP 198.51.100.4:5060;branch=z9hG4bKt1
From: <sip:+15550199@pbx.example>;tag=t1
To: <sip:+15550100@pbx1.trunk.voxbin.local>
Call-ID: trunk-call-1
CSeq: 1 INVITE
{auth}Content-Length: 0

"
        ))
    }

    #[tokio::test]
    async fn trunks_are_admitted_by_address_or_password() {
        let (dir, _c) = directory().await;
        let auth = Authenticator::new(b"cluster", dir);
        let allowed: IpAddr = "203.0.113.9".parse().unwrap();
        let other: IpAddr = "198.51.100.4".parse().unwrap();
        let plain = invite(None);
        let v = auth.trunk(&plain, "pbx1.trunk.voxbin.local", allowed, NOW);
        assert!(matches!(v.await.unwrap(), Verdict::Trunk(t) if t.domain_name == TRUNK.0));

        let v = auth
            .trunk(&invite(None), "pbx1.trunk.voxbin.local", other, NOW)
            .await
            .unwrap();
        let resp = v.response(&invite(None)).unwrap();
        assert_eq!(resp.status, 407);
        let ch =
            Challenge::parse(resp.headers.get(&HeaderName::ProxyAuthenticate).unwrap()).unwrap();
        let uri = "sip:+15550100@pbx1.trunk.voxbin.local";
        let good = respond(&ch, "INVITE", uri, TRUNK.1, TRUNK.2, "ab", 1).to_header_value();
        let answered = invite(Some(good));
        let v = auth.trunk(&answered, "pbx1", other, NOW);
        assert!(matches!(v.await.unwrap(), Verdict::Trunk(_)));
        let bad = respond(&ch, "INVITE", uri, TRUNK.1, "nope", "ab", 1).to_header_value();
        let v = auth
            .trunk(&invite(Some(bad)), "pbx1", other, NOW)
            .await
            .unwrap();
        assert!(matches!(
            v,
            Verdict::Refused {
                status: 403,
                failed_attempt: true,
                ..
            }
        ));
        let unknown = auth
            .trunk(&invite(None), "nobody", other, NOW)
            .await
            .unwrap();
        assert!(matches!(unknown, Verdict::Refused { status: 404, .. }));
    }
}
