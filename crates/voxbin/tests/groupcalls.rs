//! Group calls end to end against the real binary, with sipp as the phones: a ring_all group
//! call to two phones is answered by one while the other rings, which then gets a CANCEL; a
//! linear group call to a busy phone (486) goes on to the next phone, which answers, and one
//! to a phone that only rings gives it up after the ring timeout (CANCEL, `noanswer`). They are
//! read and hung up through `/v1.0/groupcalls`, deleted once over, and their events
//! (`groupcall_created`, `groupcall_progressing`, `groupcall_hangup`) reach the customer's
//! websocket. Scenarios live in `crates/svc/call/tests/sipp/`. Runs in both shapes.

mod support;

use serde_json::{json, Value};
use std::net::{TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::api::{create_tenant, Client, Reply, Tenant};
use support::Server;
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// A UDP port of this test's range (17000-17999) that was free a moment ago, with the next
/// nine free as well (RTP of the phone on it).
fn free_udp_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % 90) as u16;
    loop {
        let slot = (start + NEXT.fetch_add(1, Ordering::Relaxed)) % 90;
        let port = 17000 + slot * 10 + 5;
        if (0..10).all(|i| UdpSocket::bind(("127.0.0.1", port + i)).is_ok()) {
            return port;
        }
    }
}

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

/// The platform with its media node on a known SIP port.
fn platform() -> Server {
    let media = format!("media.sip_listen=127.0.0.1:{}", free_udp_port());
    let ng = format!("rtp_relay.ng_listen=127.0.0.1:{}", free_udp_port());
    Server::start(&["--set", &media, "--set", &ng])
}

/// A sipp phone running scenario `name` for one call; its SIP port.
fn phone(name: &str) -> (Child, u16) {
    let port = free_udp_port();
    let child = Command::new("sipp")
        .args(["-sf", &scenario(name), "-i", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &(port + 2).to_string()])
        .args(["-m", "1", "-nostdin", "-timeout", "60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp runs (apt-get install sip-tester)");
    (child, port)
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
    let deadline = Instant::now() + Duration::from_secs(90);
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

/// The customer's websocket, subscribed to its group calls' events.
struct Events {
    ws: WebSocket<TcpStream>,
}

impl Events {
    fn groupcalls_of(server: &Server, tenant: &Tenant) -> Events {
        let stream = TcpStream::connect(&server.api).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(45)))
            .unwrap();
        let url = format!("ws://{}/v1.0/ws?accesskey={}", server.api, tenant.accesskey);
        let (ws, _) = tungstenite::client(url.as_str(), stream)
            .unwrap_or_else(|e| panic!("websocket refused: {e}"));
        let mut events = Events { ws };
        let topic = format!("customer_id:{}:groupcall:*", tenant.customer_id);
        let msg = json!({"type": "subscribe", "topics": [topic]});
        events.ws.send(Message::text(msg.to_string())).unwrap();
        assert_eq!(events.next()["type"], "subscribed");
        events
    }

    fn next(&mut self) -> Value {
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).unwrap(),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// The event types about group call `id`, up to and including its `groupcall_hangup`.
    fn of_until_hangup(&mut self, id: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let m = self.next();
            if m["data"]["id"] != id {
                continue;
            }
            let kind = m["type"].as_str().unwrap_or_default().to_owned();
            seen.push(kind.clone());
            if kind == "groupcall_hangup" {
                return seen;
            }
        }
    }
}

/// Creates a group call with a flow that waits, to the phones on `ports`.
fn create(c: &Client, ring_method: &str, ports: &[u16]) -> Value {
    let destinations: Vec<Value> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"type": "sip", "target": format!("sip:phone{i}@127.0.0.1:{p}")}))
        .collect();
    let made = c.post(
        "/v1.0/groupcalls",
        json!({
            "source": {"type": "tel", "target": "+15550100"},
            "destinations": destinations,
            "actions": [{"type": "sleep", "option": {"duration": 60000}}],
            "ring_method": ring_method,
            "answer_method": "hangup_others",
        }),
    );
    assert_eq!(made.status, 200, "{}", made.raw);
    conforms("POST", "/groupcalls", &made);
    made.body
}

/// Hangs the group call up through REST, waits for its end, deletes it.
fn hang_up_and_delete(c: &Client, group: &str) -> Value {
    let path = format!("/v1.0/groupcalls/{group}");
    let hung = c.post(&format!("{path}/hangup"), json!({}));
    assert_eq!(hung.status, 200, "{}", hung.raw);
    conforms("POST", "/groupcalls/{id}/hangup", &hung);
    let over = wait_until(c, &path, "the group's end", |b| b["status"] == "hangup");
    assert_eq!(over["call_count"], 0);
    let deleted = c.delete(&path);
    assert_eq!(deleted.status, 200, "{}", deleted.raw);
    conforms("DELETE", "/groupcalls/{id}", &deleted);
    assert_eq!(c.get(&path).status, 404);
    over
}

