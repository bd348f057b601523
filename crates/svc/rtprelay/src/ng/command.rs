//! ng commands onto the relay's [`Control`]: ping, offer, answer, delete, query, list.

use super::bencode::{decode, dict, Value};
use crate::control::{Control, Flags};
use crate::session::{LegInfo, SessionInfo};

fn error(reason: impl Into<String>) -> Value {
    dict([
        ("result", Value::str("error")),
        ("error-reason", Value::Bytes(reason.into().into_bytes())),
    ])
}

fn ok(extra: Vec<(&str, Value)>) -> Value {
    let mut entries = vec![(b"result".to_vec(), Value::str("ok"))];
    entries.extend(extra.into_iter().map(|(k, v)| (k.as_bytes().to_vec(), v)));
    Value::Dict(entries)
}

/// Answers one ng datagram; `None` when it has no cookie to answer to.
pub fn handle_datagram(control: &Control, datagram: &[u8]) -> Option<Vec<u8>> {
    let space = datagram.iter().position(|&b| b == b' ')?;
    let (cookie, body) = (&datagram[..space], &datagram[space + 1..]);
    if cookie.is_empty() {
        return None;
    }
    let reply = match decode(body) {
        Ok(msg @ Value::Dict(_)) => handle(control, &msg),
        Ok(_) => error("message is not a dictionary"),
        Err(e) => error(e.to_string()),
    };
    let mut out = Vec::with_capacity(cookie.len() + 64);
    out.extend_from_slice(cookie);
    out.push(b' ');
    reply.encode_into(&mut out);
    Some(out)
}

fn flags(msg: &Value) -> Flags {
    let list = msg.get_strs("flags");
    let replace = msg.get_strs("replace");
    let has = |l: &[&str], w: &str| l.iter().any(|f| f.eq_ignore_ascii_case(w));
    Flags {
        replace_origin: has(&replace, "origin") || has(&list, "replace-origin"),
        keep_ice: matches!(msg.get_str("ICE"), Some(i) if i.eq_ignore_ascii_case("force") || i.eq_ignore_ascii_case("default")),
    }
}

/// Answers one decoded ng command.
pub fn handle(control: &Control, msg: &Value) -> Value {
    let Some(command) = msg.get_str("command") else {
        return error("no command");
    };
    let call_id = msg.get_str("call-id").unwrap_or("");
    let from_tag = msg.get_str("from-tag").unwrap_or("");
    let need = |k: &str| msg.get_str(k).filter(|v| !v.is_empty());
    match command {
        "ping" => dict([("result", Value::str("pong"))]),
        "offer" | "answer" => {
            let (Some(sdp), Some(_), Some(_)) = (need("sdp"), need("call-id"), need("from-tag"))
            else {
                return error("offer and answer need sdp, call-id and from-tag");
            };
            let r = if command == "offer" {
                control.offer(call_id, from_tag, sdp, flags(msg))
            } else {
                let Some(to_tag) = need("to-tag") else {
                    return error("answer needs to-tag");
                };
                control.answer(call_id, from_tag, to_tag, sdp, flags(msg))
            };
            match r {
                Ok(sdp) => ok(vec![("sdp", Value::str(&sdp))]),
                Err(e) => error(e.message),
            }
        }
        "delete" => match need("call-id").map(|c| control.delete(c)) {
            None => error("delete needs call-id"),
            Some(Ok(s)) => ok(vec![("totals", totals(&s))]),
            Some(Err(e)) => error(e.message),
        },
        "query" => match need("call-id").map(|c| control.query(c)) {
            None => error("query needs call-id"),
            Some(Ok(s)) => query_reply(&s),
            Some(Err(e)) => error(e.message),
        },
        "list" => {
            let limit = match msg.get("limit") {
                Some(Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
                Some(v) => v.as_str().and_then(|s| s.parse().ok()).unwrap_or(32),
                None => 32,
            };
            let calls = control
                .call_ids()
                .into_iter()
                .take(limit)
                .map(|c| Value::Bytes(c.into_bytes()))
                .collect();
            ok(vec![("calls", Value::List(calls))])
        }
        other => error(format!("Unrecognized command {other:?}")),
    }
}

fn counters(packets: u64, bytes: u64, errors: u64) -> Value {
    let int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    dict([
        ("packets", int(packets)),
        ("bytes", int(bytes)),
        ("errors", int(errors)),
    ])
}

fn totals(s: &SessionInfo) -> Value {
    let (mut p, mut b, mut e) = (0, 0, 0);
    for st in &s.streams {
        for leg in [&st.a, &st.b] {
            p += leg.packets;
            b += leg.bytes;
            e += leg.dropped;
        }
    }
    dict([("RTP", counters(p, b, e))])
}

fn leg(tag: &str, legs: Vec<&LegInfo>) -> Value {
    let medias = legs
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let (address, port) = match l
                .remote
                .as_deref()
                .and_then(|r| r.parse::<std::net::SocketAddr>().ok())
            {
                Some(a) => (a.ip().to_string(), i64::from(a.port())),
                None => (String::new(), 0),
            };
            dict([
                ("index", Value::Int(i as i64 + 1)),
                (
                    "streams",
                    Value::List(vec![dict([
                        ("local port", Value::Int(i64::from(l.local_port))),
                        (
                            "endpoint",
                            dict([
                                ("address", Value::str(&address)),
                                ("port", Value::Int(port)),
                            ]),
                        ),
                        ("stats", counters(l.packets, l.bytes, l.dropped)),
                    ])]),
                ),
            ])
        })
        .collect();
    dict([("tag", Value::str(tag)), ("medias", Value::List(medias))])
}

fn query_reply(s: &SessionInfo) -> Value {
    let mut tags = vec![(
        s.from_tag.as_bytes().to_vec(),
        leg(&s.from_tag, s.streams.iter().map(|st| &st.a).collect()),
    )];
    if let Some(t) = &s.to_tag {
        tags.push((
            t.as_bytes().to_vec(),
            leg(t, s.streams.iter().map(|st| &st.b).collect()),
        ));
    }
    ok(vec![
        ("created", Value::Int(s.age_secs as i64)),
        ("totals", totals(s)),
        ("tags", Value::Dict(tags)),
    ])
}
