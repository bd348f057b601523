//! Providers over the bus, as the API gateway calls them.

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::Method;

use crate::testutil::{contract_ok, Harness};

/// A valid create body for a provider called `name`.
pub fn body(name: &str) -> Value {
    json!({
        "type": "sip",
        "hostname": "sip.carrier.example.com:5060",
        "tech_prefix": "9",
        "tech_postfix": "#",
        "tech_headers": {"X-Account": "acme"},
        "name": name,
        "detail": "Primary carrier",
        "codecs": "PCMU, PCMA"
    })
}

/// Creates a provider as the super-admin.
pub async fn create(h: &Harness, name: &str) -> Value {
    let created = h
        .call(Method::Post, "/v1/providers", Some(body(name)))
        .await
        .unwrap();
    contract_ok("POST", "/providers", &created);
    created
}

/// Create, get, list, update, delete as super-admin; then the provider is gone everywhere.
async fn round_trip(h: &Harness) {
    let created = create(h, "Carrier A").await;
    assert_eq!(created["type"], "sip");
    assert_eq!(created["codecs"], "PCMU,PCMA");
    assert_eq!(created["tech_headers"], json!({"X-Account": "acme"}));
    assert_eq!(created["metadata"], json!({}));
    assert_eq!(created["health_status"], "unknown");
    assert_eq!(created["health_checked_at"], Value::Null);
    assert_eq!(created["tm_delete"], Value::Null);
    let id = created["id"].as_str().unwrap().to_string();

    let got = h
        .call(Method::Get, &format!("/v1/providers/{id}"), None)
        .await
        .unwrap();
    contract_ok("GET", "/providers/{id}", &got);
    assert_eq!(got, created);
    let list = h.call(Method::Get, "/v1/providers", None).await.unwrap();
    contract_ok("GET", "/providers", &list);
    assert_eq!(list["result"], json!([created]));

    let mut update = body("Carrier B");
    update["hostname"] = json!("[2001:db8::5]:5080");
    update["tech_headers"] = json!({});
    update.as_object_mut().unwrap().remove("codecs");
    let updated = h
        .call(Method::Put, &format!("/v1/providers/{id}"), Some(update))
        .await
        .unwrap();
    contract_ok("PUT", "/providers/{id}", &updated);
    assert_eq!(updated["name"], "Carrier B");
    assert_eq!(updated["hostname"], "[2001:db8::5]:5080");
    assert_eq!(updated["tech_headers"], json!({}));
    assert_eq!(
        updated["codecs"], "PCMU,PCMA",
        "codecs left out keeps its value"
    );
    assert_ne!(updated["tm_update"], created["tm_update"]);
    let got = h
        .call(Method::Get, &format!("/v1/providers/{id}"), None)
        .await
        .unwrap();
    assert_eq!(got, updated);

    let deleted = h
        .call(Method::Delete, &format!("/v1/providers/{id}"), None)
        .await
        .unwrap();
    contract_ok("DELETE", "/providers/{id}", &deleted);
    assert!(deleted["tm_delete"].is_string());
    let uri = format!("/v1/providers/{id}");
    let err = h.fail(Method::Get, &uri, None, 404).await;
    assert_eq!(err.reason, "PROVIDER_NOT_FOUND");
    h.fail(Method::Delete, &uri, None, 404).await;
    h.fail(Method::Put, &uri, Some(body("x")), 404).await;
    let list = h.call(Method::Get, "/v1/providers", None).await.unwrap();
    assert_eq!(list["result"], json!([]));
}

#[tokio::test]
async fn provider_create_get_list_update_delete_round_trip() {
    round_trip(&Harness::sqlite().await).await;
}

#[tokio::test]
async fn provider_round_trip_on_mariadb() {
    if let Some(h) = Harness::mysql("provider_round_trip").await {
        round_trip(&h).await;
    }
}

