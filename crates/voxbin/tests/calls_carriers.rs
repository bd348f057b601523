//! Inbound calls to numbers only from carriers: with loopback not allowed as a carrier (the
//! production default), a sipp call from 127.0.0.1 to a number gets 403 and is recorded as a
//! failed call. Runs in both test shapes.

mod support;

use support::{free_port_block, free_udp_port};

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::api::{login, Client};
use support::Server;

fn scenario(name: &str) -> String {
    let p: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "svc",
        "call",
        "tests",
        "sipp",
        name,
    ]
    .iter()
    .collect();
    p.to_string_lossy().into_owned()
}

#[test]
fn a_call_from_a_source_no_provider_has_is_refused_with_403_and_recorded() {
    let media_sip = free_udp_port();
    let set = format!("media.sip_listen=127.0.0.1:{media_sip}");
    let edge = format!("sip.listen=127.0.0.1:{}", free_udp_port());
    let ng = format!("rtp_relay.ng_listen=127.0.0.1:{}", free_udp_port());
    let strict = "call.allow_loopback_carriers=false";
    let server = Server::start(&["--set", &set, "--set", &edge, "--set", &ng, "--set", strict]);
    let port = free_udp_port();
    let rtp = free_port_block();
    let out = Command::new("sipp")
        .args(["-sf", &scenario("forbidden_source.xml"), "-s", "+15550123"])
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-mp",
            &rtp.to_string(),
        ])
        .args(["-m", "1", "-l", "1", "-nostdin", "-timeout", "60s"])
        .arg(format!("127.0.0.1:{media_sip}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("sipp runs (apt-get install sip-tester)");
    assert!(
        out.status.success(),
        "sipp failed ({:?})\n{}\n{}\nserver:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.stderr()
    );
    let (_, user, password) = server.bootstrap();
    let admin = Client::with_token(&server.api, &login(&server, &user, &password));
    let deadline = Instant::now() + Duration::from_secs(45);
    let call = loop {
        let r = admin.get("/v1.0/calls");
        if r.status == 200 && r.body["result"][0]["status"] == "hangup" {
            break r.body["result"][0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the failed call never showed: {}",
            r.raw
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(call["destination"]["target"], "+15550123");
    assert_eq!(call["hangup_reason"], "failed");
}
