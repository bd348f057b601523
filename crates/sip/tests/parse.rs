//! Parser and serialiser behaviour on hand-written messages: compact and folded headers,
//! list splitting, IPv6, stream framing, keep-alives, limits and errors.

use voxbin_sip::{
    parse_datagram, parse_stream, parse_stream_with, Contacts, HeaderName, Host, Limits, Message,
    Method, Parsed,
};

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds , SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKab\r\n\
Max-Forwards: 70\r\n\
t: Bob <sip:bob@biloxi.example.com>\r\n\
f: \"Alice, A.\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
i: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
m: <sip:alice@pc33.atlanta.example.com>\r\n\
Subject: I know you're there,\r\n  pick up the phone\r\n\tand talk to me!\r\n\
c: application/sdp\r\n\
l: 4\r\n\
\r\n\
v=0\r\n";

#[test]
fn compact_folded_multi_value_invite() {
    let msg = parse_datagram(INVITE.as_bytes()).unwrap();
    let Message::Request(req) = &msg else {
        panic!("request expected")
    };
    assert_eq!(req.method, Method::Invite);
    assert_eq!(req.uri.user.as_deref(), Some("bob"));
    let vias = req.headers.vias().unwrap();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[1].host, Host::V6("2001:db8::1".parse().unwrap()));
    assert_eq!(
        req.headers.from_hdr().unwrap().display.as_deref(),
        Some("Alice, A.")
    );
    assert_eq!(req.headers.from_hdr().unwrap().tag(), Some("1928301774"));
    assert_eq!(
        req.headers.call_id().unwrap(),
        "a84b4c76e66710@pc33.atlanta.example.com"
    );
    assert_eq!(
        req.headers.get(&HeaderName::Subject),
        Some("I know you're there, pick up the phone and talk to me!")
    );
    assert_eq!(&req.body[..], b"v=0\r");
    assert!(!req.headers.contains(&HeaderName::ContentLength));
    req.validate().unwrap();
    // serialised with full names, one Via per line, Content-Length from the body
    let text = String::from_utf8(msg.to_bytes()).unwrap();
    assert!(text.starts_with("INVITE sip:bob@biloxi.example.com SIP/2.0\r\nVia: SIP/2.0/UDP"));
    assert!(text.contains("\r\nVia: SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKab\r\n"));
    assert!(text.ends_with("Content-Length: 4\r\n\r\nv=0\r"));
    assert_eq!(parse_datagram(text.as_bytes()).unwrap(), msg);
}

#[test]
fn register_with_several_contacts_and_star() {
    let raw = "REGISTER sip:c1.registrar.voxbin.local SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.5:5062;rport;branch=z9hG4bKr1\r\n\
From: <sip:1001@c1.registrar.voxbin.local>;tag=a\r\n\
To: <sip:1001@c1.registrar.voxbin.local>\r\n\
Call-ID: reg1\r\n\
CSeq: 2 REGISTER\r\n\
Contact: <sip:1001@10.0.0.5:5062>;expires=60, \"Desk, 2\" <sip:1001@10.0.0.6>;q=0.5\r\n\
Contact: <sip:1001@[::1]:5090;transport=tcp>\r\n\
Expires: 3600\r\n\
Content-Length: 0\r\n\r\n";
    let msg = parse_datagram(raw.as_bytes()).unwrap();
    let Contacts::List(list) = msg.headers().contacts().unwrap() else {
        panic!("list expected")
    };
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].expires(), Some(60));
    assert_eq!(list[1].display.as_deref(), Some("Desk, 2"));
    assert_eq!(list[2].uri.transport(), Some("tcp"));
    assert_eq!(msg.headers().expires().unwrap(), Some(3600));
    assert_eq!(msg.headers().top_via().unwrap().rport(), Some(None));
    let star = raw.replace(
        "Contact: <sip:1001@10.0.0.5:5062>;expires=60, \"Desk, 2\" <sip:1001@10.0.0.6>;q=0.5\r\nContact: <sip:1001@[::1]:5090;transport=tcp>\r\n",
        "Contact: *\r\n",
    );
    let msg = parse_datagram(star.as_bytes()).unwrap();
    assert_eq!(msg.headers().contacts().unwrap(), Contacts::Star);
}

