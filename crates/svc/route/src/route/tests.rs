//! Routes and dial routes over the bus, as the API gateway and outbound calling call them.

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::Method;

use super::dialroute::DEFAULT_ROUTES_CUSTOMER;
use crate::provider::tests::create as create_provider;
use crate::testutil::{contract_ok, Harness};

fn body(provider_id: &str, target: &str, priority: i64) -> Value {
    json!({
        "name": format!("to {target}"),
        "detail": "outbound",
        "provider_id": provider_id,
        "priority": priority,
        "target": target
    })
}

async fn provider(h: &Harness, name: &str) -> String {
    create_provider(h, name).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn create(h: &Harness, customer: Uuid, body: Value) -> Value {
    let uri = format!("/v1/routes?customer_id={customer}");
    let created = h.call(Method::Post, &uri, Some(body)).await.unwrap();
    contract_ok("POST", "/routes", &created);
    created
}

/// Create, get, list, update, delete; then the route is gone everywhere.
async fn round_trip(h: &Harness) {
    let p1 = provider(h, "P1").await;
    let p2 = provider(h, "P2").await;
    let customer = Uuid::now_v7();
    let q = format!("customer_id={customer}");
    let created = create(h, customer, body(&p1, "82", 1)).await;
    assert_eq!(created["customer_id"], customer.to_string());
    assert_eq!(created["provider_id"], p1.as_str());
    assert_eq!(created["priority"], 1);
    assert_eq!(created["target"], "82");
    assert_eq!(created["tm_delete"], Value::Null);
    let id = created["id"].as_str().unwrap().to_string();

    let got = h
        .call(Method::Get, &format!("/v1/routes/{id}?{q}"), None)
        .await
        .unwrap();
    contract_ok("GET", "/routes/{id}", &got);
    assert_eq!(got, created);
    let list = h
        .call(Method::Get, &format!("/v1/routes?{q}"), None)
        .await
        .unwrap();
    contract_ok("GET", "/routes", &list);
    assert_eq!(list["result"], json!([created]));

    let updated = h
        .call(
            Method::Put,
            &format!("/v1/routes/{id}?{q}"),
            Some(body(&p2, "all", 7)),
        )
        .await
        .unwrap();
    contract_ok("PUT", "/routes/{id}", &updated);
    assert_eq!(updated["provider_id"], p2.as_str());
    assert_eq!(updated["target"], "all");
    assert_eq!(updated["priority"], 7);
    assert_eq!(updated["tm_create"], created["tm_create"]);
    let got = h
        .call(Method::Get, &format!("/v1/routes/{id}?{q}"), None)
        .await
        .unwrap();
    assert_eq!(got, updated);

    let deleted = h
        .call(Method::Delete, &format!("/v1/routes/{id}?{q}"), None)
        .await
        .unwrap();
    contract_ok("DELETE", "/routes/{id}", &deleted);
    assert!(deleted["tm_delete"].is_string());
    let uri = format!("/v1/routes/{id}?{q}");
    let err = h.fail(Method::Get, &uri, None, 404).await;
    assert_eq!(err.reason, "ROUTE_NOT_FOUND");
    h.fail(Method::Delete, &uri, None, 404).await;
    h.fail(Method::Put, &uri, Some(body(&p1, "1", 1)), 404)
        .await;
    let list = h
        .call(Method::Get, &format!("/v1/routes?{q}"), None)
        .await
        .unwrap();
    assert_eq!(list["result"], json!([]));
}

#[tokio::test]
async fn route_create_get_list_update_delete_round_trip() {
    round_trip(&Harness::sqlite().await).await;
}

#[tokio::test]
async fn route_round_trip_on_mariadb() {
    if let Some(h) = Harness::mysql("route_round_trip").await {
        round_trip(&h).await;
        dial_routes_scenario(&h).await;
    }
}

#[tokio::test]
async fn routes_page_newest_first_over_three_pages() {
    let h = Harness::sqlite().await;
    let p = provider(&h, "P").await;
    let customer = Uuid::now_v7();
    let mut ids = Vec::new();
    for n in 0..7 {
        let created = create(&h, customer, body(&p, "all", n)).await;
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let uri = format!("/v1/routes?customer_id={customer}&page_size=3&page_token={token}");
        let page = h.call(Method::Get, &uri, None).await.unwrap();
        contract_ok("GET", "/routes", &page);
        pages += 1;
        seen.extend(
            page["result"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string()),
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
async fn another_customer_cannot_see_or_touch_a_route() {
    let h = Harness::sqlite().await;
    let p = provider(&h, "P").await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let created = create(&h, a, body(&p, "82", 1)).await;
    let id = created["id"].as_str().unwrap();
    let as_b = format!("/v1/routes/{id}?customer_id={b}");
    h.fail(Method::Get, &as_b, None, 404).await;
    h.fail(Method::Put, &as_b, Some(body(&p, "1", 0)), 404)
        .await;
    h.fail(Method::Delete, &as_b, None, 404).await;
    let list = h
        .call(Method::Get, &format!("/v1/routes?customer_id={b}"), None)
        .await
        .unwrap();
    assert_eq!(list["result"], json!([]));
    // B may not create a route in A's name.
    let mut for_a = body(&p, "1", 0);
    for_a["customer_id"] = json!(a.to_string());
    let uri = format!("/v1/routes?customer_id={b}");
    h.fail(Method::Post, &uri, Some(for_a.clone()), 403).await;
    let as_a = format!("/v1/routes/{id}?customer_id={a}");
    assert_eq!(h.call(Method::Get, &as_a, None).await.unwrap(), created);
    assert_eq!(h.count("route_routes").await, 1);
    // The super-admin names the owner in the body and sees every customer's routes.
    let by_admin = h
        .call(Method::Post, "/v1/routes", Some(for_a))
        .await
        .unwrap();
    assert_eq!(by_admin["customer_id"], a.to_string());
    let all = h.call(Method::Get, "/v1/routes", None).await.unwrap();
    assert_eq!(all["result"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_input_is_400_and_writes_nothing() {
    let h = Harness::sqlite().await;
    let p = provider(&h, "P").await;
    let customer = Uuid::now_v7();
    let uri = format!("/v1/routes?customer_id={customer}");
    let with = |field: &str, value: Value| {
        let mut b = body(&p, "82", 1);
        b[field] = value;
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("provider_id", json!("nope")), "provider_id"),
        (
            with("provider_id", json!(Uuid::now_v7().to_string())),
            "provider_id",
        ),
        (with("provider_id", json!(null)), "provider_id"),
        (with("priority", json!("1")), "priority"),
        (with("priority", json!(1.5)), "priority"),
        (with("priority", json!(-1)), "priority"),
        (with("target", json!("KR")), "target"),
        (with("target", json!(82)), "target"),
        (with("name", json!(false)), "name"),
        (with("customer_id", json!("nope")), "customer_id"),
    ];
    for (body, field) in cases {
        let err = h.fail(Method::Post, &uri, Some(body.clone()), 400).await;
        assert!(err.message.starts_with(field), "{body}: {err}");
    }
    // The super-admin must name the owner.
    let err = h
        .fail(Method::Post, "/v1/routes", Some(body(&p, "82", 1)), 400)
        .await;
    assert!(err.message.starts_with("customer_id"), "{err}");
    assert_eq!(h.count("route_routes").await, 0);

    let created = create(&h, customer, body(&p, "82", 1)).await;
    let id = created["id"].as_str().unwrap();
    let put = format!("/v1/routes/{id}?customer_id={customer}");
    h.fail(
        Method::Put,
        &put,
        Some(with("target", json!("all countries"))),
        400,
    )
    .await;
    let gone = Uuid::now_v7().to_string();
    h.fail(
        Method::Put,
        &put,
        Some(with("provider_id", json!(gone))),
        400,
    )
    .await;
    assert_eq!(h.call(Method::Get, &put, None).await.unwrap(), created);
    for uri in [
        format!("/v1/routes/42?customer_id={customer}"),
        format!("/v1/routes?customer_id={customer}&page_size=5000"),
        format!("/v1/routes?customer_id={customer}&page_token=2026"),
    ] {
        h.fail(Method::Get, &uri, None, 400).await;
    }
    assert_eq!(h.count("route_routes").await, 1);
}

/// Provider ids of a dial route answer, in order.
fn providers_of(answer: &Value) -> Vec<String> {
    answer
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["provider"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn dial_routes_scenario(h: &Harness) {
    let (p1, p2, p3, p4) = (
        provider(h, "P1").await,
        provider(h, "P2").await,
        provider(h, "P3").await,
        provider(h, "P4").await,
    );
    let customer = Uuid::now_v7();
    create(h, customer, body(&p1, "82", 2)).await;
    create(h, customer, body(&p2, "82", 1)).await;
    create(h, customer, body(&p2, "all", 0)).await;
    create(h, customer, body(&p3, "1", 0)).await;
    create(h, DEFAULT_ROUTES_CUSTOMER, body(&p1, "82", 0)).await;
    create(h, DEFAULT_ROUTES_CUSTOMER, body(&p4, "all", 5)).await;
    // Another customer's routes never leak in.
    create(h, Uuid::now_v7(), body(&p3, "82", 0)).await;

    let uri = format!("/v1/dialroutes?customer_id={customer}&target=%2B821012345678");
    let answer = h.call(Method::Get, &uri, None).await.unwrap();
    // Specific before `all`, the customer's before the defaults, by priority; each provider once.
    assert_eq!(
        providers_of(&answer),
        vec![p2.clone(), p1.clone(), p4.clone()]
    );
    let first = &answer[0];
    assert_eq!(first["target"], "82");
    assert_eq!(first["priority"], 1);
    assert_eq!(first["customer_id"], customer.to_string());
    assert_eq!(
        first["provider"]["hostname"],
        "sip.carrier.example.com:5060"
    );
    assert_eq!(first["provider"]["tech_prefix"], "9");

    let us = format!("/v1/dialroutes?customer_id={customer}&target=12125550100");
    let answer = h.call(Method::Get, &us, None).await.unwrap();
    assert_eq!(
        providers_of(&answer),
        vec![p3.clone(), p2.clone(), p4.clone()]
    );

    // A customer without routes gets the platform defaults.
    let fresh = format!(
        "/v1/dialroutes?customer_id={}&target=%2B8210",
        Uuid::now_v7()
    );
    let answer = h.call(Method::Get, &fresh, None).await.unwrap();
    assert_eq!(providers_of(&answer), vec![p1.clone(), p4.clone()]);

    // Routes through a deleted provider are skipped.
    h.call(Method::Delete, &format!("/v1/providers/{p2}"), None)
        .await
        .unwrap();
    let answer = h.call(Method::Get, &uri, None).await.unwrap();
    assert_eq!(providers_of(&answer), vec![p1, p4]);
}

#[tokio::test]
async fn dial_routes_follow_country_code_priority_and_defaults() {
    dial_routes_scenario(&Harness::sqlite().await).await;
}

#[tokio::test]
async fn dial_routes_refuse_bad_numbers_and_missing_customer() {
    let h = Harness::sqlite().await;
    let customer = Uuid::now_v7();
    for target in ["", "abc", "%2B0821", "%2B1234567890123456", "82-10"] {
        let uri = format!("/v1/dialroutes?customer_id={customer}&target={target}");
        let err = h.fail(Method::Get, &uri, None, 400).await;
        assert!(err.message.starts_with("target"), "{target}: {err}");
    }
    let uri = format!("/v1/dialroutes?customer_id={customer}");
    h.fail(Method::Get, &uri, None, 400).await;
    h.fail(Method::Get, "/v1/dialroutes?target=%2B8210", None, 400)
        .await;
    let empty = format!("/v1/dialroutes?customer_id={customer}&target=%2B8210");
    assert_eq!(h.call(Method::Get, &empty, None).await.unwrap(), json!([]));
}
