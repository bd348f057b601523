//! `GET /v1.0/timelines/{resource_type}/{resource_id}/events` against the real binary: the
//! timeline service records a flow's events from the event stream and lists them newest
//! first, page by page, to its owner only. Runs in both shapes.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::api::{create_tenant, Client, Reply};
use support::Server;

const TEMPLATE: &str = "/timelines/{resource_type}/{resource_id}/events";

/// Validates a reply against the contract's answer of `GET template`.
fn conforms(template: &str, reply: &Reply) {
    let contract = voxbin_contract::Contract::shared().expect("the contract loads");
    if let Err(errors) =
        contract.validate_response_strict("GET", template, reply.status, &reply.body)
    {
        panic!("{template} {}: {errors:#?}\n{}", reply.status, reply.raw);
    }
}

fn types(reply: &Reply) -> Vec<String> {
    reply.body["result"]
        .as_array()
        .unwrap_or_else(|| panic!("no result: {}", reply.raw))
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect()
}

/// Reads `path` until it lists `n` events (the timeline records them as they arrive).
fn wait_for(c: &Client, path: &str, n: usize) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = c.get(path);
        if r.status == 200 && types(&r).len() >= n {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "never {n} events at {path}: {}",
            r.raw
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_flows_timeline_lists_its_events_newest_first_to_its_owner_only() {
    let s = Server::start(&[]);
    let (a, b) = (create_tenant(&s, "alpha"), create_tenant(&s, "bravo"));
    let (ca, cb) = (
        Client::with_key(&s.api, &a.accesskey),
        Client::with_key(&s.api, &b.accesskey),
    );
    let flow = |name: &str| json!({"name": name, "detail": "", "actions": [{"type": "answer"}]});
    let made = ca.post("/v1.0/flows", flow("v1"));
    assert_eq!(made.status, 200, "{}", made.raw);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(ca.put(&format!("/v1.0/flows/{id}"), flow("v2")).status, 200);
    assert_eq!(ca.delete(&format!("/v1.0/flows/{id}")).status, 200);

    let path = format!("/v1.0/timelines/flows/{id}/events");
    let all = wait_for(&ca, &path, 3);
    conforms(TEMPLATE, &all);
    assert_eq!(
        types(&all),
        ["flow_deleted", "flow_updated", "flow_created"]
    );
    let names: Vec<&Value> = all.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["data"]["name"])
        .collect();
    assert_eq!(names, [&json!("v2"), &json!("v2"), &json!("v1")]);
    assert_eq!(all.body["next_page_token"], "");

    // One event per page, in the same order.
    let mut paged = Vec::new();
    let mut next = format!("{path}?page_size=1");
    loop {
        let page = ca.get(&next);
        conforms(TEMPLATE, &page);
        paged.extend(types(&page));
        let token = page.body["next_page_token"].as_str().unwrap_or_default();
        if token.is_empty() {
            break;
        }
        next = format!("{path}?page_size=1&page_token={token}");
    }
    assert_eq!(paged, types(&all));

    // Another customer gets the 404 of a flow that does not exist.
    let theirs = cb.get(&path);
    assert_eq!(theirs.expect_error(404), "FLOW_NOT_FOUND");
    conforms(TEMPLATE, &theirs);
    let nothing = cb.get("/v1.0/timelines/flows/0b7f3c7e-5d1a-4c1e-9a51-3f1f2b0c9d4e/events");
    assert_eq!(nothing.expect_error(404), "FLOW_NOT_FOUND");

    // Bad input is named.
    let bad_type = ca.get(&format!("/v1.0/timelines/numbers/{id}/events"));
    assert_eq!(bad_type.expect_error(400), "INVALID_RESOURCE_TYPE");
    assert_eq!(ca.get("/v1.0/timelines/flows/nope/events").status, 400);
    let bad_page = ca.get(&format!("{path}?page_size=0"));
    assert_eq!(bad_page.expect_error(400), "INVALID_PAGE_SIZE");
}

#[test]
fn aggregated_events_need_exactly_one_of_activeflow_and_call() {
    let s = Server::start(&[]);
    let a = create_tenant(&s, "alpha");
    let c = Client::with_key(&s.api, &a.accesskey);
    let none = c.get("/v1.0/aggregated-events");
    assert_eq!(none.expect_error(400), "INVALID_ARGUMENT");
    conforms("/aggregated-events", &none);
    let unknown =
        c.get("/v1.0/aggregated-events?activeflow_id=0b7f3c7e-5d1a-4c1e-9a51-3f1f2b0c9d4e");
    assert_eq!(unknown.expect_error(404), "ACTIVEFLOW_NOT_FOUND");
    conforms("/aggregated-events", &unknown);
}
