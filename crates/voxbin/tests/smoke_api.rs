//! The shortest path a developer takes: make a customer, create a flow, read it back.

mod support;

use serde_json::json;
use support::api::{create_tenant, Client};
use support::Server;

#[test]
fn customer_creates_and_reads_a_flow_with_an_access_key() {
    let s = Server::start(&[]);
    let t = create_tenant(&s, "acme");
    let c = Client::with_key(&s.api, &t.accesskey);
    let created = c.post(
        "/v1.0/flows",
        json!({"name": "hello", "detail": "greets", "actions": [{"type": "answer"}, {"type": "talk", "option": {"text": "Hello"}}]}),
    );
    assert_eq!(created.status, 200, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap().to_string();
    let got = c.get(&format!("/v1.0/flows/{id}"));
    assert_eq!(got.status, 200);
    assert_eq!(got.body, created.body);
    let list = c.get("/v1.0/flows");
    assert_eq!(list.body["result"].as_array().unwrap().len(), 1);
    assert_eq!(c.get("/v1.0/flows?accesskey=").status, 200);
    let anon = support::api::send(&s.api, "GET", &format!("/v1.0/flows/{id}"), &[], None);
    assert_eq!(anon.expect_error(401), "UNAUTHENTICATED");

    let (_, user, password) = s.bootstrap();
    let admin = Client::with_token(&s.api, &support::api::login(&s, &user, &password));
    let customers = admin.get("/v1.0/customers");
    assert_eq!(customers.status, 200, "{}", customers.raw);
    assert!(customers.body["result"].as_array().unwrap().len() >= 2);
}

#[test]
fn the_platform_runs_with_redis_as_its_cache() {
    let Ok(url) = std::env::var("VOXBIN_TEST_REDIS_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs this against Redis (scripts/test sets VOXBIN_TEST_REDIS_URL)"
        );
        eprintln!("VOXBIN_TEST_REDIS_URL not set; skipped");
        return;
    };
    let s = Server::start(&["--cache", &url, "--set", "cache.max_entries=10"]);
    let (status, body) = support::get(&s.health, "/ready").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"cache\":\"ok\""), "{body}");
    let t = create_tenant(&s, "redis");
    let c = Client::with_key(&s.api, &t.accesskey);
    let created = c.post(
        "/v1.0/flows",
        json!({"name": "cached", "detail": "in redis", "actions": [{"type": "answer"}]}),
    );
    assert_eq!(created.status, 200, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap().to_string();
    // Read twice: the second read is served from Redis; both answer the same flow.
    assert_eq!(c.get(&format!("/v1.0/flows/{id}")).body, created.body);
    assert_eq!(c.get(&format!("/v1.0/flows/{id}")).body, created.body);
    let renamed = c.put(
        &format!("/v1.0/flows/{id}"),
        json!({"name": "renamed", "detail": "in redis", "actions": [{"type": "answer"}]}),
    );
    assert_eq!(renamed.status, 200, "{}", renamed.raw);
    assert_eq!(
        c.get(&format!("/v1.0/flows/{id}")).body["name"],
        "renamed",
        "no stale flow after an update"
    );
}
