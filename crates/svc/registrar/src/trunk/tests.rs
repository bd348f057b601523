//! Trunks over the bus, as the API gateway calls them.

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::Method;

use crate::digest::ha1_md5;
use crate::testutil::{contract_ok, Harness};

fn body(domain_name: &str) -> Value {
    json!({
        "name": "Office PBX",
        "detail": "Main trunk",
        "domain_name": domain_name,
        "auth_types": ["basic", "ip"],
        "username": "pbx",
        "password": "tr0nk-pass",
        "allowed_ips": ["203.0.113.10", "198.51.100.0/24"]
    })
}

async fn create(h: &Harness, customer: Uuid, domain_name: &str) -> Value {
    let uri = format!("/v1/trunks?customer_id={customer}");
    let created = h
        .call(Method::Post, &uri, Some(body(domain_name)))
        .await
        .unwrap();
    contract_ok("POST", "/trunks", &created);
    created
}

/// Create, get, list, update, delete, then the deleted trunk is gone everywhere.
async fn round_trip(h: &Harness) {
    let customer = Uuid::now_v7();
    let q = format!("customer_id={customer}");
    let created = create(h, customer, "acme").await;
    assert_eq!(created["domain_name"], "acme");
    assert_eq!(created["auth_types"], json!(["basic", "ip"]));
    assert_eq!(
        created["allowed_ips"],
        json!(["203.0.113.10", "198.51.100.0/24"])
    );
    assert_eq!(created["username"], "pbx");
    assert_eq!(created["password"], "tr0nk-pass");
    assert_eq!(created["tm_delete"], Value::Null);
    assert!(
        created.get("realm").is_none(),
        "realm and HA1s are internal"
    );
    let id = created["id"].as_str().unwrap().to_string();

    let got = h
        .call(Method::Get, &format!("/v1/trunks/{id}?{q}"), None)
        .await
        .unwrap();
    contract_ok("GET", "/trunks/{id}", &got);
    assert_eq!(got, created);

    let list = h
        .call(Method::Get, &format!("/v1/trunks?{q}"), None)
        .await
        .unwrap();
    contract_ok("GET", "/trunks", &list);
    assert_eq!(list["result"], json!([created]));

    let update = json!({
        "name": "Carrier", "detail": "", "auth_types": ["ip"], "username": "",
        "password": "", "allowed_ips": ["2001:DB8::1"], "domain_name": "ignored"
    });
    let updated = h
        .call(Method::Put, &format!("/v1/trunks/{id}?{q}"), Some(update))
        .await
        .unwrap();
    contract_ok("PUT", "/trunks/{id}", &updated);
    assert_eq!(updated["name"], "Carrier");
    assert_eq!(updated["auth_types"], json!(["ip"]));
    assert_eq!(updated["allowed_ips"], json!(["2001:db8::1"]));
    assert_eq!(updated["domain_name"], "acme", "the name is not updatable");
    assert_eq!(updated["password"], "");
    let got = h
        .call(Method::Get, &format!("/v1/trunks/{id}?{q}"), None)
        .await
        .unwrap();
    assert_eq!(got, updated);

    let auth = h
        .call(Method::Get, "/v1/trunks/by_domain/acme", None)
        .await
        .unwrap();
    assert_eq!(auth["realm"], "acme.trunk.voxbin.local");
    assert_eq!(auth["ha1_md5"], "", "no credentials, no HA1");
    assert_eq!(auth["id"], id.as_str());

    let deleted = h
        .call(Method::Delete, &format!("/v1/trunks/{id}?{q}"), None)
        .await
        .unwrap();
    contract_ok("DELETE", "/trunks/{id}", &deleted);
    assert!(deleted["tm_delete"].is_string());

    let uri = format!("/v1/trunks/{id}?{q}");
    let err = h.fail(Method::Get, &uri, None, 404).await;
    assert_eq!(err.reason, "TRUNK_NOT_FOUND");
    h.fail(Method::Delete, &uri, None, 404).await;
    let list = h
        .call(Method::Get, &format!("/v1/trunks?{q}"), None)
        .await
        .unwrap();
    assert_eq!(list["result"], json!([]));
    h.fail(Method::Get, "/v1/trunks/by_domain/acme", None, 404)
        .await;
}

#[tokio::test]
async fn trunk_create_get_list_update_delete_round_trip() {
    round_trip(&Harness::sqlite().await).await;
}

#[tokio::test]
async fn trunk_round_trip_on_mariadb() {
    if let Some(h) = Harness::mysql("trunk_round_trip").await {
        round_trip(&h).await;
        trunk_names_are_unique_platform_wide_among_live_trunks(&h).await;
    }
}

