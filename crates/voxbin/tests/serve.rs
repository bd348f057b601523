//! End-to-end checks of `voxbin serve` as an operator sees it: probes, metrics, shutdown,
//! configuration errors. Each test starts the real binary on free ports.

mod support;

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{get, read_one, Server};

const SEED_METRICS: [&str; 6] = [
    "voipbin_http_requests_total",
    "voipbin_http_request_duration_seconds",
    "voipbin_rpc_requests_total",
    "voipbin_rpc_request_duration_seconds",
    "voipbin_active_calls_gauge",
    "voipbin_queue_depth_gauge",
];

#[test]
fn embedded_serve_answers_health_ready_and_lists_seed_metrics() {
    let s = Server::start(&[]);
    let (status, body) = get(&s.health, "/health").unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&s.health, "/ready").unwrap();
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["checks"]["database"], "ok");
    assert_eq!(ready["checks"]["bus"], "ok");
    assert_eq!(ready["checks"]["cache"], "ok");

    // One API request, so the HTTP series have a sample too.
    assert_eq!(get(&s.api, "/v1.0/ping").unwrap().0, 200);
    let (status, text) = get(&s.metrics, "/metrics").unwrap();
    assert_eq!(status, 200);
    for name in SEED_METRICS {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} missing:\n{text}"
        );
    }
    assert!(text.contains("route=\"/v1.0/ping\""), "{text}");
    assert!(text.contains("process_resident_memory_bytes"));
    // The SQLite file lives in the data directory.
    if !support::shape::distributed() {
        assert!(s.data_dir.path().join("voxbin.db").exists());
    }
}

#[test]
fn metrics_pass_promtool_check() {
    let Ok(out) = std::process::Command::new("promtool")
        .arg("--version")
        .output()
    else {
        assert!(
            std::env::var("CI").is_err(),
            "promtool is required in CI (scripts/test installs it)"
        );
        eprintln!("promtool not installed; skipped (scripts/test installs it)");
        return;
    };
    assert!(out.status.success());
    let s = Server::start(&[]);
    get(&s.api, "/v1.0/ping").unwrap();
    get(&s.api, "/v1.0/nope").unwrap();
    let (_, text) = get(&s.metrics, "/metrics").unwrap();
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool: {report}\n{text}"
    );
}

#[test]
fn unknown_path_gets_the_error_envelope_with_request_id() {
    let s = Server::start(&[]);
    let mut c = TcpStream::connect(&s.api).unwrap();
    write!(
        c,
        "GET /v1.0/nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-123\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut c, &mut text).unwrap();
    let (status, body) = support::parse_response(&text).unwrap();
    assert_eq!(status, 404);
    assert!(
        text.to_ascii_lowercase().contains("x-request-id: abc-123"),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["status"], "NOT_FOUND");
    assert_eq!(v["error"]["reason"], "ROUTE_NOT_FOUND");
    assert_eq!(v["error"]["request_id"], "abc-123");
}

#[test]
fn sigterm_drains_requests_in_flight_and_exits_zero() {
    let mut s = Server::start(&[]);
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (api, stop, answered) = (s.api.clone(), stop.clone(), answered.clone());
        clients.push(std::thread::spawn(move || -> Result<(), String> {
            // Keep-alive connections hammering the API: at SIGTERM some requests are in flight.
            'conn: while !stop.load(Ordering::Relaxed) {
                let Ok(stream) = TcpStream::connect(&api) else {
                    return Ok(());
                };
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                while !stop.load(Ordering::Relaxed) {
                    if writer
                        .write_all(b"GET /v1.0/ping HTTP/1.1\r\nHost: x\r\n\r\n")
                        .is_err()
                    {
                        continue 'conn;
                    }
                    match read_one(&mut reader) {
                        // The server closed an idle keep-alive connection: clean, nothing lost.
                        Ok(None) => continue 'conn,
                        Ok(Some(200)) | Ok(Some(503)) => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Some(other)) => return Err(format!("unexpected status {other}")),
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => continue 'conn,
                        Err(e) => return Err(format!("broken response: {e}")),
                    }
                }
            }
            Ok(())
        }));
    }
    while answered.load(Ordering::Relaxed) < 200 {
        std::thread::sleep(Duration::from_millis(5));
    }
    s.sigterm();
    let status = s.wait_exit(Duration::from_secs(35));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap().unwrap();
    }
    assert_eq!(status.code(), Some(0), "stderr:\n{}", s.stderr());
    let logs = s.stderr();
    assert!(
        !logs.contains("\"level\":\"ERROR\""),
        "error logged:\n{logs}"
    );
    assert!(logs.contains("voxbin stopped"), "{logs}");
}

