//! Both services driven through the bus exactly as the gateway drives them, on a temporary
//! SQLite file (and on MariaDB when `VOXBIN_TEST_MYSQL_DSN` is set), with every answer
//! checked against the contract.

use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;
use voxbin_bus::{Handler, Method};
use voxbin_core::ErrorKind;
use voxbin_store::sqlx;
use voxbin_svc_kit::Deps;
use voxbin_svc_testkit::{assert_contract, assert_invalid, Served};

use crate::agent::password::Hasher;
use crate::{AGENT, CUSTOMER};

/// Both services: the customer-manager and the agent-manager.
struct Customers;

impl Served for Customers {
    const SERVICE: &'static str = CUSTOMER;
    const MYSQL_PREFIX: &'static str = "voxbin_svc_customer_";
    const TIMEOUT: Duration = Duration::from_secs(30);
    fn handlers(deps: &Deps) -> Vec<(&'static str, Arc<dyn Handler>)> {
        vec![
            (CUSTOMER, crate::customer_handler(deps.clone())),
            (
                AGENT,
                crate::agent::router(deps.clone(), Hasher::for_tests()),
            ),
        ]
    }
}

/// Both services served on an in-process bus over a fresh database.
type Harness = voxbin_svc_testkit::Harness<Customers>;

/// Rows the stories start from, made through the API.
trait Fixtures {
    /// A customer made by the super-admin; returns its id.
    async fn customer(&self, name: &str) -> Uuid;
}

impl Fixtures for Harness {
    async fn customer(&self, name: &str) -> Uuid {
        let c = self
            .ok_to(
                CUSTOMER,
                Method::Post,
                "/v1/customers",
                json!({"name": name}),
            )
            .await;
        id_of(&c)
    }
}

fn id_of(value: &Value) -> Uuid {
    Uuid::parse_str(value["id"].as_str().unwrap()).unwrap()
}

fn full_customer_body(name: &str) -> Value {
    json!({
        "name": name,
        "detail": "detail",
        "email": format!("{name}@example.com"),
        "phone_number": "+14155551234",
        "address": "1 Main St",
        "webhook_method": "POST",
        "webhook_uri": "https://hooks.example.com/x",
    })
}

/// Reads all pages of `uri` (which has a query string) with page size 2.
async fn all_pages(h: &Harness, service: &str, uri: &str) -> (Vec<Value>, usize) {
    let mut token = String::new();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = h
            .ok_to(
                service,
                Method::Get,
                &format!("{uri}&page_size=2&page_token={token}"),
                Value::Null,
            )
            .await;
        pages += 1;
        let items = page["result"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().cloned());
        token = page["next_page_token"].as_str().unwrap().to_string();
        if token.is_empty() {
            return (seen, pages);
        }
        token = token.replace('|', "%7C");
    }
}

// ---- customers -------------------------------------------------------------------------

