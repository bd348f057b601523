//! Calls end to end against the real binary, with sipp as the phone: an inbound call to a
//! number runs the number's flow on the media role (answer, talk, digits, branch, hangup) and
//! the outcome is read back through the REST API; a caller hanging up mid-flow ends the
//! activeflow with the reason; an unknown number is refused with 404 and kept on record; an
//! outbound `POST /v1.0/calls` reaches a sipp UAS that answers, and is hung up through REST;
//! a `tel` call whose first carrier answers 503 fails over to the next route; an outbound call
//! that only rings is given up after `call.ring_timeout_secs` (CANCEL, `noanswer`).
//! Scenarios live in `crates/svc/call/tests/sipp/`. Runs in both shapes.

mod support;

use support::{free_port_block, free_udp_port};

use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::api::{create_tenant, login, Client, Reply};
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

/// A platform with its media node and its SIP edge on known SIP ports.
struct Platform {
    server: Server,
    media_sip: u16,
    edge_sip: u16,
}

fn platform() -> Platform {
    let media_sip = free_udp_port();
    let edge_sip = free_udp_port();
    let set = format!("media.sip_listen=127.0.0.1:{media_sip}");
    let edge = format!("sip.listen=127.0.0.1:{edge_sip}");
    let ng = format!("rtp_relay.ng_listen=127.0.0.1:{}", free_udp_port());
    let server = Server::start(&["--set", &set, "--set", &edge, "--set", &ng]);
    Platform {
        server,
        media_sip,
        edge_sip,
    }
}

/// Runs a sipp UAC `name` calling `service` on the media node; its output once it exits.
fn sipp_uac(p: &Platform, name: &str, service: &str) -> Child {
    sipp_uac_to(p.media_sip, name, service)
}