#[tokio::test]
async fn providers_page_newest_first_over_three_pages() {
    let h = Harness::sqlite().await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let created = create(&h, &format!("P{n}")).await;
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    ids.reverse();
    let customer = Uuid::now_v7();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        // Customers list the platform's providers too.
        let uri = format!("/v1/providers?customer_id={customer}&page_size=3&page_token={token}");
        let page = h.call(Method::Get, &uri, None).await.unwrap();
        contract_ok("GET", "/providers", &page);
        pages += 1;
        seen.extend(
            page["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_string()),
        );
        token = page["next_page_token"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn customers_read_providers_but_only_the_super_admin_changes_them() {
    let h = Harness::sqlite().await;
    let created = create(&h, "Carrier").await;
    let id = created["id"].as_str().unwrap();
    for customer in [Uuid::now_v7(), Uuid::now_v7()] {
        let q = format!("customer_id={customer}");
        let got = h
            .call(Method::Get, &format!("/v1/providers/{id}?{q}"), None)
            .await
            .unwrap();
        assert_eq!(got, created);
        let uri = format!("/v1/providers?{q}");
        h.fail(Method::Post, &uri, Some(body("mine")), 403).await;
        let uri = format!("/v1/providers/{id}?{q}");
        h.fail(Method::Put, &uri, Some(body("mine")), 403).await;
        h.fail(Method::Delete, &uri, None, 403).await;
    }
    assert_eq!(h.count("route_providers").await, 1);
    let got = h
        .call(Method::Get, &format!("/v1/providers/{id}"), None)
        .await
        .unwrap();
    assert_eq!(got, created, "refused writes change nothing");
}

#[tokio::test]
async fn bad_input_is_400_and_writes_nothing() {
    let h = Harness::sqlite().await;
    let with = |field: &str, value: Value| {
        let mut b = body("P");
        b[field] = value;
        b
    };
    let without = |field: &str| {
        let mut b = body("P");
        b.as_object_mut().unwrap().remove(field);
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("type", json!("pstn")), "type"),
        (with("type", json!(1)), "type"),
        (with("hostname", json!("sip..example.com")), "hostname"),
        (with("hostname", json!("sip.example.com:99999")), "hostname"),
        (with("tech_prefix", json!("9 9")), "tech_prefix"),
        (with("tech_postfix", json!(5)), "tech_postfix"),
        (with("tech_headers", json!({"X-A": 1})), "tech_headers.X-A"),
        (
            with("tech_headers", json!({"X-A": "a\r\nB: c"})),
            "tech_headers.X-A",
        ),
        (
            with("tech_headers", json!({"Via": "x"})),
            "tech_headers.Via",
        ),
        (with("tech_headers", json!(["X-A"])), "tech_headers"),
        (with("codecs", json!("PCMU;PCMA")), "codecs"),
        (with("name", json!(null)), "name"),
        (without("hostname"), "hostname"),
        (without("tech_headers"), "tech_headers"),
    ];
    for (body, field) in cases {
        let err = h
            .fail(Method::Post, "/v1/providers", Some(body.clone()), 400)
            .await;
        assert!(err.message.starts_with(field), "{body}: {err}");
    }
    h.fail(Method::Post, "/v1/providers", Some(json!("sip")), 400)
        .await;
    assert_eq!(h.count("route_providers").await, 0);

    let created = create(&h, "P").await;
    let id = created["id"].as_str().unwrap();
    let uri = format!("/v1/providers/{id}");
    h.fail(Method::Put, &uri, Some(with("type", json!("iax"))), 400)
        .await;
    assert_eq!(h.call(Method::Get, &uri, None).await.unwrap(), created);
    for uri in [
        "/v1/providers/xyz".to_string(),
        "/v1/providers?page_size=-1".to_string(),
        "/v1/providers?page_token=nope".to_string(),
        "/v1/providers?customer_id=nope".to_string(),
    ] {
        h.fail(Method::Get, &uri, None, 400).await;
    }
    assert_eq!(h.count("route_providers").await, 1);
}
