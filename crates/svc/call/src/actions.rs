//! What the call service does for each flow action the flow service hands it (no I/O): a
//! [`Plan`] of media commands, operations awaited by op id, timers and hangups.
//!
//! Every action type the flow engine marks as a call action is planned here; the few this
//! version cannot run yet get [`Plan::Unsupported`], which ends the activeflow with that
//! reason (never a silent skip).

use serde_json::{json, Value};

use crate::model::HangupReason;

/// How to run one action.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Send `verb` with `body` to the leg; the action is done when the node answers.
    Command {
        /// The media verb (`answer`, `record_start`, ...).
        verb: &'static str,
        /// Its body.
        body: Value,
    },
    /// Start a media operation; the action is done when its completion event arrives.
    Operation {
        /// The media verb (`talk`, `play`, `digits_collect`, ...).
        verb: &'static str,
        /// Its body (the op id is added when sent).
        body: Value,
    },
    /// Send `verb` (if any), then wait `ms`, then send `after` (if any); then done.
    Timed {
        /// Sent first.
        verb: Option<(&'static str, Value)>,
        /// How long.
        ms: u64,
        /// Sent when the time is up.
        after: Option<(&'static str, Value)>,
    },
    /// Hang the call up.
    Hangup(HangupReason),
    /// Dial the option's destinations and bridge the first to answer ([`crate::connect`]);
    /// the action is done when nobody answered.
    Connect,
    /// Place new outgoing calls running their own flow ([`crate::connect::call_action`]).
    Call,
    /// Not runnable in this version: the activeflow stops with this reason.
    Unsupported(String),
}

/// Seconds in an option as milliseconds (VoIPBIN options count seconds for durations of
/// recordings, milliseconds for the rest; each caller says which).
fn secs_ms(option: &Value, key: &str) -> Option<u64> {
    option.get(key).and_then(Value::as_u64).map(|s| s * 1000)
}

fn ms(option: &Value, key: &str) -> Option<u64> {
    option.get(key).and_then(Value::as_u64)
}

fn text<'a>(option: &'a Value, key: &str) -> &'a str {
    option.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The plan of `action` (`{id, type, option}` as the flow service hands it, options
/// already substituted).
pub fn plan(action: &Value) -> Plan {
    let kind = action.get("type").and_then(Value::as_str).unwrap_or("");
    let empty = json!({});
    let o = action.get("option").unwrap_or(&empty);
    match kind {
        "answer" => Plan::Command {
            verb: "answer",
            body: json!({}),
        },
        "talk" => {
            let mut body = json!({"text": text(o, "text")});
            if let Some(l) = o.get("language").and_then(Value::as_str) {
                body["language"] = json!(l);
            }
            if let Some(g) = o.get("gender").and_then(Value::as_str) {
                body["voice"] = json!(g);
            }
            Plan::Operation { verb: "talk", body }
        }
        "play" => {
            let urls = o.get("stream_urls").cloned().unwrap_or(json!([]));
            // the media node reads anything else as a path on its own disk
            let remote = |u: &Value| {
                u.as_str()
                    .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"))
            };
            match urls.as_array() {
                Some(list) if list.iter().all(remote) => Plan::Operation {
                    verb: "play",
                    body: json!({ "media_urls": urls }),
                },
                _ => Plan::Unsupported("play: stream_urls must be http or https URLs".into()),
            }
        }
        "beep" => Plan::Operation {
            verb: "beep",
            body: json!({}),
        },
        "digits_receive" => {
            let mut body = json!({"terminators": text(o, "key"), "stop_playback": true});
            if let Some(n) = o.get("length").and_then(Value::as_u64) {
                body["max_digits"] = json!(n);
            }
            if let Some(d) = ms(o, "duration") {
                body["total_timeout_ms"] = json!(d);
            }
            Plan::Operation {
                verb: "digits_collect",
                body,
            }
        }
        "digits_send" => {
            let mut body = json!({"digits": text(o, "digits")});
            if let Some(d) = ms(o, "duration") {
                body["duration_ms"] = json!(d);
            }
            Plan::Operation {
                verb: "digits_send",
                body,
            }
        }
        "sleep" => Plan::Timed {
            verb: None,
            ms: ms(o, "duration").unwrap_or(0),
            after: None,
        },
        "echo" | "stream_echo" => Plan::Timed {
            verb: Some(("echo", json!({"on": true}))),
            ms: ms(o, "duration").unwrap_or(180_000),
            after: Some(("echo", json!({"on": false}))),
        },
        "hangup" => Plan::Hangup(
            o.get("reason")
                .and_then(Value::as_str)
                .map(HangupReason::from_cause)
                .unwrap_or(HangupReason::Normal),
        ),
        "recording_start" => {
            let mut body = json!({"direction": "both", "stop_keys": text(o, "end_of_key"),
                                  "beep": o.get("beep_start").and_then(Value::as_bool).unwrap_or(false)});
            if let Some(s) = secs_ms(o, "end_of_silence").filter(|s| *s > 0) {
                body["stop_on_silence_ms"] = json!(s);
            }
            if let Some(d) = secs_ms(o, "duration").filter(|d| *d > 0) {
                body["max_duration_ms"] = json!(d);
            }
            Plan::Command {
                verb: "record_start",
                body,
            }
        }
        "recording_stop" => Plan::Command {
            verb: "record_stop",
            body: json!({}),
        },
        "mute" => Plan::Command {
            verb: "mute",
            body: json!({"direction": match text(o, "direction") { "" => "both", d => d }}),
        },
        "external_media_start" => external_media_start(o),
        "connect" => Plan::Connect,
        "call" => Plan::Call,
        "external_media_stop" => Plan::Command {
            verb: "external_media_stop",
            body: json!({}),
        },
        other => Plan::Unsupported(format!(
            "the call service cannot run the action type {other:?} in this version"
        )),
    }
}

/// `external_media_start`: the media node speaks audiosocket over TCP (8 kHz slin) as a
/// client, so other encapsulations, transports or formats stop the flow rather than send
/// audiosocket to a peer that expects something else.
fn external_media_start(o: &Value) -> Plan {
    let wanted = [
        ("encapsulation", "audiosocket", "rtp"),
        ("transport", "tcp", "udp"),
        ("connection_type", "client", "client"),
        ("format", "slin", "ulaw"),
    ];
    for (key, runs, default) in wanted {
        let v = match text(o, key) {
            "" => default,
            v => v,
        };
        if v != runs {
            return Plan::Unsupported(format!(
                "external_media_start with {key} {v:?} is not supported in this version: \
                 set encapsulation audiosocket, transport tcp, connection_type client, format slin"
            ));
        }
    }
    Plan::Command {
        verb: "external_media_start",
        body: json!({"address": text(o, "external_host")}),
    }
}

/// The flow variables a finished operation reports (`digits_collected` -> the digits).
pub fn result_variables(event_type: &str, data: &Value) -> Vec<(String, String)> {
    match event_type {
        "digits_collected" => vec![(
            "voipbin.call.digits".to_owned(),
            text(data, "digits").to_owned(),
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn act(kind: &str, option: Value) -> Value {
        json!({"id": "0190a000-0000-7000-8000-000000000001", "type": kind, "option": option})
    }

    #[test]
    fn media_actions_become_commands_and_operations() {
        assert_eq!(
            plan(&act("answer", json!({}))),
            Plan::Command {
                verb: "answer",
                body: json!({})
            }
        );
        let Plan::Operation { verb, body } =
            plan(&act("talk", json!({"text": "hello", "language": "en-GB"})))
        else {
            panic!("talk is an operation")
        };
        assert_eq!(
            (verb, body["text"].as_str(), body["language"].as_str()),
            ("talk", Some("hello"), Some("en-GB"))
        );
        let Plan::Operation { verb, body } = plan(&act(
            "digits_receive",
            json!({"length": 3, "key": "#", "duration": 5000}),
        )) else {
            panic!("digits_receive is an operation")
        };
        assert_eq!(verb, "digits_collect");
        assert_eq!(body["max_digits"], 3);
        assert_eq!(body["terminators"], "#");
        assert_eq!(body["total_timeout_ms"], 5000);
        let Plan::Operation { body, .. } =
            plan(&act("play", json!({"stream_urls": ["https://x/a.wav"]})))
        else {
            panic!("play is an operation")
        };
        assert_eq!(body["media_urls"][0], "https://x/a.wav");
        for bad in [
            json!(["/var/lib/voxbin/recordings/x.wav"]),
            json!("https://x/a.wav"),
        ] {
            assert!(
                matches!(
                    plan(&act("play", json!({"stream_urls": bad}))),
                    Plan::Unsupported(_)
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn recordings_count_seconds_and_sleep_milliseconds() {
        let Plan::Command { verb, body } = plan(&act(
            "recording_start",
            json!({"format": "wav", "end_of_silence": 3, "end_of_key": "#", "duration": 60}),
        )) else {
            panic!("recording_start is a command")
        };
        assert_eq!(verb, "record_start");
        assert_eq!(body["stop_on_silence_ms"], 3000);
        assert_eq!(body["max_duration_ms"], 60000);
        assert_eq!(body["stop_keys"], "#");
        assert_eq!(
            plan(&act("sleep", json!({"duration": 1500}))),
            Plan::Timed {
                verb: None,
                ms: 1500,
                after: None
            }
        );
    }

    #[test]
    fn hangup_reason_and_unsupported_types() {
        assert_eq!(
            plan(&act("hangup", json!({"reason": "busy"}))),
            Plan::Hangup(HangupReason::Busy)
        );
        assert_eq!(
            plan(&act("hangup", json!({}))),
            Plan::Hangup(HangupReason::Normal)
        );
        assert_eq!(plan(&act("connect", json!({}))), Plan::Connect);
        assert_eq!(plan(&act("call", json!({}))), Plan::Call);
        let Plan::Unsupported(why) = plan(&act("queue_join", json!({}))) else {
            panic!("queue_join is not runnable yet")
        };
        assert!(why.contains("queue_join"), "{why}");
    }

    #[test]
    fn external_media_runs_as_audiosocket_over_tcp_only() {
        let audiosocket = json!({"external_host": "10.0.0.9:9000", "encapsulation": "audiosocket",
                                 "transport": "tcp", "format": "slin"});
        assert_eq!(
            plan(&act("external_media_start", audiosocket)),
            Plan::Command {
                verb: "external_media_start",
                body: json!({"address": "10.0.0.9:9000"})
            }
        );
        // the contract's defaults (rtp over udp, ulaw) are refused, naming what is wrong
        let Plan::Unsupported(why) = plan(&act(
            "external_media_start",
            json!({"external_host": "10.0.0.9:9000"}),
        )) else {
            panic!("rtp external media is not runnable")
        };
        assert!(why.contains("encapsulation \"rtp\""), "{why}");
    }

    #[test]
    fn collected_digits_become_the_call_digits_variable() {
        let vars = result_variables("digits_collected", &json!({"digits": "42"}));
        assert_eq!(
            vars,
            vec![("voipbin.call.digits".to_owned(), "42".to_owned())]
        );
        assert!(result_variables("playback_finished", &json!({})).is_empty());
    }
}
