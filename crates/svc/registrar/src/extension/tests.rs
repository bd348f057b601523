//! Extensions over the bus, as the API gateway calls them.

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::Method;

use crate::digest::{ha1_md5, ha1_sha256};
use crate::testutil::{contract_ok, Harness};

fn body(extension: &str) -> Value {
    json!({"extension": extension, "password": "s3cur3P@ss", "name": "Reception", "detail": "Desk A"})
}

async fn create(h: &Harness, customer: Uuid, extension: &str) -> Value {
    let uri = format!("/v1/extensions?customer_id={customer}");
    let created = h
        .call(Method::Post, &uri, Some(body(extension)))
        .await
        .unwrap();
    contract_ok("POST", "/extensions", &created);
    created
}

/// Create, get, list, update, delete, then the deleted extension is gone everywhere.
async fn round_trip(h: &Harness) {
    let customer = Uuid::now_v7();
    let q = format!("customer_id={customer}");
    let created = create(h, customer, "1001").await;
    assert_eq!(created["extension"], "1001");
    assert_eq!(created["username"], "1001");
    assert_eq!(created["domain_name"], customer.to_string());
    assert_eq!(created["password"], "s3cur3P@ss");
    assert_eq!(created["customer_id"], customer.to_string());
    assert_eq!(created["tm_delete"], Value::Null);
    assert_eq!(created["tm_create"], created["tm_update"]);
    assert!(created.get("ha1_md5").is_none(), "HA1s are internal");
    let id = created["id"].as_str().unwrap().to_string();

    let got = h
        .call(Method::Get, &format!("/v1/extensions/{id}?{q}"), None)
        .await
        .unwrap();
    contract_ok("GET", "/extensions/{id}", &got);
    assert_eq!(got, created);

    let list = h
        .call(Method::Get, &format!("/v1/extensions?{q}"), None)
        .await
        .unwrap();
    contract_ok("GET", "/extensions", &list);
    assert_eq!(list["result"], json!([created]));
    assert_eq!(list["next_page_token"], "");

    let update = json!({"name": "Lobby", "detail": "Desk B", "password": "n3w-pass"});
    let updated = h
        .call(
            Method::Put,
            &format!("/v1/extensions/{id}?{q}"),
            Some(update),
        )
        .await
        .unwrap();
    contract_ok("PUT", "/extensions/{id}", &updated);
    assert_eq!(updated["name"], "Lobby");
    assert_eq!(updated["detail"], "Desk B");
    assert_eq!(updated["password"], "n3w-pass");
    assert_eq!(updated["extension"], "1001");
    assert_eq!(updated["tm_create"], created["tm_create"]);
    assert_ne!(updated["tm_update"], created["tm_update"]);
    let got = h
        .call(Method::Get, &format!("/v1/extensions/{id}?{q}"), None)
        .await
        .unwrap();
    assert_eq!(got, updated);

    // The SIP edge sees the new password's HA1s at once.
    let auth = h
        .call(
            Method::Get,
            &format!("/v1/extensions/by_username/{customer}/1001"),
            None,
        )
        .await
        .unwrap();
    let realm = format!("{customer}.registrar.voxbin.local");
    assert_eq!(auth["realm"], realm.as_str());
    assert_eq!(auth["ha1_md5"], ha1_md5("1001", &realm, "n3w-pass"));
    assert_eq!(auth["ha1_sha256"], ha1_sha256("1001", &realm, "n3w-pass"));
    assert_eq!(auth["id"], id.as_str());

    let deleted = h
        .call(Method::Delete, &format!("/v1/extensions/{id}?{q}"), None)
        .await
        .unwrap();
    contract_ok("DELETE", "/extensions/{id}", &deleted);
    assert_eq!(deleted["id"], id.as_str());
    assert!(deleted["tm_delete"].is_string());

    let uri = format!("/v1/extensions/{id}?{q}");
    let err = h.fail(Method::Get, &uri, None, 404).await;
    assert_eq!(err.reason, "EXTENSION_NOT_FOUND");
    h.fail(Method::Delete, &uri, None, 404).await;
    let update = json!({"name": "x", "detail": "", "password": "p"});
    h.fail(Method::Put, &uri, Some(update), 404).await;
    let list = h
        .call(Method::Get, &format!("/v1/extensions?{q}"), None)
        .await
        .unwrap();
    assert_eq!(list["result"], json!([]));
    let by_name = format!("/v1/extensions/by_username/{customer}/1001");
    h.fail(Method::Get, &by_name, None, 404).await;
}

#[tokio::test]
async fn extension_create_get_list_update_delete_round_trip() {
    round_trip(&Harness::sqlite().await).await;
}

#[tokio::test]
async fn extension_round_trip_on_mariadb() {
    if let Some(h) = Harness::mysql("extension_round_trip").await {
        round_trip(&h).await;
        duplicates_conflict_among_live_extensions_only(&h).await;
    }
}

