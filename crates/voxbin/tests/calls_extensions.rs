//! Calls to and from registered extensions end to end, with sipp as the phones and a real
//! `voxbin serve` (SIP edge + media role + services; distributed with
//! `VOXBIN_TEST_SHAPE=distributed`): a phone REGISTERs as extension 1001 through the edge and
//! answers what it gets (`-oocsf`); another extension calls 1001 through the edge, the call
//! service finds the phone's registration and dials it from the caller's media node along the
//! edge's path, bridges the two and ends both when either side hangs up; with two phones
//! registered, both ring and the one that did not answer is cancelled; an extension without
//! registration gets 480, an unknown one 404, each kept on record as a failed call; an
//! extension calling an E.164 number goes out through the customer's route to a sipp carrier;
//! `POST /v1.0/calls` to an `extension` destination rings the phone and runs the flow.
//! Scenarios live in `crates/svc/call/tests/sipp/`.

mod support;

use support::{free_port_block, free_udp_port};

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::api::{create_tenant, Client};
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

/// A platform with its media node and SIP edge; its tenant with extensions 1001 (the phone)
/// and 2001 (the caller), and the tenant's realm.
struct Platform {
    server: Server,
    edge: String,
    client: Client,
    realm: String,
}

fn platform() -> Platform {
    let edge = format!("127.0.0.1:{}", free_udp_port());
    let media = format!("media.sip_listen=127.0.0.1:{}", free_udp_port());
    let listen = format!("sip.listen={edge}");
    let ng = format!("rtp_relay.ng_listen=127.0.0.1:{}", free_udp_port());
    let server = Server::start(&["--set", &media, "--set", &listen, "--set", &ng]);
    let tenant = create_tenant(&server, "phones");
    let client = Client::with_key(&server.api, &tenant.accesskey);
    for (ext, password) in [("1001", "phone-1001"), ("2001", "phone-2001")] {
        let r = client.post(
            "/v1.0/extensions",
            json!({"extension": ext, "password": password, "name": ext, "detail": ""}),
        );
        assert_eq!(r.status, 200, "{}", r.raw);
    }
    let p = Platform {
        edge,
        client,
        realm: format!("{}.registrar.voxbin.local", tenant.customer_id),
        server,
    };
    wait_for_a_media_node(&p);
    p
}

/// Waits until the SIP edge counts a media node as up (announced on the bus, then checked).
fn wait_for_a_media_node(p: &Platform) {
    wait_metric(p, "voxbin_sip_media_node_up", |v| v == 1.0);
}

