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