async fn customer_round_trip(h: &Harness) {
    let created = h
        .ok_to(
            CUSTOMER,
            Method::Post,
            "/v1/customers",
            full_customer_body("acme"),
        )
        .await;
    assert_contract("POST", "/customers", 200, &created);
    assert_eq!(created["status"], "active");
    assert_eq!(created["webhook_method"], "POST");
    assert!(created["tm_delete"].is_null());
    let id = id_of(&created);

    let got = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/customers/{id}"),
            Value::Null,
        )
        .await;
    assert_contract("GET", "/customers/{id}", 200, &got);
    assert_eq!(got, created);

    // The customer itself sees the plain shape (`GET /customer`).
    let own = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/customers/{id}?customer_id={id}"),
            Value::Null,
        )
        .await;
    assert_contract("GET", "/customer", 200, &own);
    assert!(own.get("terms_agreed_version").is_none());

    let list = h
        .ok_to(CUSTOMER, Method::Get, "/v1/customers", Value::Null)
        .await;
    assert_contract("GET", "/customers", 200, &list);
    assert!(list["result"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == created["id"]));

    let mut update = full_customer_body("acme2");
    update["webhook_method"] = json!("GET");
    update["webhook_uri"] = json!("");
    let updated = h
        .ok_to(
            CUSTOMER,
            Method::Put,
            &format!("/v1/customers/{id}"),
            update,
        )
        .await;
    assert_contract("PUT", "/customers/{id}", 200, &updated);
    assert_eq!(updated["name"], "acme2");
    assert_eq!(updated["webhook_method"], "GET");
    assert_eq!(updated["webhook_uri"], "");
    // A partial update keeps the other fields.
    let partial = h
        .ok_to(
            CUSTOMER,
            Method::Put,
            &format!("/v1/customers/{id}?customer_id={id}"),
            json!({"detail": "only detail"}),
        )
        .await;
    assert_contract("PUT", "/customer", 200, &partial);
    assert_eq!(partial["name"], "acme2");
    assert_eq!(partial["detail"], "only detail");

    let deleted = h
        .ok_to(
            CUSTOMER,
            Method::Delete,
            &format!("/v1/customers/{id}"),
            Value::Null,
        )
        .await;
    assert_contract("DELETE", "/customers/{id}", 200, &deleted);
    assert!(deleted["tm_delete"].is_string());
    assert_eq!(deleted["status"], "deleted");
    let gone = h
        .err_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/customers/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(gone.kind, ErrorKind::NotFound);
    assert_eq!(gone.reason, "CUSTOMER_NOT_FOUND");
    let again = h
        .err_to(
            CUSTOMER,
            Method::Delete,
            &format!("/v1/customers/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(again.kind, ErrorKind::NotFound);
    let list = h
        .ok_to(CUSTOMER, Method::Get, "/v1/customers", Value::Null)
        .await;
    assert!(!list["result"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == created["id"]));
}

#[tokio::test]
async fn customer_create_get_list_update_delete_match_the_contract() {
    customer_round_trip(&Harness::sqlite().await).await;
}

#[tokio::test]
async fn customers_page_newest_first_in_three_pages() {
    let h = Harness::sqlite().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(h.customer(&format!("c{i}")).await);
    }
    let (seen, pages) = all_pages(&h, CUSTOMER, "/v1/customers?x=1").await;
    assert_eq!(pages, 3);
    let seen: Vec<Uuid> = seen.iter().map(id_of).collect();
    ids.reverse();
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn a_customer_cannot_touch_another_customer() {
    let h = Harness::sqlite().await;
    let a = h.customer("a").await;
    let b = h.customer("b").await;
    let before = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/customers/{a}"),
            Value::Null,
        )
        .await;
    let as_b = format!("/v1/customers/{a}?customer_id={b}");
    for (method, body) in [
        (Method::Get, Value::Null),
        (Method::Put, json!({"name": "stolen"})),
        (Method::Delete, Value::Null),
    ] {
        let e = h.err_to(CUSTOMER, method, &as_b, body).await;
        assert_eq!(e.kind, ErrorKind::NotFound, "{method}");
    }
    let list = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/customers?customer_id={b}"),
            Value::Null,
        )
        .await;
    let ids: Vec<Uuid> = list["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, vec![b]);
    let after = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/customers/{a}"),
            Value::Null,
        )
        .await;
    assert_eq!(after, before);
    // Only the super-admin creates customers.
    let e = h
        .err_to(
            CUSTOMER,
            Method::Post,
            &format!("/v1/customers?customer_id={b}"),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn bad_customer_input_is_400_and_writes_nothing() {
    let h = Harness::sqlite().await;
    let id = h.customer("keep").await;
    let before = h.count("customer_customers").await;
    for (body, field) in [
        (json!({"name": 5}), "name"),
        (json!({"email": "not-an-email"}), "email"),
        (json!({"webhook_method": "PATCH"}), "webhook_method"),
        (json!({"webhook_uri": "ftp://x.example"}), "webhook_uri"),
        (json!({"webhook_uri": 7}), "webhook_uri"),
        (json!({"username": "ann"}), "password"),
        (json!({"username": "ann", "password": "short"}), "password"),
        (
            json!({"username": "a b", "password": "long enough"}),
            "username",
        ),
    ] {
        let e = h
            .err_to(CUSTOMER, Method::Post, "/v1/customers", body.clone())
            .await;
        assert_invalid(&e, field);
        // Credentials only matter on create; an update ignores them.
        if field != "password" && field != "username" {
            let e = h
                .err_to(CUSTOMER, Method::Put, &format!("/v1/customers/{id}"), body)
                .await;
            assert_invalid(&e, field);
        }
    }
    let e = h
        .err_to(CUSTOMER, Method::Post, "/v1/customers", json!([1, 2]))
        .await;
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    let e = h
        .err_to(
            CUSTOMER,
            Method::Get,
            "/v1/customers/not-a-uuid",
            Value::Null,
        )
        .await;
    assert_invalid(&e, "id");
    let e = h
        .err_to(
            CUSTOMER,
            Method::Get,
            "/v1/customers?customer_id=nope",
            Value::Null,
        )
        .await;
    assert_invalid(&e, "customer_id");
    for query in [
        "page_size=0",
        "page_size=1001",
        "page_size=x",
        "page_token=garbage",
    ] {
        let e = h
            .err_to(
                CUSTOMER,
                Method::Get,
                &format!("/v1/customers?{query}"),
                Value::Null,
            )
            .await;
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{query}");
    }
    assert_eq!(h.count("customer_customers").await, before);
    assert_eq!(h.count("agent_agents").await, 0);
    let kept = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/customers/{id}"),
            Value::Null,
        )
        .await;
    assert_eq!(kept["name"], "keep");
}

