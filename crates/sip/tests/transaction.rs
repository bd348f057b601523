//! Transaction timers and matching with fake time: retransmission schedules over UDP, none
//! over TCP, ACK for non-2xx, Accepted state, CANCEL matching, absorbing repeats.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use voxbin_sip::dialog::{cancel_for, response_to, response_with_tag};
use voxbin_sip::transaction::{Input, Output, Side, TimerConfig, Transactions, TxError, TxEvent};
use voxbin_sip::{parse_datagram, Message, Method, Request, Response, Target, Transport};

const T1: Duration = Duration::from_millis(500);

fn peer(transport: Transport) -> Target {
    Target::new(transport, "192.0.2.7:5060".parse::<SocketAddr>().unwrap())
}

fn request(method: &str, branch: &str) -> Request {
    let raw = format!(
        "{method} sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7:5060;branch={branch}\r\n\
From: <sip:alice@a.example>;tag=a1\r\nTo: <sip:bob@b.example>\r\nCall-ID: c1\r\n\
CSeq: 1 {method}\r\nMax-Forwards: 70\r\nContact: <sip:alice@192.0.2.7>\r\n\r\n"
    );
    match parse_datagram(raw.as_bytes()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!("built a request"),
    }
}

/// Everything queued so far.
fn drain(tx: &mut Transactions) -> Vec<Output> {
    std::iter::from_fn(|| tx.poll()).collect()
}

fn sends(outs: &[Output]) -> Vec<&Message> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Send { msg, .. } => Some(msg),
            _ => None,
        })
        .collect()
}

fn events(outs: &[Output]) -> Vec<&TxEvent> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// Steps time in 100 ms ticks until `until`, returning the send times (ms after `t0`).
fn send_times(tx: &mut Transactions, t0: Instant, until: Duration) -> Vec<u128> {
    let mut times = Vec::new();
    let mut now = t0;
    while now <= t0 + until {
        tx.handle(Input::Tick, now).unwrap();
        for o in drain(tx) {
            if matches!(o, Output::Send { .. }) {
                times.push((now - t0).as_millis());
            }
        }
        now += Duration::from_millis(100);
    }
    times
}

#[test]
fn client_invite_over_udp_doubles_timer_a_until_timer_b() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    tx.handle(
        Input::SendRequest {
            req: request("INVITE", "z9hG4bKa"),
            target: peer(Transport::Udp),
        },
        t0,
    )
    .unwrap();
    let first = drain(&mut tx);
    assert_eq!(sends(&first).len(), 1);
    assert!(first
        .iter()
        .any(|o| matches!(o, Output::Timer(at) if *at == t0 + T1)));
    let times = send_times(&mut tx, t0, Duration::from_secs(33));
    assert_eq!(times, vec![500, 1500, 3500, 7500, 15500, 31500]);
    // Timer B fired at 64*T1 = 32 s
    tx.handle(Input::Tick, t0 + Duration::from_secs(32))
        .unwrap();
    assert!(tx.is_empty());
}

#[test]
fn client_invite_timeout_is_reported() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    tx.handle(
        Input::SendRequest {
            req: request("INVITE", "z9hG4bKb"),
            target: peer(Transport::Tcp),
        },
        t0,
    )
    .unwrap();
    drain(&mut tx);
    // no retransmissions over TCP
    tx.handle(Input::Tick, t0 + Duration::from_secs(10))
        .unwrap();
    assert!(sends(&drain(&mut tx)).is_empty());
    tx.handle(Input::Tick, t0 + Duration::from_secs(32))
        .unwrap();
    let outs = drain(&mut tx);
    let ev = events(&outs);
    assert!(
        matches!(ev[0], TxEvent::Timeout { key } if key.method == Method::Invite && key.side == Side::Client)
    );
    assert!(matches!(ev[1], TxEvent::Terminated { .. }));
    assert!(tx.is_empty());
}

