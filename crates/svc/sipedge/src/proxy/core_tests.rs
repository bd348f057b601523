//! Sans-IO tests of the edge core: whole call flows with fake time, no sockets.

use super::core::*;
use super::flow::FlowSigner;
use super::route::Identity;
use crate::auth::Verdict;
use crate::directory::ExtensionCreds;
use crate::dispatcher::Dispatcher;
use crate::guard::{Guard, GuardConfig};
use std::time::{Duration, Instant};
use uuid::Uuid;
use voxbin_core::config::MediaNodeEntry;
use voxbin_sip::transaction::TimerConfig;
use voxbin_sip::{
    parse_datagram, HeaderName, Host, Message, Method, Request, Response, Target, Transport,
};

const NODE_A: &str = "10.0.0.5:5080";
const NODE_B: &str = "10.0.0.6:5080";
const CALLER: &str = "198.51.100.9:40000";

fn target(addr: &str) -> Target {
    Target::new(Transport::Udp, addr.parse().unwrap())
}

fn core_with(nodes: &[&str]) -> EdgeCore {
    let entries: Vec<MediaNodeEntry> = nodes
        .iter()
        .map(|n| MediaNodeEntry::parse(n).unwrap())
        .collect();
    let dispatcher = Dispatcher::new(&entries, Duration::from_secs(5), Duration::from_secs(2), 2);
    let guard = Guard::new(GuardConfig {
        per_sec: 100,
        burst: 100,
        auth_failures_before_block: 3,
        block_for: Duration::from_secs(60),
        scanner_agents: vec!["friendly-scanner".into()],
    });
    let cfg = CoreConfig {
        identity: Identity::new(Host::V4([127, 0, 0, 1].into()), 5060, vec![]),
        domain: "voxbin.local".into(),
        timers: TimerConfig::default(),
    };
    EdgeCore::new(cfg, dispatcher, guard, FlowSigner::new(b"cluster"))
}

/// Feeds `msg` and returns everything sent (jobs are returned separately).
fn feed(core: &mut EdgeCore, input: Input, now: Instant) -> (Vec<(Target, Message)>, Vec<Job>) {
    core.handle(input, now);
    let mut sent = Vec::new();
    let mut jobs = Vec::new();
    while let Some(o) = core.poll() {
        match o {
            Output::Send { target, msg } => {
                // Every message the edge sends must survive its own serialisation.
                let bytes = msg.to_bytes();
                let parsed = parse_datagram(&bytes).expect("the edge sends parseable SIP");
                sent.push((target, parsed));
            }
            Output::Job(j) => jobs.push(j),
        }
    }
    (sent, jobs)
}

fn recv(core: &mut EdgeCore, text: &str, from: &str, now: Instant) -> Vec<(Target, Message)> {
    let msg = parse_datagram(text.replace('\n', "\r\n").as_bytes()).unwrap();
    let (sent, jobs) = feed(
        core,
        Input::Received {
            msg,
            from: target(from),
        },
        now,
    );
    assert!(jobs.is_empty(), "unexpected jobs: {jobs:?}");
    sent
}

