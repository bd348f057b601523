//! Connected calls end to end against the real binary, with sipp as both phones: a caller to
//! a number whose flow does `connect` reaches a sipp callee (both answered, bridged: the
//! caller's audio arrives at the callee), and whichever side hangs up ends the other; the
//! chain (`chained_call_ids`, `master_call_id`) and the hangup reasons read back over REST.
//! An outbound call with a withheld caller id carries Privacy: id and an anonymous From.
//! Scenarios live in `crates/svc/call/tests/sipp/` (`connect_*.xml`). Runs in both shapes.

mod support;

use serde_json::{json, Value};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::api::{create_tenant, send, Client, Reply};
use support::{free_port_block as port, Server};

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

/// A platform with its media node on a known SIP port.
struct Platform {
    server: Server,
    media_sip: u16,
}

fn platform() -> Platform {
    let media_sip = port();
    let set = format!("media.sip_listen=127.0.0.1:{media_sip}");
    let edge = format!("sip.listen=127.0.0.1:{}", port());
    let ng = format!("rtp_relay.ng_listen=127.0.0.1:{}", port());
    // the media node's RTP stays below this test's SIP and RTP ports
    let server = Server::start(&[
        "--set",
        &set,
        "--set",
        &edge,
        "--set",
        &ng,
        "--set",
        "rtp.port_max=18999",
    ]);
    Platform { server, media_sip }
}

/// A sipp caller running `name` to `number` on the media node.
fn sipp_caller(p: &Platform, name: &str, number: &str) -> Child {
    Command::new("sipp")
        .args(["-sf", &scenario(name), "-s", number, "-i", "127.0.0.1"])
        .args(["-p", &port().to_string(), "-mp", &port().to_string()])
        .args(["-m", "1", "-l", "1", "-nostdin", "-timeout", "60s"])
        .arg(format!("127.0.0.1:{}", p.media_sip))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs (apt-get install sip-tester)")
}

/// A sipp callee running `name` for one call on SIP port `sip`, its audio on `rtp`.
fn sipp_callee(sip: u16, rtp: u16, name: &str) -> Child {
    Command::new("sipp")
        .args(["-sf", &scenario(name), "-i", "127.0.0.1"])
        .args(["-p", &sip.to_string(), "-mp", &port().to_string()])
        .args(["-key", "rtp", &rtp.to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "60s"])
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

/// Counts the RTP packets arriving at `127.0.0.1:<port>` for `until` or up to 50 (in a
/// thread).
fn rtp_listener(port: u16, until: Duration) -> std::thread::JoinHandle<usize> {
    let sock = UdpSocket::bind(("127.0.0.1", port)).expect("the callee's RTP port is free");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + until;
        let mut buf = [0u8; 2048];
        let mut n = 0;
        // enough to tell a bridge from stray packets; stop early then
        while Instant::now() < deadline && n < 50 {
            if let Ok(len) = sock.recv(&mut buf) {
                // RTP version 2, audio payload (not RTCP)
                if len > 12 && buf[0] >> 6 == 2 && !(200..=204).contains(&buf[1]) {
                    n += 1;
                }
            }
        }
        n
    })
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

