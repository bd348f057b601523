//! The client side: answer a challenge with credentials.

use crate::digest::hash::{ha1, response};
use crate::digest::header::{Challenge, Credentials};

/// Credentials answering `ch` for a request (`method`, digest `uri`) as `username`/`password`,
/// with `qop=auth` when offered (`cnonce` and nonce count `nc` then apply).
pub fn respond(
    ch: &Challenge,
    method: &str,
    uri: &str,
    username: &str,
    password: &str,
    cnonce: &str,
    nc: u32,
) -> Credentials {
    let h1 = ha1(ch.algorithm.base(), username, &ch.realm, password);
    let qop = ch.offers_auth().then(|| "auth".to_string());
    let nc_text = format!("{nc:08x}");
    let (nc, cnonce) = match qop {
        Some(_) => (Some(nc_text), Some(cnonce.to_string())),
        None if ch.algorithm.is_session() => (None, Some(cnonce.to_string())),
        None => (None, None),
    };
    let resp = response(
        ch.algorithm,
        &h1,
        &ch.nonce,
        nc.as_deref(),
        cnonce.as_deref(),
        qop.as_deref(),
        method,
        uri,
    );
    Credentials {
        username: username.to_string(),
        realm: ch.realm.clone(),
        nonce: ch.nonce.clone(),
        uri: uri.to_string(),
        response: resp,
        algorithm: ch.algorithm,
        cnonce,
        nc,
        qop,
        opaque: ch.opaque.clone(),
    }
}