#[tokio::test]
async fn extensions_page_newest_first_over_three_pages() {
    let h = Harness::sqlite().await;
    let customer = Uuid::now_v7();
    let mut ids = Vec::new();
    for n in 0..7 {
        let created = create(&h, customer, &format!("20{n}")).await;
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let uri = format!("/v1/extensions?customer_id={customer}&page_size=3&page_token={token}");
        let page = h.call(Method::Get, &uri, None).await.unwrap();
        contract_ok("GET", "/extensions", &page);
        pages += 1;
        let result = page["result"].as_array().unwrap();
        assert!(result.len() <= 3);
        seen.extend(result.iter().map(|e| e["id"].as_str().unwrap().to_string()));
        token = page["next_page_token"].as_str().unwrap().to_string();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn another_customer_cannot_see_or_touch_an_extension() {
    let h = Harness::sqlite().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let created = create(&h, a, "1001").await;
    let id = created["id"].as_str().unwrap();
    let as_b = format!("/v1/extensions/{id}?customer_id={b}");
    h.fail(Method::Get, &as_b, None, 404).await;
    let update = json!({"name": "mine", "detail": "", "password": "stolen"});
    h.fail(Method::Put, &as_b, Some(update), 404).await;
    h.fail(Method::Delete, &as_b, None, 404).await;
    let list = h
        .call(
            Method::Get,
            &format!("/v1/extensions?customer_id={b}"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(list["result"], json!([]));
    let as_a = format!("/v1/extensions/{id}?customer_id={a}");
    assert_eq!(h.call(Method::Get, &as_a, None).await.unwrap(), created);
    // B may use the same extension number in its own realm.
    create(&h, b, "1001").await;
}

async fn duplicates_conflict_among_live_extensions_only(h: &Harness) {
    let customer = Uuid::now_v7();
    let first = create(h, customer, "300").await;
    let uri = format!("/v1/extensions?customer_id={customer}");
    let err = h.fail(Method::Post, &uri, Some(body("300")), 409).await;
    assert_eq!(err.reason, "EXTENSION_ALREADY_EXISTS");
    let id = first["id"].as_str().unwrap();
    h.call(
        Method::Delete,
        &format!("/v1/extensions/{id}?customer_id={customer}"),
        None,
    )
    .await
    .unwrap();
    let again = create(h, customer, "300").await;
    assert_ne!(again["id"], first["id"]);
}

#[tokio::test]
async fn duplicate_extension_is_409_until_the_first_is_deleted() {
    duplicates_conflict_among_live_extensions_only(&Harness::sqlite().await).await;
}

#[tokio::test]
async fn bad_input_is_400_and_writes_nothing() {
    let h = Harness::sqlite().await;
    let customer = Uuid::now_v7();
    let uri = format!("/v1/extensions?customer_id={customer}");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"extension": 1001, "password": "p", "name": "", "detail": ""}),
            "extension",
        ),
        (
            json!({"extension": "1001", "password": 5, "name": "", "detail": ""}),
            "password",
        ),
        (
            json!({"extension": "1001", "password": "p", "name": [], "detail": ""}),
            "name",
        ),
        (
            json!({"extension": "1001", "password": "p", "name": ""}),
            "detail",
        ),
        (
            json!({"password": "p", "name": "", "detail": ""}),
            "extension",
        ),
        (
            json!({"extension": "10 01", "password": "p", "name": "", "detail": ""}),
            "extension",
        ),
        (
            json!({"extension": "a:b", "password": "p", "name": "", "detail": ""}),
            "extension",
        ),
        (
            json!({"extension": "1001", "password": "", "name": "", "detail": ""}),
            "password",
        ),
        (json!("1001"), "body"),
    ];
    for (body, field) in cases {
        let err = h.fail(Method::Post, &uri, Some(body.clone()), 400).await;
        assert!(err.message.contains(field), "{body}: {err}");
    }
    h.fail(Method::Post, &uri, None, 400).await;
    let bad_scope = "/v1/extensions?customer_id=nope";
    h.fail(Method::Post, bad_scope, Some(body("1")), 400).await;
    // A super-admin call must say whose extension it creates.
    h.fail(Method::Post, "/v1/extensions", Some(body("1")), 400)
        .await;
    assert_eq!(h.count("registrar_extensions").await, 0);

    let created = create(&h, customer, "1001").await;
    let id = created["id"].as_str().unwrap();
    let put = format!("/v1/extensions/{id}?customer_id={customer}");
    for body in [
        json!({"name": "x", "detail": "", "password": 1}),
        json!({"name": "x", "detail": ""}),
        json!({"name": "x\u{7}", "detail": "", "password": "p"}),
        json!({"name": "x".repeat(256), "detail": "", "password": "p"}),
    ] {
        h.fail(Method::Put, &put, Some(body), 400).await;
    }
    let got = h.call(Method::Get, &put, None).await.unwrap();
    assert_eq!(got, created, "a refused update changes nothing");

    for uri in [
        format!("/v1/extensions/not-a-uuid?customer_id={customer}"),
        format!("/v1/extensions?customer_id={customer}&page_size=0"),
        format!("/v1/extensions?customer_id={customer}&page_size=1001"),
        format!("/v1/extensions?customer_id={customer}&page_token=garbage"),
    ] {
        h.fail(Method::Get, &uri, None, 400).await;
    }
    assert_eq!(h.count("registrar_extensions").await, 1);
}

#[tokio::test]
async fn by_username_is_internal_only() {
    let h = Harness::sqlite().await;
    let customer = Uuid::now_v7();
    create(&h, customer, "1001").await;
    let uri = format!("/v1/extensions/by_username/{customer}/1001");
    let auth = h.call(Method::Get, &uri, None).await.unwrap();
    let realm = format!("{customer}.registrar.voxbin.local");
    assert_eq!(auth["ha1_md5"], ha1_md5("1001", &realm, "s3cur3P@ss"));
    assert_eq!(auth["password"], "s3cur3P@ss");
    // Through the gateway's 1:1 forwarding a customer scope is always present: refused.
    let scoped = format!("{uri}?customer_id={customer}");
    let err = h.fail(Method::Get, &scoped, None, 404).await;
    assert_eq!(err.reason, voxbin_bus::errors::ROUTE_NOT_FOUND);
    let other = format!("/v1/extensions/by_username/{}/1001", Uuid::now_v7());
    h.fail(Method::Get, &other, None, 404).await;
    let unknown = format!("/v1/extensions/by_username/{customer}/1002");
    h.fail(Method::Get, &unknown, None, 404).await;
}
