//! What a client says on the websocket and what it is answered, without the socket: the
//! connection shell feeds each text message to [`parse`] and applies the [`Command`].
//!
//! Client messages: `{"type":"subscribe","topics":[..]}`, `{"type":"unsubscribe","topics":[..]}`
//! and `{"type":"ping"}`. Answers: `{"type":"subscribed","topics":[..]}`,
//! `{"type":"unsubscribed","topics":[..]}`, `{"type":"pong"}`, and for anything refused
//! `{"type":"error","reason":..,"message":..}` (with `"topic"` when it is about one topic).

use super::topic::Topic;
use crate::auth::Identity;
use serde_json::{json, Value};
use voxbin_core::Error;

/// Topics one message may name.
const MAX_TOPICS_PER_MESSAGE: usize = 100;

/// What a client message asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Add the accepted topics; `refused` are error answers for the others.
    Subscribe {
        /// Topics the caller may have.
        accepted: Vec<Topic>,
        /// One error answer per refused topic.
        refused: Vec<Value>,
    },
    /// Remove topics; `refused` are error answers for unreadable ones.
    Unsubscribe {
        /// Topics to drop.
        topics: Vec<Topic>,
        /// One error answer per unreadable topic.
        refused: Vec<Value>,
    },
    /// Answer with a pong.
    Ping,
    /// Answer with this error.
    Invalid(Value),
}

/// Reads one client text message sent by `who`.
pub fn parse(text: &str, who: &Identity) -> Command {
    let Ok(message) = serde_json::from_str::<Value>(text) else {
        return Command::Invalid(error(None, &invalid("The message is not JSON.")));
    };
    let kind = message.get("type").and_then(Value::as_str).unwrap_or("");
    if kind == "ping" {
        return Command::Ping;
    }
    if kind != "subscribe" && kind != "unsubscribe" {
        return Command::Invalid(error(
            None,
            &invalid("type must be subscribe, unsubscribe or ping."),
        ));
    }
    let Some(texts) = message.get("topics").and_then(Value::as_array) else {
        return Command::Invalid(error(None, &invalid("topics must be a list of topics.")));
    };
    if texts.len() > MAX_TOPICS_PER_MESSAGE {
        return Command::Invalid(error(
            None,
            &invalid(&format!(
                "A message may name at most {MAX_TOPICS_PER_MESSAGE} topics."
            )),
        ));
    }
    let mut topics = Vec::new();
    let mut refused = Vec::new();
    for text in texts {
        let Some(text) = text.as_str() else {
            refused.push(error(None, &invalid("Each topic must be a string.")));
            continue;
        };
        let checked = Topic::parse(text).and_then(|topic| match kind {
            "subscribe" => topic.authorize(who).map(|()| topic),
            _ => Ok(topic),
        });
        match checked {
            Ok(topic) => topics.push(topic),
            Err(e) => refused.push(error(Some(text), &e)),
        }
    }
    match kind {
        "subscribe" => Command::Subscribe {
            accepted: topics,
            refused,
        },
        _ => Command::Unsubscribe { topics, refused },
    }
}

/// The answer to a done subscribe (`subscribed`) or unsubscribe (`unsubscribed`).
pub fn done(kind: &str, topics: &[Topic]) -> Value {
    let topics: Vec<String> = topics.iter().map(Topic::to_string).collect();
    json!({"type": kind, "topics": topics})
}

/// An error answer, naming the topic it is about if any.
pub fn error(topic: Option<&str>, e: &Error) -> Value {
    let mut answer = json!({"type": "error", "reason": e.reason, "message": e.message});
    if let Some(topic) = topic {
        answer["topic"] = Value::String(topic.to_owned());
    }
    answer
}

fn invalid(message: &str) -> Error {
    Error::invalid_argument("INVALID_MESSAGE", message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Permission, Via};
    use uuid::Uuid;

    const C: Uuid = Uuid::from_u128(0xc1);
    const D: Uuid = Uuid::from_u128(0xd1);

    fn admin() -> Identity {
        Identity {
            customer_id: C,
            permission: Permission::CUSTOMER_ADMIN,
            via: Via::AccessKey { id: C },
        }
    }

    #[test]
    fn subscribe_accepts_own_topics_and_refuses_others_by_name() {
        let mine = format!("customer_id:{C}:call:*");
        let theirs = format!("customer_id:{D}:call:*");
        let msg = json!({"type": "subscribe", "topics": [mine, theirs, "junk", 5]});
        let Command::Subscribe { accepted, refused } = parse(&msg.to_string(), &admin()) else {
            panic!("not a subscribe");
        };
        assert_eq!(accepted, [Topic::parse(&mine).unwrap()]);
        let reasons: Vec<&str> = refused
            .iter()
            .map(|r| r["reason"].as_str().unwrap())
            .collect();
        assert_eq!(
            reasons,
            ["PERMISSION_DENIED", "INVALID_TOPIC", "INVALID_MESSAGE"]
        );
        assert_eq!(refused[0]["topic"], theirs);
        assert_eq!(refused[0]["type"], "error");
    }

    #[test]
    fn unsubscribe_ping_and_garbage() {
        let t = format!("customer_id:{D}:call:*");
        let msg = json!({"type": "unsubscribe", "topics": [t]}).to_string();
        assert!(matches!(
            parse(&msg, &admin()),
            Command::Unsubscribe { topics, refused } if topics.len() == 1 && refused.is_empty()
        ));
        assert_eq!(parse(r#"{"type":"ping"}"#, &admin()), Command::Ping);
        for bad in ["nope", r#"{"type":"hello"}"#, r#"{"type":"subscribe"}"#] {
            let Command::Invalid(answer) = parse(bad, &admin()) else {
                panic!("{bad} accepted");
            };
            assert_eq!(answer["reason"], "INVALID_MESSAGE", "{bad}");
        }
        let many: Vec<String> = (0..=MAX_TOPICS_PER_MESSAGE).map(|_| t.clone()).collect();
        let msg = json!({"type": "subscribe", "topics": many}).to_string();
        assert!(matches!(parse(&msg, &admin()), Command::Invalid(_)));
    }
}