/// Waits until some sample of `metric` satisfies `ok`.
fn wait_metric(p: &Platform, metric: &str, ok: impl Fn(f64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, body)) = support::get(&p.server.metrics, "/metrics") {
            let seen = body
                .lines()
                .filter(|l| l.starts_with(metric))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .any(&ok);
            if seen {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{metric} never got there");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Extension 1001's phone: registers through the edge, then takes one call with scenario
/// `answers` (`ext_phone_answers.xml`: waits for the platform's BYE); its SIP messages go to
/// `log`.
fn phone(p: &Platform, answers: &str, log: &std::path::Path) -> Peer {
    let port = free_udp_port();
    let rtp = free_port_block();
    let child = Command::new("sipp")
        .arg(&p.edge)
        .args(["-sf", &scenario("ext_phone.xml")])
        .args(["-oocsf", &scenario(answers)])
        .args(["-s", &p.realm, "-set", "user", "1001"])
        .args(["-au", "1001", "-ap", "phone-1001", "-i", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &rtp.to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "60s", "-trace_msg"])
        .arg("-message_file")
        .arg(log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs (apt-get install sip-tester)");
    let phone = Peer(Some(child));
    wait_metric(p, "voxbin_sip_registrations_active", |v| v >= 1.0);
    phone
}

/// Waits until `n` REGISTERs were answered 200 (several phones of one extension): the edge
/// answers once the binding is stored, while its digest check is counted before.
fn wait_registered(p: &Platform, n: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, body)) = support::get(&p.server.metrics, "/metrics") {
            let done: f64 = body
                .lines()
                .filter(|l| l.starts_with("voxbin_sip_responses_total{"))
                .filter(|l| l.contains("method=\"REGISTER\"") && l.contains("code=\"200\""))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum();
            if done >= n {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{n} REGISTERs were never answered 200"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A sipp peer (phone, carrier); stopped if the test ends before it does.
struct Peer(Option<Child>);

impl Peer {
    /// Waits for its sipp to exit.
    fn finish(mut self) -> Output {
        let child = self.0.take().expect("the phone runs");
        child.wait_with_output().expect("sipp exits")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Extension 2001 calling `callee` through the edge with scenario `name`, to its end; its SIP
/// messages go to `log`.
fn caller(p: &Platform, name: &str, callee: &str, log: &std::path::Path) -> Output {
    let port = free_udp_port();
    let rtp = free_port_block();
    Command::new("sipp")
        .arg(&p.edge)
        .args(["-sf", &scenario(name), "-s", callee])
        .args(["-set", "user", "2001", "-set", "domain", &p.realm])
        .args(["-au", "2001", "-ap", "phone-2001", "-i", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &rtp.to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "60s", "-trace_msg"])
        .arg("-message_file")
        .arg(log)
        .output()
        .expect("sipp runs (apt-get install sip-tester)")
}

fn assert_sipp_ok(out: &Output, what: &str, p: &Platform, log: &std::path::Path) {
    assert!(
        out.status.success(),
        "{what}: sipp failed ({:?})\n{}\n{}\nmessages:\n{}\nserver:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(log).unwrap_or_default(),
        p.server.stderr()
    );
}

/// Reads `path` until `done` holds for its body.
fn wait_until(c: &Client, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let r = c.get(path);
        if r.status == 200 && done(&r.body) {
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never happened: {}",
            r.raw
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The tenant's calls once `n` of them hung up, oldest first.
fn calls_over(c: &Client, n: usize) -> Vec<Value> {
    let list = wait_until(c, "/v1.0/calls", "the calls' hangup", |b| {
        let calls = b["result"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        calls.iter().filter(|c| c["status"] == "hangup").count() >= n
    });
    let mut calls = list["result"].as_array().unwrap().clone();
    calls.reverse();
    calls
}

/// Event types of a call's timeline once it holds `at_least`.
fn timeline(c: &Client, id: &str, at_least: &[&str]) -> Vec<String> {
    let path = format!("/v1.0/timelines/calls/{id}/events?page_size=100");
    let body = wait_until(c, &path, "timeline", |b| {
        let seen: Vec<&str> = b["result"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["event_type"].as_str()).collect())
            .unwrap_or_default();
        at_least.iter().all(|t| seen.contains(t))
    });
    body["result"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_extension_calls_a_registered_extension_through_the_edge_and_the_caller_hangs_up() {
    let p = platform();
    let dir = tempfile::tempdir().unwrap();
    let (phone_log, caller_log) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let a = phone(&p, "ext_phone_answers.xml", &phone_log);
    let out = caller(&p, "ext_call.xml", "1001", &caller_log);
    assert_sipp_ok(&out, "extension 2001 calling 1001", &p, &caller_log);
    let out = a.finish();
    assert_sipp_ok(&out, "extension 1001's phone", &p, &phone_log);
    // the phone was reached down its flow through the edge, which record-routed the call
    let heard = std::fs::read_to_string(&phone_log).unwrap();
    assert!(heard.contains("INVITE sip:1001@127.0.0.1"), "{heard}");
    let top_route = heard
        .lines()
        .find(|l| l.starts_with("Record-Route:"))
        .unwrap_or_default();
    assert!(
        top_route.contains(";ftok="),
        "the path's route on top: {heard}"
    );

    let calls = calls_over(&p.client, 2);
    assert_eq!(calls.len(), 2, "{calls:?}");
    let (from_b, to_a) = (&calls[0], &calls[1]);
    assert_eq!(from_b["direction"], "incoming");
    assert_eq!(from_b["source"]["type"], "extension");
    assert_eq!(from_b["source"]["target"], "2001");
    assert_eq!(from_b["destination"]["type"], "extension");
    assert_eq!(from_b["destination"]["target"], "1001");
    assert_eq!(from_b["chained_call_ids"], json!([to_a["id"]]));
    assert_eq!(from_b["hangup_by"], "remote");
    assert_eq!(from_b["hangup_reason"], "normal");
    assert!(from_b["tm_progressing"].is_string(), "{from_b}");
    assert_eq!(to_a["direction"], "outgoing");
    assert_eq!(to_a["master_call_id"], from_b["id"]);
    assert_eq!(to_a["destination"]["target"], "1001");
    assert!(to_a["tm_progressing"].is_string(), "{to_a}");
    // the caller's hangup ended the phone's leg too
    assert_eq!(to_a["hangup_by"], "local");
    assert_eq!(to_a["hangup_reason"], "normal");

    let events = timeline(
        &p.client,
        from_b["id"].as_str().unwrap(),
        &["call_created", "call_progressing", "call_hangup"],
    );
    let pos = |t: &str| events.iter().position(|e| e == t).unwrap();
    assert!(pos("call_created") < pos("call_progressing"), "{events:?}");
    assert!(pos("call_progressing") < pos("call_hangup"), "{events:?}");
}

#[test]
fn every_phone_of_an_extension_rings_and_the_one_that_does_not_answer_is_cancelled() {
    let p = platform();
    let dir = tempfile::tempdir().unwrap();
    let (desk_log, mobile_log) = (dir.path().join("desk.log"), dir.path().join("mobile.log"));
    let desk = phone(&p, "ext_phone_answers.xml", &desk_log);
    let mobile = phone(&p, "ext_phone_rings.xml", &mobile_log);
    wait_registered(&p, 2.0);
    let log = dir.path().join("b.log");
    let out = caller(&p, "ext_call.xml", "1001", &log);
    assert_sipp_ok(&out, "extension 2001 calling 1001", &p, &log);
    let out = mobile.finish();
    assert_sipp_ok(&out, "the phone that only rang", &p, &mobile_log);
    let out = desk.finish();
    assert_sipp_ok(&out, "the phone that answered", &p, &desk_log);

    let calls = calls_over(&p.client, 3);
    assert_eq!(calls.len(), 3, "{calls:?}");
    let caller_call = calls.iter().find(|c| c["direction"] == "incoming").unwrap();
    let forks: Vec<&Value> = calls
        .iter()
        .filter(|c| c["direction"] == "outgoing")
        .collect();
    assert!(forks
        .iter()
        .all(|f| f["master_call_id"] == caller_call["id"]));
    let answered: Vec<&&Value> = forks
        .iter()
        .filter(|f| f["tm_progressing"].is_string())
        .collect();
    assert_eq!(answered.len(), 1, "{forks:?}");
    // the caller keeps the one that answered; the other was cancelled
    assert_eq!(caller_call["chained_call_ids"], json!([answered[0]["id"]]));
    let cancelled = forks.iter().find(|f| f["id"] != answered[0]["id"]).unwrap();
    assert_eq!(cancelled["hangup_reason"], "cancel", "{cancelled}");
    assert_eq!(cancelled["hangup_by"], "local");
}

#[test]
fn the_called_phone_hanging_up_ends_the_callers_call_with_dialout() {
    let p = platform();
    let dir = tempfile::tempdir().unwrap();
    let (phone_log, caller_log) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let a = phone(&p, "ext_phone_hangs_up.xml", &phone_log);
    let out_b = caller(&p, "ext_call_callee_hangs_up.xml", "1001", &caller_log);
    let out = a.finish();
    assert_sipp_ok(&out, "extension 1001 hanging up", &p, &phone_log);
    assert_sipp_ok(&out_b, "extension 2001 hung up on", &p, &caller_log);
    let calls = calls_over(&p.client, 2);
    let (from_b, to_a) = (&calls[0], &calls[1]);
    assert_eq!(to_a["master_call_id"], from_b["id"]);
    assert_eq!(to_a["hangup_by"], "remote");
    assert_eq!(to_a["hangup_reason"], "normal");
    assert_eq!(from_b["hangup_by"], "local");
    assert_eq!(from_b["hangup_reason"], "dialout");
}

/// The project super-admin's client (providers are the platform's); a login that times out
/// on a loaded machine is tried again.
fn super_admin(p: &Platform) -> Client {
    let (_, user, password) = p.server.bootstrap();
    let body = json!({ "username": user, "password": password }).to_string();
    for _ in 0..5 {
        let r = support::api::send(
            &p.server.api,
            "POST",
            "/auth/login",
            &[],
            Some(body.as_bytes()),
        );
        if r.status == 200 {
            return Client::with_token(&p.server.api, r.body["token"].as_str().unwrap());
        }
        assert_eq!(r.status, 503, "{}", r.raw);
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("the super-admin could not log in");
}

/// A sipp carrier answering one call on `port` and waiting for the platform's BYE.
fn carrier(port: u16) -> Peer {
    let rtp = free_port_block();
    let child = Command::new("sipp")
        .args(["-sf", &scenario("callee_answers.xml"), "-i", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &rtp.to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs (apt-get install sip-tester)");
    Peer(Some(child))
}

#[test]
fn an_extension_calling_a_number_goes_out_through_the_customers_route() {
    let p = platform();
    let admin = super_admin(&p);
    let port = free_udp_port();
    let pstn = carrier(port);
    let provider = admin.post(
        "/v1.0/providers",
        json!({"type": "sip", "hostname": format!("127.0.0.1:{port}"), "tech_prefix": "",
               "tech_postfix": "", "tech_headers": {}, "name": "carrier", "detail": ""}),
    );
    assert_eq!(provider.status, 200, "{}", provider.raw);
    let route = p.client.post(
        "/v1.0/routes",
        json!({"name": "out", "detail": "", "provider_id": provider.body["id"],
               "priority": 1, "target": "all"}),
    );
    assert_eq!(route.status, 200, "{}", route.raw);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("b.log");
    let out = caller(&p, "ext_call.xml", "+15557654321", &log);
    assert_sipp_ok(&out, "extension 2001 calling a number", &p, &log);
    let out = pstn.finish();
    assert!(out.status.success(), "the carrier's sipp failed: {out:?}");

    let calls = calls_over(&p.client, 2);
    let (from_b, out_call) = (&calls[0], &calls[1]);
    assert_eq!(from_b["direction"], "incoming");
    assert_eq!(from_b["source"]["type"], "extension");
    assert_eq!(from_b["destination"]["type"], "tel");
    assert_eq!(from_b["destination"]["target"], "+15557654321");
    assert_eq!(from_b["chained_call_ids"], json!([out_call["id"]]));
    assert_eq!(out_call["direction"], "outgoing");
    assert_eq!(out_call["master_call_id"], from_b["id"]);
    assert!(out_call["tm_progressing"].is_string(), "{out_call}");
    assert_eq!(from_b["hangup_by"], "remote");
}

#[test]
fn calls_to_an_unregistered_or_unknown_extension_get_480_or_404_and_are_recorded() {
    let p = platform();
    let dir = tempfile::tempdir().unwrap();
    for (callee, status) in [("1001", "480"), ("1999", "404")] {
        let log = dir.path().join(format!("{callee}.log"));
        let out = caller(&p, "ext_call_refused.xml", callee, &log);
        assert_sipp_ok(&out, "a call nobody takes", &p, &log);
        let heard = std::fs::read_to_string(&log).unwrap();
        assert!(heard.contains(&format!("SIP/2.0 {status} ")), "{heard}");
    }
    let calls = calls_over(&p.client, 2);
    let targets: Vec<&str> = calls
        .iter()
        .map(|c| c["destination"]["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["1001", "1999"]);
    for c in &calls {
        assert_eq!(c["destination"]["type"], "extension");
        assert_eq!(c["source"]["target"], "2001");
        assert_eq!(c["hangup_by"], "local");
        assert_eq!(c["hangup_reason"], "failed");
        assert_eq!(c["chained_call_ids"], json!([]));
    }
}

#[test]
fn post_calls_to_an_extension_rings_the_phone_and_runs_the_flow() {
    let p = platform();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("a.log");
    // an extension that does not exist is refused before anything is dialled
    let bad = p.client.post(
        "/v1.0/calls",
        json!({"actions": [{"type": "hangup"}],
               "destinations": [{"type": "extension", "target": "1999"}]}),
    );
    assert_eq!(bad.status, 400, "{}", bad.raw);

    let a = phone(&p, "ext_phone_answers.xml", &log);
    let made = p.client.post(
        "/v1.0/calls",
        json!({"actions": [{"type": "talk", "option": {"text": "Hello desk."}},
                           {"type": "hangup"}],
               "source": {"type": "tel", "target": "+15550100"},
               "destinations": [{"type": "extension", "target": "1001"}]}),
    );
    assert_eq!(made.status, 200, "{}", made.raw);
    let id = made.body["calls"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1.0/calls/{id}");
    let call = wait_until(&p.client, &path, "the hangup", |b| b["status"] == "hangup");
    assert_eq!(call["direction"], "outgoing");
    assert_eq!(call["destination"]["type"], "extension");
    assert!(call["tm_progressing"].is_string(), "{call}");
    assert_eq!(call["hangup_by"], "local");
    assert_eq!(call["hangup_reason"], "normal");
    let af = call["activeflow_id"].as_str().unwrap();
    let af = wait_until(
        &p.client,
        &format!("/v1.0/activeflows/{af}"),
        "flow end",
        |b| b["status"] == "ended",
    );
    assert!(
        af["executed_actions"].to_string().contains("Hello desk."),
        "{af}"
    );
    let out = a.finish();
    assert_sipp_ok(&out, "extension 1001's phone", &p, &log);
}