#[tokio::test]
async fn trunks_page_newest_first_over_three_pages() {
    let h = Harness::sqlite().await;
    let customer = Uuid::now_v7();
    let mut ids = Vec::new();
    for n in 0..7 {
        let created = create(&h, customer, &format!("t{n}")).await;
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let uri = format!("/v1/trunks?customer_id={customer}&page_size=3&page_token={token}");
        let page = h.call(Method::Get, &uri, None).await.unwrap();
        contract_ok("GET", "/trunks", &page);
        pages += 1;
        seen.extend(
            page["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string()),
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
async fn another_customer_cannot_see_or_touch_a_trunk() {
    let h = Harness::sqlite().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let created = create(&h, a, "acme").await;
    let id = created["id"].as_str().unwrap();
    let as_b = format!("/v1/trunks/{id}?customer_id={b}");
    h.fail(Method::Get, &as_b, None, 404).await;
    let mut update = body("acme");
    update["password"] = json!("stolen-pass");
    h.fail(Method::Put, &as_b, Some(update), 404).await;
    h.fail(Method::Delete, &as_b, None, 404).await;
    let list = h
        .call(Method::Get, &format!("/v1/trunks?customer_id={b}"), None)
        .await
        .unwrap();
    assert_eq!(list["result"], json!([]));
    let as_a = format!("/v1/trunks/{id}?customer_id={a}");
    assert_eq!(h.call(Method::Get, &as_a, None).await.unwrap(), created);
}

async fn trunk_names_are_unique_platform_wide_among_live_trunks(h: &Harness) {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let first = create(h, a, "shared").await;
    let uri = format!("/v1/trunks?customer_id={b}");
    let err = h.fail(Method::Post, &uri, Some(body("shared")), 409).await;
    assert_eq!(err.reason, "TRUNK_ALREADY_EXISTS");
    let id = first["id"].as_str().unwrap();
    h.call(
        Method::Delete,
        &format!("/v1/trunks/{id}?customer_id={a}"),
        None,
    )
    .await
    .unwrap();
    create(h, b, "shared").await;
}

#[tokio::test]
async fn duplicate_trunk_name_is_409_even_across_customers() {
    trunk_names_are_unique_platform_wide_among_live_trunks(&Harness::sqlite().await).await;
}

#[tokio::test]
async fn bad_input_is_400_and_writes_nothing() {
    let h = Harness::sqlite().await;
    let customer = Uuid::now_v7();
    let uri = format!("/v1/trunks?customer_id={customer}");
    let with = |field: &str, value: Value| {
        let mut b = body("acme");
        b[field] = value;
        b
    };
    let without = |field: &str| {
        let mut b = body("acme");
        b.as_object_mut().unwrap().remove(field);
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("name", json!(1)), "name"),
        (with("domain_name", json!("Acme")), "domain_name"),
        (with("domain_name", json!("a.b")), "domain_name"),
        (with("auth_types", json!(["digest"])), "auth_types[0]"),
        (with("auth_types", json!("basic")), "auth_types"),
        (with("auth_types", json!([])), "auth_types"),
        (
            with("allowed_ips", json!(["10.0.0.1/33"])),
            "allowed_ips[0]",
        ),
        (
            with("allowed_ips", json!(["203.0.113.10", "pbx.example.com"])),
            "allowed_ips[1]",
        ),
        (with("allowed_ips", json!([1])), "allowed_ips[0]"),
        (with("password", json!("")), "password"),
        (with("username", json!("a b")), "username"),
        (
            {
                let mut b = with("auth_types", json!(["ip"]));
                b["allowed_ips"] = json!([]);
                b
            },
            "allowed_ips",
        ),
        (without("domain_name"), "domain_name"),
        (without("allowed_ips"), "allowed_ips"),
        (without("detail"), "detail"),
    ];
    for (body, field) in cases {
        let err = h.fail(Method::Post, &uri, Some(body.clone()), 400).await;
        assert!(err.message.starts_with(field), "{body}: {err}");
    }
    h.fail(Method::Post, &uri, Some(json!([])), 400).await;
    h.fail(Method::Post, "/v1/trunks", Some(body("acme")), 400)
        .await;
    assert_eq!(h.count("registrar_trunks").await, 0);

    // Digest-less IP trunks need no credentials.
    let mut ip_only = with("auth_types", json!(["ip"]));
    ip_only["username"] = json!("");
    ip_only["password"] = json!("");
    ip_only["domain_name"] = json!("ip-only");
    h.call(Method::Post, &uri, Some(ip_only)).await.unwrap();

    let created = create(&h, customer, "acme").await;
    let id = created["id"].as_str().unwrap();
    let put = format!("/v1/trunks/{id}?customer_id={customer}");
    h.fail(
        Method::Put,
        &put,
        Some(with("auth_types", json!(["x"]))),
        400,
    )
    .await;
    h.fail(Method::Put, &put, Some(without("username")), 400)
        .await;
    assert_eq!(h.call(Method::Get, &put, None).await.unwrap(), created);

    for uri in [
        format!("/v1/trunks/1234?customer_id={customer}"),
        format!("/v1/trunks?customer_id={customer}&page_size=x"),
        format!("/v1/trunks?customer_id={customer}&page_token=2026-13-01"),
    ] {
        h.fail(Method::Get, &uri, None, 400).await;
    }
    assert_eq!(h.count("registrar_trunks").await, 2);
}

#[tokio::test]
async fn by_domain_is_internal_only_and_takes_the_full_domain() {
    let h = Harness::sqlite().await;
    let customer = Uuid::now_v7();
    create(&h, customer, "acme").await;
    let full = h
        .call(
            Method::Get,
            "/v1/trunks/by_domain/ACME.trunk.voxbin.local",
            None,
        )
        .await
        .unwrap();
    let realm = "acme.trunk.voxbin.local";
    assert_eq!(full["ha1_md5"], ha1_md5("pbx", realm, "tr0nk-pass"));
    assert_eq!(full["allowed_ips"][1], "198.51.100.0/24");
    let scoped = format!("/v1/trunks/by_domain/acme?customer_id={customer}");
    let err = h.fail(Method::Get, &scoped, None, 404).await;
    assert_eq!(err.reason, voxbin_bus::errors::ROUTE_NOT_FOUND);
    h.fail(Method::Get, "/v1/trunks/by_domain/other", None, 404)
        .await;
}
