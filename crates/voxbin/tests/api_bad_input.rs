//! What a developer sees when a request is wrong: malformed or oversized bodies, wrong
//! types, unknown action types and fields, bad ids and page parameters. Each gets the right
//! 4xx with the error envelope and a stable reason naming the problem, and nothing is written.

mod support;

use serde_json::{json, Value};
use support::api::{create_tenant, send, Client, Reply};
use support::Server;

/// A well-formed id that names nothing.
const NO_SUCH_ID: &str = "01900000-0000-7000-8000-00000000abcd";

/// Every customer-owned list of the API and the 404 reason of its items.
const RESOURCES: [(&str, &str); 10] = [
    ("flows", "FLOW_NOT_FOUND"),
    ("numbers", "NUMBER_NOT_FOUND"),
    ("tags", "TAG_NOT_FOUND"),
    ("extensions", "EXTENSION_NOT_FOUND"),
    ("trunks", "TRUNK_NOT_FOUND"),
    ("routes", "ROUTE_NOT_FOUND"),
    ("outplans", "OUTPLAN_NOT_FOUND"),
    ("accesskeys", "ACCESSKEY_NOT_FOUND"),
    ("activeflows", "ACTIVEFLOW_NOT_FOUND"),
    ("providers", "PROVIDER_NOT_FOUND"),
];

/// What the customer has: its flows and numbers, as listed.
fn snapshot(c: &Client) -> (Value, Value) {
    let flows = c.get("/v1.0/flows");
    let numbers = c.get("/v1.0/numbers");
    assert_eq!(flows.status, 200, "{}", flows.raw);
    assert_eq!(numbers.status, 200, "{}", numbers.raw);
    (flows.body, numbers.body)
}

/// Asserts a 400 whose reason is `reason` and whose message mentions `mentions`.
fn bad_request(r: &Reply, reason: &str, mentions: &str) {
    assert_eq!(r.expect_error(400), reason, "{}", r.raw);
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(mentions),
        "message should name {mentions:?}: {}",
        r.raw
    );
}

/// A server with one customer that owns one flow and one number.
fn customer_with_a_flow() -> (Server, Client, String) {
    let s = Server::start(&[]);
    let t = create_tenant(&s, "acme");
    let c = Client::with_key(&s.api, &t.accesskey);
    let flow = c.post(
        "/v1.0/flows",
        json!({"name": "hello", "detail": "", "actions": [{"type": "answer"}]}),
    );
    assert_eq!(flow.status, 200, "{}", flow.raw);
    let id = flow.body["id"].as_str().unwrap().to_string();
    let number = c.post(
        "/v1.0/numbers",
        json!({"number": "+15550100001", "call_flow_id": id}),
    );
    assert_eq!(number.status, 200, "{}", number.raw);
    (s, c, id)
}

#[test]
fn malformed_json_and_non_object_bodies_are_refused_and_nothing_is_written() {
    let (_s, c, flow) = customer_with_a_flow();
    let before = snapshot(&c);
    let one = format!("/v1.0/flows/{flow}");
    let flow_before = c.get(&one).body;

    for text in [
        r#"{"name": "x", "detail": "", "actions": ["#,
        "not json at all",
        "{'name': 'single quotes'}",
        r#"{"name": "x"} trailing"#,
        r#"{"name": "x",}"#,
        "\u{feff}{}",
    ] {
        for path in ["/v1.0/flows", "/v1.0/numbers"] {
            let r = c.raw("POST", path, Some(text.as_bytes()));
            assert_eq!(
                r.expect_error(400),
                "INVALID_JSON",
                "POST {path} {text:?}: {}",
                r.raw
            );
        }
        let r = c.raw("PUT", &one, Some(text.as_bytes()));
        assert_eq!(
            r.expect_error(400),
            "INVALID_JSON",
            "PUT {one} {text:?}: {}",
            r.raw
        );
    }
    // Valid JSON that is not an object, and no body at all.
    for text in ["[1, 2]", "\"flow\"", "42", "null"] {
        for path in ["/v1.0/flows", "/v1.0/numbers"] {
            let r = c.raw("POST", path, Some(text.as_bytes()));
            assert_eq!(
                r.expect_error(400),
                "INVALID_BODY",
                "POST {path} {text:?}: {}",
                r.raw
            );
        }
    }
    for path in ["/v1.0/flows", "/v1.0/numbers"] {
        let r = c.raw("POST", path, None);
        assert_eq!(
            r.expect_error(400),
            "INVALID_BODY",
            "POST {path} without body: {}",
            r.raw
        );
    }
    // Bytes that are not UTF-8 are not JSON either.
    let latin1 = b"{\"name\": \"caf\xe9\", \"detail\": \"\", \"actions\": []}";
    let r = c.raw("POST", "/v1.0/flows", Some(latin1.as_slice()));
    assert_eq!(r.expect_error(400), "INVALID_JSON", "{}", r.raw);
    assert_eq!(snapshot(&c), before, "a refused request wrote something");
    assert_eq!(c.get(&one).body, flow_before);
}

