//! Property tests: every generated message survives serialise -> parse unchanged, and no input
//! (random bytes, or a valid message with bytes flipped or cut) makes the parser or the typed
//! header accessors panic.

use bytes::Bytes;
use proptest::prelude::*;
use voxbin_sip::{
    parse_datagram, parse_stream, Header, HeaderName, Headers, Host, Message, Method, NameAddr,
    Param, Params, Request, Response, Scheme, Uri, Via,
};

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9._~+-]{0,7}"
}

fn params() -> impl Strategy<Value = Params> {
    prop::collection::vec((token(), prop::option::of(token())), 0..3).prop_map(|v| {
        Params(
            v.into_iter()
                .map(|(name, value)| Param { name, value })
                .collect(),
        )
    })
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z]{2,5}){0,2}".prop_map(Host::Domain),
        any::<[u8; 4]>().prop_map(|b| Host::V4(b.into())),
        any::<[u16; 8]>().prop_map(|s| Host::V6(s.into())),
    ]
}

fn uri() -> impl Strategy<Value = Uri> {
    let sip = (
        prop_oneof![Just(Scheme::Sip), Just(Scheme::Sips)],
        prop::option::of("[a-z0-9+][a-z0-9._+-]{0,10}"),
        prop::option::of("[a-z0-9]{1,6}"),
        host(),
        prop::option::of(any::<u16>()),
        params(),
        prop::collection::vec((token(), "[a-z0-9%]{0,6}"), 0..2),
    )
        .prop_map(
            |(scheme, user, password, host, port, params, headers)| Uri {
                scheme,
                password: password.filter(|_| user.is_some()),
                user,
                host,
                port,
                params,
                headers,
            },
        );
    let tel = ("\\+?[0-9][0-9-]{0,12}", params()).prop_map(|(number, params)| Uri {
        scheme: Scheme::Tel,
        user: Some(number),
        password: None,
        host: Host::Domain(String::new()),
        port: None,
        params,
        headers: Vec::new(),
    });
    prop_oneof![4 => sip, 1 => tel]
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (
        prop::option::of("[a-zA-Z0-9 ,;:<>@.]{0,12}"),
        uri(),
        params(),
    )
        .prop_map(|(display, uri, params)| NameAddr {
            display,
            uri,
            params,
        })
}

fn via() -> impl Strategy<Value = Via> {
    (
        prop_oneof![
            Just("UDP"),
            Just("TCP"),
            Just("TLS"),
            Just("WS"),
            Just("WSS")
        ],
        host(),
        prop::option::of(any::<u16>()),
        token(),
        params(),
    )
        .prop_map(|(t, host, port, branch, extra)| {
            let mut v = Via::new(t, host, port, &format!("z9hG4bK{branch}"));
            v.params.0.extend(extra.0);
            v
        })
}

/// Printable text: no control characters, no leading or trailing whitespace.
fn text() -> impl Strategy<Value = String> {
    "([!-~\u{a0}-\u{2ff}]([ !-~\u{a0}-\u{2ff}]{0,20}[!-~\u{a0}-\u{2ff}])?)?"
}

fn header() -> impl Strategy<Value = Header> {
    prop_oneof![
        via().prop_map(|v| Header {
            name: HeaderName::Via,
            value: v.to_string().into()
        }),
        name_addr().prop_map(|a| Header {
            name: HeaderName::From,
            value: a.to_string().into()
        }),
        name_addr().prop_map(|a| Header {
            name: HeaderName::To,
            value: a.to_string().into()
        }),
        name_addr().prop_map(|a| Header {
            name: HeaderName::Contact,
            value: a.to_string().into()
        }),
        name_addr().prop_map(|a| Header {
            name: HeaderName::Route,
            value: a.to_string().into()
        }),
        name_addr().prop_map(|a| Header {
            name: HeaderName::RecordRoute,
            value: a.to_string().into()
        }),
        "[a-zA-Z0-9@.-]{1,20}".prop_map(|v| Header {
            name: HeaderName::CallId,
            value: v.into()
        }),
        (any::<u32>(), token()).prop_map(|(n, m)| Header {
            name: HeaderName::CSeq,
            value: format!("{n} {m}").into(),
        }),
        any::<u8>().prop_map(|n| Header {
            name: HeaderName::MaxForwards,
            value: n.to_string().into()
        }),
        text().prop_map(|v| Header {
            name: HeaderName::Subject,
            value: v.into()
        }),
        text().prop_map(|v| Header {
            name: HeaderName::Allow,
            value: v.into()
        }),
        ("X-[a-zA-Z0-9]{1,8}", text()).prop_map(|(n, v)| Header {
            name: HeaderName::Other(n),
            value: v.into(),
        }),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Ack),
        Just(Method::Bye),
        Just(Method::Cancel),
        Just(Method::Register),
        Just(Method::Options),
        Just(Method::Refer),
        "[A-Z]{3,9}".prop_map(|m| Method::parse(&m).expect("token")),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    let headers = || prop::collection::vec(header(), 0..12).prop_map(Headers);
    let body = || prop::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from);
    let request = (method(), uri(), headers(), body()).prop_map(|(method, uri, headers, body)| {
        Message::Request(Request {
            method,
            uri,
            headers,
            body,
        })
    });
    let response = (100u16..700, "([!-~]([ !-~]{0,20})?)?", headers(), body()).prop_map(
        |(status, reason, headers, body)| {
            Message::Response(Response {
                status,
                reason,
                headers,
                body,
            })
        },
    );
    prop_oneof![request, response]
}

/// Calls every typed accessor; only the absence of panics matters here.
fn touch_everything(msg: &Message) {
    let h = msg.headers();
    let _ = (h.vias(), h.from_hdr(), h.to_hdr(), h.call_id(), h.cseq());
    let _ = (
        h.contacts(),
        h.routes(),
        h.record_routes(),
        h.max_forwards(),
        h.expires(),
    );
    let _ = msg.validate();
    let _ = msg.to_bytes();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn serialise_then_parse_gives_the_same_message(msg in message()) {
        let bytes = msg.to_bytes();
        let parsed = parse_datagram(&bytes).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&bytes))))?;
        prop_assert_eq!(&parsed, &msg);
        match parse_stream(&bytes) {
            Ok(voxbin_sip::Parsed::Message { msg: streamed, consumed }) => {
                prop_assert_eq!(consumed, bytes.len());
                prop_assert_eq!(streamed, msg);
            }
            other => prop_assert!(false, "stream parse gave {:?}", other),
        }
    }

    #[test]
    fn typed_values_round_trip(u in uri(), a in name_addr(), v in via()) {
        prop_assert_eq!(Uri::parse(&u.to_string()).unwrap(), u);
        prop_assert_eq!(NameAddr::parse(&a.to_string()).unwrap(), a);
        prop_assert_eq!(Via::parse(&v.to_string()).unwrap(), v);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(msg) = parse_datagram(&bytes) {
            touch_everything(&msg);
        }
        let _ = parse_stream(&bytes);
    }

    #[test]
    fn damaged_messages_never_panic(
        msg in message(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = msg.to_bytes();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let end = cut.index(bytes.len() + 1);
        for slice in [&bytes[..], &bytes[..end]] {
            if let Ok(m) = parse_datagram(slice) {
                touch_everything(&m);
            }
            if let Ok(voxbin_sip::Parsed::Message { msg, .. }) = parse_stream(slice) {
                touch_everything(&msg);
            }
        }
    }
}