#[test]
fn client_invite_acks_a_busy_and_absorbs_repeats() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let invite = request("INVITE", "z9hG4bKc");
    let target = peer(Transport::Udp);
    tx.handle(
        Input::SendRequest {
            req: invite.clone(),
            target,
        },
        t0,
    )
    .unwrap();
    drain(&mut tx);
    let ringing = response_with_tag(&invite, 180, "Ringing", "b1");
    tx.handle(
        Input::Received {
            msg: ringing.into(),
            from: target,
        },
        t0 + Duration::from_millis(100),
    )
    .unwrap();
    let outs = drain(&mut tx);
    assert!(matches!(events(&outs)[0], TxEvent::Response { resp, .. } if resp.status == 180));
    // provisional stops Timer A
    assert!(send_times(
        &mut tx,
        t0 + Duration::from_millis(100),
        Duration::from_secs(40)
    )
    .is_empty());
    let busy = response_with_tag(&invite, 486, "Busy Here", "b1");
    let at = t0 + Duration::from_secs(41);
    tx.handle(
        Input::Received {
            msg: busy.clone().into(),
            from: target,
        },
        at,
    )
    .unwrap();
    let outs = drain(&mut tx);
    let sent = sends(&outs);
    let Message::Request(ack) = sent[0] else {
        panic!("ACK expected")
    };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.headers.top_via().unwrap().branch(), Some("z9hG4bKc"));
    assert_eq!(ack.headers.to_hdr().unwrap().tag(), Some("b1"));
    assert!(matches!(events(&outs)[0], TxEvent::Response { resp, .. } if resp.status == 486));
    // a repeated 486 is answered with the ACK again and not passed up
    tx.handle(
        Input::Received {
            msg: busy.into(),
            from: target,
        },
        at + T1,
    )
    .unwrap();
    let outs = drain(&mut tx);
    assert_eq!(sends(&outs).len(), 1);
    assert!(events(&outs).is_empty());
    // Timer D (32 s) ends it
    tx.handle(Input::Tick, at + Duration::from_secs(32))
        .unwrap();
    assert!(matches!(
        events(&drain(&mut tx))[0],
        TxEvent::Terminated { .. }
    ));
    assert!(tx.is_empty());
}

#[test]
fn client_invite_accepted_passes_every_2xx_and_sends_no_ack() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let invite = request("INVITE", "z9hG4bKd");
    let target = peer(Transport::Udp);
    tx.handle(
        Input::SendRequest {
            req: invite.clone(),
            target,
        },
        t0,
    )
    .unwrap();
    drain(&mut tx);
    let ok = response_with_tag(&invite, 200, "OK", "b1");
    for i in 0..2 {
        tx.handle(
            Input::Received {
                msg: ok.clone().into(),
                from: target,
            },
            t0 + T1 * i,
        )
        .unwrap();
        let outs = drain(&mut tx);
        assert!(sends(&outs).is_empty(), "the TU acks a 2xx");
        assert!(matches!(events(&outs)[0], TxEvent::Response { resp, .. } if resp.status == 200));
    }
    tx.handle(Input::Tick, t0 + Duration::from_secs(32))
        .unwrap();
    assert!(tx.is_empty());
}

#[test]
fn client_non_invite_caps_timer_e_at_t2_then_lingers_k() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let options = request("OPTIONS", "z9hG4bKe");
    let target = peer(Transport::Udp);
    tx.handle(
        Input::SendRequest {
            req: options.clone(),
            target,
        },
        t0,
    )
    .unwrap();
    drain(&mut tx);
    let times = send_times(&mut tx, t0, Duration::from_millis(20_000));
    assert_eq!(times, vec![500, 1500, 3500, 7500, 11500, 15500, 19500]);
    let ok = response_to(&options, 200, "OK");
    let at = t0 + Duration::from_millis(20_000);
    tx.handle(
        Input::Received {
            msg: ok.into(),
            from: target,
        },
        at,
    )
    .unwrap();
    assert!(matches!(
        events(&drain(&mut tx))[0],
        TxEvent::Response { .. }
    ));
    tx.handle(Input::Tick, at + Duration::from_secs(5)).unwrap();
    assert!(tx.is_empty(), "Timer K = T4");
}

#[test]
fn client_non_invite_timer_f_and_provisional_interval() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let register = request("REGISTER", "z9hG4bKf");
    let target = peer(Transport::Udp);
    tx.handle(
        Input::SendRequest {
            req: register.clone(),
            target,
        },
        t0,
    )
    .unwrap();
    let trying = response_to(&register, 100, "Trying");
    tx.handle(
        Input::Received {
            msg: trying.into(),
            from: target,
        },
        t0 + Duration::from_millis(100),
    )
    .unwrap();
    drain(&mut tx);
    // Timer E was armed for 500 ms before the 100; after it, every retransmit waits T2
    let times = send_times(
        &mut tx,
        t0 + Duration::from_millis(100),
        Duration::from_millis(12_000),
    );
    assert_eq!(times, vec![400, 4400, 8400]);
    tx.handle(Input::Tick, t0 + Duration::from_secs(32))
        .unwrap();
    let outs = drain(&mut tx);
    assert!(events(&outs)
        .iter()
        .any(|e| matches!(e, TxEvent::Timeout { .. })));
}

