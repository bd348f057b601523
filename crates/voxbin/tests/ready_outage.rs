//! `/ready` follows the database: it turns 503 while MariaDB is unreachable and back to 200
//! when it returns. The outage is real: voxbin talks to MariaDB through a TCP relay that the
//! test cuts and restores.

mod support;

use std::time::Duration;
use support::{get, Server};
use voxbin_netfault::Relay;

#[test]
fn ready_reports_503_while_the_database_is_unreachable_and_recovers() {
    let Ok(dsn) = std::env::var("VOXBIN_TEST_MYSQL_DSN") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs this against MariaDB (scripts/test sets VOXBIN_TEST_MYSQL_DSN)"
        );
        eprintln!("VOXBIN_TEST_MYSQL_DSN not set; skipped");
        return;
    };
    // mysql://user@host:port/db -> the server address and credentials part.
    let rest = dsn.strip_prefix("mysql://").expect("mysql:// DSN");
    let (userinfo, hostpath) = rest.split_once('@').expect("user@host");
    let hostport = hostpath.split('/').next().unwrap().to_string();
    let relay = Relay::start(hostport, true);
    let db = format!(
        "mysql://{userinfo}@127.0.0.1:{}/voxbin_ready_outage",
        relay.port
    );

    // Production profile with the health ports moved: no API listener is needed here.
    let s = Server::start(&[
        "--role",
        "flow",
        "--database",
        &db,
        "--set",
        "profile=embedded",
    ]);
    let body = s.wait_ready_status(200, Duration::from_secs(10));
    assert!(body.contains("\"database\":\"ok\""), "{body}");

    relay.cut();
    let body = s.wait_ready_status(503, Duration::from_secs(15));
    assert!(!body.contains("\"database\":\"ok\""), "{body}");
    assert_eq!(
        get(&s.health, "/health").unwrap().0,
        200,
        "alive while not ready"
    );

    relay.restore();
    s.wait_ready_status(200, Duration::from_secs(30));
}