#[test]
fn wrong_types_and_bad_actions_name_the_field_and_write_nothing() {
    let (_s, c, flow) = customer_with_a_flow();
    let before = snapshot(&c);
    let one = format!("/v1.0/flows/{flow}");
    let flow_before = c.get(&one).body;
    let answer = json!({"type": "answer"});

    // (body, reason, the field the message names)
    let cases = [
        (
            json!({"name": 3, "detail": "", "actions": []}),
            "INVALID_ARGUMENT",
            "name",
        ),
        (
            json!({"name": "x", "detail": ["a"], "actions": []}),
            "INVALID_ARGUMENT",
            "detail",
        ),
        (
            json!({"name": "x", "detail": "", "actions": "x"}),
            "INVALID_ACTION",
            "actions",
        ),
        (
            json!({"name": "x", "detail": "", "actions": {"type": "answer"}}),
            "INVALID_ACTION",
            "actions",
        ),
        (
            json!({"name": "x", "detail": ""}),
            "INVALID_ARGUMENT",
            "actions",
        ),
        (
            json!({"detail": "", "actions": []}),
            "INVALID_ARGUMENT",
            "name",
        ),
        (
            json!({"name": "x", "detail": "", "actions": [], "on_complete_flow_id": "nope"}),
            "INVALID_ARGUMENT",
            "on_complete_flow_id",
        ),
        // An unknown action type.
        (
            json!({"name": "x", "detail": "", "actions": [answer, {"type": "teleport"}]}),
            "INVALID_ACTION",
            "actions[1].type",
        ),
        (
            json!({"name": "x", "detail": "", "actions": [answer, {"type": 7}]}),
            "INVALID_ACTION",
            "actions[1].type",
        ),
        (
            json!({"name": "x", "detail": "", "actions": [answer, {"option": {}}]}),
            "INVALID_ACTION",
            "actions[1].type",
        ),
        // A bad option of a known action.
        (
            json!({"name": "x", "detail": "", "actions": [{"type": "talk", "option": {"text": 5}}]}),
            "INVALID_ACTION",
            "actions[0].option",
        ),
        (
            json!({"name": "x", "detail": "", "actions": [answer, {"type": "talk", "option": "hi"}]}),
            "INVALID_ACTION",
            "actions[1].option",
        ),
        // Actions are a closed schema: unknown fields are refused, not dropped.
        (
            json!({"name": "x", "detail": "", "actions": [answer, answer, {"type": "answer", "colour": "red"}]}),
            "INVALID_ACTION",
            "actions[2].colour",
        ),
        (
            json!({"name": "x", "detail": "", "actions": [{"type": "answer", "next_id": "not-a-uuid"}]}),
            "INVALID_ACTION",
            "actions[0].next_id",
        ),
        (
            json!({"name": "x", "detail": "", "actions": [{"type": "answer", "next_id": NO_SUCH_ID}]}),
            "INVALID_ACTION",
            "actions[0].next_id",
        ),
        (
            json!({"name": "x", "detail": "", "actions": [5]}),
            "INVALID_ACTION",
            "actions[0]",
        ),
    ];
    for (body, reason, field) in &cases {
        let r = c.post("/v1.0/flows", body.clone());
        bad_request(&r, reason, field);
        let r = c.put(&one, body.clone());
        bad_request(&r, reason, field);
    }

    let numbers = [
        (
            json!({"number": 15550100002u64}),
            "INVALID_ARGUMENT",
            "number",
        ),
        (json!({"number": "+1 555 0100"}), "INVALID_NUMBER", "number"),
        (json!({"name": "no number"}), "INVALID_ARGUMENT", "number"),
        (
            json!({"number": "+15550100002", "name": 3}),
            "INVALID_ARGUMENT",
            "name",
        ),
        (
            json!({"number": "+15550100002", "type": "premium"}),
            "INVALID_ARGUMENT",
            "type",
        ),
        (
            json!({"number": "+15550100002", "call_flow_id": "x"}),
            "INVALID_ID",
            "call_flow_id",
        ),
        (
            json!({"number": "+15550100002", "call_flow_id": NO_SUCH_ID}),
            "INVALID_ARGUMENT",
            "call_flow_id",
        ),
    ];
    for (body, reason, field) in &numbers {
        let r = c.post("/v1.0/numbers", body.clone());
        bad_request(&r, reason, field);
    }
    // The same number twice is a conflict, not a second row.
    let r = c.post("/v1.0/numbers", json!({"number": "+15550100001"}));
    assert_eq!(r.expect_error(409), "ALREADY_EXISTS", "{}", r.raw);

    assert_eq!(snapshot(&c), before, "a refused request wrote something");
    assert_eq!(
        c.get(&one).body,
        flow_before,
        "a refused update changed the flow"
    );
}