#[test]
fn server_invite_tries_retransmits_final_until_ack() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let invite = request("INVITE", "z9hG4bKg");
    let from = peer(Transport::Udp);
    tx.handle(
        Input::Received {
            msg: invite.clone().into(),
            from,
        },
        t0,
    )
    .unwrap();
    let outs = drain(&mut tx);
    assert!(
        matches!(events(&outs)[0], TxEvent::Request { req, cancels: None, .. } if req.method == Method::Invite)
    );
    let Message::Response(trying) = sends(&outs)[0] else {
        panic!("100 expected")
    };
    assert_eq!(trying.status, 100);
    // retransmitted INVITE: the 100 again, no new event
    tx.handle(
        Input::Received {
            msg: invite.clone().into(),
            from,
        },
        t0 + T1,
    )
    .unwrap();
    let outs = drain(&mut tx);
    assert_eq!(sends(&outs).len(), 1);
    assert!(events(&outs).is_empty());
    // final 486, retransmitted on Timer G (T1, 2T1, 4T1, then T2)
    tx.handle(
        Input::SendResponse {
            resp: response_with_tag(&invite, 486, "Busy Here", "b1"),
        },
        t0 + T1,
    )
    .unwrap();
    drain(&mut tx);
    let times = send_times(&mut tx, t0 + T1, Duration::from_millis(12_000));
    assert_eq!(times, vec![500, 1500, 3500, 7500, 11500]);
    // the ACK (same branch) is absorbed: no event, transaction Confirmed, then Timer I
    let ack = request("ACK", "z9hG4bKg");
    let at = t0 + Duration::from_secs(13);
    tx.handle(
        Input::Received {
            msg: ack.into(),
            from,
        },
        at,
    )
    .unwrap();
    assert!(events(&drain(&mut tx)).is_empty());
    assert!(send_times(&mut tx, at, Duration::from_secs(4)).is_empty());
    tx.handle(Input::Tick, at + Duration::from_secs(5)).unwrap();
    assert!(tx.is_empty());
}

#[test]
fn server_invite_without_ack_times_out_with_timer_h() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let invite = request("INVITE", "z9hG4bKh");
    let from = peer(Transport::Tcp);
    tx.handle(
        Input::Received {
            msg: invite.clone().into(),
            from,
        },
        t0,
    )
    .unwrap();
    tx.handle(
        Input::SendResponse {
            resp: response_with_tag(&invite, 603, "Decline", "b"),
        },
        t0,
    )
    .unwrap();
    drain(&mut tx);
    // reliable: no Timer G
    assert!(send_times(&mut tx, t0, Duration::from_secs(31)).is_empty());
    tx.handle(Input::Tick, t0 + Duration::from_secs(32))
        .unwrap();
    assert!(events(&drain(&mut tx))
        .iter()
        .any(|e| matches!(e, TxEvent::Timeout { key } if key.side == Side::Server)));
    assert!(tx.is_empty());
}

#[test]
fn server_invite_accepted_passes_2xx_ack_and_repeated_2xx() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let invite = request("INVITE", "z9hG4bKi");
    let from = peer(Transport::Udp);
    tx.handle(
        Input::Received {
            msg: invite.clone().into(),
            from,
        },
        t0,
    )
    .unwrap();
    let ok = response_with_tag(&invite, 200, "OK", "b1");
    tx.handle(Input::SendResponse { resp: ok.clone() }, t0)
        .unwrap();
    tx.handle(Input::SendResponse { resp: ok }, t0 + T1)
        .unwrap();
    assert_eq!(sends(&drain(&mut tx)).len(), 3, "100, 200, repeated 200");
    // a retransmitted INVITE is absorbed while Accepted
    tx.handle(
        Input::Received {
            msg: invite.into(),
            from,
        },
        t0 + T1,
    )
    .unwrap();
    assert!(drain(&mut tx)
        .iter()
        .all(|o| !matches!(o, Output::Send { .. } | Output::Event(_))));
    // the ACK for a 2xx has its own branch: it goes to the TU
    tx.handle(
        Input::Received {
            msg: request("ACK", "z9hG4bKack").into(),
            from,
        },
        t0 + T1,
    )
    .unwrap();
    assert!(matches!(events(&drain(&mut tx))[0], TxEvent::Ack { .. }));
    tx.handle(Input::Tick, t0 + Duration::from_secs(32))
        .unwrap();
    assert!(tx.is_empty(), "Timer L");
}