// ---- access keys -----------------------------------------------------------------------

async fn accesskey_round_trip(h: &Harness) {
    let c = h.customer("keys").await;
    let scoped = format!("customer_id={c}");
    let created = h
        .ok_to(
            CUSTOMER,
            Method::Post,
            &format!("/v1/accesskeys?{scoped}"),
            json!({"name": "prod", "detail": "d", "expire": 86400}),
        )
        .await;
    assert_contract("POST", "/accesskeys", 200, &created);
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("vb_") && token.len() == 35, "{token}");
    assert_eq!(created["token_prefix"], token[..11]);
    assert!(created["tm_expire"].is_string());
    let id = id_of(&created);

    // The token is shown once: neither get nor list carries it, and the table holds no copy.
    let got = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/accesskeys/{id}?{scoped}"),
            Value::Null,
        )
        .await;
    assert_contract("GET", "/accesskeys/{id}", 200, &got);
    assert!(got.get("token").is_none());
    let list = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/accesskeys?{scoped}"),
            Value::Null,
        )
        .await;
    assert_contract("GET", "/accesskeys", 200, &list);
    assert_eq!(list["result"].as_array().unwrap().len(), 1);
    assert!(list["result"][0].get("token").is_none());
    let stored: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM customer_accesskeys WHERE token_hash = ? AND token_prefix = ?",
    )
    .bind(crate::accesskey::model::hash_token(&token))
    .bind(&token[..11])
    .fetch_one(h.deps.db.writer())
    .await
    .unwrap();
    assert_eq!(stored, 1);

    let updated = h
        .ok_to(
            CUSTOMER,
            Method::Put,
            &format!("/v1/accesskeys/{id}?{scoped}"),
            json!({"name": "renamed"}),
        )
        .await;
    assert_contract("PUT", "/accesskeys/{id}", 200, &updated);
    assert_eq!(updated["name"], "renamed");
    assert_eq!(updated["detail"], "d");

    let verified = h
        .ok_to(
            CUSTOMER,
            Method::Post,
            "/v1/accesskeys/verify",
            json!({"token": token}),
        )
        .await;
    assert_eq!(verified["accesskey_id"], json!(id));
    assert_eq!(verified["customer_id"], json!(c));
    assert_eq!(verified["permission"], 32);
    assert!(
        verified["tm_expire"].is_string(),
        "the gateway bounds its cache by the expiry"
    );

    let deleted = h
        .ok_to(
            CUSTOMER,
            Method::Delete,
            &format!("/v1/accesskeys/{id}?{scoped}"),
            Value::Null,
        )
        .await;
    assert_contract("DELETE", "/accesskeys/{id}", 200, &deleted);
    assert!(deleted["tm_delete"].is_string());
    let e = h
        .err_to(
            CUSTOMER,
            Method::Post,
            "/v1/accesskeys/verify",
            json!({"token": token}),
        )
        .await;
    assert_eq!(e.reason, "INVALID_ACCESSKEY");
    let e = h
        .err_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/accesskeys/{id}?{scoped}"),
            Value::Null,
        )
        .await;
    assert_eq!(e.reason, "ACCESSKEY_NOT_FOUND");
    let list = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/accesskeys?{scoped}"),
            Value::Null,
        )
        .await;
    assert!(list["result"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn accesskey_token_is_shown_once_and_verifies_until_deleted() {
    accesskey_round_trip(&Harness::sqlite().await).await;
}

#[tokio::test]
async fn verify_refuses_unknown_expired_deleted_and_frozen_alike() {
    let h = Harness::sqlite().await;
    let c = h.customer("v").await;
    let make = |expire: i64| {
        let h = &h;
        async move {
            h.ok_to(
                CUSTOMER,
                Method::Post,
                &format!("/v1/accesskeys?customer_id={c}"),
                json!({"expire": expire}),
            )
            .await
        }
    };
    let verify = |token: String| {
        let h = &h;
        async move {
            h.call_to(
                CUSTOMER,
                Method::Post,
                "/v1/accesskeys/verify",
                json!({"token": token}),
            )
            .await
        }
    };
    let never = make(0).await;
    assert!(never["tm_expire"].is_null());
    let never_token = never["token"].as_str().unwrap().to_string();
    verify(never_token.clone()).await.unwrap();

    let unknown = verify("vb_0123456789abcdefghijklmnopqrstuv".into())
        .await
        .unwrap_err();
    let garbage = verify("nothing like a key".into()).await.unwrap_err();

    let expiring = make(3600).await;
    let expiring_token = expiring["token"].as_str().unwrap().to_string();
    verify(expiring_token.clone()).await.unwrap();
    h.exec(
        "UPDATE customer_accesskeys SET tm_expire = ? WHERE id = ?",
        &[
            "2020-01-01T00:00:00.000000Z",
            expiring["id"].as_str().unwrap(),
        ],
    )
    .await;
    let expired = verify(expiring_token).await.unwrap_err();

    let doomed = make(0).await;
    h.ok_to(
        CUSTOMER,
        Method::Delete,
        &format!(
            "/v1/accesskeys/{}?customer_id={c}",
            doomed["id"].as_str().unwrap()
        ),
        Value::Null,
    )
    .await;
    let deleted = verify(doomed["token"].as_str().unwrap().to_string())
        .await
        .unwrap_err();

    for e in [&unknown, &garbage, &expired, &deleted] {
        assert_eq!(e.kind, ErrorKind::Unauthenticated, "{e}");
        assert_eq!(e.reason, "INVALID_ACCESSKEY");
        assert_eq!(e.message, unknown.message);
    }

    h.exec(
        "UPDATE customer_customers SET status = 'frozen' WHERE id = ?",
        &[&c.to_string()],
    )
    .await;
    let frozen = verify(never_token.clone()).await.unwrap_err();
    assert_eq!(frozen.kind, ErrorKind::PermissionDenied);
    assert_eq!(frozen.reason, "ACCOUNT_FROZEN");

    // Only internal callers may verify; a token is required and must be a string.
    let e = h
        .err_to(
            CUSTOMER,
            Method::Post,
            &format!("/v1/accesskeys/verify?customer_id={c}"),
            json!({"token": never_token}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::PermissionDenied);
    let e = h
        .err_to(
            CUSTOMER,
            Method::Post,
            "/v1/accesskeys/verify",
            json!({"token": 1}),
        )
        .await;
    assert_invalid(&e, "token");
}

#[tokio::test]
async fn accesskeys_page_isolate_and_refuse_bad_input() {
    let h = Harness::sqlite().await;
    let a = h.customer("a").await;
    let b = h.customer("b").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let k = h
            .ok_to(
                CUSTOMER,
                Method::Post,
                &format!("/v1/accesskeys?customer_id={a}"),
                json!({"name": format!("k{i}")}),
            )
            .await;
        ids.push(id_of(&k));
    }
    let (seen, pages) = all_pages(&h, CUSTOMER, &format!("/v1/accesskeys?customer_id={a}")).await;
    assert_eq!(pages, 3);
    ids.reverse();
    assert_eq!(seen.iter().map(id_of).collect::<Vec<_>>(), ids);

    let target = ids[0];
    let before = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/accesskeys/{target}?customer_id={a}"),
            Value::Null,
        )
        .await;
    let as_b = format!("/v1/accesskeys/{target}?customer_id={b}");
    for (method, body) in [
        (Method::Get, Value::Null),
        (Method::Put, json!({"name": "stolen"})),
        (Method::Delete, Value::Null),
    ] {
        let e = h.err_to(CUSTOMER, method, &as_b, body).await;
        assert_eq!(e.kind, ErrorKind::NotFound, "{method}");
    }
    let list_b = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/accesskeys?customer_id={b}"),
            Value::Null,
        )
        .await;
    assert!(list_b["result"].as_array().unwrap().is_empty());
    let after = h
        .ok_to(
            CUSTOMER,
            Method::Get,
            &format!("/v1/accesskeys/{target}?customer_id={a}"),
            Value::Null,
        )
        .await;
    assert_eq!(after, before);

    let count = h.count("customer_accesskeys").await;
    let create = format!("/v1/accesskeys?customer_id={a}");
    for (body, field) in [
        (json!({"expire": "soon"}), "expire"),
        (json!({"expire": -1}), "expire"),
        (json!({"expire": 1.5}), "expire"),
        (json!({"expire": i64::MAX}), "expire"),
        (json!({"name": 1}), "name"),
        (json!({"detail": [1]}), "detail"),
    ] {
        let e = h.err_to(CUSTOMER, Method::Post, &create, body).await;
        assert_invalid(&e, field);
    }
    let e = h
        .err_to(CUSTOMER, Method::Post, "/v1/accesskeys", json!({}))
        .await;
    assert_invalid(&e, "customer_id");
    let e = h
        .err_to(
            CUSTOMER,
            Method::Post,
            &format!("/v1/accesskeys?customer_id={}", Uuid::now_v7()),
            json!({}),
        )
        .await;
    assert_eq!(e.reason, "CUSTOMER_NOT_FOUND");
    let e = h
        .err_to(
            CUSTOMER,
            Method::Put,
            &format!("/v1/accesskeys/{target}?customer_id={a}"),
            json!({"name": 2}),
        )
        .await;
    assert_invalid(&e, "name");
    let e = h
        .err_to(
            CUSTOMER,
            Method::Get,
            "/v1/accesskeys/nope?x=1",
            Value::Null,
        )
        .await;
    assert_invalid(&e, "id");
    assert_eq!(h.count("customer_accesskeys").await, count);
}