#[test]
fn oversize_and_too_deep_bodies_are_refused_before_any_work() {
    let (_s, c, flow) = customer_with_a_flow();
    let before = snapshot(&c);
    let one = format!("/v1.0/flows/{flow}");
    let flow_before = c.get(&one).body;

    // Just over the default 1 MiB body limit.
    let big = json!({"name": "big", "detail": "a".repeat(1024 * 1024), "actions": []}).to_string();
    for (method, path) in [
        ("POST", "/v1.0/flows"),
        ("PUT", one.as_str()),
        ("POST", "/v1.0/numbers"),
    ] {
        let r = c.raw(method, path, Some(big.as_bytes()));
        assert_eq!(
            r.expect_error(413),
            "BODY_TOO_LARGE",
            "{method} {path}: {}",
            r.status
        );
    }

    // 33 levels of nesting is one too many; 32 passes the gateway (and the flow service
    // then refuses it for what it is).
    let nested = |depth: usize| {
        let inner = format!("{}{}", "[".repeat(depth - 3), "]".repeat(depth - 3));
        format!(
            r#"{{"name": "deep", "detail": "", "actions": [{{"type": "answer", "option": {inner}}}]}}"#
        )
    };
    for (method, path) in [
        ("POST", "/v1.0/flows"),
        ("PUT", one.as_str()),
        ("POST", "/v1.0/numbers"),
    ] {
        let r = c.raw(method, path, Some(nested(33).as_bytes()));
        assert_eq!(
            r.expect_error(400),
            "JSON_TOO_DEEP",
            "{method} {path}: {}",
            r.raw
        );
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        let r = c.raw(method, path, Some(deep.as_bytes()));
        assert_eq!(
            r.expect_error(400),
            "JSON_TOO_DEEP",
            "{method} {path}: {}",
            r.raw
        );
    }
    let r = c.raw("POST", "/v1.0/flows", Some(nested(32).as_bytes()));
    assert_eq!(r.expect_error(400), "INVALID_ACTION", "{}", r.raw);

    assert_eq!(snapshot(&c), before, "a refused request wrote something");
    assert_eq!(c.get(&one).body, flow_before);
}

#[test]
fn bad_ids_and_page_parameters_get_400_and_unknown_ids_get_404() {
    let (_s, c, _flow) = customer_with_a_flow();
    let before = snapshot(&c);

    for (plural, not_found) in RESOURCES {
        // A path id that is not a UUID.
        for bad in ["not-a-uuid", "123", "01900000-0000-7000-8000-00000000abc"] {
            let r = c.get(&format!("/v1.0/{plural}/{bad}"));
            bad_request(&r, "INVALID_ID", "id");
        }
        // A well-formed id that names nothing.
        let r = c.get(&format!("/v1.0/{plural}/{NO_SUCH_ID}"));
        assert_eq!(r.expect_error(404), not_found, "GET {plural}: {}", r.raw);

        // Page parameters.
        let list = format!("/v1.0/{plural}");
        for size in ["0", "1001", "abc", "-1", "1.5"] {
            let r = c.get(&format!("{list}?page_size={size}"));
            bad_request(&r, "INVALID_PAGE_SIZE", "page_size");
        }
        for token in [
            "garbage",
            "2026-13-45T99:00:00.000000Z",
            "2026-01-15T09:30:00.000000Z|nope",
        ] {
            let r = c.get(&format!("{list}?page_token={token}"));
            bad_request(&r, "INVALID_PAGE_TOKEN", "page_token");
        }
        for size in ["1", "1000"] {
            let r = c.get(&format!("{list}?page_size={size}"));
            assert_eq!(r.status, 200, "{list}?page_size={size}: {}", r.raw);
        }
    }

    // Writes to bad and unknown ids, on the resources with every verb.
    for (plural, not_found) in RESOURCES.iter().filter(|(p, _)| *p != "activeflows") {
        let r = c.put(&format!("/v1.0/{plural}/not-a-uuid"), json!({"name": "x"}));
        bad_request(&r, "INVALID_ID", "id");
        let r = c.delete(&format!("/v1.0/{plural}/not-a-uuid"));
        bad_request(&r, "INVALID_ID", "id");
        if *plural != "providers" {
            let r = c.delete(&format!("/v1.0/{plural}/{NO_SUCH_ID}"));
            assert_eq!(
                r.expect_error(404),
                *not_found,
                "DELETE {plural}: {}",
                r.raw
            );
        }
    }
    let r = c.put(
        &format!("/v1.0/flows/{NO_SUCH_ID}"),
        json!({"name": "x", "detail": "", "actions": []}),
    );
    assert_eq!(r.expect_error(404), "FLOW_NOT_FOUND");
    let r = c.put(&format!("/v1.0/numbers/{NO_SUCH_ID}/flow_ids"), json!({}));
    assert_eq!(r.expect_error(404), "NUMBER_NOT_FOUND");
    let r = c.call("POST", "/v1.0/activeflows/not-a-uuid/stop", None);
    bad_request(&r, "INVALID_ID", "id");

    // An unknown path is a 404 with the envelope too.
    let r = c.get("/v1.0/teleporters");
    assert_eq!(r.expect_error(404), "ROUTE_NOT_FOUND");

    assert_eq!(snapshot(&c), before);
}