#[test]
fn response_with_empty_reason_and_lf_only_lines() {
    let raw = "SIP/2.0 180 \nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@h>;tag=1\nTo: <sip:b@h>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\n\n";
    let Message::Response(r) = parse_datagram(raw.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(r.status, 180);
    assert_eq!(r.reason, "");
    assert!(r.is_provisional());
    r.validate().unwrap();
    assert_eq!(r.headers.to_hdr().unwrap().tag(), Some("2"));
}

#[test]
fn stream_framing_by_content_length() {
    let one = "OPTIONS sip:h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 3\r\n\r\nabc";
    let two = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: 0\r\n\r\n";
    let stream = format!("\r\n\r\n{one}{two}");
    let mut buf = stream.as_bytes();
    assert_eq!(
        parse_stream(buf).unwrap(),
        Parsed::KeepAlive {
            consumed: 4,
            ping: true
        }
    );
    buf = &buf[4..];
    for cut in 0..one.len() {
        assert_eq!(
            parse_stream(&buf[..cut]).unwrap(),
            Parsed::Incomplete,
            "cut {cut}"
        );
    }
    let Parsed::Message { msg, consumed } = parse_stream(buf).unwrap() else {
        panic!()
    };
    assert_eq!(consumed, one.len());
    assert_eq!(&msg.body()[..], b"abc");
    buf = &buf[consumed..];
    let Parsed::Message { msg, consumed } = parse_stream(buf).unwrap() else {
        panic!()
    };
    assert_eq!(consumed, two.len());
    assert!(!msg.is_request());
    assert_eq!(
        parse_stream(b"\r\n").unwrap(),
        Parsed::KeepAlive {
            consumed: 2,
            ping: false
        }
    );
}

#[test]
fn stream_limits_stop_endless_or_huge_messages() {
    let limits = Limits {
        max_message: 200,
        max_headers: 4,
    };
    let endless = vec![b'a'; 300];
    assert_eq!(
        parse_stream_with(&endless, &limits).unwrap_err().status(),
        513
    );
    let huge = "OPTIONS sip:h SIP/2.0\r\nContent-Length: 100000\r\n\r\n";
    assert_eq!(
        parse_stream_with(huge.as_bytes(), &limits)
            .unwrap_err()
            .status(),
        513
    );
    let many = "OPTIONS sip:h SIP/2.0\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\nE: 1\r\n\r\n";
    assert_eq!(
        parse_stream_with(many.as_bytes(), &limits)
            .unwrap_err()
            .reason(),
        "Too many headers"
    );
}

#[test]
fn malformed_messages_give_reasons() {
    let cases: &[(&str, u16, &str)] = &[
        ("", 400, "Empty message"),
        (
            "INVITE sip:a@b SIP/2.0\r\nVia: x\r\n",
            400,
            "Missing end of headers",
        ),
        (
            "INVITE sip:a@b SIP/3.0\r\n\r\n",
            505,
            "Version Not Supported",
        ),
        (
            "INVITE http://a SIP/2.0\r\n\r\n",
            416,
            "Unsupported URI Scheme",
        ),
        ("INVITE sip:a@b\r\n\r\n", 400, "Bad request line"),
        ("INVITE  sip:a@b SIP/2.0\r\n\r\n", 400, "Bad request line"),
        ("SIP/2.0 99 Low\r\n\r\n", 400, "Bad status code"),
        ("SIP/2.0 2000 X\r\n\r\n", 400, "Bad status code"),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nNoColon\r\n\r\n",
            400,
            "Header line without colon",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\n folded\r\n\r\n",
            400,
            "Continuation line without header",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
            400,
            "Bad header name",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nl: 5\r\n\r\nab",
            400,
            "Body shorter than Content-Length",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\nab",
            400,
            "Conflicting Content-Length",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nl: -1\r\n\r\n",
            400,
            "Bad Content-Length",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nX: a\0b\r\n\r\n",
            400,
            "Control character in message",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n",
            400,
            "Bare CR in header",
        ),
        (
            "OPTIONS sip:a@b SIP/2.0\r\nRoute: <sip:a, <sip:b>\r\n\r\n",
            400,
            "Unbalanced quotes or brackets in header",
        ),
    ];
    for (raw, status, reason) in cases {
        let err = parse_datagram(raw.as_bytes()).unwrap_err();
        assert_eq!((err.status(), err.reason()), (*status, *reason), "{raw:?}");
    }
    assert_eq!(
        parse_datagram(b"OPTIONS sip:a@b SIP/2.0\r\nX: \xff\r\n\r\n")
            .unwrap_err()
            .reason(),
        "Invalid UTF-8 in headers"
    );
}

#[test]
fn validate_names_the_missing_or_wrong_header() {
    let base = "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\r\n";
    parse_datagram(base.as_bytes()).unwrap().validate().unwrap();
    let cases = [
        ("Call-ID: x\r\n", "", "Missing Call-ID header"),
        (
            "CSeq: 1 INVITE",
            "CSeq: 1 BYE",
            "CSeq method does not match",
        ),
        (
            "Max-Forwards: 70",
            "Max-Forwards: many",
            "Bad Max-Forwards header",
        ),
        (
            "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
            "Via: garbage",
            "Bad Via header",
        ),
        ("To: <sip:b@h>", "To: <sip:b@h", "Bad To header"),
    ];
    for (from, to, reason) in cases {
        let raw = base.replace(from, to);
        let msg = parse_datagram(raw.as_bytes()).unwrap();
        assert_eq!(msg.validate().unwrap_err().reason(), reason);
    }
}

#[test]
fn a_broken_stream_message_is_framed_only_when_its_end_is_sure() {
    use voxbin_sip::{frame_broken, BrokenFrame, Limits};
    let limits = Limits::default();
    let head = "OPTIONS sip:x SIP/2.0\r\nbroken line\r\nl: 3\r\n\r\n";
    let framed = format!("{head}abcNEXT");
    assert_eq!(
        frame_broken(framed.as_bytes(), &limits),
        Some(BrokenFrame {
            head: head.len(),
            total: head.len() + 3
        })
    );
    // No length: none (stream framing takes missing as 0).
    let bare = "SIP/2.0 200 OK\r\nbroken\r\n\r\n";
    assert_eq!(
        frame_broken(bare.as_bytes(), &limits).map(|f| f.total),
        Some(bare.len())
    );
    for unsure in [
        "NOT SIP AT ALL\r\n\r\n",
        "OPTIONS sip:x SIP/2.0\r\nContent-Length: many\r\n\r\n",
        "OPTIONS sip:x SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\n",
        "OPTIONS sip:x SIP/2.0\r\nContent-Length: 99999999\r\n\r\n",
        "OPTIONS sip:x SIP/2.0\r\nVia: x\r\n",
    ] {
        assert_eq!(frame_broken(unsure.as_bytes(), &limits), None, "{unsure:?}");
    }
}