#[test]
fn cancel_matches_the_pending_invite() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let invite = request("INVITE", "z9hG4bKj");
    let from = peer(Transport::Udp);
    tx.handle(
        Input::Received {
            msg: invite.clone().into(),
            from,
        },
        t0,
    )
    .unwrap();
    let invite_key = match events(&drain(&mut tx))[0] {
        TxEvent::Request { key, .. } => key.clone(),
        other => panic!("unexpected {other:?}"),
    };
    let cancel = cancel_for(&invite);
    tx.handle(
        Input::Received {
            msg: cancel.clone().into(),
            from,
        },
        t0 + T1,
    )
    .unwrap();
    let outs = drain(&mut tx);
    let TxEvent::Request { cancels, req, .. } = events(&outs)[0] else {
        panic!()
    };
    assert_eq!(req.method, Method::Cancel);
    assert_eq!(cancels.as_deref(), Some(&invite_key));
    tx.handle(
        Input::SendResponse {
            resp: response_to(&cancel, 200, "OK"),
        },
        t0 + T1,
    )
    .unwrap();
    tx.handle(
        Input::SendResponse {
            resp: response_with_tag(&invite, 487, "Request Terminated", "b"),
        },
        t0 + T1,
    )
    .unwrap();
    let statuses: Vec<u16> = sends(&drain(&mut tx))
        .iter()
        .filter_map(|m| match m {
            Message::Response(r) => Some(r.status),
            Message::Request(_) => None,
        })
        .collect();
    assert_eq!(statuses, vec![200, 487]);
    // a CANCEL for an unknown INVITE matches nothing
    let stray = cancel_for(&request("INVITE", "z9hG4bKnone"));
    tx.handle(
        Input::Received {
            msg: stray.into(),
            from,
        },
        t0 + T1,
    )
    .unwrap();
    assert!(matches!(
        events(&drain(&mut tx))[0],
        TxEvent::Request { cancels: None, .. }
    ));
}

#[test]
fn server_non_invite_repeats_its_final_until_timer_j() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let bye = request("BYE", "z9hG4bKk");
    let from = peer(Transport::Udp);
    tx.handle(
        Input::Received {
            msg: bye.clone().into(),
            from,
        },
        t0,
    )
    .unwrap();
    let outs = drain(&mut tx);
    assert!(sends(&outs).is_empty(), "no automatic 100 for non-INVITE");
    // repeats before any answer are absorbed
    tx.handle(
        Input::Received {
            msg: bye.clone().into(),
            from,
        },
        t0 + T1,
    )
    .unwrap();
    assert!(sends(&drain(&mut tx)).is_empty());
    tx.handle(
        Input::SendResponse {
            resp: response_to(&bye, 200, "OK"),
        },
        t0 + T1,
    )
    .unwrap();
    drain(&mut tx);
    tx.handle(
        Input::Received {
            msg: bye.into(),
            from,
        },
        t0 + T1 * 2,
    )
    .unwrap();
    assert_eq!(sends(&drain(&mut tx)).len(), 1, "the 200 again");
    tx.handle(Input::Tick, t0 + T1 + Duration::from_secs(32))
        .unwrap();
    assert!(tx.is_empty(), "Timer J");
    // over TCP the transaction ends as soon as the final response is sent
    let bye = request("BYE", "z9hG4bKl");
    tx.handle(
        Input::Received {
            msg: bye.clone().into(),
            from: peer(Transport::Tcp),
        },
        t0,
    )
    .unwrap();
    tx.handle(
        Input::SendResponse {
            resp: response_to(&bye, 200, "OK"),
        },
        t0,
    )
    .unwrap();
    assert!(tx.is_empty());
}

