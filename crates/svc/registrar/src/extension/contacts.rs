//! Where an extension's phones are: its live registrations, as the SIP edge keeps them in the
//! shared cache (`voxbin_svc_sipedge::bindings`), for the call service dialling it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use voxbin_bus::Ctx;
use voxbin_core::{Error, Result};
use voxbin_svc_sipedge::bindings::{aor, Binding, BindingStore};

use super::handlers::internal_only;
use super::model::Extension;
use super::store;
use crate::State;

/// An extension with its realm and live contacts.
#[derive(Debug, Serialize)]
pub struct Contacts {
    /// The extension (public fields).
    pub extension: Extension,
    /// Its realm, `<customer_id>.registrar.<sip.domain>`.
    pub realm: String,
    /// Its live registered contacts, each with the path to reach it through the edge.
    pub contacts: Vec<Binding>,
}

/// `GET /v1/extensions/by_username/{customer_id}/{username}/contacts` (internal, scope All):
/// the live extension and its registered contacts; 404 when there is no such extension.
pub async fn contacts(ctx: Ctx<State>) -> Result<Contacts> {
    internal_only(&ctx)?;
    let customer_id = ctx.param_uuid("customer_id")?;
    let username = ctx.param("username")?;
    let deps = &ctx.state().deps;
    let row = store::by_username(deps.db.writer(), customer_id, username)
        .await?
        .ok_or_else(|| Error::not_found("extension"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let bindings = BindingStore::new(deps.cache.clone())
        .lookup(&aor(&row.extension, &row.realm), now)
        .await?;
    Ok(Contacts {
        extension: row.public(),
        realm: row.realm.clone(),
        contacts: bindings,
    })
}

#[cfg(test)]
mod tests {
    use crate::testutil::Harness;
    use serde_json::json;
    use uuid::Uuid;
    use voxbin_bus::Method;
    use voxbin_svc_sipedge::bindings::{aor, Binding, BindingStore};

    #[tokio::test]
    async fn contacts_are_the_edges_live_bindings_of_a_live_extension() {
        let h = Harness::sqlite().await;
        let customer = Uuid::now_v7();
        let body = json!({"extension": "1001", "password": "pw", "name": "desk", "detail": ""});
        h.call_as(customer, Method::Post, "/v1/extensions", body)
            .await
            .unwrap();
        let uri = format!("/v1/extensions/by_username/{customer}/1001/contacts");
        let none = h.call(Method::Get, &uri, None).await.unwrap();
        assert_eq!(none["contacts"], json!([]));
        let realm = none["realm"].as_str().unwrap().to_owned();
        assert_eq!(realm, format!("{customer}.registrar.voxbin.local"));

        // what the edge stores at REGISTER
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let path = "<sip:127.0.0.1:5060;lr;ftok=u~192.0.2.7~5060~0011223344556677>";
        let binding = Binding {
            uri: "sip:1001@192.0.2.7:5060".into(),
            expires_at: now + 300,
            q: None,
            call_id: "reg-1".into(),
            cseq: 2,
            instance: None,
            received: "udp:192.0.2.7:5060".into(),
            edge: "127.0.0.1:5060".into(),
            user_agent: None,
            path: Some(path.into()),
        };
        BindingStore::new(h.deps.cache.clone())
            .update(&aor("1001", &realm), now, |b| b.push(binding))
            .await
            .unwrap();
        let found = h.call(Method::Get, &uri, None).await.unwrap();
        assert_eq!(found["extension"]["extension"], "1001");
        assert_eq!(found["contacts"][0]["uri"], "sip:1001@192.0.2.7:5060");
        assert_eq!(found["contacts"][0]["path"], path);
        assert!(found["extension"].get("ha1_md5").is_none());

        // internal only, and 404 for an extension that does not exist
        let scoped = format!("{uri}?customer_id={customer}");
        h.fail(Method::Get, &scoped, None, 404).await;
        let other = format!("/v1/extensions/by_username/{customer}/1999/contacts");
        h.fail(Method::Get, &other, None, 404).await;
    }
}