#[test]
fn ready_turns_503_while_draining() {
    // A long grace period and a held-open request keep the process draining long enough to look.
    let s = Server::start(&["--set", "shutdown.grace_period_secs=5"]);
    let mut held = TcpStream::connect(&s.api).unwrap();
    // An unfinished request head keeps the connection busy during the drain.
    write!(held, "GET /v1.0/ping HTTP/1.1\r\nHost: x\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    s.sigterm();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    let mut saw_503 = false;
    while std::time::Instant::now() < deadline {
        match get(&s.health, "/ready") {
            Ok((503, body)) => {
                assert!(body.contains("draining"), "{body}");
                saw_503 = true;
                break;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break,
        }
    }
    assert!(saw_503, "ready never reported draining");
}

#[test]
fn malformed_config_file_exits_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("voxbin.toml");
    std::fs::write(
        &path,
        "data_dir = \"x\"\n[health]\nlisten = \"127.0.0.1:1\"\nlistn = \"typo\"\n",
    )
    .unwrap();
    let out = support::command(&dir, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("health.listn"), "{err}");

    std::fs::write(&path, "[api\nlisten = ").unwrap();
    let out = support::command(&dir, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn bad_environment_value_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::command(&dir, "not-an-address", "127.0.0.1:2", "127.0.0.1:3")
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("api.listen"), "{err}");
}

#[test]
fn config_command_masks_secrets_and_roles_lists_roles() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::command(&dir, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
        .env("DATABASE_DSN", "bin:hunter2@tcp(127.0.0.1:3306)/voipbin")
        .env("RABBITMQ_ADDRESS", "amqp://guest:guest@127.0.0.1:5672")
        .arg("config")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        text.contains("mysql://bin:***@127.0.0.1:3306/voipbin"),
        "{text}"
    );
    assert!(text.contains("amqp://guest:***@"), "{text}");
    let parsed: toml::Table = text.parse().unwrap();
    assert_eq!(parsed["api"]["listen"].as_str(), Some("127.0.0.1:1"));

    let out = support::command(&dir, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
        .arg("roles")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for role in [
        "api",
        "flow",
        "call",
        "customer",
        "sip-edge",
        "media",
        "rtp-relay",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(role)),
            "{role} missing:\n{text}"
        );
    }
}

#[test]
fn serve_with_one_role_runs_only_that_role() {
    let s = Server::start(&["--role", "flow"]);
    // No API role: its port is not listening.
    assert!(TcpStream::connect(&s.api).is_err());
    assert_eq!(get(&s.health, "/ready").unwrap().0, 200);
}

#[test]
fn migrate_applies_then_reports_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        support::command(&dir, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
            .arg("migrate")
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied 0001_platform"));
    let second = run();
    assert!(String::from_utf8_lossy(&second.stdout).contains("up to date"));
}

#[test]
fn api_also_answers_over_https_with_a_generated_certificate() {
    let s = Server::start(&[]);
    let cert = s.data_dir.path().join("tls/cert.pem");
    assert!(cert.exists(), "self-signed certificate not written");
    let out = std::process::Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&cert)
        .arg(format!(
            "https://localhost:{}/v1.0/ping",
            s.https.rsplit(':').next().unwrap()
        ))
        .output()
        .expect("curl runs");
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(body.contains("pong"), "{body}");
}
