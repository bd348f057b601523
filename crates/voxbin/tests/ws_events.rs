//! The websocket event stream, `GET /v1.0/ws`, against the real binary: a client subscribed to
//! its customer's topics sees each resource's events as they happen and in order, a client of
//! another customer sees none of them, unsubscribing stops them, and a client that stops
//! reading is cut off instead of growing the server's memory, and one whose access key is
//! deleted is closed. Runs in both shapes.

mod support;

use support::{free_port_block, free_udp_port};

use serde_json::{json, Value};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::api::{create_tenant, Client, Tenant};
use support::Server;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// A websocket client of the event stream, reading with a deadline.
struct Events {
    ws: WebSocket<TcpStream>,
}

/// How long a test waits for one expected message before it fails.
const PATIENCE: Duration = Duration::from_secs(30);

impl Events {
    /// Connects as `tenant` with its access key.
    fn connect(server: &Server, tenant: &Tenant) -> Events {
        Events::connect_with(server, &format!("accesskey={}", tenant.accesskey))
            .unwrap_or_else(|e| panic!("websocket refused: {e}"))
    }

    fn connect_with(server: &Server, query: &str) -> Result<Events, tungstenite::Error> {
        let stream = TcpStream::connect(&server.api).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let url = format!("ws://{}/v1.0/ws?{query}", server.api);
        let (ws, _) = tungstenite::client(url.as_str(), stream).map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => {
                tungstenite::Error::Io(std::io::ErrorKind::WouldBlock.into())
            }
        })?;
        Ok(Events { ws })
    }

    fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .expect("send");
    }

    /// The next JSON text message (pings are answered by the library and skipped).
    fn next(&mut self) -> Value {
        loop {
            match self.ws.read() {
                Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).unwrap(),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// Subscribes and returns the answers: `subscribed` first when any topic was taken.
    fn subscribe(&mut self, topics: &[String]) -> Value {
        self.send(json!({"type": "subscribe", "topics": topics}));
        self.next()
    }

    /// The next event (skipping control answers), as (type, data).
    fn next_event(&mut self) -> (String, Value) {
        loop {
            let m = self.next();
            let kind = m["type"].as_str().unwrap_or_default().to_owned();
            if !matches!(kind.as_str(), "subscribed" | "unsubscribed" | "pong") {
                assert!(m["topic"].is_string(), "an event names its topic: {m}");
                return (kind, m["data"].clone());
            }
        }
    }

    /// Events until one of `type` about `id` arrived, that one included.
    fn events_until(&mut self, kind: &str, id: &str) -> Vec<(String, Value)> {
        let mut seen = Vec::new();
        loop {
            let (k, data) = self.next_event();
            let done = k == kind && data["id"] == id;
            seen.push((k, data));
            if done {
                return seen;
            }
        }
    }
}

/// Reads `ws` until the `tag_created` of `tag`, asserting every event on the way is about
/// `tenant`'s customer (its own record, or a resource it owns).
fn only_own_events_until_tag(ws: &mut Events, tenant: &Tenant, tag: &str) {
    for (kind, data) in ws.events_until("tag_created", tag) {
        let owner = data["customer_id"].as_str().or(data["id"].as_str());
        assert_eq!(owner, Some(tenant.customer_id.as_str()), "{kind}: {data}");
    }
}

/// A topic of every resource of `tenant`'s customer of kind `resource` (`*` for all).
fn topic(tenant: &Tenant, resource: &str) -> String {
    format!("customer_id:{}:{resource}:*", tenant.customer_id)
}

fn id_of(reply: &support::api::Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.raw);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// One resource's life through the REST API and the events it must produce, in order. A
/// call's story (`call_created` ... `call_hangup`) joins these once calls exist.
struct Story {
    /// The resource word of the topic.
    resource: &'static str,
    /// Runs the story as `client`; the resource id.
    run: fn(&Client) -> String,
    /// The event types the story publishes about its resource, in order.
    events: &'static [&'static str],
}

const STORIES: &[Story] = &[
    Story {
        resource: "flow",
        run: |c| {
            let flow = json!({"name": "ivr", "detail": "", "actions": [{"type": "answer"}]});
            let id = id_of(&c.post("/v1.0/flows", flow));
            let change = json!({"name": "ivr 2", "detail": "", "actions": [{"type": "answer"}]});
            id_of(&c.put(&format!("/v1.0/flows/{id}"), change));
            id_of(&c.delete(&format!("/v1.0/flows/{id}")));
            id
        },
        events: &["flow_created", "flow_updated", "flow_deleted"],
    },
    Story {
        resource: "tag",
        run: |c| {
            let id = id_of(&c.post("/v1.0/tags", json!({"name": "vip", "detail": ""})));
            let change = json!({"name": "vvip", "detail": "renamed"});
            id_of(&c.put(&format!("/v1.0/tags/{id}"), change));
            id
        },
        events: &["tag_created", "tag_updated"],
    },
];