/// Runs a sipp UAC `name` calling `service` at `127.0.0.1:<sip_port>`.
fn sipp_uac_to(sip_port: u16, name: &str, service: &str) -> Child {
    let port = free_udp_port();
    let rtp = free_port_block();
    Command::new("sipp")
        .args(["-sf", &scenario(name), "-s", service, "-i", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &rtp.to_string()])
        .args(["-m", "1", "-l", "1", "-nostdin", "-timeout", "60s"])
        .arg(format!("127.0.0.1:{sip_port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs (apt-get install sip-tester)")
}

fn finished(child: Child) -> Output {
    child.wait_with_output().expect("sipp exits")
}

fn assert_sipp_ok(out: &Output, what: &str, server: &Server) {
    assert!(
        out.status.success(),
        "{what}: sipp failed ({:?})\n{}\n{}\nserver:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.stderr()
    );
}

/// Validates a reply against the contract's answer of `method template`.
fn conforms(method: &str, template: &str, reply: &Reply) {
    let contract = voxbin_contract::Contract::shared().expect("the contract loads");
    if let Err(errors) =
        contract.validate_response_strict(method, template, reply.status, &reply.body)
    {
        panic!(
            "{method} {template} {}: {errors:#?}\n{}",
            reply.status, reply.raw
        );
    }
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

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// Event types of a resource's timeline, oldest first.
fn timeline(c: &Client, resource: &str, id: &str, at_least: &[&str]) -> Vec<String> {
    let path = format!("/v1.0/timelines/{resource}/{id}/events?page_size=100");
    let body = wait_until(c, &path, "timeline", |b| {
        let seen: Vec<&str> = b["result"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["event_type"].as_str()).collect())
            .unwrap_or_default();
        at_least.iter().all(|t| seen.contains(t))
    });
    let mut types: Vec<String> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect();
    types.reverse();
    types
}

/// The IVR of the brief: answer, greet, one digit, branch on it, confirm, record the caller
/// for a moment, hang up.
fn ivr_flow() -> Value {
    json!({
        "name": "ivr", "detail": "press 1",
        "actions": [
            {"type": "answer"},
            {"type": "talk", "option": {"text": "Hello. Press one.", "language": "en-US"}},
            {"id": "00000000-0000-4000-8000-0000000000d1", "type": "digits_receive",
             "option": {"length": 1, "duration": 20000}},
            {"type": "branch", "option": {"variable": "voipbin.call.digits",
             "default_target_id": "00000000-0000-4000-8000-0000000000e1",
             "target_ids": {"1": "00000000-0000-4000-8000-0000000000f1"}}},
            {"id": "00000000-0000-4000-8000-0000000000f1", "type": "talk",
             "option": {"text": "You pressed one.", "language": "en-US"}},
            {"type": "recording_start", "option": {"format": "wav", "duration": 10}},
            {"type": "sleep", "option": {"duration": 1500}},
            {"type": "recording_stop"},
            {"id": "00000000-0000-4000-8000-0000000000e1", "type": "hangup"}
        ]
    })
}

/// A customer with a flow on `+15550100`; its client.
fn number_with_flow(p: &Platform, number: &str, flow: Value) -> (Client, String) {
    let tenant = create_tenant(&p.server, "acme");
    let c = Client::with_key(&p.server.api, &tenant.accesskey);
    let made = c.post("/v1.0/flows", flow);
    assert_eq!(made.status, 200, "{}", made.raw);
    let flow_id = id(&made.body);
    let n = c.post(
        "/v1.0/numbers",
        json!({"number": number, "call_flow_id": flow_id, "name": "ivr", "detail": ""}),
    );
    assert_eq!(n.status, 200, "{}", n.raw);
    (c, flow_id)
}

#[test]
fn inbound_call_to_a_number_runs_its_flow_and_captures_the_digit() {
    let p = platform();
    let (c, flow_id) = number_with_flow(&p, "+15550100", ivr_flow());
    let out = finished(sipp_uac(&p, "caller_keys_1.xml", "+15550100"));
    assert_sipp_ok(&out, "caller pressing 1", &p.server);

    let list = wait_until(&c, "/v1.0/calls", "the call's hangup", |b| {
        b["result"][0]["status"] == "hangup"
    });
    let call = &list["result"][0];
    assert_eq!(call["direction"], "incoming");
    assert_eq!(call["flow_id"], flow_id.as_str());
    assert_eq!(call["source"]["type"], "tel");
    assert_eq!(call["source"]["target"], "+15550199");
    assert_eq!(call["source"]["target_name"], "Carol");
    assert_eq!(call["destination"]["target"], "+15550100");
    assert_eq!(call["hangup_by"], "local");
    assert_eq!(call["hangup_reason"], "normal");
    assert!(call["tm_progressing"].is_string(), "{call}");
    let one = c.get(&format!("/v1.0/calls/{}", id(call)));
    conforms("GET", "/calls/{id}", &one);

    // the digit took the branch to the "you pressed one" talk
    let af = call["activeflow_id"].as_str().unwrap();
    let af = wait_until(&c, &format!("/v1.0/activeflows/{af}"), "flow end", |b| {
        b["status"] == "ended"
    });
    let ran: Vec<&str> = af["executed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert!(
        ran.contains(&"00000000-0000-4000-8000-0000000000f1"),
        "digit 1 did not reach its branch: {af}"
    );

    let events = timeline(
        &c,
        "calls",
        &id(call),
        &["call_created", "call_progressing", "call_hangup"],
    );
    let pos = |t: &str| events.iter().position(|e| e == t).unwrap();
    assert!(pos("call_created") < pos("call_progressing"), "{events:?}");
    assert!(pos("call_progressing") < pos("call_hangup"), "{events:?}");

    // the caller was recorded; the WAV comes through the contract's 307
    let recs = wait_until(&c, "/v1.0/recordings", "the recording's end", |b| {
        b["result"][0]["status"] == "ended"
    });
    let rec = &recs["result"][0];
    assert_eq!(rec["reference_type"], "call");
    assert_eq!(rec["reference_id"], call["id"]);
    assert_eq!(call["recording_ids"][0], rec["id"]);
    let file = c.get(&format!("/v1.0/recordingfiles/{}", id(rec)));
    assert_eq!(file.status, 307, "{}", file.raw);
    conforms("GET", "/recordingfiles/{id}", &file);
    let location = file.header("location").expect("a Location").to_owned();
    let wav = c.raw("GET", &location, None);
    assert_eq!(wav.status, 200, "{}", wav.raw);
    assert!(
        wav.raw.contains("RIFF") && wav.raw.contains("WAVE"),
        "not a WAV"
    );

    // a finished call can be deleted; then it is gone
    let path = format!("/v1.0/calls/{}", id(call));
    let deleted = c.call("DELETE", &path, None);
    assert_eq!(deleted.status, 200, "{}", deleted.raw);
    conforms("DELETE", "/calls/{id}", &deleted);
    assert_eq!(c.get(&path).status, 404);
}

/// Waits until the SIP edge counts a media node as up (announced on the bus, then checked).
fn wait_for_a_media_node(p: &Platform) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, body)) = support::get(&p.server.metrics, "/metrics") {
            let up = body
                .lines()
                .filter(|l| l.starts_with("voxbin_sip_media_node_up"))
                .any(|l| l.trim_end().ends_with(" 1"));
            if up {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the edge saw no media node up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_call_through_the_sip_edge_reaches_a_media_node_and_runs_the_flow() {
    let p = platform();
    let (c, _) = number_with_flow(&p, "+15550102", ivr_flow());
    wait_for_a_media_node(&p);
    let out = finished(sipp_uac_to(p.edge_sip, "caller_via_edge.xml", "+15550102"));
    assert_sipp_ok(&out, "caller through the edge", &p.server);

    let list = wait_until(&c, "/v1.0/calls", "the call's hangup", |b| {
        b["result"][0]["status"] == "hangup"
    });
    let call = &list["result"][0];
    assert_eq!(call["direction"], "incoming");
    assert_eq!(call["destination"]["target"], "+15550102");
    // normal, not timeout: the ACK came through the edge to the media node
    assert_eq!(call["hangup_reason"], "normal", "{call}");
    let af = call["activeflow_id"].as_str().unwrap();
    let af = wait_until(&c, &format!("/v1.0/activeflows/{af}"), "flow end", |b| {
        b["status"] == "ended"
    });
    let ran: Vec<&str> = af["executed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert!(
        ran.contains(&"00000000-0000-4000-8000-0000000000f1"),
        "digit 1 did not reach its branch through the edge: {af}"
    );
}

#[test]
fn caller_hanging_up_mid_flow_ends_the_activeflow_with_the_reason() {
    let p = platform();
    let flow = json!({"name": "wait", "detail": "", "actions": [
        {"type": "answer"},
        {"type": "digits_receive", "option": {"length": 4, "duration": 60000}},
        {"type": "talk", "option": {"text": "never heard"}}
    ]});
    let (c, _) = number_with_flow(&p, "+15550101", flow);
    let out = finished(sipp_uac(&p, "caller_hangs_up.xml", "+15550101"));
    assert_sipp_ok(&out, "caller hanging up", &p.server);
    let list = wait_until(&c, "/v1.0/calls", "the call's hangup", |b| {
        b["result"][0]["status"] == "hangup"
    });
    let call = &list["result"][0];
    assert_eq!(call["hangup_by"], "remote");
    assert_eq!(call["hangup_reason"], "normal");
    let af = call["activeflow_id"].as_str().unwrap();
    let af = wait_until(&c, &format!("/v1.0/activeflows/{af}"), "flow end", |b| {
        b["status"] == "ended"
    });
    let ran = af["executed_actions"].to_string();
    assert!(!ran.contains("never heard"), "{af}");
}

#[test]
fn a_call_to_an_unknown_number_is_refused_with_404_and_recorded() {
    let p = platform();
    let out = finished(sipp_uac(&p, "unknown_number.xml", "+15550999"));
    assert_sipp_ok(&out, "unknown number", &p.server);
    // no customer owns it: only the platform's super-admin sees the record
    let (_, user, password) = p.server.bootstrap();
    let token = login(&p.server, &user, &password);
    let admin = Client::with_token(&p.server.api, &token);
    let list = wait_until(&admin, "/v1.0/calls", "the failed call", |b| {
        b["result"][0]["status"] == "hangup"
    });
    let call = &list["result"][0];
    assert_eq!(call["destination"]["target"], "+15550999");
    assert_eq!(call["hangup_reason"], "failed");
}

/// A sipp UAS answering one call on `port`.
fn sipp_uas(port: u16) -> Child {
    sipp_callee(port, "callee_answers.xml")
}

/// A sipp callee running scenario `name` for one call on `port`.
fn sipp_callee(port: u16, name: &str) -> Child {
    let rtp = free_port_block();
    Command::new("sipp")
        .args(["-sf", &scenario(name), "-i", "127.0.0.1"])
        .args(["-p", &port.to_string()])
        .args([
            "-mp",
            &rtp.to_string(),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "60s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs (apt-get install sip-tester)")
}

#[test]
fn outbound_call_reaches_a_sipp_uas_and_is_hung_up_through_rest() {
    let p = platform();
    let tenant = create_tenant(&p.server, "acme");
    let c = Client::with_key(&p.server.api, &tenant.accesskey);
    let uas_port = free_udp_port();
    let uas = sipp_uas(uas_port);
    let body = json!({
        "actions": [{"type": "talk", "option": {"text": "This is a call from Voxbin."}},
                    {"type": "sleep", "option": {"duration": 60000}}],
        "source": {"type": "tel", "target": "+15550100"},
        "destinations": [{"type": "sip", "target": format!("sip:bob@127.0.0.1:{uas_port}")}],
        "variables": {"campaign": "test"}
    });
    let made = c.post("/v1.0/calls", body);
    assert_eq!(made.status, 200, "{}", made.raw);
    conforms("POST", "/calls", &made);
    let call_id = id(&made.body["calls"][0]);
    let path = format!("/v1.0/calls/{call_id}");
    let call = wait_until(&c, &path, "the answer", |b| b["status"] == "progressing");
    assert_eq!(call["direction"], "outgoing");
    assert_eq!(call["destination"]["type"], "sip");

    let hung = c.post(&format!("{path}/hangup"), json!({}));
    assert_eq!(hung.status, 200, "{}", hung.raw);
    conforms("POST", "/calls/{id}/hangup", &hung);
    let call = wait_until(&c, &path, "the hangup", |b| b["status"] == "hangup");
    assert_eq!(call["hangup_by"], "local");
    assert_eq!(call["hangup_reason"], "normal");
    let out = finished(uas);
    assert_sipp_ok(&out, "uas", &p.server);
}

#[test]
fn an_outbound_call_nobody_answers_is_given_up_after_the_ring_timeout() {
    let media_sip = free_udp_port();
    let set = format!("media.sip_listen=127.0.0.1:{media_sip}");
    let ng = format!("rtp_relay.ng_listen=127.0.0.1:{}", free_udp_port());
    let server = Server::start(&[
        "--set",
        &set,
        "--set",
        &ng,
        "--set",
        "call.ring_timeout_secs=3",
    ]);
    let tenant = create_tenant(&server, "acme");
    let c = Client::with_key(&server.api, &tenant.accesskey);
    let phone_port = free_udp_port();
    let phone = sipp_callee(phone_port, "groupcall_rings.xml");
    let body = json!({
        "actions": [{"type": "talk", "option": {"text": "Nobody hears this."}}],
        "source": {"type": "tel", "target": "+15550100"},
        "destinations": [{"type": "sip", "target": format!("sip:bob@127.0.0.1:{phone_port}")}]
    });
    let made = c.post("/v1.0/calls", body);
    assert_eq!(made.status, 200, "{}", made.raw);
    let path = format!("/v1.0/calls/{}", id(&made.body["calls"][0]));
    wait_until(&c, &path, "the ringing", |b| b["status"] == "ringing");
    let started = Instant::now();
    let call = wait_until(&c, &path, "the give-up", |b| b["status"] == "hangup");
    assert!(started.elapsed() < Duration::from_secs(30), "{call}");
    assert_eq!(call["hangup_by"], "local", "{call}");
    assert_eq!(call["hangup_reason"], "noanswer", "{call}");
    assert!(
        call["tm_progressing"].is_null() || call["tm_progressing"] == "",
        "{call}"
    );
    // the phone saw the CANCEL (its scenario waits for it) and answered it
    assert_sipp_ok(&finished(phone), "ringing phone", &server);
}

#[test]
fn a_tel_call_fails_over_to_the_next_route_when_the_first_carrier_answers_503() {
    let p = platform();
    let tenant = create_tenant(&p.server, "acme");
    let c = Client::with_key(&p.server.api, &tenant.accesskey);
    let (_, user, password) = p.server.bootstrap();
    let admin = Client::with_token(&p.server.api, &login(&p.server, &user, &password));
    let (busy_port, good_port) = (free_udp_port(), free_udp_port());
    let busy = sipp_callee(busy_port, "callee_503.xml");
    let good = sipp_callee(good_port, "callee_answers.xml");
    for (priority, port, name) in [(1, busy_port, "broken"), (2, good_port, "working")] {
        let provider = admin.post(
            "/v1.0/providers",
            json!({"type": "sip", "hostname": format!("127.0.0.1:{port}"), "tech_prefix": "",
                   "tech_postfix": "", "tech_headers": {}, "name": name, "detail": ""}),
        );
        assert_eq!(provider.status, 200, "{}", provider.raw);
        let route = c.post(
            "/v1.0/routes",
            json!({"name": name, "detail": "", "provider_id": id(&provider.body),
                   "priority": priority, "target": "all"}),
        );
        assert_eq!(route.status, 200, "{}", route.raw);
    }
    let made = c.post(
        "/v1.0/calls",
        json!({"actions": [{"type": "sleep", "option": {"duration": 60000}}],
               "source": {"type": "tel", "target": "+15550100"},
               "destinations": [{"type": "tel", "target": "+15557654321"}]}),
    );
    assert_eq!(made.status, 200, "{}", made.raw);
    let path = format!("/v1.0/calls/{}", id(&made.body["calls"][0]));
    let call = wait_until(&c, &path, "the answer on the second route", |b| {
        b["status"] == "progressing"
    });
    assert_eq!(call["destination"]["target"], "+15557654321");
    let out = finished(busy);
    assert_sipp_ok(&out, "carrier answering 503", &p.server);
    let hung = c.post(&format!("{path}/hangup"), json!({}));
    assert_eq!(hung.status, 200, "{}", hung.raw);
    wait_until(&c, &path, "the hangup", |b| b["status"] == "hangup");
    let out = finished(good);
    assert_sipp_ok(&out, "second carrier", &p.server);
}