// ---- signup, agents, login ---------------------------------------------------------------

#[tokio::test]
async fn signup_makes_an_active_customer_an_admin_agent_and_a_key() {
    let h = Harness::sqlite().await;
    let body = json!({
        "name": "Acme", "email": "boss@acme.example", "accepted_tos": true,
        "username": "boss", "password": "correct horse",
    });
    let answer = h.ok_to(CUSTOMER, Method::Post, "/v1/signup", body).await;
    assert_contract("POST", "/auth/signup", 200, &answer);
    assert_eq!(answer["customer"]["status"], "active");
    let customer_id = answer["customer"]["id"].clone();
    let token = answer["accesskey"]["token"].as_str().unwrap().to_string();
    let verified = h
        .ok_to(
            CUSTOMER,
            Method::Post,
            "/v1/accesskeys/verify",
            json!({"token": token}),
        )
        .await;
    assert_eq!(verified["customer_id"], customer_id);

    // Right password: the agent, an admin of the new customer. Usernames ignore case.
    let agent = h
        .ok_to(
            AGENT,
            Method::Post,
            "/v1/login",
            json!({"username": "BOSS", "password": "correct horse"}),
        )
        .await;
    assert_contract("GET", "/agents/{id}", 200, &agent);
    assert_eq!(agent["customer_id"], customer_id);
    assert_eq!(agent["permission"], 32);
    assert!(agent.get("password_hash").is_none());
    // Wrong password and unknown user: the same answer.
    let wrong = h
        .err_to(
            AGENT,
            Method::Post,
            "/v1/login",
            json!({"username": "boss", "password": "wrong horse"}),
        )
        .await;
    let unknown = h
        .err_to(
            AGENT,
            Method::Post,
            "/v1/login",
            json!({"username": "nobody", "password": "correct horse"}),
        )
        .await;
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.kind, ErrorKind::Unauthenticated);
    assert_eq!(wrong.reason, "INVALID_CREDENTIALS");

    // A taken username or email answers `{}` (no enumeration) and leaves nothing behind.
    let customers = h.count("customer_customers").await;
    let keys = h.count("customer_accesskeys").await;
    let taken_username = h
        .ok_to(
            CUSTOMER,
            Method::Post,
            "/v1/signup",
            json!({"email": "other@acme.example", "accepted_tos": true, "username": "Boss", "password": "another one"}),
        )
        .await;
    assert_eq!(taken_username, json!({}));
    let same_email = h
        .ok_to(
            CUSTOMER,
            Method::Post,
            "/v1/signup",
            json!({"email": "BOSS@acme.example", "accepted_tos": true, "password": "another one"}),
        )
        .await;
    assert_eq!(same_email, json!({}));
    assert_eq!(h.count("customer_customers").await, customers);
    assert_eq!(h.count("customer_accesskeys").await, keys);
    assert_eq!(h.count("agent_agents").await, 1);

    for (body, field) in [
        (json!({"email": "x@y.example"}), "accepted_tos"),
        (
            json!({"email": "x@y.example", "accepted_tos": false}),
            "accepted_tos",
        ),
        (json!({"accepted_tos": true}), "email"),
        (
            json!({"email": "x@y.example", "accepted_tos": true, "password": "short"}),
            "password",
        ),
    ] {
        let e = h.err_to(CUSTOMER, Method::Post, "/v1/signup", body).await;
        assert_invalid(&e, field);
    }
    assert_eq!(h.count("customer_customers").await, customers);
}