#[test]
fn subscribers_see_their_customers_events_in_order_and_no_one_elses() {
    let s = Server::start(&[]);
    let (a, b) = (create_tenant(&s, "alpha"), create_tenant(&s, "bravo"));
    let (rest_a, rest_b) = (
        Client::with_key(&s.api, &a.accesskey),
        Client::with_key(&s.api, &b.accesskey),
    );
    let mut ws_a = Events::connect(&s, &a);
    let mut ws_b = Events::connect(&s, &b);
    for story in STORIES {
        let ok = ws_a.subscribe(&[topic(&a, story.resource)]);
        assert_eq!(
            ok,
            json!({"type": "subscribed", "topics": [topic(&a, story.resource)]})
        );
    }
    assert_eq!(ws_b.subscribe(&[topic(&b, "*")])["type"], "subscribed");

    // Another customer's topic is refused by name, not silently dropped.
    let refused = ws_b.subscribe(&[topic(&a, "*")]);
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["reason"], "PERMISSION_DENIED");
    assert_eq!(refused["topic"], topic(&a, "*"));

    for story in STORIES {
        let id = (story.run)(&rest_a);
        let last = story.events[story.events.len() - 1];
        let seen = ws_a.events_until(last, &id);
        let mine: Vec<&str> = seen
            .iter()
            .filter(|(_, data)| data["id"] == id.as_str())
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(mine, story.events, "{} events in order", story.resource);
        for (_, data) in &seen {
            assert_eq!(data["customer_id"], a.customer_id.as_str());
        }
    }

    // Up to its own new tag, B sees only its own events: none of A's, all published earlier.
    let theirs = id_of(&rest_b.post("/v1.0/tags", json!({"name": "b", "detail": ""})));
    only_own_events_until_tag(&mut ws_b, &b, &theirs);
}

#[test]
fn the_stream_needs_a_credential_and_reads_only_json_commands() {
    let s = Server::start(&[]);
    let a = create_tenant(&s, "alpha");
    match Events::connect_with(&s, "accesskey=wrong") {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        Err(e) => panic!("expected a 401, got {e}"),
        Ok(_) => panic!("a wrong key was let in"),
    }
    let mut ws = Events::connect(&s, &a);
    ws.send(json!({"type": "dance"}));
    assert_eq!(ws.next()["reason"], "INVALID_MESSAGE");
    ws.ws.send(Message::text("not json")).unwrap();
    assert_eq!(ws.next()["reason"], "INVALID_MESSAGE");
    let bad = ws.subscribe(&["customer_id:nope:*:*".to_owned()]);
    assert_eq!(
        (bad["reason"].as_str(), bad["topic"].as_str()),
        (Some("INVALID_TOPIC"), Some("customer_id:nope:*:*"))
    );
    ws.send(json!({"type": "ping"}));
    assert_eq!(ws.next(), json!({"type": "pong"}));
}

#[test]
fn unsubscribing_stops_the_events_of_that_topic() {
    let s = Server::start(&[]);
    let a = create_tenant(&s, "alpha");
    let rest = Client::with_key(&s.api, &a.accesskey);
    let mut ws = Events::connect(&s, &a);
    let mut witness = Events::connect(&s, &a);
    let tags = topic(&a, "tag");
    ws.subscribe(std::slice::from_ref(&tags));
    witness.subscribe(std::slice::from_ref(&tags));

    let first = id_of(&rest.post("/v1.0/tags", json!({"name": "one", "detail": ""})));
    assert_eq!(ws.next_event().1["id"], first.as_str());
    ws.send(json!({"type": "unsubscribe", "topics": [tags]}));
    assert_eq!(ws.next(), json!({"type": "unsubscribed", "topics": [tags]}));

    let second = id_of(&rest.post("/v1.0/tags", json!({"name": "two", "detail": ""})));
    // Once the witness has it, the hub has handed `second` out; `ws` held no topic for it.
    witness.events_until("tag_created", &second);
    let change = json!({"name": "two!", "detail": ""});
    ws.subscribe(&[format!("customer_id:{}:tag:{second}", a.customer_id)]);
    id_of(&rest.put(&format!("/v1.0/tags/{second}"), change));
    let (kind, data) = ws.next_event();
    assert_eq!(
        (kind.as_str(), &data["id"]),
        ("tag_updated", &json!(second))
    );
}

