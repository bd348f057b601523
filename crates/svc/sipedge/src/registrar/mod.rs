//! The registrar of the edge: REGISTER with digest authentication against the customer's
//! extensions, bindings kept in the shared cache.
//!
//! The domain of a REGISTER (its To URI) is `<customer_id>.registrar.<sip.domain>`; the user
//! is the extension. After the digest check, the contacts are applied to the bindings by the
//! rules of [`apply`] and the answer lists every live contact with the seconds it has left.
//! Each binding keeps the [`path`] back to the phone through this node (its flow token), which
//! the call service preloads as `Route` when a media node calls the phone.

pub mod apply;
mod key;
pub mod path;

pub use key::contact_key;

use crate::auth::{Authenticator, Kind, Verdict};
use crate::bindings::{aor, BindingStore};
use crate::proxy::flow::{transport_name, FlowSigner};
use crate::proxy::reply::reply;
use apply::{Bounds, ContactSpec, ContactsAsked, RegisterChange};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;
use voxbin_sip::{Contacts, HeaderName, Request, Response, Target};

/// What handling one REGISTER produced.
#[derive(Debug)]
pub struct Registered {
    /// The response to send.
    pub response: Response,
    /// True when a wrong password or unknown user was presented (counts towards a block).
    pub failed_attempt: bool,
}

/// Handles REGISTER requests; cheap to clone.
#[derive(Clone)]
pub struct Registrar {
    auth: Authenticator,
    store: BindingStore,
    bounds: Bounds,
    suffix: String,
    edge: String,
    /// Signs the flow tokens of the bindings' paths; no path is stored without it.
    paths: Option<FlowSigner>,
    /// Address of record -> latest expiry of a binding made through this node (for the gauge).
    active: Arc<Mutex<HashMap<String, u64>>>,
}

impl Registrar {
    /// A registrar for the realms ending in `.registrar.<domain>`; `edge` is this node's
    /// `host:port`, recorded in bindings.
    pub fn new(
        auth: Authenticator,
        store: BindingStore,
        bounds: Bounds,
        domain: &str,
        edge: String,
    ) -> Registrar {
        Registrar {
            auth,
            store,
            bounds,
            suffix: format!(".registrar.{}", domain.to_ascii_lowercase()),
            edge,
            paths: None,
            active: Arc::default(),
        }
    }

    /// The same registrar storing with each binding the path to the phone through this node,
    /// its flow token signed by `signer` (the cluster's flow signer).
    pub fn with_paths(mut self, signer: FlowSigner) -> Registrar {
        self.paths = Some(signer);
        self
    }

    /// Addresses of record registered through this node that are live at unix time `now`.
    pub fn active(&self, now: u64) -> usize {
        let mut a = self.active.lock();
        a.retain(|_, until| *until > now);
        a.len()
    }

    /// Handles one REGISTER that came from `source` at unix time `now`.
    pub async fn handle(&self, req: &Request, source: Target, now: u64) -> Registered {
        let answer = |response: Response| Registered {
            response,
            failed_attempt: false,
        };
        let to = match req.headers.to_hdr() {
            Ok(to) => to,
            Err(e) => return answer(reply(req, 400, e.reason())),
        };
        let realm = to.uri.host.to_string().to_ascii_lowercase();
        let customer = realm
            .strip_suffix(&self.suffix)
            .and_then(|c| Uuid::parse_str(c).ok());
        let (Some(customer_id), Some(user)) = (customer, to.uri.user.clone()) else {
            return answer(reply(req, 404, "Not Found"));
        };
        let verdict = match self
            .auth
            .extension(req, Kind::Www, &realm, customer_id, &user, now)
            .await
        {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "registrar: credentials lookup failed");
                return answer(unavailable(req));
            }
        };
        match verdict {
            Verdict::Extension(_) => {}
            Verdict::Refused {
                failed_attempt: true,
                ..
            } => {
                return Registered {
                    response: verdict
                        .response(req)
                        .unwrap_or_else(|| reply(req, 403, "Forbidden")),
                    failed_attempt: true,
                }
            }
            other => {
                let resp = other
                    .response(req)
                    .unwrap_or_else(|| reply(req, 403, "Forbidden"));
                return answer(resp);
            }
        }
        let change = match self.change(req, source) {
            Ok(c) => c,
            Err(resp) => return answer(resp),
        };
        let key = aor(&user, &realm);
        let bounds = self.bounds;
        let result = self
            .store
            .update(&key, now, |bindings| {
                apply::apply(bindings, &change, bounds, now).map(|()| bindings.clone())
            })
            .await;
        let bindings = match result {
            Ok(Ok(b)) => b,
            Ok(Err(refusal)) => {
                let mut resp = reply(req, refusal.status, refusal.reason);
                if let Some(min) = refusal.min_expires {
                    resp.headers.push(HeaderName::MinExpires, min.to_string());
                }
                return answer(resp);
            }
            Err(e) => {
                tracing::warn!(error = %e, aor = %key, "registrar: bindings not stored");
                return answer(unavailable(req));
            }
        };
        let latest = bindings.iter().map(|b| b.expires_at).max();
        {
            let mut active = self.active.lock();
            match latest {
                Some(until) => {
                    active.insert(key.clone(), until);
                }
                None => {
                    active.remove(&key);
                }
            }
        }
        let mut resp = reply(req, 200, "OK");
        for b in &bindings {
            resp.headers.push(
                HeaderName::Contact,
                format!("<{}>;expires={}", b.uri, b.remaining(now)),
            );
        }
        answer(resp)
    }

    /// The REGISTER reduced to what the bindings need; `Err` is the 400 to answer.
    fn change(&self, req: &Request, source: Target) -> Result<RegisterChange, Response> {
        let bad = |reason: &str| reply(req, 400, reason);
        let contacts = match req.headers.contacts().map_err(|e| bad(e.reason()))? {
            Contacts::Star => ContactsAsked::RemoveAll,
            Contacts::List(list) if list.is_empty() => ContactsAsked::Query,
            Contacts::List(list) => ContactsAsked::List(
                list.iter()
                    .map(|c| {
                        let uri = c.uri.to_string();
                        ContactSpec {
                            key: contact_key(&uri),
                            uri,
                            expires: c.expires(),
                            q: c.q(),
                            instance: c.params.value("+sip.instance").map(str::to_string),
                        }
                    })
                    .collect(),
            ),
        };
        let cseq = req.headers.cseq().map_err(|e| bad(e.reason()))?;
        Ok(RegisterChange {
            contacts,
            expires_header: req.headers.expires().map_err(|e| bad(e.reason()))?,
            call_id: req
                .headers
                .call_id()
                .map_err(|e| bad(e.reason()))?
                .to_string(),
            cseq: cseq.seq,
            received: format!("{}:{}", transport_name(source.transport), source.addr),
            edge: self.edge.clone(),
            user_agent: req.headers.get(&HeaderName::UserAgent).map(str::to_string),
            path: self
                .paths
                .as_ref()
                .map(|signer| path::path_for(&self.edge, signer, source)),
        })
    }
}

/// 503 with Retry-After: a dependency (bus, cache) did not answer.
fn unavailable(req: &Request) -> Response {
    let mut resp = reply(req, 503, "Service Unavailable");
    resp.headers.push(HeaderName::RetryAfter, "5");
    resp
}

#[cfg(test)]
mod tests;