#[tokio::test]
async fn create_customer_with_a_taken_admin_username_writes_nothing() {
    let h = Harness::sqlite().await;
    let first = h
        .ok_to(
            CUSTOMER,
            Method::Post,
            "/v1/customers",
            json!({"name": "one", "username": "admin@one", "password": "password1"}),
        )
        .await;
    assert_contract("POST", "/customers", 200, &first);
    let e = h
        .err_to(
            CUSTOMER,
            Method::Post,
            "/v1/customers",
            json!({"name": "two", "username": "admin@one", "password": "password2"}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::AlreadyExists);
    assert_eq!(h.count("customer_customers").await, 1);
    assert_eq!(h.count("agent_agents").await, 1);
}

#[tokio::test]
async fn password_change_moves_tm_password_update_and_swaps_the_password() {
    let h = Harness::sqlite().await;
    let c = h.customer("pw").await;
    let other = h.customer("other").await;
    let agent = h
        .ok_to(
            AGENT,
            Method::Post,
            &format!("/v1/agents?customer_id={c}"),
            json!({"username": "ann", "password": "first password", "permission": 16}),
        )
        .await;
    let id = id_of(&agent);
    let auth_uri = format!("/v1/agents/{id}/auth");
    let before = h.ok_to(AGENT, Method::Get, &auth_uri, Value::Null).await;
    assert_eq!(before["customer_id"], json!(c));
    assert_eq!(before["permission"], 16);
    assert!(before["tm_delete"].is_null());

    let e = h
        .err_to(
            AGENT,
            Method::Put,
            &format!("/v1/agents/{id}/password?customer_id={other}"),
            json!({"password": "stolen password"}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::NotFound);
    let e = h
        .err_to(
            AGENT,
            Method::Put,
            &format!("/v1/agents/{id}/password?customer_id={c}"),
            json!({"password": "short"}),
        )
        .await;
    assert_invalid(&e, "password");

    let changed = h
        .ok_to(
            AGENT,
            Method::Put,
            &format!("/v1/agents/{id}/password?customer_id={c}"),
            json!({"password": "second password"}),
        )
        .await;
    assert_contract("PUT", "/agents/{id}/password", 200, &changed);
    let after = h.ok_to(AGENT, Method::Get, &auth_uri, Value::Null).await;
    let (t0, t1) = (
        before["tm_password_update"].as_str().unwrap(),
        after["tm_password_update"].as_str().unwrap(),
    );
    assert!(t1 > t0, "{t0} -> {t1}");

    let login = |password: &'static str| {
        let h = &h;
        async move {
            h.call_to(
                AGENT,
                Method::Post,
                "/v1/login",
                json!({"username": "ann", "password": password}),
            )
            .await
        }
    };
    assert_eq!(
        login("first password").await.unwrap_err().reason,
        "INVALID_CREDENTIALS"
    );
    login("second password").await.unwrap();

    // The auth view is internal only.
    let e = h
        .err_to(
            AGENT,
            Method::Get,
            &format!("{auth_uri}?customer_id={c}"),
            Value::Null,
        )
        .await;
    assert_eq!(e.kind, ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn agents_round_trip_page_isolate_and_free_usernames_on_delete() {
    let h = Harness::sqlite().await;
    let a = h.customer("a").await;
    let b = h.customer("b").await;
    let created = h
        .ok_to(
            AGENT,
            Method::Post,
            &format!("/v1/agents?customer_id={a}"),
            json!({
                "username": "agent0", "password": "password0", "name": "Zero", "detail": "d",
                "ring_method": "linear", "permission": 16, "tag_ids": [Uuid::now_v7()],
                "addresses": [{"type": "tel", "target": "+15551234567"}],
                "unknown_field": "ignored",
            }),
        )
        .await;
    assert_contract("POST", "/agents", 201, &created);
    assert_eq!(created["status"], "offline");
    let id = id_of(&created);
    let got = h
        .ok_to(
            AGENT,
            Method::Get,
            &format!("/v1/agents/{id}?customer_id={a}"),
            Value::Null,
        )
        .await;
    assert_contract("GET", "/agents/{id}", 200, &got);
    assert_eq!(got, created);

    let mut ids = vec![id];
    for i in 1..5 {
        let agent = h
            .ok_to(
                AGENT,
                Method::Post,
                &format!("/v1/agents?customer_id={a}"),
                json!({"username": format!("agent{i}"), "password": "password0"}),
            )
            .await;
        ids.push(id_of(&agent));
    }
    let (seen, pages) = all_pages(&h, AGENT, &format!("/v1/agents?customer_id={a}")).await;
    assert_eq!(pages, 3);
    ids.reverse();
    assert_eq!(seen.iter().map(id_of).collect::<Vec<_>>(), ids);
    let list = h
        .ok_to(
            AGENT,
            Method::Get,
            &format!("/v1/agents?customer_id={a}"),
            Value::Null,
        )
        .await;
    assert_contract("GET", "/agents", 200, &list);

    // Another customer sees nothing of these agents.
    for method in [Method::Get, Method::Delete] {
        let e = h
            .err_to(
                AGENT,
                method,
                &format!("/v1/agents/{id}?customer_id={b}"),
                Value::Null,
            )
            .await;
        assert_eq!(e.kind, ErrorKind::NotFound);
    }
    let list_b = h
        .ok_to(
            AGENT,
            Method::Get,
            &format!("/v1/agents?customer_id={b}"),
            Value::Null,
        )
        .await;
    assert!(list_b["result"].as_array().unwrap().is_empty());

    // Bad input is refused before anything is written.
    let count = h.count("agent_agents").await;
    let create = format!("/v1/agents?customer_id={a}");
    for (body, field) in [
        (json!({"password": "password0"}), "username"),
        (json!({"username": "x"}), "password"),
        (
            json!({"username": "x", "password": "password0", "permission": 1}),
            "permission",
        ),
        (
            json!({"username": "x", "password": "password0", "permission": 48}),
            "permission",
        ),
        (
            json!({"username": "x", "password": "password0", "ring_method": "all"}),
            "ring_method",
        ),
        (
            json!({"username": "x", "password": "password0", "tag_ids": ["nope"]}),
            "tag_ids",
        ),
        (
            json!({"username": "x", "password": "password0", "addresses": [{"type": "fax"}]}),
            "addresses",
        ),
        (
            json!({"username": "x", "password": "password0", "customer_id": b}),
            "customer_id",
        ),
        (
            json!({"username": "agent0", "password": 12345678}),
            "password",
        ),
    ] {
        let e = h.err_to(AGENT, Method::Post, &create, body).await;
        assert_invalid(&e, field);
    }
    let e = h
        .err_to(
            AGENT,
            Method::Post,
            &create,
            json!({"username": "AGENT0", "password": "password0"}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::AlreadyExists);
    assert_eq!(h.count("agent_agents").await, count);

    // Deleting frees the username.
    let deleted = h
        .ok_to(
            AGENT,
            Method::Delete,
            &format!("/v1/agents/{id}?customer_id={a}"),
            Value::Null,
        )
        .await;
    assert_contract("DELETE", "/agents/{id}", 200, &deleted);
    assert!(deleted["tm_delete"].is_string());
    let e = h
        .err_to(AGENT, Method::Get, &format!("/v1/agents/{id}"), Value::Null)
        .await;
    assert_eq!(e.reason, "AGENT_NOT_FOUND");
    let auth = h
        .ok_to(
            AGENT,
            Method::Get,
            &format!("/v1/agents/{id}/auth"),
            Value::Null,
        )
        .await;
    assert!(auth["tm_delete"].is_string());
    h.ok_to(
        AGENT,
        Method::Post,
        &format!("/v1/agents?customer_id={b}"),
        json!({"username": "agent0", "password": "password0"}),
    )
    .await;
}

#[tokio::test]
async fn deleting_a_customer_stops_its_keys_and_agents() {
    let h = Harness::sqlite().await;
    let answer = h
        .ok_to(
            CUSTOMER,
            Method::Post,
            "/v1/signup",
            json!({"email": "gone@x.example", "accepted_tos": true, "username": "gone", "password": "password0"}),
        )
        .await;
    let c = answer["customer"]["id"].as_str().unwrap().to_string();
    let token = answer["accesskey"]["token"].as_str().unwrap().to_string();
    h.ok_to(
        CUSTOMER,
        Method::Delete,
        &format!("/v1/customers/{c}?customer_id={c}"),
        Value::Null,
    )
    .await;
    let e = h
        .err_to(
            CUSTOMER,
            Method::Post,
            "/v1/accesskeys/verify",
            json!({"token": token}),
        )
        .await;
    assert_eq!(e.reason, "INVALID_ACCESSKEY");
    let e = h
        .err_to(
            AGENT,
            Method::Post,
            "/v1/login",
            json!({"username": "gone", "password": "password0"}),
        )
        .await;
    assert_eq!(e.reason, "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn operator_functions_create_and_list_customers() {
    let h = Harness::sqlite().await;
    let made = crate::create_customer_with_key(&h.deps, "Ops", "ops", "password0")
        .await
        .unwrap();
    assert_contract("GET", "/customers/{id}", 200, &made["customer"]);
    assert_contract("POST", "/accesskeys", 200, &made["accesskey"]);
    let token = made["accesskey"]["token"].as_str().unwrap();
    assert!(token.starts_with("vb_"));
    h.ok_to(
        CUSTOMER,
        Method::Post,
        "/v1/accesskeys/verify",
        json!({"token": token}),
    )
    .await;
    h.ok_to(
        AGENT,
        Method::Post,
        "/v1/login",
        json!({"username": "ops", "password": "password0"}),
    )
    .await;
    let keyless = crate::create_customer_with_key(&h.deps, "No agent", "", "")
        .await
        .unwrap();
    let all = crate::list_customers(&h.deps).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["id"], keyless["customer"]["id"]);
    assert_eq!(all[1]["id"], made["customer"]["id"]);
    let e = crate::create_customer_with_key(&h.deps, "Bad", "x", "short")
        .await
        .unwrap_err();
    assert_invalid(&e, "password");
}

#[tokio::test]
async fn mysql_round_trips() {
    let Some(h) = Harness::mysql("round_trips").await else {
        return;
    };
    // The two dialects' migrations of this crate define the same tables and columns.
    let sqlite = Harness::sqlite().await;
    let ours = |schema: std::collections::BTreeMap<String, Vec<String>>| {
        schema
            .into_iter()
            .filter(|(table, _)| table.starts_with("customer_") || table.starts_with("agent_"))
            .collect::<Vec<_>>()
    };
    let sqlite_schema = ours(sqlite.deps.db.tables_and_columns().await.unwrap());
    assert_eq!(sqlite_schema.len(), 3);
    assert_eq!(
        sqlite_schema,
        ours(h.deps.db.tables_and_columns().await.unwrap())
    );

    customer_round_trip(&h).await;
    accesskey_round_trip(&h).await;
    let answer = h
        .ok_to(
            CUSTOMER,
            Method::Post,
            "/v1/signup",
            json!({"email": "m@x.example", "accepted_tos": true, "username": "Maria", "password": "password0"}),
        )
        .await;
    assert_contract("POST", "/auth/signup", 200, &answer);
    let agent = h
        .ok_to(
            AGENT,
            Method::Post,
            "/v1/login",
            json!({"username": "maria", "password": "password0"}),
        )
        .await;
    // A taken username answers `{}` like a taken email: signup does not reveal accounts.
    let taken = h
        .ok_to(
            CUSTOMER,
            Method::Post,
            "/v1/signup",
            json!({"email": "n@x.example", "accepted_tos": true, "username": "MARIA", "password": "password0"}),
        )
        .await;
    assert_eq!(taken, json!({}));
    let same_email = h
        .ok_to(
            CUSTOMER,
            Method::Post,
            "/v1/signup",
            json!({"email": "M@X.example", "accepted_tos": true}),
        )
        .await;
    assert_eq!(same_email, json!({}));
    let id = id_of(&agent);
    let before = h
        .ok_to(
            AGENT,
            Method::Get,
            &format!("/v1/agents/{id}/auth"),
            Value::Null,
        )
        .await;
    h.ok_to(
        AGENT,
        Method::Put,
        &format!("/v1/agents/{id}/password"),
        json!({"password": "password1"}),
    )
    .await;
    let after = h
        .ok_to(
            AGENT,
            Method::Get,
            &format!("/v1/agents/{id}/auth"),
            Value::Null,
        )
        .await;
    assert!(after["tm_password_update"].as_str() > before["tm_password_update"].as_str());
}
