//! The flow resource through the bus, as the API gateway uses it.

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_bus::Method;
use voxbin_core::ErrorKind;

use super::cache;
use super::model::Flow;
use crate::testutil::{assert_contract, Harness};
use voxbin_cache::{Cache, CacheKind};

fn actions() -> Value {
    json!([
        {"type": "answer"},
        {"type": "talk", "option": {"text": "hello", "language": "en-US"}},
    ])
}

fn new_flow(name: &str) -> Value {
    json!({"name": name, "detail": "a test flow", "actions": actions()})
}

async fn create(h: &Harness, customer: Uuid, name: &str) -> Value {
    let flow = h
        .call_as(customer, Method::Post, "/v1/flows", Some(new_flow(name)))
        .await
        .unwrap();
    assert_contract("POST", "/flows", 200, &flow);
    flow
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn flow_round_trip_create_get_list_update_delete() {
    let h = Harness::sqlite().await;
    let a = Uuid::now_v7();
    let contract = voxbin_contract::Contract::shared().unwrap();
    // The contract wants action ids in requests; we also accept (and assign) missing ones.
    let mut with_ids = new_flow("main");
    with_ids["actions"][0]["id"] = json!(Uuid::now_v7());
    with_ids["actions"][1]["id"] = json!(Uuid::now_v7());
    contract
        .validate_request_strict("POST", "/flows", &with_ids)
        .unwrap();

    let created = create(&h, a, "main").await;
    assert_eq!(created["type"], "flow", "type defaults to flow");
    assert_eq!(created["customer_id"], a.to_string());
    assert_eq!(created["name"], "main");
    assert_eq!(created["actions"].as_array().unwrap().len(), 2);
    assert_eq!(created["actions"][0]["type"], "answer");
    assert!(
        created["actions"][0]["id"].as_str().is_some(),
        "ids are assigned"
    );
    assert_eq!(created["tm_delete"], Value::Null);
    let id = id_of(&created);
    let path = format!("/v1/flows/{id}");

    let got = h.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_contract("GET", "/flows/{id}", 200, &got);
    assert_eq!(got, created);

    let list = h.call_as(a, Method::Get, "/v1/flows", None).await.unwrap();
    assert_contract("GET", "/flows", 200, &list);
    assert_eq!(list["result"], json!([created]));
    assert_eq!(list["next_page_token"], "");

    let update = json!({
        "name": "renamed",
        "detail": "new detail",
        "actions": [{"id": Uuid::now_v7(), "type": "hangup"}],
    });
    contract
        .validate_request_strict("PUT", "/flows/{id}", &update)
        .unwrap();
    let updated = h
        .call_as(a, Method::Put, &path, Some(update))
        .await
        .unwrap();
    assert_contract("PUT", "/flows/{id}", 200, &updated);
    assert_eq!(updated["name"], "renamed");
    assert_eq!(updated["detail"], "new detail");
    assert_eq!(updated["actions"][0]["type"], "hangup");
    assert_eq!(updated["tm_create"], created["tm_create"]);
    assert_eq!(updated["type"], "flow");
    let got = h.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_eq!(got, updated);

    let deleted = h.call_as(a, Method::Delete, &path, None).await.unwrap();
    assert_contract("DELETE", "/flows/{id}", 200, &deleted);
    assert_eq!(deleted["id"], created["id"]);
    assert!(deleted["tm_delete"].is_string());

    for (method, body) in [
        (Method::Get, None),
        (Method::Put, Some(new_flow("again"))),
        (Method::Delete, None),
    ] {
        let err = h.call_as(a, method, &path, body).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound, "{method}");
        assert_eq!(err.reason, "FLOW_NOT_FOUND");
    }
    let list = h.call_as(a, Method::Get, "/v1/flows", None).await.unwrap();
    assert_eq!(list["result"], json!([]));
}

