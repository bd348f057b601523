//! The SIP edge role end to end with real SIP peers: sipp (Debian `sip-tester`) as phones and
//! as media nodes, a real `voxbin serve` in between (embedded, or distributed with
//! `VOXBIN_TEST_SHAPE=distributed`). Scenarios live in `crates/svc/sipedge/tests/sipp/`.
//!
//! Success is what sipp says: a UAC exits 0 only when every call of its scenario went as
//! written (a request routed to the wrong media node, a missing 180 or a lost BYE fail it).
//! Nothing here depends on timing beyond generous upper bounds.

mod support;

use support::free_udp_port;

use serde_json::json;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::api::{create_tenant, Client};
use support::{get, Server};

/// The sipp binary; the suite needs it (scripts/test installs Debian's `sip-tester`).
fn sipp() -> &'static str {
    let found = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "sipp is not installed: apt-get install sip-tester (scripts/test does it)"
    );
    "sipp"
}

fn scenario(name: &str) -> String {
    let p: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "svc",
        "sipedge",
        "tests",
        "sipp",
        name,
    ]
    .iter()
    .collect();
    p.to_string_lossy().into_owned()
}

/// A sipp UAS standing in for a media node; stopped on drop.
struct MediaNode {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl MediaNode {
    fn start(scenario_name: &str) -> MediaNode {
        let dir = tempfile::tempdir().unwrap();
        let port = free_udp_port();
        let child = Command::new(sipp())
            .args(["-sf", &scenario(scenario_name), "-i", "127.0.0.1"])
            .args(["-p", &port.to_string(), "-nostdin", "-trace_msg"])
            .arg("-message_file")
            .arg(dir.path().join("messages.log"))
            .args(["-trace_err", "-error_file"])
            .arg(dir.path().join("errors.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp starts");
        let mut node = MediaNode { child, port, dir };
        node.wait_answering();
        node
    }

    /// Waits until the UAS answers an OPTIONS (it is bound and running its scenario).
    fn wait_answering(&mut self) {
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        probe
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let me = probe.local_addr().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        for i in 0u32.. {
            let options = format!(
                "OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKready{i}\r\n\
                 From: <sip:test@{me}>;tag=t{i}\r\nTo: <sip:127.0.0.1:{port}>\r\nCall-ID: ready-{i}-{port}\r\n\
                 CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
                port = self.port
            );
            let _ = probe.send_to(options.as_bytes(), ("127.0.0.1", self.port));
            let mut buf = [0u8; 2048];
            if let Ok((n, _)) = probe.recv_from(&mut buf) {
                if buf[..n].starts_with(b"SIP/2.0 200") {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sipp UAS on {} exited: {status}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "sipp UAS on {} never answered",
                self.port
            );
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// How many requests of `method` this node received (from its message log).
    fn received(&self, method: &str) -> usize {
        let log = std::fs::read_to_string(self.dir.path().join("messages.log")).unwrap_or_default();
        let start = format!("{method} sip:");
        log.lines().filter(|l| l.starts_with(&start)).count()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MediaNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a sipp UAC against the edge to completion and returns its output.
fn uac(edge: &str, scenario_name: &str, calls: u32, extra: &[&str]) -> Output {
    uac_from(edge, scenario_name, calls, free_udp_port(), extra)
}

/// [`uac`] from a given local port (a phone keeps its address between requests).
fn uac_from(edge: &str, scenario_name: &str, calls: u32, port: u16, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .arg("120")
        .arg(sipp())
        .arg(edge)
        .args(["-sf", &scenario(scenario_name), "-i", "127.0.0.1"])
        .args(["-p", &port.to_string()])
        .args(["-m", &calls.to_string(), "-r", "5", "-s", "service"])
        .args(["-nostdin", "-timeout", "90s", "-trace_err", "-error_file"])
        .arg(dir.path().join("errors.log"))
        .args(extra)
        .output()
        .expect("sipp runs");
    let errors = std::fs::read_to_string(dir.path().join("errors.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "sipp {scenario_name} failed ({}):\n{}\n{errors}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("call") || l.contains("Call"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    out
}

/// A voxbin server (all roles) whose SIP edge dispatches to `nodes`; returns it with the
/// edge's SIP address.
fn edge_server(nodes: &[&MediaNode], extra: &[&str]) -> (Server, String) {
    let list: Vec<String> = nodes.iter().map(|n| n.addr()).collect();
    for attempt in 1..=5 {
        let sip = format!("127.0.0.1:{}", free_udp_port());
        let mut args = vec![
            "--set".to_string(),
            format!("sip.listen={sip}"),
            "--set".to_string(),
            format!("sip.media_nodes={}", list.join(",")),
            // sipp plays the media nodes: the process's own media role stays off, or its
            // heartbeat would put it in the rotation too
            "--set".to_string(),
            "media.sip_listen=".to_string(),
        ];
        for e in extra {
            args.push("--set".to_string());
            args.push(e.to_string());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        // A UDP port picked as free may lose a race to another process; try another one.
        let started = std::panic::catch_unwind(|| Server::start(&refs));
        match started {
            Ok(server) => return (server, sip),
            Err(e) if attempt == 5 => std::panic::resume_unwind(e),
            Err(_) => continue,
        }
    }
    unreachable!("the loop returns or panics")
}

/// The value of a metric sample (first line starting with `prefix`).
fn metric(server: &Server, prefix: &str) -> Option<f64> {
    let (_, text) = get(&server.metrics, "/metrics").ok()?;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Polls a metric until `want(value)`, for at most `within`.
fn wait_metric(server: &Server, prefix: &str, within: Duration, want: impl Fn(f64) -> bool) {
    let deadline = Instant::now() + within;
    loop {
        if metric(server, prefix).is_some_and(&want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{prefix} never reached the expected value; last {:?}",
            metric(server, prefix)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn phone_registers_with_its_password_unregisters_and_is_refused_with_a_wrong_one() {
    let (server, sip) = edge_server(&[], &[]);
    let tenant = create_tenant(&server, "sip-phones");
    let client = Client::with_key(&server.api, &tenant.accesskey);
    let r = client.post(
        "/v1.0/extensions",
        json!({"extension": "1001", "password": "p4ss-word", "name": "desk", "detail": ""}),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    let domain = format!("{}.registrar.voxbin.local", tenant.customer_id);
    let phone_port = free_udp_port();
    let phone = |scenario_name: &str, password: &str, expires: &str| {
        let args = [
            "-s", &domain, "-set", "user", "1001", "-au", "1001", "-ap", password, "-set",
            "expires", expires,
        ];
        uac_from(&sip, scenario_name, 1, phone_port, &args);
    };

    phone("register.xml", "p4ss-word", "300");
    wait_metric(
        &server,
        "voxbin_sip_registrations_active",
        Duration::from_secs(30),
        |v| v >= 1.0,
    );
    phone("register.xml", "p4ss-word", "0");
    wait_metric(
        &server,
        "voxbin_sip_registrations_active",
        Duration::from_secs(30),
        |v| v == 0.0,
    );
    phone("register_wrong.xml", "guessed", "300");
    assert!(
        metric(&server, "voxbin_sip_auth_total{result=\"failed\"}").unwrap_or(0.0) >= 1.0,
        "the wrong password is counted"
    );
}

#[test]
fn calls_go_through_the_edge_and_either_side_hangs_up() {
    let node = MediaNode::start("uas_call.xml");
    let (server, sip) = edge_server(&[&node], &[]);
    uac(&sip, "options.xml", 1, &[]);
    uac(&sip, "uac_call.xml", 3, &["-d", "100"]);
    assert!(node.received("INVITE") >= 3);
    assert!(node.received("BYE") >= 3);
    drop(server);

    let node = MediaNode::start("uas_callee_bye.xml");
    let (_server, sip) = edge_server(&[&node], &[]);
    uac(&sip, "uac_call_callee_bye.xml", 3, &[]);
}

#[test]
fn a_ringing_call_is_cancelled_through_the_edge() {
    let node = MediaNode::start("uas_cancel.xml");
    let (_server, sip) = edge_server(&[&node], &[]);
    uac(&sip, "uac_cancel.xml", 3, &[]);
    assert!(node.received("CANCEL") >= 3);
}

#[test]
fn reinvite_and_bye_reach_the_media_node_that_owns_the_dialog() {
    let a = MediaNode::start("uas_call.xml");
    let b = MediaNode::start("uas_call.xml");
    let (_server, sip) = edge_server(&[&a, &b], &[]);
    uac(&sip, "uac_reinvite.xml", 20, &["-d", "100"]);
    // Calls were spread over both nodes (by Call-ID hash: all 20 on one node has odds of one
    // in half a million), and each node got the re-INVITEs of its own calls (a stray one would
    // have failed the caller's scenario).
    let (ia, ib) = (a.received("INVITE"), b.received("INVITE"));
    assert!(ia >= 1 && ib >= 1, "INVITEs per node: {ia} and {ib}");
    // At least: a loaded machine may make the edge retransmit one over UDP.
    assert!(
        ia + ib >= 40,
        "20 calls, each with a re-INVITE: {ia} + {ib}"
    );
    assert!(a.received("BYE") + b.received("BYE") >= 20);
}

#[test]
fn a_media_node_that_stops_answering_options_leaves_the_rotation() {
    let a = MediaNode::start("uas_call.xml");
    let mut b = MediaNode::start("uas_call.xml");
    let (server, sip) = edge_server(
        &[&a, &b],
        &[
            "sip.options_interval_ms=200",
            "sip.options_timeout_ms=400",
            "sip.options_down_after=2",
        ],
    );
    let up = |n: &MediaNode| format!("voxbin_sip_media_node_up{{node=\"{}\"}}", n.addr());
    wait_metric(&server, &up(&b), Duration::from_secs(30), |v| v == 1.0);
    assert!(
        b.received("OPTIONS") >= 1,
        "the edge checks its media nodes"
    );
    b.stop();
    wait_metric(&server, &up(&b), Duration::from_secs(30), |v| v == 0.0);
    uac(&sip, "uac_call.xml", 4, &["-d", "50"]);
    // A call sent to the stopped node would have timed out and failed the caller's run.
    assert!(
        a.received("BYE") >= 4,
        "every new call went to the live node"
    );
}

#[test]
fn a_phone_call_is_authenticated_and_reaches_the_media_node_with_the_asserted_caller() {
    let node = MediaNode::start("uas_call_asserted.xml");
    let (server, sip) = edge_server(&[&node], &[]);
    let tenant = create_tenant(&server, "sip-caller");
    let client = Client::with_key(&server.api, &tenant.accesskey);
    let r = client.post(
        "/v1.0/extensions",
        json!({"extension": "2001", "password": "call-me", "name": "desk", "detail": ""}),
    );
    assert_eq!(r.status, 200, "{}", r.raw);
    let domain = format!("{}.registrar.voxbin.local", tenant.customer_id);
    let args = [
        "-s", "15550100", "-set", "user", "2001", "-set", "domain", &domain, "-au", "2001", "-ap",
        "call-me",
    ];
    uac(&sip, "uac_call_auth.xml", 2, &args);
    assert!(node.received("INVITE") >= 2);
    assert!(
        metric(&server, "voxbin_sip_auth_total{result=\"ok\"}").unwrap_or(0.0) >= 2.0,
        "both calls were authenticated"
    );
}

#[test]
fn a_media_node_announced_on_the_bus_takes_calls_without_being_configured() {
    use voxbin_bus::Bus;
    use voxbin_svc_sipedge::medianode::{MediaNodeAnnouncement, MediaNodeStatus};
    // Its own vhost on the machine's RabbitMQ, in the first pass only (it picks its engines).
    let Some((_, amqp, _)) = support::engines::required("sip_edge bus announcement") else {
        return;
    };
    let vhost =
        support::engines::Vhost::create(&format!("voxbin-e2e-sipnodes-{}", std::process::id()));
    let url = vhost.url(&amqp);
    let node = MediaNode::start("uas_call.xml");
    let sip = format!("127.0.0.1:{}", free_udp_port());
    let listen = format!("sip.listen={sip}");
    let server = Server::start(&[
        "--bus",
        &url,
        "--set",
        &listen,
        "--set",
        "media.sip_listen=",
    ]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let bus = runtime
        .block_on(voxbin_bus::AmqpBus::connect(&url, Default::default()))
        .expect("the test reaches RabbitMQ");
    let announce = |status| {
        let a = MediaNodeAnnouncement {
            // A stable id per test node.
            id: format!("766f7862-696e-4000-8000-{:012x}", node.port)
                .parse()
                .unwrap(),
            address: node.addr(),
            transport: "udp".into(),
            weight: 1,
            status,
            tm_update: "2026-12-07T03:00:00Z".into(),
        };
        runtime.block_on(bus.publish(a.event())).unwrap();
    };
    let up = format!("voxbin_sip_media_node_up{{node=\"{}\"}}", node.addr());
    // Announced every second (faster than the media role's 5 s) until the edge lists it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(&server, &up) != Some(1.0) {
        assert!(Instant::now() < deadline, "the announced node never joined");
        announce(MediaNodeStatus::Up);
        std::thread::sleep(Duration::from_millis(500));
    }
    announce(MediaNodeStatus::Up);
    uac(&sip, "uac_call.xml", 3, &["-d", "50"]);
    assert!(node.received("INVITE") >= 3);
    assert!(
        node.received("OPTIONS") >= 1,
        "an announced node is checked too"
    );
    // Draining: no new calls for it, and it was the only one. The announcement travels
    // through the broker, so calls are tried until one is refused.
    announce(MediaNodeStatus::Draining);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let invites = node.received("INVITE");
        let call = Command::new("timeout")
            .arg("60")
            .arg(sipp())
            .arg(&sip)
            .args(["-sf", &scenario("uac_call.xml"), "-i", "127.0.0.1"])
            .args(["-p", &free_udp_port().to_string(), "-m", "1"])
            .args(["-nostdin", "-timeout", "30s"])
            .output()
            .expect("sipp runs");
        if !call.status.success() {
            assert_eq!(
                node.received("INVITE"),
                invites,
                "the refused call reached the node"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the draining node kept getting calls"
        );
    }
    runtime.block_on(bus.close());
    drop(server);
}