#[test]
fn odd_inputs_become_events_or_errors() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let from = peer(Transport::Udp);
    let orphan: Response = response_to(&request("INVITE", "z9hG4bKzz"), 200, "OK");
    tx.handle(
        Input::Received {
            msg: orphan.clone().into(),
            from,
        },
        t0,
    )
    .unwrap();
    assert!(matches!(
        events(&drain(&mut tx))[0],
        TxEvent::StrayResponse { .. }
    ));
    tx.handle(Input::SendResponse { resp: orphan }, t0).unwrap();
    assert!(matches!(
        events(&drain(&mut tx))[0],
        TxEvent::NoTransaction { .. }
    ));
    let mut no_via = request("OPTIONS", "z9hG4bKq");
    no_via.headers.remove_all(&voxbin_sip::HeaderName::Via);
    tx.handle(
        Input::Received {
            msg: no_via.clone().into(),
            from,
        },
        t0,
    )
    .unwrap();
    assert!(
        matches!(events(&drain(&mut tx))[0], TxEvent::Invalid { error, .. } if error.reason() == "Missing Via header")
    );
    assert!(matches!(
        tx.handle(
            Input::SendRequest {
                req: no_via,
                target: from
            },
            t0
        ),
        Err(TxError::BadMessage(_))
    ));
    let req = request("OPTIONS", "z9hG4bKdup");
    tx.handle(
        Input::SendRequest {
            req: req.clone(),
            target: from,
        },
        t0,
    )
    .unwrap();
    assert!(matches!(
        tx.handle(Input::SendRequest { req, target: from }, t0),
        Err(TxError::Duplicate(_))
    ));
    // a failed transport ends the transaction
    tx.handle(Input::TransportError { target: from }, t0)
        .unwrap();
    let outs = drain(&mut tx);
    assert!(events(&outs)
        .iter()
        .any(|e| matches!(e, TxEvent::TransportFailed { .. })));
    assert!(tx.is_empty());
    // ACK for 2xx is sent without a transaction
    tx.handle(
        Input::SendRequest {
            req: request("ACK", "z9hG4bKa2"),
            target: from,
        },
        t0,
    )
    .unwrap();
    assert_eq!(sends(&drain(&mut tx)).len(), 1);
    assert!(tx.is_empty());
}

#[test]
fn timers_follow_configured_t1_t2_t4() {
    let cfg = TimerConfig {
        t1: Duration::from_millis(100),
        t2: Duration::from_millis(400),
        t4: Duration::from_millis(1000),
        ..TimerConfig::default()
    };
    let mut tx = Transactions::new(cfg);
    let t0 = Instant::now();
    tx.handle(
        Input::SendRequest {
            req: request("OPTIONS", "z9hG4bKcfg"),
            target: peer(Transport::Udp),
        },
        t0,
    )
    .unwrap();
    drain(&mut tx);
    let times = send_times(&mut tx, t0, Duration::from_millis(2000));
    assert_eq!(times, vec![100, 300, 700, 1100, 1500, 1900]);
    tx.handle(Input::Tick, t0 + Duration::from_millis(6400))
        .unwrap();
    assert!(tx.is_empty(), "Timer F = 64*T1");
}

#[test]
fn rfc2543_requests_without_cookie_still_match() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let from = peer(Transport::Udp);
    let mut invite = request("INVITE", "old1");
    invite
        .headers
        .set(voxbin_sip::HeaderName::Via, "SIP/2.0/UDP 192.0.2.7:5060");
    tx.handle(
        Input::Received {
            msg: invite.clone().into(),
            from,
        },
        t0,
    )
    .unwrap();
    assert!(matches!(
        events(&drain(&mut tx))[0],
        TxEvent::Request { .. }
    ));
    // a retransmission is recognised, the final response finds the transaction
    tx.handle(
        Input::Received {
            msg: invite.clone().into(),
            from,
        },
        t0 + T1,
    )
    .unwrap();
    assert!(events(&drain(&mut tx)).is_empty());
    tx.handle(
        Input::SendResponse {
            resp: response_with_tag(&invite, 404, "Not Found", "t"),
        },
        t0 + T1,
    )
    .unwrap();
    let outs = drain(&mut tx);
    assert_eq!(sends(&outs).len(), 1);
    assert!(events(&outs).is_empty());
    // and its ACK is absorbed
    let mut ack = invite.clone();
    ack.method = Method::Ack;
    ack.headers.set(voxbin_sip::HeaderName::CSeq, "1 ACK");
    tx.handle(
        Input::Received {
            msg: ack.into(),
            from,
        },
        t0 + T1 * 2,
    )
    .unwrap();
    assert!(events(&drain(&mut tx)).is_empty());
}