/// The message of a 400 in the contract's error envelope.
fn message_400(r: &Reply) -> String {
    r.expect_error(400);
    r.body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// The super-admin's client; the login is tried again while the agent service is too busy
/// hashing to answer in time (503 on a loaded machine).
fn super_admin(server: &Server) -> Client {
    let (_, user, password) = server.bootstrap();
    let body = json!({ "username": user, "password": password }).to_string();
    for _ in 0..5 {
        let r = send(
            &server.api,
            "POST",
            "/auth/login",
            &[],
            Some(body.as_bytes()),
        );
        if r.status == 200 {
            return Client::with_token(&server.api, r.body["token"].as_str().unwrap());
        }
        assert_eq!(r.status, 503, "{}", r.raw);
    }
    panic!("the super-admin could not log in")
}

/// A customer whose number `number` runs a flow that connects to `destination`.
fn number_connecting_to(p: &Platform, number: &str, destination: Value) -> Client {
    let tenant = create_tenant(&p.server, "acme");
    let c = Client::with_key(&p.server.api, &tenant.accesskey);
    let flow = json!({"name": "forward", "detail": "connect to the desk", "actions": [
        {"type": "connect", "option": {"destinations": [destination]}},
        {"type": "talk", "option": {"text": "Nobody answered."}},
        {"type": "hangup"}
    ]});
    let made = c.post("/v1.0/flows", flow);
    assert_eq!(made.status, 200, "{}", made.raw);
    let n = c.post(
        "/v1.0/numbers",
        json!({"number": number, "call_flow_id": id(&made.body), "name": "desk", "detail": ""}),
    );
    assert_eq!(n.status, 200, "{}", n.raw);
    c
}

/// The master (incoming) and chained (outgoing) call once both are over.
fn both_calls_over(c: &Client) -> (Value, Value) {
    let list = wait_until(c, "/v1.0/calls", "both hangups", |b| {
        let r = b["result"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        r.len() == 2 && r.iter().all(|c| c["status"] == "hangup")
    });
    let calls = list["result"].as_array().unwrap();
    let pick = |dir: &str| {
        calls
            .iter()
            .find(|c| c["direction"] == dir)
            .unwrap_or_else(|| panic!("no {dir} call: {list}"))
            .clone()
    };
    (pick("incoming"), pick("outgoing"))
}

/// The chain as REST shows it, and both calls in the contract's shape.
fn assert_chained(c: &Client, master: &Value, chained: &Value) {
    assert_eq!(
        master["chained_call_ids"],
        json!([chained["id"]]),
        "{master}"
    );
    assert_eq!(chained["master_call_id"], master["id"], "{chained}");
    assert_eq!(
        chained["source"]["target"], "+15550199",
        "caller id passed through"
    );
    assert_eq!(chained["destination"]["type"], "sip");
    assert!(chained["tm_progressing"].is_string(), "{chained}");
    assert!(master["tm_progressing"].is_string(), "{master}");
    for call in [master, chained] {
        let one = c.get(&format!("/v1.0/calls/{}", id(call)));
        conforms("GET", "/calls/{id}", &one);
    }
}

#[test]
fn connect_bridges_the_caller_to_the_callee_and_the_callers_hangup_ends_both() {
    let p = platform();
    let (uas, rtp) = (port(), port());
    let dest = json!({"type": "sip", "target": format!("sip:bob@127.0.0.1:{uas}")});
    let c = number_connecting_to(&p, "+15550100", dest);
    let heard = rtp_listener(rtp, Duration::from_secs(20));
    let callee = sipp_callee(uas, rtp, "connect_callee.xml");
    let caller = sipp_caller(&p, "connect_caller.xml", "+15550100");
    assert_sipp_ok(&finished(caller), "caller", &p.server);
    // the caller's BYE reached the callee as a BYE of its own
    assert_sipp_ok(&finished(callee), "callee", &p.server);

    let (master, chained) = both_calls_over(&c);
    assert_chained(&c, &master, &chained);
    assert_eq!(master["hangup_by"], "remote", "{master}");
    assert_eq!(master["hangup_reason"], "normal", "{master}");
    assert_eq!(chained["hangup_by"], "local", "{chained}");
    assert_eq!(chained["hangup_reason"], "normal", "{chained}");
    // bridged: the caller's recording arrived at the callee's RTP port
    let packets = heard.join().unwrap();
    assert!(packets >= 25, "the callee got {packets} RTP packets");
}

#[test]
fn the_callee_hanging_up_ends_the_caller_with_dialout() {
    let p = platform();
    let (uas, rtp) = (port(), port());
    let dest = json!({"type": "sip", "target": format!("sip:bob@127.0.0.1:{uas}")});
    let c = number_connecting_to(&p, "+15550101", dest);
    let _heard = rtp_listener(rtp, Duration::from_secs(1));
    let callee = sipp_callee(uas, rtp, "connect_callee_hangs_up.xml");
    let caller = sipp_caller(&p, "connect_caller_waits.xml", "+15550101");
    assert_sipp_ok(&finished(callee), "callee hanging up", &p.server);
    // the callee's BYE reached the caller as a BYE of its own
    assert_sipp_ok(&finished(caller), "caller", &p.server);

    let (master, chained) = both_calls_over(&c);
    assert_chained(&c, &master, &chained);
    assert_eq!(chained["hangup_by"], "remote", "{chained}");
    assert_eq!(chained["hangup_reason"], "normal", "{chained}");
    assert_eq!(master["hangup_by"], "local", "{master}");
    assert_eq!(master["hangup_reason"], "dialout", "{master}");
    // the connect ended the call: the flow's "nobody answered" never ran
    let af = master["activeflow_id"].as_str().unwrap();
    let af = wait_until(&c, &format!("/v1.0/activeflows/{af}"), "flow end", |b| {
        b["status"] == "ended"
    });
    assert!(
        !af["executed_actions"]
            .to_string()
            .contains("Nobody answered"),
        "{af}"
    );
}

#[test]
fn an_anonymous_outbound_call_withholds_the_caller_id() {
    let p = platform();
    let tenant = create_tenant(&p.server, "acme");
    let c = Client::with_key(&p.server.api, &tenant.accesskey);
    let admin = super_admin(&p.server);
    let (carrier, rtp) = (port(), port());
    let provider = admin.post(
        "/v1.0/providers",
        json!({"type": "sip", "hostname": format!("127.0.0.1:{carrier}"), "tech_prefix": "",
               "tech_postfix": "", "tech_headers": {}, "name": "carrier", "detail": ""}),
    );
    assert_eq!(provider.status, 200, "{}", provider.raw);
    let route = c.post(
        "/v1.0/routes",
        json!({"name": "all", "detail": "", "provider_id": id(&provider.body),
               "priority": 1, "target": "all"}),
    );
    assert_eq!(route.status, 200, "{}", route.raw);
    // the caller id is a number of the customer's
    let own = c.post(
        "/v1.0/numbers",
        json!({"number": "+15550100", "name": "main", "detail": ""}),
    );
    assert_eq!(own.status, 200, "{}", own.raw);
    let callee = sipp_callee(carrier, rtp, "connect_anonymous_callee.xml");
    let made = c.post(
        "/v1.0/calls",
        json!({"actions": [{"type": "sleep", "option": {"duration": 60000}}],
               "source": {"type": "tel", "target": "+15550100"},
               "destinations": [{"type": "tel", "target": "+15557654321"}],
               "anonymous": "yes"}),
    );
    assert_eq!(made.status, 200, "{}", made.raw);
    conforms("POST", "/calls", &made);
    let path = format!("/v1.0/calls/{}", id(&made.body["calls"][0]));
    // answered only when the INVITE withheld the caller id (the scenario checks it)
    wait_until(&c, &path, "the answer", |b| b["status"] == "progressing");
    let hung = c.post(&format!("{path}/hangup"), json!({}));
    assert_eq!(hung.status, 200, "{}", hung.raw);
    let call = wait_until(&c, &path, "the hangup", |b| b["status"] == "hangup");
    assert_eq!(call["source"]["target"], "+15550100");
    assert_sipp_ok(
        &finished(callee),
        "carrier checking the caller id",
        &p.server,
    );
}

#[test]
fn bad_caller_ids_and_undiallable_destinations_are_refused_naming_the_field() {
    let p = platform();
    let tenant = create_tenant(&p.server, "acme");
    let c = Client::with_key(&p.server.api, &tenant.accesskey);
    let base = json!({"actions": [{"type": "hangup"}],
                      "destinations": [{"type": "sip", "target": "sip:bob@127.0.0.1:5099"}]});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        c.post("/v1.0/calls", b)
    };
    let r = with("source", json!({"type": "tel", "target": "5550100"}));
    assert!(message_400(&r).contains("source.target"), "{}", r.raw);
    let r = with(
        "source",
        json!({"type": "email", "target": "a@example.com"}),
    );
    assert!(message_400(&r).contains("source.type"), "{}", r.raw);
    let r = with("anonymous", json!("sometimes"));
    assert!(message_400(&r).contains("anonymous"), "{}", r.raw);
    // flows: connect and call are accepted; what they cannot dial is refused at creation
    let ok = c.post(
        "/v1.0/flows",
        json!({"name": "f", "detail": "", "actions": [
            {"type": "connect", "option": {"destinations": [{"type": "tel", "target": "+15557654321"}],
             "early_media": true, "relay_reason": true, "anonymous": "auto"}},
            {"type": "call", "option": {"destinations": [{"type": "sip", "target": "sip:a@b.example"}],
             "actions": [{"type": "talk", "option": {"text": "hi"}}], "chained": true}}]}),
    );
    assert_eq!(ok.status, 200, "{}", ok.raw);
    let bad = c.post(
        "/v1.0/flows",
        json!({"name": "f", "detail": "", "actions": [
            {"type": "connect", "option": {"destinations": [{"type": "agent",
             "target": "0190a000-0000-7000-8000-000000000001"}]}}]}),
    );
    let m = message_400(&bad);
    assert!(m.contains("actions[0].option.destinations[0].type"), "{m}");
}

/// A customer whose number `number` runs `actions`.
fn number_running(p: &Platform, number: &str, actions: Value) -> Client {
    let tenant = create_tenant(&p.server, "acme");
    let c = Client::with_key(&p.server.api, &tenant.accesskey);
    let made = c.post(
        "/v1.0/flows",
        json!({"name": "f", "detail": "", "actions": actions}),
    );
    assert_eq!(made.status, 200, "{}", made.raw);
    let n = c.post(
        "/v1.0/numbers",
        json!({"number": number, "call_flow_id": id(&made.body), "name": "n", "detail": ""}),
    );
    assert_eq!(n.status, 200, "{}", n.raw);
    c
}

#[test]
fn nobody_answering_a_connect_lets_the_flow_go_on() {
    let p = platform();
    let uas = port();
    let c = number_running(
        &p,
        "+15550103",
        json!([
            {"type": "answer"},
            {"type": "connect", "option": {"destinations": [
                {"type": "sip", "target": format!("sip:bob@127.0.0.1:{uas}")}]}},
            {"type": "talk", "option": {"text": "Nobody answered."}},
            {"type": "hangup"}
        ]),
    );
    let callee = Command::new("sipp")
        .args(["-sf", &scenario("callee_503.xml"), "-i", "127.0.0.1"])
        .args(["-p", &uas.to_string(), "-mp", &port().to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs");
    let caller = sipp_caller(&p, "connect_caller_waits.xml", "+15550103");
    assert_sipp_ok(&finished(callee), "callee refusing", &p.server);
    assert_sipp_ok(&finished(caller), "caller", &p.server);
    let (master, chained) = both_calls_over(&c);
    assert_eq!(chained["master_call_id"], master["id"]);
    assert_eq!(chained["hangup_reason"], "failed", "{chained}");
    assert_eq!(master["hangup_by"], "local", "{master}");
    assert_eq!(master["hangup_reason"], "normal", "{master}");
    let af = master["activeflow_id"].as_str().unwrap();
    let af = wait_until(&c, &format!("/v1.0/activeflows/{af}"), "flow end", |b| {
        b["status"] == "ended"
    });
    assert!(
        af["executed_actions"]
            .to_string()
            .contains("Nobody answered"),
        "{af}"
    );
}

#[test]
fn a_chained_call_from_the_call_action_ends_with_its_master() {
    let p = platform();
    let (uas, rtp) = (port(), port());
    let c = number_running(
        &p,
        "+15550104",
        json!([
            {"type": "answer"},
            {"type": "call", "option": {"chained": true,
             "destinations": [{"type": "sip", "target": format!("sip:bob@127.0.0.1:{uas}")}],
             "actions": [{"type": "sleep", "option": {"duration": 60000}}]}},
            {"type": "sleep", "option": {"duration": 60000}}
        ]),
    );
    let _heard = rtp_listener(rtp, Duration::from_secs(1));
    let callee = sipp_callee(uas, rtp, "connect_callee.xml");
    let caller = sipp_caller(&p, "connect_caller.xml", "+15550104");
    assert_sipp_ok(&finished(caller), "caller", &p.server);
    // the caller's hangup ended the chained call: the callee got a BYE
    assert_sipp_ok(&finished(callee), "callee", &p.server);
    let (master, chained) = both_calls_over(&c);
    assert_eq!(
        master["chained_call_ids"],
        json!([chained["id"]]),
        "{master}"
    );
    assert_eq!(chained["master_call_id"], master["id"], "{chained}");
    // its own flow, and the customer's number as caller id
    assert!(
        chained["activeflow_id"] != master["activeflow_id"],
        "{chained}"
    );
    assert_eq!(chained["source"]["target"], "+15550104", "{chained}");
    assert_eq!(chained["hangup_by"], "local", "{chained}");
    assert_eq!(chained["hangup_reason"], "normal", "{chained}");
}

#[test]
fn early_media_from_the_callee_reaches_the_caller_before_the_answer() {
    let p = platform();
    let (uas, rtp) = (port(), port());
    let c = number_running(
        &p,
        "+15550105",
        json!([{"type": "connect", "option": {"early_media": true, "destinations": [
            {"type": "sip", "target": format!("sip:bob@127.0.0.1:{uas}")}]}}]),
    );
    let heard = rtp_listener(rtp, Duration::from_secs(20));
    let callee = sipp_callee(uas, rtp, "connect_callee_early.xml");
    // the caller insists on a 183 before the 200
    let caller = sipp_caller(&p, "connect_caller_early.xml", "+15550105");
    assert_sipp_ok(&finished(caller), "caller", &p.server);
    assert_sipp_ok(&finished(callee), "callee with early media", &p.server);
    let (master, chained) = both_calls_over(&c);
    assert_chained(&c, &master, &chained);
    assert_eq!(master["hangup_by"], "remote", "{master}");
    let packets = heard.join().unwrap();
    assert!(packets >= 25, "the callee got {packets} RTP packets");
}

#[test]
fn with_relay_reason_a_busy_callee_makes_the_caller_busy() {
    let p = platform();
    let uas = port();
    let c = number_running(
        &p,
        "+15550106",
        json!([
            {"type": "connect", "option": {"relay_reason": true, "destinations": [
                {"type": "sip", "target": format!("sip:bob@127.0.0.1:{uas}")}]}},
            {"type": "talk", "option": {"text": "never heard"}}
        ]),
    );
    let callee = Command::new("sipp")
        .args([
            "-sf",
            &scenario("connect_callee_busy.xml"),
            "-i",
            "127.0.0.1",
        ])
        .args(["-p", &uas.to_string(), "-mp", &port().to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs");
    // the caller insists on 486
    let caller = sipp_caller(&p, "connect_caller_busy.xml", "+15550106");
    assert_sipp_ok(&finished(callee), "busy callee", &p.server);
    assert_sipp_ok(&finished(caller), "caller", &p.server);
    let (master, chained) = both_calls_over(&c);
    assert_eq!(chained["hangup_reason"], "busy", "{chained}");
    assert_eq!(master["hangup_by"], "local", "{master}");
    assert_eq!(master["hangup_reason"], "busy", "{master}");
}