#[test]
fn ring_all_first_answer_wins_and_the_ringing_phone_gets_a_cancel() {
    let server = platform();
    let tenant = create_tenant(&server, "acme");
    let c = Client::with_key(&server.api, &tenant.accesskey);
    let mut events = Events::groupcalls_of(&server, &tenant);
    let (ringing, ringing_port) = phone("groupcall_rings.xml");
    let (answering, answering_port) = phone("callee_answers.xml");
    let made = create(&c, "ring_all", &[ringing_port, answering_port]);
    let group = id(&made);
    assert_eq!(made["ring_method"], "ring_all");
    assert_eq!(made["call_ids"].as_array().unwrap().len(), 2);
    let path = format!("/v1.0/groupcalls/{group}");
    let answered = wait_until(&c, &path, "the answer", |b| {
        b["answer_call_id"] == made["call_ids"][1]
    });
    assert_eq!(answered["status"], "progressing");
    let got = c.get(&path);
    conforms("GET", "/groupcalls/{id}", &got);
    let list = c.get("/v1.0/groupcalls");
    assert_eq!(list.status, 200, "{}", list.raw);
    conforms("GET", "/groupcalls", &list);
    assert_eq!(list.body["result"][0]["id"], group);
    // the phone still ringing was cancelled: a local hangup, reason cancel
    let cancelled = format!("/v1.0/calls/{}", made["call_ids"][0].as_str().unwrap());
    let call = wait_until(&c, &cancelled, "the cancel", |b| b["status"] == "hangup");
    assert_eq!(call["groupcall_id"], group);
    assert_eq!(
        (&call["hangup_by"], &call["hangup_reason"]),
        (&json!("local"), &json!("cancel"))
    );
    assert_sipp_ok(&finished(ringing), "ringing phone", &server);
    // a live group call is not deleted
    assert_eq!(c.delete(&path).status, 409);
    let over = hang_up_and_delete(&c, &group);
    assert_eq!(over["answer_call_id"], made["call_ids"][1]);
    let winner = format!("/v1.0/calls/{}", made["call_ids"][1].as_str().unwrap());
    let call = wait_until(&c, &winner, "the hangup", |b| b["status"] == "hangup");
    assert_eq!(call["hangup_reason"], "normal");
    assert_sipp_ok(&finished(answering), "answering phone", &server);
    assert_eq!(
        events.of_until_hangup(&group),
        vec![
            "groupcall_created",
            "groupcall_progressing",
            "groupcall_hangup"
        ]
    );
}

#[test]
fn linear_goes_on_to_the_next_phone_when_the_first_is_busy() {
    let server = platform();
    let tenant = create_tenant(&server, "acme");
    let c = Client::with_key(&server.api, &tenant.accesskey);
    let mut events = Events::groupcalls_of(&server, &tenant);
    let (busy, busy_port) = phone("groupcall_busy.xml");
    let (answering, answering_port) = phone("callee_answers.xml");
    let made = create(&c, "linear", &[busy_port, answering_port]);
    let group = id(&made);
    assert_eq!(made["ring_method"], "linear");
    let path = format!("/v1.0/groupcalls/{group}");
    let answered = wait_until(&c, &path, "the second phone's answer", |b| {
        b["dial_index"] == 1 && b["answer_call_id"] == b["call_ids"][1]
    });
    assert_eq!(answered["status"], "progressing");
    assert_eq!(answered["call_ids"][0], made["call_ids"][0]);
    let first = format!("/v1.0/calls/{}", made["call_ids"][0].as_str().unwrap());
    let call = wait_until(&c, &first, "the busy phone", |b| b["status"] == "hangup");
    assert_eq!(call["hangup_reason"], "busy");
    assert_sipp_ok(&finished(busy), "busy phone", &server);
    let second = format!("/v1.0/calls/{}", answered["call_ids"][1].as_str().unwrap());
    let call = c.get(&second);
    assert_eq!(call.body["status"], "progressing", "{}", call.raw);
    assert_eq!(
        call.body["destination"]["target"],
        format!("sip:phone1@127.0.0.1:{answering_port}")
    );
    hang_up_and_delete(&c, &group);
    assert_sipp_ok(&finished(answering), "answering phone", &server);
    assert_eq!(
        events.of_until_hangup(&group),
        vec![
            "groupcall_created",
            "groupcall_progressing",
            "groupcall_hangup"
        ]
    );
}

#[test]
fn linear_gives_up_a_phone_that_only_rings_and_rings_the_next() {
    let server = platform();
    let tenant = create_tenant(&server, "acme");
    let c = Client::with_key(&server.api, &tenant.accesskey);
    let (ringing, ringing_port) = phone("groupcall_rings.xml");
    let (answering, answering_port) = phone("callee_answers.xml");
    let made = create(&c, "linear", &[ringing_port, answering_port]);
    let group = id(&made);
    let path = format!("/v1.0/groupcalls/{group}");
    // the first phone rings for the whole ring timeout (30 s) before the second is dialled
    let first = format!("/v1.0/calls/{}", made["call_ids"][0].as_str().unwrap());
    let call = wait_until(&c, &first, "the ring timeout", |b| b["status"] == "hangup");
    assert_eq!(
        (&call["hangup_by"], &call["hangup_reason"]),
        (&json!("local"), &json!("noanswer"))
    );
    assert_sipp_ok(&finished(ringing), "phone that only rings", &server);
    let answered = wait_until(&c, &path, "the second phone's answer", |b| {
        b["dial_index"] == 1 && b["answer_call_id"] == b["call_ids"][1]
    });
    assert_eq!(answered["status"], "progressing");
    hang_up_and_delete(&c, &group);
    assert_sipp_ok(&finished(answering), "answering phone", &server);
}