#[tokio::test]
async fn explicit_type_is_kept_and_internal_create_names_the_owner() {
    let h = Harness::sqlite().await;
    let a = Uuid::now_v7();
    let mut body = new_flow("wait music");
    body["type"] = json!("queue");
    let flow = h
        .call_as(a, Method::Post, "/v1/flows", Some(body.clone()))
        .await
        .unwrap();
    assert_eq!(flow["type"], "queue");
    // Updating keeps the type (the update body has none).
    let path = format!("/v1/flows/{}", id_of(&flow));
    let updated = h
        .call_as(a, Method::Put, &path, Some(new_flow("x")))
        .await
        .unwrap();
    assert_eq!(updated["type"], "queue");

    // Internal callers (no customer scope) must say whose flow it is.
    let err = h
        .call(Method::Post, "/v1/flows", Some(body.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(err.message.starts_with("customer_id:"), "{err}");
    body["customer_id"] = json!(a);
    let internal = h.call(Method::Post, "/v1/flows", Some(body)).await.unwrap();
    assert_eq!(internal["customer_id"], a.to_string());
    // The super-admin scope sees every flow.
    let got = h
        .call(
            Method::Get,
            &format!("/v1/flows/{}", id_of(&internal)),
            None,
        )
        .await
        .unwrap();
    assert_eq!(got, internal);
}

#[tokio::test]
async fn flows_list_in_three_pages_newest_first() {
    let h = Harness::sqlite().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(id_of(&create(&h, a, &format!("f{i}")).await));
    }
    create(&h, b, "someone else's").await;
    ids.reverse();

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let uri = format!("/v1/flows?page_size=2&page_token={token}");
        let page = h.call_as(a, Method::Get, &uri, None).await.unwrap();
        assert_contract("GET", "/flows", 200, &page);
        pages += 1;
        let result = page["result"].as_array().unwrap();
        assert!(result.len() <= 2);
        seen.extend(result.iter().map(id_of));
        token = page["next_page_token"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids);

    // The super-admin scope lists every customer's flows.
    let all = h.call(Method::Get, "/v1/flows", None).await.unwrap();
    assert_eq!(all["result"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn another_customer_cannot_see_or_touch_a_flow() {
    let h = Harness::sqlite().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let flow = create(&h, a, "private").await;
    let id: Uuid = id_of(&flow).parse().unwrap();
    let path = format!("/v1/flows/{id}");

    // Once from the cache (filled on create), once from the database after a miss.
    for round in 0..2 {
        if round == 1 {
            h.deps.cache.delete(&cache::key(id)).await.unwrap();
        }
        let err = h.call_as(b, Method::Get, &path, None).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound, "round {round}");
    }
    let list = h.call_as(b, Method::Get, "/v1/flows", None).await.unwrap();
    assert_eq!(list["result"], json!([]));
    let err = h
        .call_as(b, Method::Put, &path, Some(new_flow("stolen")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let err = h.call_as(b, Method::Delete, &path, None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);

    let got = h.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_eq!(got, flow, "A's flow is unchanged");
    h.deps.cache.delete(&cache::key(id)).await.unwrap();
    let got = h.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_eq!(got, flow, "and so is its row");
}

#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let h = Harness::sqlite().await;
    let a = Uuid::now_v7();
    let cases = [
        (json!({"name": 3, "detail": "", "actions": []}), "name"),
        (
            json!({"name": "x", "detail": ["no"], "actions": []}),
            "detail",
        ),
        (
            json!({"name": "x", "detail": "", "actions": "answer"}),
            "actions",
        ),
        (json!({"detail": "", "actions": []}), "name"),
        (json!({"name": "x", "actions": []}), "detail"),
        (json!({"name": "x", "detail": ""}), "actions"),
        (
            json!({"name": "x".repeat(256), "detail": "", "actions": []}),
            "name",
        ),
        (
            json!({"name": "x", "detail": "d".repeat(4097), "actions": []}),
            "detail",
        ),
        (
            json!({"name": "x", "detail": "", "actions": [], "type": "robot"}),
            "type",
        ),
        (
            json!({"name": "x", "detail": "", "actions": [], "type": 1}),
            "type",
        ),
        (
            json!({"name": "x", "detail": "", "actions": [], "on_complete_flow_id": "nope"}),
            "on_complete_flow_id",
        ),
        (
            json!({"name": "x", "detail": "", "actions": [], "on_complete_flow_id": 7}),
            "on_complete_flow_id",
        ),
    ];
    for (body, field) in cases {
        let err = h
            .call_as(a, Method::Post, "/v1/flows", Some(body.clone()))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{body}");
        assert!(err.message.starts_with(field), "{field}: {err}");
    }
    for body in [json!([1]), json!("flow"), Value::Null] {
        let err = h
            .call_as(a, Method::Post, "/v1/flows", Some(body))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
    }
    for uri in [
        "/v1/flows?page_size=0",
        "/v1/flows?page_size=1001",
        "/v1/flows?page_size=ten",
        "/v1/flows?page_token=garbage",
        "/v1/flows/not-a-uuid",
    ] {
        let err = h.call_as(a, Method::Get, uri, None).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{uri}");
    }
    let err = h
        .call(Method::Get, "/v1/flows?customer_id=nope", None)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert_eq!(h.count("flow_flows").await, 0);

    // A bad update leaves the flow as it was.
    let flow = create(&h, a, "keep").await;
    let path = format!("/v1/flows/{}", id_of(&flow));
    let err = h
        .call_as(
            a,
            Method::Put,
            &path,
            Some(json!({"name": 1, "detail": "", "actions": []})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    let err = h
        .call_as(a, Method::Put, "/v1/flows/nope", Some(new_flow("x")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert_eq!(h.call_as(a, Method::Get, &path, None).await.unwrap(), flow);
}

#[tokio::test]
async fn a_bad_action_names_its_index_and_writes_nothing() {
    let h = Harness::sqlite().await;
    let a = Uuid::now_v7();
    let cases = [
        (
            json!([{"type": "answer"}, {"type": "talk", "option": {"text": 5}}]),
            "actions[1]",
        ),
        (
            json!([{"type": "answer"}, {"type": "answer"}, {"type": "dance"}]),
            "actions[2]",
        ),
        (
            json!([{"type": "goto", "option": {"target_id": Uuid::now_v7()}}]),
            "actions[0]",
        ),
        (json!([{"type": "answer"}, 7]), "actions[1]"),
    ];
    for (actions, at) in cases {
        let body = json!({"name": "x", "detail": "", "actions": actions});
        let err = h
            .call_as(a, Method::Post, "/v1/flows", Some(body))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        assert_eq!(err.reason, "INVALID_ACTION");
        assert!(err.message.starts_with(at), "{at}: {err}");
    }
    assert_eq!(h.count("flow_flows").await, 0);

    let flow = create(&h, a, "good").await;
    let path = format!("/v1/flows/{}", id_of(&flow));
    let body = json!({"name": "bad", "detail": "", "actions": [{"type": "answer"}, {"type": "sleep", "option": {"duration": "long"}}]});
    let err = h
        .call_as(a, Method::Put, &path, Some(body))
        .await
        .unwrap_err();
    assert_eq!(err.reason, "INVALID_ACTION");
    assert!(
        err.message.starts_with("actions[1].option.duration"),
        "{err}"
    );
    assert_eq!(h.call_as(a, Method::Get, &path, None).await.unwrap(), flow);
}

#[tokio::test]
async fn on_complete_flow_must_be_a_live_flow_of_the_same_customer() {
    let h = Harness::sqlite().await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let theirs = id_of(&create(&h, b, "b's").await);
    let gone = id_of(&create(&h, a, "gone").await);
    h.call_as(a, Method::Delete, &format!("/v1/flows/{gone}"), None)
        .await
        .unwrap();
    for target in [theirs, gone, Uuid::now_v7().to_string()] {
        let mut body = new_flow("chained");
        body["on_complete_flow_id"] = json!(target);
        let err = h
            .call_as(a, Method::Post, "/v1/flows", Some(body))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument);
        assert!(err.message.starts_with("on_complete_flow_id"), "{err}");
    }
    assert_eq!(h.count("flow_flows").await, 2);

    let next = id_of(&create(&h, a, "next").await);
    let mut body = new_flow("chained");
    body["on_complete_flow_id"] = json!(next);
    let chained = h
        .call_as(a, Method::Post, "/v1/flows", Some(body))
        .await
        .unwrap();
    assert_eq!(chained["on_complete_flow_id"], json!(next));
    // PUT replaces: without the field, the chain is cleared.
    let path = format!("/v1/flows/{}", id_of(&chained));
    let updated = h
        .call_as(a, Method::Put, &path, Some(new_flow("unchained")))
        .await
        .unwrap();
    assert_eq!(updated["on_complete_flow_id"], json!(Uuid::nil()));
}

#[tokio::test]
async fn a_customer_keeps_at_most_ten_thousand_flows() {
    let h = Harness::sqlite().await;
    let a = Uuid::now_v7();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) \
         INSERT INTO flow_flows (id, customer_id, `type`, name, detail, actions, direct_hash, \
         on_complete_flow_id, tm_create, tm_update, tm_delete) \
         SELECT printf('%08d-0000-7000-8000-000000000000', i), '{a}', 'flow', 'bulk', '', '[]', '', \
         '{nil}', '2026-01-15T09:30:00.000000Z', NULL, NULL FROM n",
        nil = Uuid::nil()
    );
    voxbin_store::sqlx::query(voxbin_store::sqlx::AssertSqlSafe(sql))
        .execute(h.deps.db.writer())
        .await
        .unwrap();
    let err = h
        .call_as(a, Method::Post, "/v1/flows", Some(new_flow("one too many")))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::FailedPrecondition);
    assert_eq!(err.http_status(), 409);
    assert_eq!(h.count("flow_flows").await, 10_000);

    // Another customer is not affected, and deleting one makes room.
    create(&h, Uuid::now_v7(), "other").await;
    h.call_as(
        a,
        Method::Delete,
        "/v1/flows/00000001-0000-7000-8000-000000000000",
        None,
    )
    .await
    .unwrap();
    create(&h, a, "fits again").await;
}

#[tokio::test]
async fn reads_never_see_a_flow_older_than_the_last_update_or_delete() {
    let h = Harness::sqlite().await;
    let a = Uuid::now_v7();
    let flow = create(&h, a, "v1").await;
    let id: Uuid = id_of(&flow).parse().unwrap();
    let path = format!("/v1/flows/{id}");
    let old: Flow = serde_json::from_value(flow.clone()).unwrap();
    h.call_as(a, Method::Get, &path, None).await.unwrap();

    let updated = h
        .call_as(a, Method::Put, &path, Some(new_flow("v2")))
        .await
        .unwrap();
    let got = h.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_eq!(got["name"], "v2");
    assert_eq!(got, updated);

    // A reader that loaded v1 before the update and fills the cache late changes nothing.
    cache::fill(&h.deps.cache, &old).await;
    let got = h.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_eq!(got["name"], "v2");

    h.call_as(a, Method::Delete, &path, None).await.unwrap();
    let err = h.call_as(a, Method::Get, &path, None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    // Nor can a late fill bring a deleted flow back.
    cache::fill(&h.deps.cache, &old).await;
    let err = h.call_as(a, Method::Get, &path, None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn concurrent_updates_leave_the_cache_equal_to_the_database() {
    let h = std::sync::Arc::new(Harness::sqlite().await);
    let a = Uuid::now_v7();
    let id: Uuid = id_of(&create(&h, a, "start").await).parse().unwrap();
    let path = format!("/v1/flows/{id}");
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (h, path) = (h.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            h.call_as(a, Method::Put, &path, Some(new_flow(&format!("n{i}"))))
                .await
                .unwrap()
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let cached = h.call_as(a, Method::Get, &path, None).await.unwrap();
    h.deps.cache.delete(&cache::key(id)).await.unwrap();
    let from_db = h.call_as(a, Method::Get, &path, None).await.unwrap();
    assert_eq!(cached, from_db);
}

#[tokio::test]
async fn flow_events_are_published() {
    let h = Harness::sqlite().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _sub = h
        .deps
        .bus
        .subscribe(
            "test-flow-events",
            &["flow-manager"],
            voxbin_bus::event_handler_fn(move |event: voxbin_bus::Event| {
                let _ = tx.send(event.event_type);
                async { Ok(()) }
            }),
        )
        .await
        .unwrap();
    let a = Uuid::now_v7();
    let path = format!("/v1/flows/{}", id_of(&create(&h, a, "e").await));
    h.call_as(a, Method::Put, &path, Some(new_flow("e2")))
        .await
        .unwrap();
    h.call_as(a, Method::Delete, &path, None).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(rx.recv().await.unwrap());
    }
    seen.sort();
    assert_eq!(seen, ["flow_created", "flow_deleted", "flow_updated"]);
}

#[tokio::test]
async fn get_is_served_from_the_cache_without_the_database() {
    let h = Harness::sqlite().await;
    let a = Uuid::now_v7();
    let flow = create(&h, a, "hot").await;
    let id = id_of(&flow);
    // Remove the row behind the service's back: only the cache can answer now.
    voxbin_store::sqlx::query("DELETE FROM flow_flows")
        .execute(h.deps.db.writer())
        .await
        .unwrap();
    let path = format!("/v1/flows/{id}");
    assert_eq!(h.call_as(a, Method::Get, &path, None).await.unwrap(), flow);
    assert_eq!(h.call(Method::Get, &path, None).await.unwrap(), flow);
    let err = h
        .call_as(Uuid::now_v7(), Method::Get, &path, None)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::NotFound,
        "ownership is checked on hits too"
    );
}

#[tokio::test]
async fn a_redelivered_create_answers_the_flow_it_made_instead_of_a_second_one() {
    let h = Harness::sqlite().await;
    let a = Uuid::now_v7();
    let handler = crate::handler(h.deps.clone());
    let mut request = voxbin_bus::Request::new(Method::Post, format!("/v1/flows?customer_id={a}"))
        .with_data(new_flow("once"));
    request.delivery_id = Some(Uuid::now_v7().simple().to_string());
    let first = handler.handle(request.clone()).await.into_result().unwrap();
    let again = handler.handle(request.clone()).await.into_result().unwrap();
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["name"], "once");
    assert_eq!(h.count("flow_flows").await, 1);
    // Another delivery is another create.
    request.delivery_id = Some(Uuid::now_v7().simple().to_string());
    let other = handler.handle(request.clone()).await.into_result().unwrap();
    assert_ne!(other["id"], first["id"]);
    assert_eq!(h.count("flow_flows").await, 2);
    // A delivery id replayed for another customer never hands out the first one's flow.
    let b = Uuid::now_v7();
    let mut replayed = voxbin_bus::Request::new(Method::Post, format!("/v1/flows?customer_id={b}"))
        .with_data(new_flow("theirs"));
    replayed.delivery_id = request.delivery_id.clone();
    let err = handler.handle(replayed).await.into_result().unwrap_err();
    assert_eq!(err.kind, ErrorKind::AlreadyExists);
}

/// A cache whose writes fail while `down` is set, as Redis does when it cannot be reached.
struct FlakyCache {
    inner: voxbin_cache::MemoryCache,
    down: std::sync::atomic::AtomicBool,
}

impl FlakyCache {
    fn check(&self) -> voxbin_core::Result<()> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(voxbin_core::Error::unavailable("CACHE_UNAVAILABLE", "down"));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl voxbin_cache::Cache for FlakyCache {
    async fn get(&self, key: &str) -> voxbin_core::Result<Option<Vec<u8>>> {
        if self.check().is_err() {
            return Ok(None);
        }
        self.inner.get(key).await
    }
    async fn set(&self, kind: CacheKind, key: &str, value: Vec<u8>) -> voxbin_core::Result<()> {
        self.check()?;
        self.inner.set(kind, key, value).await
    }
    async fn delete(&self, key: &str) -> voxbin_core::Result<()> {
        self.check()?;
        self.inner.delete(key).await
    }
    async fn set_if_absent(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: std::time::Duration,
    ) -> voxbin_core::Result<bool> {
        self.check()?;
        self.inner.set_if_absent(key, value, ttl).await
    }
    async fn set_if_newer(
        &self,
        kind: CacheKind,
        key: &str,
        version: u64,
        value: Vec<u8>,
    ) -> voxbin_core::Result<bool> {
        self.check()?;
        self.inner.set_if_newer(kind, key, version, value).await
    }
    async fn throttle(
        &self,
        key: &str,
        per_sec: u32,
        burst: u32,
    ) -> voxbin_core::Result<Option<std::time::Duration>> {
        self.check()?;
        self.inner.throttle(key, per_sec, burst).await
    }
    async fn incr(&self, key: &str, by: i64, ttl: std::time::Duration) -> voxbin_core::Result<i64> {
        self.check()?;
        self.inner.incr(key, by, ttl).await
    }
    async fn ping(&self) -> voxbin_core::Result<()> {
        self.check()
    }
}

#[tokio::test]
async fn writes_succeed_while_the_cache_is_down_and_their_copies_land_once_it_is_back() {
    let flaky = std::sync::Arc::new(FlakyCache {
        inner: voxbin_cache::MemoryCache::new(100),
        down: Default::default(),
    });
    let mut h = Harness::sqlite().await;
    h.deps.cache = flaky.clone();
    let handler = crate::handler(h.deps.clone());
    let a = Uuid::now_v7();
    let call = |method: Method, path: String, body: Option<Value>| {
        let handler = handler.clone();
        async move {
            let mut request = voxbin_bus::Request::new(method, format!("{path}?customer_id={a}"));
            if let Some(body) = body {
                request = request.with_data(body);
            }
            handler.handle(request).await.into_result()
        }
    };
    let made = call(Method::Post, "/v1/flows".into(), Some(new_flow("v1")))
        .await
        .unwrap();
    let path = format!("/v1/flows/{}", id_of(&made));
    // Cached at version 1 by the create.
    assert_eq!(
        call(Method::Get, path.clone(), None).await.unwrap()["name"],
        "v1"
    );

    flaky.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let updated = call(Method::Put, path.clone(), Some(new_flow("v2")))
        .await
        .unwrap();
    assert_eq!(updated["name"], "v2");
    // Reads go to the database meanwhile.
    assert_eq!(
        call(Method::Get, path.clone(), None).await.unwrap()["name"],
        "v2"
    );

    // The cache comes back still holding v1: the queued copy replaces it.
    flaky.down.store(false, std::sync::atomic::Ordering::SeqCst);
    let key = cache::key(id_of(&made).parse().unwrap());
    wait_for_cached(&flaky.inner, &key, "v2").await;
    assert_eq!(
        call(Method::Get, path.clone(), None).await.unwrap()["name"],
        "v2"
    );

    // A delete during an outage leaves a tombstone once the cache is back.
    flaky.down.store(true, std::sync::atomic::Ordering::SeqCst);
    call(Method::Delete, path.clone(), None).await.unwrap();
    flaky.down.store(false, std::sync::atomic::Ordering::SeqCst);
    wait_for_cached(&flaky.inner, &key, "null").await;
    let err = call(Method::Get, path.clone(), None).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

/// Waits (up to 10 s) until the copy at `key` is the flow named `name`, or the tombstone
/// when `name` is `"null"`.
async fn wait_for_cached(cache: &voxbin_cache::MemoryCache, key: &str, name: &str) {
    let mut last = None;
    for _ in 0..200 {
        let bytes = cache.get(key).await.unwrap();
        let copy = bytes
            .as_deref()
            .and_then(voxbin_cache::versioned::decode)
            .map(|(_, p)| serde_json::from_slice::<Value>(p).unwrap());
        let now = copy.as_ref().map(|v| {
            v.get("name")
                .and_then(Value::as_str)
                .unwrap_or("null")
                .to_owned()
        });
        if now.as_deref() == Some(name) {
            return;
        }
        last = copy;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the cache never got {name}; last copy {last:?}");
}