/// Resident memory of a process, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// A counter of the server's `/metrics`.
fn metric(s: &Server, name: &str) -> u64 {
    let (_, body) = support::get(&s.metrics, "/metrics").unwrap();
    body.lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
        .unwrap_or(0.0) as u64
}

#[test]
fn a_client_that_stops_reading_is_disconnected_and_memory_stays_bounded() {
    let s = Server::start(&[]);
    let a = create_tenant(&s, "alpha");
    let rest = Client::with_key(&s.api, &a.accesskey);
    let mut slow = Events::connect(&s, &a);
    slow.subscribe(&[topic(&a, "flow")]);
    // Big events (about 56 kB each) fill the socket buffers and the connection's queue fast.
    let talk = json!({"type": "talk", "option": {"text": "y".repeat(1000)}});
    let flow = json!({"name": "big", "detail": "x".repeat(4000), "actions": vec![talk; 50]});
    let event_bytes = flow.to_string().len() as u64;
    let id = id_of(&rest.post("/v1.0/flows", flow.clone()));
    let update = |n: u64| {
        for _ in 0..n {
            id_of(&rest.put(&format!("/v1.0/flows/{id}"), flow.clone()));
        }
    };
    update(20);
    let before = rss(s.child.id());

    // From here on `slow` never reads. Updates go on until the server gives up on it.
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut sent = 0u64;
    while metric(&s, "voxbin_ws_slow_consumers_total") == 0 {
        assert!(
            Instant::now() < deadline,
            "the slow client was never cut off after {sent} events"
        );
        update(20);
        sent += 20;
    }
    // As many again, and at least 800: nobody holds these events any more.
    let after = sent.max(800);
    update(after);
    let grown = rss(s.child.id()).saturating_sub(before);
    let published = (sent + after) * event_bytes;
    // At most one full queue of events stays in memory (plus allocator and cache slack), not
    // everything published.
    let bound = 512 * event_bytes + 16 * 1024 * 1024;
    eprintln!(
        "slow consumer cut off after {sent} events; server grew {} MiB while {} MiB of events were published",
        grown >> 20,
        published >> 20
    );
    assert!(
        grown < bound && published > bound,
        "the server grew by {grown} bytes (bound {bound}) after {published} bytes of events"
    );
    assert_eq!(metric(&s, "voxbin_ws_connections"), 0);

    // What was in the socket is still readable, then the close frame or a reset.
    loop {
        match slow.ws.read() {
            Ok(Message::Close(Some(frame))) => {
                assert_eq!(frame.code, CloseCode::Policy);
                assert_eq!(frame.reason.as_str(), "slow consumer");
                break;
            }
            Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(other) => panic!("unexpected {other:?}"),
            // The close frame may not fit into a socket the client never drained.
            Err(_) => break,
        }
    }
}

#[test]
fn clients_are_told_when_the_server_shuts_down() {
    let mut s = Server::start(&[]);
    let a = create_tenant(&s, "alpha");
    let mut ws = Events::connect(&s, &a);
    assert_eq!(ws.subscribe(&[topic(&a, "*")])["type"], "subscribed");
    s.sigterm();
    loop {
        match ws.ws.read() {
            Ok(Message::Close(Some(frame))) => {
                assert_eq!(frame.code, CloseCode::Away);
                break;
            }
            Ok(_) => continue,
            Err(e) => panic!("the connection ended without a close frame: {e}"),
        }
    }
    assert!(s.wait_exit(Duration::from_secs(60)).success());
}

/// Reads `ws` until its close frame; fails when it ends without one.
fn close_frame(ws: &mut Events) -> (CloseCode, String) {
    loop {
        match ws.ws.read() {
            Ok(Message::Close(Some(frame))) => return (frame.code, frame.reason.to_string()),
            Ok(Message::Close(None)) => panic!("closed without a code"),
            Ok(_) => continue,
            Err(e) => panic!("the connection ended without a close frame: {e}"),
        }
    }
}