fn only_request(sent: &[(Target, Message)], to: &str, method: Method) -> Request {
    let found: Vec<&Request> = sent
        .iter()
        .filter(|(t, _)| t.addr.to_string() == to)
        .filter_map(|(_, m)| match m {
            Message::Request(r) if r.method == method => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one {method} to {to} in {sent:#?}");
    found[0].clone()
}

fn responses_to(sent: &[(Target, Message)], to: &str) -> Vec<Response> {
    sent.iter()
        .filter(|(t, _)| t.addr.to_string() == to)
        .filter_map(|(_, m)| match m {
            Message::Response(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn invite(branch: &str, from_host: &str, extra: &str) -> String {
    format!(
        "INVITE sip:100@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 192.168.1.9:5060;branch={branch};received=198.51.100.9;rport=40000
From: <sip:alice@{from_host}>;tag=a1
To: <sip:100@127.0.0.1:5060>
Call-ID: call-{branch}
CSeq: 1 INVITE
Contact: <sip:alice@192.168.1.9:5060>
Max-Forwards: 70
P-Asserted-Identity: <sip:boss@example.com>
{extra}Content-Length: 0

"
    )
}

/// What the media node answers to a forwarded request: its Vias, a To tag, the Record-Route.
fn answer(req: &Request, status: u16, reason: &str) -> String {
    let mut text = format!("SIP/2.0 {status} {reason}\n");
    for h in req.headers.iter() {
        let copy = matches!(
            h.name,
            HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq
        ) || (h.name == HeaderName::RecordRoute && status > 100 && status < 300);
        if copy {
            text.push_str(&format!("{}: {}\n", h.name, h.value));
        }
    }
    let to = req.headers.get(&HeaderName::To).unwrap();
    let to = if to.contains("tag=") || status == 100 {
        to.to_string()
    } else {
        format!("{to};tag=m1")
    };
    text.push_str(&format!(
        "To: {to}\nContact: <sip:media@{NODE_A}>\nContent-Length: 0\n\n"
    ));
    text
}

/// Sends an INVITE with `branch` from the caller and returns the copy the node got.
fn forward_invite(core: &mut EdgeCore, branch: &str, now: Instant) -> Request {
    let sent = recv(core, &invite(branch, "example.com", ""), CALLER, now);
    only_request(&sent, NODE_A, Method::Invite)
}

/// Sets up a call through `core`: returns the INVITE as the node got it and the 200 as the
/// caller got it.
fn establish(core: &mut EdgeCore, branch: &str, now: Instant) -> (Request, Response) {
    let sent = recv(core, &invite(branch, "example.com", ""), CALLER, now);
    let trying = responses_to(&sent, CALLER);
    assert_eq!(trying.len(), 1);
    assert_eq!(trying[0].status, 100);
    let fwd = only_request(&sent, NODE_A, Method::Invite);
    let sent = recv(core, &answer(&fwd, 180, "Ringing"), NODE_A, now);
    assert_eq!(responses_to(&sent, CALLER)[0].status, 180);
    let sent = recv(core, &answer(&fwd, 200, "OK"), NODE_A, now);
    let ok = responses_to(&sent, CALLER);
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].status, 200);
    (fwd, ok[0].clone())
}

/// A branch whose call (Call-ID `call-<branch>`) a core over `nodes` dispatches to `node`.
fn branch_to(nodes: &[&str], node: &str) -> String {
    let mut core = core_with(nodes);
    (0..)
        .map(|i| format!("z9hG4bKpick{i}"))
        .find(|b| {
            let picked = core.dispatcher_mut().pick(&format!("call-{b}"));
            picked.is_some_and(|(_, addr)| addr.to_string() == node)
        })
        .unwrap_or_default()
}

fn in_dialog(
    method: &str,
    branch: &str,
    routes: &[String],
    ruri: &str,
    from_caller: bool,
    cseq: u32,
) -> String {
    let (via, from, to) = if from_caller {
        (
            format!(
                "SIP/2.0/UDP 192.168.1.9:5060;branch={branch};received=198.51.100.9;rport=40000"
            ),
            "<sip:alice@example.com>;tag=a1".to_string(),
            "<sip:100@127.0.0.1:5060>;tag=m1".to_string(),
        )
    } else {
        (
            format!("SIP/2.0/UDP {NODE_A};branch={branch}"),
            "<sip:100@127.0.0.1:5060>;tag=m1".to_string(),
            "<sip:alice@example.com>;tag=a1".to_string(),
        )
    };
    let routes: String = routes.iter().map(|r| format!("Route: {r}\n")).collect();
    format!(
        "{method} {ruri} SIP/2.0
Via: {via}
{routes}From: {from}
To: {to}
Call-ID: call-z9hG4bKc1
CSeq: {cseq} {method}
Max-Forwards: 70
Content-Length: 0

"
    )
}

#[test]
fn a_call_is_record_routed_to_a_media_node_and_hung_up_from_either_side() {
    let now = Instant::now();
    let mut core = core_with(&[NODE_A]);
    let (fwd, ok) = establish(&mut core, "z9hG4bKc1", now);

    // What the media node got: the edge's Via on top, two Record-Routes, one hop less, and
    // no identity asserted by an unauthenticated caller.
    let vias = fwd.headers.vias().unwrap();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[0].host, Host::V4([127, 0, 0, 1].into()));
    assert!(vias[0].branch().unwrap().starts_with("z9hG4bKvx"));
    assert_eq!(fwd.headers.record_routes().unwrap().len(), 2);
    assert_eq!(fwd.headers.max_forwards().unwrap(), Some(69));
    assert!(fwd.headers.get(&HeaderName::PAssertedIdentity).is_none());
    assert_eq!(
        ok.headers.vias().unwrap().len(),
        1,
        "the edge's Via is popped"
    );

    // The caller's ACK and BYE follow the reversed Record-Route set to the node's Contact.
    let caller_routes: Vec<String> = ok
        .headers
        .record_routes()
        .unwrap()
        .iter()
        .rev()
        .map(|r| r.to_string())
        .collect();
    let media_contact = format!("sip:media@{NODE_A}");
    let sent = recv(
        &mut core,
        &in_dialog(
            "ACK",
            "z9hG4bKack1",
            &caller_routes,
            &media_contact,
            true,
            1,
        ),
        CALLER,
        now,
    );
    let ack = only_request(&sent, NODE_A, Method::Ack);
    assert!(
        ack.headers.get(&HeaderName::Route).is_none(),
        "the edge's routes are popped"
    );
    let sent = recv(
        &mut core,
        &in_dialog(
            "BYE",
            "z9hG4bKbye1",
            &caller_routes,
            &media_contact,
            true,
            2,
        ),
        CALLER,
        now,
    );
    let bye = only_request(&sent, NODE_A, Method::Bye);
    let sent = recv(&mut core, &answer(&bye, 200, "OK"), NODE_A, now);
    assert_eq!(responses_to(&sent, CALLER)[0].status, 200);

    // The callee's BYE goes to where the caller really is (its NAT address), on a node that
    // never saw the call.
    let callee_routes: Vec<String> = fwd
        .headers
        .record_routes()
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect();
    let mut other = core_with(&[NODE_A]);
    let sent = recv(
        &mut other,
        &in_dialog(
            "BYE",
            "z9hG4bKbye2",
            &callee_routes,
            "sip:alice@192.168.1.9:5060",
            false,
            1,
        ),
        NODE_A,
        now,
    );
    let bye = only_request(&sent, CALLER, Method::Bye);
    assert_eq!(bye.uri.to_string(), "sip:alice@192.168.1.9:5060");
    // Its 200 comes back to whichever node; the other node forwards it by Via.
    let sent = recv(
        &mut core,
        &answer(&bye, 200, "OK").replace(&format!("Contact: <sip:media@{NODE_A}>\n"), ""),
        CALLER,
        now,
    );
    assert_eq!(responses_to(&sent, NODE_A)[0].status, 200);
}

#[test]
fn reinvites_and_byes_reach_the_node_that_owns_the_dialog() {
    let now = Instant::now();
    let mut core = core_with(&[NODE_A, NODE_B]);
    let (first, _) = establish(&mut core, &branch_to(&[NODE_A, NODE_B], NODE_A), now);
    // A call whose Call-ID hashes to the other node goes there.
    let sent = recv(
        &mut core,
        &invite(&branch_to(&[NODE_A, NODE_B], NODE_B), "example.com", ""),
        CALLER,
        now,
    );
    only_request(&sent, NODE_B, Method::Invite);
    // A re-INVITE of the first call goes to node A, whatever the rotation says.
    let routes: Vec<String> = first
        .headers
        .record_routes()
        .unwrap()
        .iter()
        .rev()
        .map(|r| r.to_string())
        .collect();
    let reinvite = in_dialog(
        "INVITE",
        "z9hG4bKre1",
        &routes,
        &format!("sip:media@{NODE_A}"),
        true,
        2,
    );
    let sent = recv(&mut core, &reinvite, CALLER, now);
    only_request(&sent, NODE_A, Method::Invite);
}

#[test]
fn cancel_of_a_ringing_call_reaches_the_node_with_the_invite_branch() {
    let now = Instant::now();
    let mut core = core_with(&[NODE_A]);
    let fwd = forward_invite(&mut core, "z9hG4bKcc", now);
    recv(&mut core, &answer(&fwd, 180, "Ringing"), NODE_A, now);
    let cancel_text = invite("z9hG4bKcc", "example.com", "")
        .replace("INVITE sip:100", "CANCEL sip:100")
        .replace("1 INVITE", "1 CANCEL");
    let sent = recv(&mut core, &cancel_text, CALLER, now);
    let to_caller = responses_to(&sent, CALLER);
    assert_eq!(to_caller.len(), 1);
    assert_eq!(to_caller[0].status, 200);
    let cancel = only_request(&sent, NODE_A, Method::Cancel);
    assert_eq!(
        cancel.headers.top_via().unwrap().branch(),
        fwd.headers.top_via().unwrap().branch()
    );
    recv(&mut core, &answer(&cancel, 200, "OK"), NODE_A, now);
    let sent = recv(
        &mut core,
        &answer(&fwd, 487, "Request Terminated"),
        NODE_A,
        now,
    );
    assert_eq!(responses_to(&sent, CALLER)[0].status, 487);
    only_request(&sent, NODE_A, Method::Ack);

    // A node that never saw the INVITE sends the matching CANCEL to every live media node.
    let mut other = core_with(&[NODE_A, NODE_B]);
    let sent = recv(&mut other, &cancel_text, CALLER, now);
    assert_eq!(responses_to(&sent, CALLER)[0].status, 200);
    let a = only_request(&sent, NODE_A, Method::Cancel);
    only_request(&sent, NODE_B, Method::Cancel);
    assert_eq!(
        a.headers.top_via().unwrap().branch(),
        fwd.headers.top_via().unwrap().branch()
    );
}

#[test]
fn local_answers_drain_loops_scanners_and_bad_requests() {
    let now = Instant::now();
    let mut core = core_with(&[NODE_A]);
    let options = "OPTIONS sip:127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKo1
From: <sip:ka@192.0.2.1>;tag=k
To: <sip:127.0.0.1:5060>
Call-ID: ka1
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

";
    let sent = recv(&mut core, options, "192.0.2.1:5060", now);
    assert_eq!(responses_to(&sent, "192.0.2.1:5060")[0].status, 200);

    let looped =
        invite("z9hG4bKl1", "example.com", "").replace("Max-Forwards: 70", "Max-Forwards: 0");
    let sent = recv(&mut core, &looped, CALLER, now);
    assert_eq!(responses_to(&sent, CALLER).last().unwrap().status, 483);

    let bad = invite("z9hG4bKb1", "example.com", "").replace("CSeq: 1 INVITE", "CSeq: 1 BYE");
    let sent = recv(&mut core, &bad, CALLER, now);
    assert_eq!(responses_to(&sent, CALLER).last().unwrap().status, 400);

    let scan = invite("z9hG4bKs1", "example.com", "User-Agent: friendly-scanner\n");
    assert!(recv(&mut core, &scan, "203.0.113.66:5070", now).is_empty());

    let mut empty = core_with(&[]);
    let sent = recv(
        &mut empty,
        &invite("z9hG4bKn1", "example.com", ""),
        CALLER,
        now,
    );
    let last = responses_to(&sent, CALLER).pop().unwrap();
    assert_eq!(last.status, 503);
    assert!(last.headers.get(&HeaderName::RetryAfter).is_some());

    core.handle(Input::Drain, now);
    let sent = recv(
        &mut core,
        &invite("z9hG4bKd1", "example.com", ""),
        CALLER,
        now,
    );
    let last = responses_to(&sent, CALLER).pop().unwrap();
    assert_eq!(last.status, 503);
    assert_eq!(last.headers.get(&HeaderName::RetryAfter), Some("5"));
}

#[test]
fn calls_from_extensions_are_authenticated_then_asserted() {
    let now = Instant::now();
    let mut core = core_with(&[NODE_A]);
    let customer = Uuid::from_u128(0x42);
    let realm = format!("{customer}.registrar.voxbin.local");
    let text = invite("z9hG4bKe1", &realm, "");
    let msg = parse_datagram(text.replace('\n', "\r\n").as_bytes()).unwrap();
    let (sent, jobs) = feed(
        &mut core,
        Input::Received {
            msg,
            from: target(CALLER),
        },
        now,
    );
    assert_eq!(responses_to(&sent, CALLER)[0].status, 100);
    let Some(Job::Authorize { key, claim, .. }) = jobs.into_iter().next() else {
        panic!("expected an authorization job")
    };
    assert_eq!(
        claim,
        Claim::Extension {
            realm: realm.clone(),
            customer_id: customer,
            user: "alice".into()
        }
    );
    let ext = ExtensionCreds {
        id: Uuid::from_u128(1),
        customer_id: customer,
        extension: "alice".into(),
        realm: realm.clone(),
        ha1_md5: String::new(),
        ha1_sha256: String::new(),
    };
    let (sent, _) = feed(
        &mut core,
        Input::JobDone(JobResult::Authorized {
            key,
            source: CALLER.parse::<std::net::SocketAddr>().unwrap().ip(),
            verdict: Ok(Verdict::Extension(ext)),
        }),
        now,
    );
    let fwd = only_request(&sent, NODE_A, Method::Invite);
    assert_eq!(
        fwd.headers.get(&HeaderName::PAssertedIdentity),
        Some(format!("<sip:alice@{realm}>").as_str())
    );
}

#[test]
fn a_node_that_stops_answering_options_leaves_the_rotation() {
    let t0 = Instant::now();
    let mut core = core_with(&[NODE_A, NODE_B]);
    let (sent, _) = feed(&mut core, Input::Tick, t0);
    let probe_a = only_request(&sent, NODE_A, Method::Options);
    only_request(&sent, NODE_B, Method::Options);
    recv(&mut core, &answer(&probe_a, 200, "OK"), NODE_A, t0);
    // Node B stays silent for two rounds.
    for round in 1..=2u64 {
        let t = t0 + Duration::from_secs(5 * round);
        let (sent, _) = feed(&mut core, Input::Tick, t);
        let probe_a = only_request(&sent, NODE_A, Method::Options);
        recv(&mut core, &answer(&probe_a, 200, "OK"), NODE_A, t);
    }
    feed(&mut core, Input::Tick, t0 + Duration::from_secs(13));
    for i in 0..4 {
        let sent = recv(
            &mut core,
            &invite(&format!("z9hG4bKr{i}"), "example.com", ""),
            CALLER,
            t0 + Duration::from_secs(13),
        );
        only_request(&sent, NODE_A, Method::Invite);
    }
}

#[test]
fn a_silent_media_node_gets_a_408_upstream() {
    let t0 = Instant::now();
    let mut core = core_with(&[NODE_A]);
    recv(
        &mut core,
        &invite("z9hG4bKt1", "example.com", ""),
        CALLER,
        t0,
    );
    // Timer B: 64*T1 later the INVITE transaction gives up.
    let mut upstream = Vec::new();
    let mut t = t0;
    while t < t0 + Duration::from_secs(40) {
        t = core
            .next_timeout()
            .unwrap_or(t + Duration::from_secs(1))
            .max(t + Duration::from_millis(1));
        let (sent, _) = feed(&mut core, Input::Tick, t);
        upstream.extend(responses_to(&sent, CALLER));
    }
    assert!(upstream.iter().any(|r| r.status == 408), "{upstream:?}");
}

#[test]
fn a_provisional_response_restarts_timer_c() {
    let t0 = Instant::now();
    let mut core = core_with(&[NODE_A]);
    let fwd = forward_invite(&mut core, "z9hG4bKtr", t0);
    // A 100 stops Timer B without touching Timer C; the 180 a little later resets Timer C.
    recv(&mut core, &answer(&fwd, 100, "Trying"), NODE_A, t0);
    let t1 = t0 + Duration::from_secs(100);
    recv(&mut core, &answer(&fwd, 180, "Ringing"), NODE_A, t1);
    let mut upstream = Vec::new();
    let mut t = t0;
    while t < t1 + Duration::from_secs(185) {
        t += Duration::from_secs(1);
        if core.next_timeout().is_some_and(|at| at <= t) {
            let (sent, _) = feed(&mut core, Input::Tick, t);
            let got = responses_to(&sent, CALLER);
            if got.iter().any(|r| r.status == 408) {
                // Three minutes after the 180, not after the INVITE.
                assert!(t >= t1 + Duration::from_secs(180), "408 at {:?}", t - t0);
            }
            upstream.extend(got);
        }
    }
    assert!(upstream.iter().any(|r| r.status == 408), "{upstream:?}");
}

#[test]
fn a_call_ringing_for_three_minutes_is_cancelled_and_answered_408() {
    let t0 = Instant::now();
    let mut core = core_with(&[NODE_A]);
    let fwd = forward_invite(&mut core, "z9hG4bKtc", t0);
    recv(&mut core, &answer(&fwd, 180, "Ringing"), NODE_A, t0);
    // Still ringing after two minutes: nothing happens yet.
    let (sent, _) = feed(&mut core, Input::Tick, t0 + Duration::from_secs(120));
    assert!(responses_to(&sent, CALLER).is_empty());
    let mut to_node = Vec::new();
    let mut upstream = Vec::new();
    let mut t = t0 + Duration::from_secs(120);
    while t < t0 + Duration::from_secs(185) {
        t += Duration::from_secs(1);
        let (sent, _) = feed(&mut core, Input::Tick, t);
        upstream.extend(responses_to(&sent, CALLER));
        to_node.extend(
            sent.into_iter()
                .filter(|(t, _)| t.addr.to_string() == NODE_A),
        );
    }
    assert!(upstream.iter().any(|r| r.status == 408), "{upstream:?}");
    // The node does not answer here, so the CANCEL is retransmitted: look at the first.
    let cancel = to_node
        .iter()
        .find_map(|(_, m)| match m {
            Message::Request(r) if r.method == Method::Cancel => Some(r.clone()),
            _ => None,
        })
        .expect("a CANCEL to the node");
    assert_eq!(
        cancel.headers.top_via().unwrap().branch(),
        fwd.headers.top_via().unwrap().branch()
    );
}

#[test]
fn a_repeated_200_reaches_the_caller_after_the_relay_is_settled() {
    let now = Instant::now();
    let mut core = core_with(&[NODE_A]);
    let (fwd, _) = establish(&mut core, "z9hG4bKrp", now);
    // The media node did not hear the ACK yet and sends its 200 again.
    let sent = recv(
        &mut core,
        &answer(&fwd, 200, "OK"),
        NODE_A,
        now + Duration::from_millis(500),
    );
    let again = responses_to(&sent, CALLER);
    assert_eq!(again.len(), 1, "{sent:?}");
    assert_eq!(again[0].status, 200);
    assert_eq!(again[0].headers.vias().unwrap().len(), 1);
    // A late CANCEL of the answered INVITE is answered 200 and goes nowhere.
    let cancel = invite("z9hG4bKrp", "example.com", "")
        .replace("INVITE sip:100", "CANCEL sip:100")
        .replace("1 INVITE", "1 CANCEL");
    let sent = recv(&mut core, &cancel, CALLER, now + Duration::from_millis(600));
    assert_eq!(responses_to(&sent, CALLER)[0].status, 200);
    assert!(sent.iter().all(|(t, _)| t.addr.to_string() != NODE_A));
}

#[test]
fn an_invite_retransmitted_to_another_edge_node_reaches_the_same_media_node() {
    let now = Instant::now();
    // Two edge nodes that share nothing, configured in another order.
    let mut one = core_with(&[NODE_A, NODE_B]);
    let mut two = core_with(&[NODE_B, NODE_A]);
    let mut seen = std::collections::HashSet::new();
    for i in 0..16 {
        let text = invite(&format!("z9hG4bKrt{i}"), "example.com", "");
        let first = recv(&mut one, &text, CALLER, now);
        let again = recv(&mut two, &text, CALLER, now);
        let node = |sent: &[(Target, Message)]| {
            sent.iter()
                .find(|(_, m)| matches!(m, Message::Request(r) if r.method == Method::Invite))
                .map(|(t, _)| t.addr)
        };
        assert_eq!(node(&first), node(&again), "call {i}");
        seen.extend(node(&first));
    }
    assert_eq!(seen.len(), 2, "calls are spread over both nodes");
}