#[test]
fn the_request_id_is_echoed_in_the_header_and_in_the_error_body() {
    let (s, c, _flow) = customer_with_a_flow();
    let key = c.accesskey.clone().unwrap();

    let bad_json = b"{oops".as_slice();
    let cases: [(&str, String, Option<&[u8]>, u16); 4] = [
        (
            "POST",
            format!("/v1.0/flows?accesskey={key}"),
            Some(bad_json),
            400,
        ),
        (
            "GET",
            "/v1.0/flows/not-a-uuid".to_string() + "?accesskey=" + &key,
            None,
            400,
        ),
        (
            "GET",
            format!("/v1.0/flows/{NO_SUCH_ID}?accesskey={key}"),
            None,
            404,
        ),
        ("GET", "/v1.0/flows".to_string(), None, 401),
    ];
    for (i, (method, path, body, status)) in cases.iter().enumerate() {
        let rid = format!("e2e-bad-input-{i}");
        let r = send(&s.api, method, path, &[("X-Request-Id", &rid)], *body);
        r.expect_error(*status);
        assert_eq!(r.header("x-request-id"), Some(rid.as_str()), "{}", r.raw);
        assert_eq!(r.body["error"]["request_id"], rid.as_str(), "{}", r.raw);
    }
    // Without one the server makes one up, the same in the header and in the body.
    let r = c.get(&format!("/v1.0/flows/{NO_SUCH_ID}"));
    r.expect_error(404);
    let generated = r
        .header("x-request-id")
        .expect("a generated request id")
        .to_string();
    assert!(!generated.is_empty());
    assert_eq!(r.body["error"]["request_id"], generated.as_str());
    // A successful answer carries the caller's id too.
    let r = send(
        &s.api,
        "GET",
        &format!("/v1.0/flows?accesskey={key}"),
        &[("X-Request-Id", "ok-1")],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-request-id"), Some("ok-1"));
    // An id that is not printable ASCII is replaced, never echoed.
    let r = send(
        &s.api,
        "GET",
        "/v1.0/flows",
        &[("X-Request-Id", "a b")],
        None,
    );
    r.expect_error(401);
    assert_ne!(r.header("x-request-id"), Some("a b"));
    assert_eq!(
        r.body["error"]["request_id"],
        r.header("x-request-id").unwrap()
    );
}

#[test]
fn a_method_a_route_does_not_have_gets_405_with_the_error_body() {
    let (_s, c, flow) = customer_with_a_flow();
    let before = snapshot(&c);
    for (method, path) in [
        ("PATCH", format!("/v1.0/flows/{flow}")),
        ("POST", format!("/v1.0/flows/{flow}")),
        ("DELETE", "/v1.0/customer".to_string()),
        ("GET", "/v1.0/auth/login".to_string()),
    ] {
        let r = c.call(method, &path, Some(json!({"name": "x"})));
        assert_eq!(
            r.expect_error(405),
            "METHOD_NOT_ALLOWED",
            "{method} {path}: {}",
            r.raw
        );
        assert!(r.header("allow").is_some(), "{method} {path}: {}", r.raw);
    }
    assert_eq!(snapshot(&c), before);
}

/// Sends only the head of a request that announces a body of `length` bytes and waits up to
/// five seconds for the first answer.
fn announce_body(addr: &str, path: &str, length: usize) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).to_string()
}

#[test]
fn a_body_announced_larger_than_the_limit_is_refused_before_it_is_sent() {
    let (s, c, _flow) = customer_with_a_flow();
    let before = snapshot(&c);
    let key = c.accesskey.clone().unwrap();
    // A client that asks before uploading 5 MiB is told no at once, not invited to send it.
    let answer = announce_body(&s.api, &format!("/v1.0/flows?accesskey={key}"), 5 << 20);
    assert!(answer.starts_with("HTTP/1.1 413"), "got {answer:?}");
    assert!(answer.contains("BODY_TOO_LARGE"), "{answer}");
    assert_eq!(snapshot(&c), before);
}