#[test]
fn a_connection_whose_access_key_is_deleted_is_closed() {
    let s = Server::start(&[]);
    let a = create_tenant(&s, "alpha");
    let rest = Client::with_key(&s.api, &a.accesskey);
    let created = rest.post("/v1.0/accesskeys", json!({"name": "ws", "detail": ""}));
    let key_id = id_of(&created);
    let key = created.body["token"].as_str().unwrap().to_owned();
    let mut doomed = Events::connect_with(&s, &format!("accesskey={key}"))
        .unwrap_or_else(|e| panic!("websocket refused: {e}"));
    let mut witness = Events::connect(&s, &a);
    for ws in [&mut doomed, &mut witness] {
        assert_eq!(ws.subscribe(&[topic(&a, "*")])["type"], "subscribed");
    }

    let r = rest.delete(&format!("/v1.0/accesskeys/{key_id}"));
    assert_eq!(r.status, 200, "{}", r.raw);
    let (code, reason) = close_frame(&mut doomed);
    assert_eq!(
        (code, reason.as_str()),
        (CloseCode::Policy, "credentials expired/revoked")
    );
    match Events::connect_with(&s, &format!("accesskey={key}")) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        Err(e) => panic!("expected a 401, got {e}"),
        Ok(_) => panic!("a deleted key was let in"),
    }
    // The customer's other key still streams: only the deleted credential was cut off.
    let tag = id_of(&rest.post("/v1.0/tags", json!({"name": "after", "detail": ""})));
    witness.events_until("tag_created", &tag);
}

#[test]
fn a_real_calls_events_reach_its_customer_in_order_and_no_one_else() {
    let media_sip = free_udp_port();
    let set = format!("media.sip_listen=127.0.0.1:{media_sip}");
    let ng = format!("rtp_relay.ng_listen=127.0.0.1:{}", free_udp_port());
    let s = Server::start(&["--set", &set, "--set", &ng]);
    let (a, b) = (create_tenant(&s, "alpha"), create_tenant(&s, "bravo"));
    let rest_a = Client::with_key(&s.api, &a.accesskey);
    let flow = json!({"name": "wait", "detail": "", "actions": [
        {"type": "answer"},
        {"type": "digits_receive", "option": {"length": 4, "duration": 60000}}
    ]});
    let flow_id = id_of(&rest_a.post("/v1.0/flows", flow));
    let number =
        json!({"number": "+15550171", "call_flow_id": flow_id, "name": "ws", "detail": ""});
    id_of(&rest_a.post("/v1.0/numbers", number));
    let mut ws_a = Events::connect(&s, &a);
    let mut ws_b = Events::connect(&s, &b);
    assert_eq!(ws_a.subscribe(&[topic(&a, "call")])["type"], "subscribed");
    assert_eq!(ws_b.subscribe(&[topic(&b, "*")])["type"], "subscribed");

    // A phone calls the number, is answered by the flow, and hangs up.
    let scenario = format!(
        "{}/../svc/call/tests/sipp/caller_hangs_up.xml",
        env!("CARGO_MANIFEST_DIR")
    );
    let port = free_udp_port();
    let rtp = free_port_block();
    let out = std::process::Command::new("sipp")
        .args(["-sf", &scenario, "-s", "+15550171", "-i", "127.0.0.1"])
        .args(["-p", &port.to_string(), "-mp", &rtp.to_string()])
        .args(["-m", "1", "-l", "1", "-nostdin", "-timeout", "60s"])
        .arg(format!("127.0.0.1:{media_sip}"))
        .output()
        .expect("sipp runs (apt-get install sip-tester)");
    assert!(
        out.status.success(),
        "sipp: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let (kind, first) = ws_a.next_event();
    assert_eq!(kind, "call_created", "{first}");
    let call = first["id"].as_str().unwrap().to_owned();
    let seen = ws_a.events_until("call_hangup", &call);
    let statuses: Vec<&str> = std::iter::once(&first)
        .chain(seen.iter().map(|(_, d)| d))
        .filter(|d| d["id"] == call.as_str())
        .map(|d| d["status"].as_str().unwrap_or_default())
        .collect();
    // Statuses only move forward, and the hangup comes last.
    let rank = |s: &str| {
        [
            "dialing",
            "ringing",
            "progressing",
            "terminating",
            "canceling",
            "hangup",
        ]
        .iter()
        .position(|x| *x == s)
        .unwrap_or_else(|| panic!("unknown status {s}"))
    };
    let ranks: Vec<usize> = statuses.iter().map(|s| rank(s)).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&"hangup"));
    let kinds: Vec<&str> = seen.iter().map(|(k, _)| k.as_str()).collect();
    eprintln!("call events after call_created: {kinds:?}; statuses {statuses:?}");
    assert_eq!(seen.last().map(|(k, _)| k.as_str()), Some("call_hangup"));

    // Up to its own new tag, B sees only its own events: none of the call's, published earlier.
    let rest_b = Client::with_key(&s.api, &b.accesskey);
    let theirs = id_of(&rest_b.post("/v1.0/tags", json!({"name": "b", "detail": ""})));
    only_own_events_until_tag(&mut ws_b, &b, &theirs);
}
