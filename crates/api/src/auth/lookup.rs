//! Finding the credential in a request, in VoIPBIN's order.

use axum::http::header;
use axum::http::request::Parts;
use voxbin_bus::uri::parse_query;

/// A credential as presented.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    /// A login token (JWT).
    Token(String),
    /// An access key (`vb_...`).
    AccessKey(String),
}

/// Access keys start with this, which tells them apart from JWTs in a Bearer header.
const ACCESS_KEY_PREFIX: &str = "vb_";

/// Looks up the credential: cookie `token`, query `token`, `Authorization: Bearer`, then the
/// `accesskey` cookie or query parameter.
pub fn find_credential(parts: &Parts) -> Option<Credential> {
    let cookie = |name: &str| -> Option<String> {
        parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|line| {
                line.split(';').find_map(|kv| {
                    let (k, v) = kv.trim().split_once('=')?;
                    (k == name && !v.is_empty()).then(|| v.to_string())
                })
            })
    };
    let query = |name: &str| -> Option<String> {
        parse_query(parts.uri.query()?)
            .into_iter()
            .find_map(|(k, v)| (k == name && !v.is_empty()).then_some(v))
    };
    if let Some(t) = cookie("token").or_else(|| query("token")) {
        return Some(Credential::Token(t));
    }
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if let Some(b) = bearer {
        return Some(if b.starts_with(ACCESS_KEY_PREFIX) {
            Credential::AccessKey(b)
        } else {
            Credential::Token(b)
        });
    }
    cookie("accesskey")
        .or_else(|| query("accesskey"))
        .map(Credential::AccessKey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn order_is_cookie_query_bearer_accesskey() {
        let p = parts(
            "/x?token=q&accesskey=vb_a",
            &[("cookie", "a=b; token=c"), ("authorization", "Bearer j")],
        );
        assert_eq!(find_credential(&p), Some(Credential::Token("c".into())));
        let p = parts(
            "/x?token=q&accesskey=vb_a",
            &[("authorization", "Bearer j")],
        );
        assert_eq!(find_credential(&p), Some(Credential::Token("q".into())));
        let p = parts("/x?accesskey=vb_a", &[("authorization", "Bearer j")]);
        assert_eq!(find_credential(&p), Some(Credential::Token("j".into())));
        let p = parts("/x?accesskey=vb_a", &[("authorization", "Bearer vb_k")]);
        assert_eq!(
            find_credential(&p),
            Some(Credential::AccessKey("vb_k".into()))
        );
        let p = parts("/x?accesskey=vb_a", &[]);
        assert_eq!(
            find_credential(&p),
            Some(Credential::AccessKey("vb_a".into()))
        );
        let p = parts("/x", &[("cookie", "accesskey=vb_c")]);
        assert_eq!(
            find_credential(&p),
            Some(Credential::AccessKey("vb_c".into()))
        );
        assert_eq!(find_credential(&parts("/x?token=", &[])), None);
    }
}
