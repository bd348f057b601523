//! The distributed shape: the API role and the backend services run as separate processes
//! that share nothing in memory; they talk over RabbitMQ, keep data in MariaDB and cache in
//! Redis, and a developer's requests work exactly as in the embedded shape.

mod support;

use serde_json::json;
use support::api::Client;
use support::{get, Server};

/// The three engines, when this machine's test setup provides them.
fn engines() -> Option<(String, String, String)> {
    let db = std::env::var("VOXBIN_TEST_MYSQL_DSN").ok()?;
    let bus = std::env::var("VOXBIN_TEST_AMQP_URL").ok()?;
    let cache = std::env::var("VOXBIN_TEST_REDIS_URL").ok()?;
    Some((db, bus, cache))
}

#[test]
fn api_and_services_in_separate_processes_serve_a_developer() {
    let Some((db, bus, cache)) = engines() else {
        assert!(
            std::env::var("CI").is_err(),
            "CI provides MariaDB, RabbitMQ and Redis (scripts/test)"
        );
        eprintln!("MariaDB/RabbitMQ/Redis test variables not set; skipped");
        return;
    };
    // A database of its own, so runs never see each other's customers.
    let db = match db.rsplit_once('/') {
        Some((server, _)) => format!("{server}/voxbin_dist_{}", std::process::id()),
        None => panic!("bad VOXBIN_TEST_MYSQL_DSN {db}"),
    };
    let engines = ["--database", &db, "--bus", &bus, "--cache", &cache];
    let mut backend_args = engines.to_vec();
    for role in [
        "customer",
        "agent",
        "flow",
        "number",
        "tag",
        "campaign",
        "registrar",
        "route",
    ] {
        backend_args.extend(["--role", role]);
    }
    let backend = Server::start(&backend_args);
    let mut api_args = engines.to_vec();
    api_args.extend(["--role", "api"]);
    let api = Server::start(&api_args);

    let (status, ready) = get(&api.health, "/ready").unwrap();
    assert_eq!(status, 200, "{ready}");
    for dep in ["database", "bus", "cache"] {
        assert!(
            ready.contains(&format!("\"{dep}\":\"ok\"")),
            "{dep}: {ready}"
        );
    }

    // The backend made the first customer; its key works through the other process.
    let (key, user, password) = backend.bootstrap();
    let c = Client::with_key(&api.api, &key);
    let created = c.post(
        "/v1.0/flows",
        json!({"name": "over the wire", "detail": "two processes", "actions": [{"type": "answer"}, {"type": "hangup"}]}),
    );
    assert_eq!(created.status, 200, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(c.get(&format!("/v1.0/flows/{id}")).body, created.body);
    assert_eq!(
        c.get("/v1.0/flows").body["result"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let bad = c.post(
        "/v1.0/flows",
        json!({"name": "bad", "detail": "", "actions": [{"type": "tlak"}]}),
    );
    assert_eq!(bad.expect_error(400), "INVALID_ACTION");

    // Login goes through the agent service in the backend process.
    let token = support::api::login(&api, &user, &password);
    let admin = Client::with_token(&api.api, &token);
    assert_eq!(admin.get("/v1.0/customers").status, 200);

    // The API process has no services of its own: they answer from the backend process.
    let logs = backend.stderr();
    assert!(!logs.contains("\"level\":\"ERROR\""), "{logs}");
}
