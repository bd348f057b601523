//! The core fed with messages and fake time: no sockets, no sleeps.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use voxbin_sip::{parse_datagram, HeaderName, Message, Request, Response, Target, Transport, Uri};

use super::*;

const PEER: &str = "127.0.0.1:5062";
const SDP: &[u8] = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

fn peer() -> Target {
    Target::new(Transport::Udp, PEER.parse::<SocketAddr>().unwrap())
}

fn core() -> UaCore {
    UaCore::new(CoreConfig::default())
}

fn invite(extra: &str) -> Message {
    let body = String::from_utf8_lossy(SDP);
    let text = format!(
        "INVITE sip:ivr@127.0.0.1:5080 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKinv1\r\n\
From: <sip:alice@127.0.0.1>;tag=a1\r\n\
To: <sip:ivr@127.0.0.1>\r\n\
Call-ID: c1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@127.0.0.1:5062>\r\n\
{extra}Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    parse_datagram(text.as_bytes()).unwrap()
}

/// An in-dialog request from the peer, To carrying our tag.
fn in_dialog(method: &str, seq: u32, branch: &str, to_tag: &str) -> Message {
    let text = format!(
        "{method} sip:voxbin@127.0.0.1:5080 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5062;branch={branch}\r\n\
From: <sip:alice@127.0.0.1>;tag=a1\r\n\
To: <sip:ivr@127.0.0.1>;tag={to_tag}\r\n\
Call-ID: c1\r\n\
CSeq: {seq} {method}\r\n\
Content-Length: 0\r\n\r\n"
    );
    parse_datagram(text.as_bytes()).unwrap()
}

/// Drains the outputs: (responses and requests sent, events).
fn drain(core: &mut UaCore) -> (Vec<Message>, Vec<Output>) {
    let (mut sent, mut rest) = (Vec::new(), Vec::new());
    while let Some(out) = core.poll() {
        match out {
            Output::Send { msg, .. } => sent.push(msg),
            other => rest.push(other),
        }
    }
    (sent, rest)
}

fn statuses(sent: &[Message]) -> Vec<u16> {
    sent.iter()
        .filter_map(|m| match m {
            Message::Response(r) => Some(r.status),
            Message::Request(_) => None,
        })
        .collect()
}

fn requests(sent: &[Message]) -> Vec<&Request> {
    sent.iter()
        .filter_map(|m| match m {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        })
        .collect()
}

/// An incoming call answered; returns the core, the leg, our To tag and the time.
fn answered(extra: &str) -> (UaCore, LegId, String, Instant) {
    let mut core = core();
    let t0 = Instant::now();
    core.on_message(invite(extra), peer(), t0);
    let (sent, events) = drain(&mut core);
    assert_eq!(statuses(&sent), vec![100]);
    let leg = match &events[..] {
        [Output::Incoming { leg, info }] => {
            assert_eq!(info.offer, Bytes::from_static(SDP));
            assert_eq!(info.call_id, "c1");
            *leg
        }
        other => panic!("expected the incoming call, got {other:?}"),
    };
    core.answer(leg, Bytes::from_static(SDP), t0).unwrap();
    let (sent, _) = drain(&mut core);
    let Message::Response(ok) = &sent[0] else {
        panic!("a 200 goes out")
    };
    assert_eq!(ok.status, 200);
    assert!(ok.headers.contains(&HeaderName::Contact));
    let tag = ok.headers.to_hdr().unwrap().tag().unwrap().to_string();
    (core, leg, tag, t0)
}

#[test]
fn the_2xx_repeats_until_the_ack_then_bye_ends_the_call() {
    let (mut core, leg, tag, t0) = answered("");
    core.on_tick(t0 + Duration::from_millis(500));
    let (sent, _) = drain(&mut core);
    assert_eq!(statuses(&sent), vec![200], "T1 later the 200 goes again");
    core.on_tick(t0 + Duration::from_millis(1500));
    assert_eq!(statuses(&drain(&mut core).0), vec![200], "then after 2*T1");

    core.on_message(
        in_dialog("ACK", 1, "z9hG4bKack1", &tag),
        peer(),
        t0 + Duration::from_secs(2),
    );
    let (_, events) = drain(&mut core);
    assert!(matches!(
        &events[..],
        [Output::Event {
            event: CallEvent::Confirmed,
            ..
        }]
    ));
    core.on_tick(t0 + Duration::from_secs(10));
    assert!(
        statuses(&drain(&mut core).0).is_empty(),
        "no repeat after the ACK"
    );

    core.on_message(
        in_dialog("BYE", 2, "z9hG4bKbye1", &tag),
        peer(),
        t0 + Duration::from_secs(11),
    );
    let (sent, events) = drain(&mut core);
    assert_eq!(statuses(&sent), vec![200]);
    assert!(matches!(
        &events[..],
        [Output::Event { leg: l, event: CallEvent::Terminated { cause: HangupCause::Normal, by: Party::Remote, status: 200 } }] if *l == leg
    ));
    assert_eq!(core.legs(), 0);
}

#[test]
fn a_reinvite_asked_for_before_the_ack_goes_out_once_the_ack_comes() {
    let (mut core, leg, tag, t0) = answered("");
    core.reinvite(leg, Bytes::from_static(SDP), t0 + Duration::from_millis(10))
        .expect("accepted while the 2xx waits for its ACK");
    let (sent, _) = drain(&mut core);
    assert!(requests(&sent).is_empty(), "no INVITE before the ACK");

    core.on_message(
        in_dialog("ACK", 1, "z9hG4bKack1", &tag),
        peer(),
        t0 + Duration::from_millis(50),
    );
    let (sent, _) = drain(&mut core);
    let invites: Vec<_> = requests(&sent)
        .into_iter()
        .filter(|r| r.method == Method::Invite)
        .collect();
    assert_eq!(invites.len(), 1, "the re-INVITE follows the ACK: {sent:?}");
    assert_eq!(invites[0].body, Bytes::from_static(SDP));
}

#[test]
fn a_silent_peer_refresher_gets_a_bye_with_cause_timeout() {
    let (mut core, leg, tag, t0) =
        answered("Supported: timer\r\nSession-Expires: 90;refresher=uac\r\n");
    core.on_message(in_dialog("ACK", 1, "z9hG4bKack1", &tag), peer(), t0);
    drain(&mut core);
    // RFC 4028: give up at 90 - min(32, 30) = 60 s
    core.on_tick(t0 + Duration::from_secs(59));
    assert!(requests(&drain(&mut core).0).is_empty());
    core.on_tick(t0 + Duration::from_secs(60));
    let (sent, events) = drain(&mut core);
    let bye = requests(&sent);
    assert_eq!(bye.len(), 1);
    assert_eq!(bye[0].method, Method::Bye);
    assert_eq!(bye[0].uri.to_string(), "sip:alice@127.0.0.1:5062");
    assert!(matches!(
        &events[..],
        [Output::Event {
            event: CallEvent::SessionExpired,
            ..
        }]
    ));
    let ok = voxbin_sip::dialog::response_to(bye[0], 200, "OK");
    core.on_message(Message::Response(ok), peer(), t0 + Duration::from_secs(61));
    let (_, events) = drain(&mut core);
    assert!(matches!(
        &events[..],
        [Output::Event { leg: l, event: CallEvent::Terminated { cause: HangupCause::Timeout, by: Party::Local, .. } }] if *l == leg
    ));
}

#[test]
fn too_small_session_interval_is_refused_with_422() {
    let mut core = core();
    core.on_message(invite("Session-Expires: 30\r\n"), peer(), Instant::now());
    let (sent, events) = drain(&mut core);
    assert_eq!(statuses(&sent), vec![100, 422]);
    let Message::Response(r) = &sent[1] else {
        unreachable!()
    };
    assert_eq!(r.headers.get(&HeaderName::MinSe), Some("90"));
    assert!(events.is_empty());
}

#[test]
fn draining_refuses_new_calls_with_503() {
    let mut core = core();
    core.set_draining(true);
    core.on_message(invite(""), peer(), Instant::now());
    let (sent, events) = drain(&mut core);
    assert_eq!(statuses(&sent), vec![100, 503]);
    assert!(events.is_empty());
}

/// A response to `req` from the callee, with `status`, To tag b1 and a Contact.
fn callee_response(req: &Request, status: u16, extra: &[(HeaderName, &str)]) -> Response {
    let mut r = voxbin_sip::dialog::response_with_tag(req, status, "X", "b1");
    r.headers
        .push(HeaderName::Contact, "<sip:bob@127.0.0.1:5062>");
    for (n, v) in extra {
        r.headers.push(n.clone(), *v);
    }
    r
}

#[test]
fn originate_answers_407_then_acks_the_2xx_and_hangs_up_with_bye() {
    let mut core = core();
    let t0 = Instant::now();
    let leg = core
        .originate(
            Originate {
                uri: Uri::parse("sip:+15550100@127.0.0.1:5062").unwrap(),
                target: peer(),
                from: "<sip:alice@voxbin.test>".into(),
                to: None,
                pai: None,
                headers: vec![],
                offer: Bytes::from_static(SDP),
                credentials: Some(DigestCredentials {
                    username: "alice".into(),
                    password: "pw".into(),
                }),
            },
            t0,
        )
        .unwrap();
    let (sent, _) = drain(&mut core);
    let first = requests(&sent)[0].clone();
    assert_eq!(first.headers.cseq().unwrap().seq, 1);
    let challenge = callee_response(
        &first,
        407,
        &[(
            HeaderName::ProxyAuthenticate,
            "Digest realm=\"v\", nonce=\"n1\", qop=\"auth\"",
        )],
    );
    core.on_message(Message::Response(challenge), peer(), t0);
    let (sent, events) = drain(&mut core);
    assert!(events.is_empty(), "a challenge is not the owner's business");
    let reqs = requests(&sent);
    // the transaction ACKs the 407, then the INVITE goes again with credentials
    assert_eq!(reqs[0].method, Method::Ack);
    let second = reqs[1].clone();
    assert_eq!(second.method, Method::Invite);
    assert_eq!(second.headers.cseq().unwrap().seq, 2);
    let creds = second.headers.get(&HeaderName::ProxyAuthorization).unwrap();
    assert!(creds.contains("username=\"alice\"") && creds.contains("nonce=\"n1\""));

    let ok = callee_response(
        &second,
        200,
        &[(HeaderName::ContentType, "application/sdp")],
    );
    core.on_message(Message::Response(ok), peer(), t0);
    let (sent, events) = drain(&mut core);
    assert_eq!(requests(&sent)[0].method, Method::Ack);
    assert_eq!(requests(&sent)[0].headers.cseq().unwrap().seq, 2);
    assert!(matches!(
        &events[..],
        [Output::Event {
            event: CallEvent::Answered { .. },
            ..
        }]
    ));

    core.hangup(leg, HangupCause::Normal, t0).unwrap();
    let (sent, _) = drain(&mut core);
    let bye = requests(&sent)[0].clone();
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(bye.uri.to_string(), "sip:bob@127.0.0.1:5062");
    assert_eq!(bye.headers.to_hdr().unwrap().tag(), Some("b1"));
    core.on_message(
        Message::Response(voxbin_sip::dialog::response_to(&bye, 200, "OK")),
        peer(),
        t0,
    );
    let (_, events) = drain(&mut core);
    assert!(matches!(
        &events[..],
        [Output::Event {
            event: CallEvent::Terminated {
                cause: HangupCause::Normal,
                by: Party::Local,
                status: 200
            },
            ..
        }]
    ));
}
