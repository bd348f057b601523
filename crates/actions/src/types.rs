//! The closed set of action types and how each of them is handled.
//!
//! The wire names of [`ActionType::ALL`] are those of the contract enum `FlowManagerActionType`;
//! a test checks the two sets are equal. Two more types, `block` and `empty`, are internal: only
//! services push them (through `push_actions`), a flow may not contain them.
//!
//! [`ActionType::handling`] is the one table of who runs what: control actions run inside the
//! flow engine, call actions are handed to the call service (media role), and the types whose
//! service does not exist yet are refused when a flow is created, with a 400 naming the action.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// How an action is handled when the cursor reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Handling {
    /// Run by the flow engine itself (jumps, variables, fetches, webhooks, stop).
    Control,
    /// Returned to the call service, which runs it on the call's media and reports back.
    Call,
    /// Not supported yet: refused at flow creation, with what is missing.
    Unsupported(&'static str),
    /// Internal to services (`block`, `empty`): refused in flows, allowed in pushed stacks.
    Internal,
}

macro_rules! action_types {
    (
        contract { $($(#[$doc:meta])* $variant:ident = $wire:literal => $how:expr,)* }
        internal { $($(#[$idoc:meta])* $ivariant:ident = $iwire:literal,)* }
    ) => {
        /// The type of a flow action, serialised as its contract wire name (e.g. `"talk"`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ActionType {
            $($(#[$doc])* $variant,)*
            $($(#[$idoc])* $ivariant,)*
        }

        impl ActionType {
            /// Every action type of the contract, in its order.
            pub const ALL: &'static [ActionType] = &[$(ActionType::$variant,)*];
            /// The internal types services push (never part of a stored flow).
            pub const INTERNAL: &'static [ActionType] = &[$(ActionType::$ivariant,)*];

            /// The wire name, as in the contract enum `FlowManagerActionType`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ActionType::$variant => $wire,)*
                    $(ActionType::$ivariant => $iwire,)*
                }
            }

            /// How this action is handled: the one table of control, call and refused types.
            pub fn handling(self) -> Handling {
                use Handling::*;
                match self {
                    $(ActionType::$variant => $how,)*
                    $(ActionType::$ivariant => Internal,)*
                }
            }

            /// The type for a wire name, if it is one.
            pub fn from_wire(name: &str) -> Option<ActionType> {
                match name {
                    $($wire => Some(ActionType::$variant),)*
                    $($iwire => Some(ActionType::$ivariant),)*
                    _ => None,
                }
            }
        }
    };
}

/// Why AI actions are refused for now.
const AI: &str = "AI assistants are not available in this version yet";
/// Why conference actions are refused for now.
const CONFERENCE: &str = "conferences are not available in this version yet";
/// Why queue actions are refused for now.
const QUEUE: &str = "queues are not available in this version yet";
/// Why messaging actions are refused for now.
const MESSAGING: &str =
    "messaging (SMS, email, conversations) is not available in this version yet";
/// Why transcription actions are refused for now.
const TRANSCRIBE: &str = "transcription is not available in this version yet";
/// Why answering machine detection is refused for now.
const AMD: &str = "answering machine detection is not available in this version yet";
/// Why confbridges are refused for now.
const CONFBRIDGE: &str = "confbridges are not available in this version yet";

action_types! {
contract {
    /// Talk to an AI assistant or team for the rest of the call.
    AiTalk = "ai_talk" => Unsupported(AI),
    /// Ask the AI service for a summary of a call, conference, transcribe or recording.
    AiSummary = "ai_summary" => Unsupported(AI),
    /// Answering machine detection.
    Amd = "amd" => Unsupported(AMD),
    /// Answer the call.
    Answer = "answer" => Call,
    /// Play a beep.
    Beep = "beep" => Call,
    /// Jump to the target matching a variable's value.
    Branch = "branch" => Control,
    /// Start independent outgoing calls with their own flow.
    Call = "call" => Call,
    /// Deprecated: jump to the false target unless the received digits match.
    ConditionCallDigits = "condition_call_digits" => Control,
    /// Deprecated: jump to the false target unless the call has the given status.
    ConditionCallStatus = "condition_call_status" => Control,
    /// Jump to the false target unless the current UTC date and time match.
    ConditionDatetime = "condition_datetime" => Control,
    /// Jump to the false target unless a variable compares as given.
    ConditionVariable = "condition_variable" => Control,
    /// Join the call to a confbridge (internal bridge).
    ConfbridgeJoin = "confbridge_join" => Unsupported(CONFBRIDGE),
    /// Join the call to a conference (pushes the conference's actions).
    ConferenceJoin = "conference_join" => Unsupported(CONFERENCE),
    /// Dial destinations and bridge them with this call.
    Connect = "connect" => Call,
    /// Send a message to a conversation.
    ConversationSend = "conversation_send" => Unsupported(MESSAGING),
    /// Collect DTMF digits into `voipbin.call.digits`.
    DigitsReceive = "digits_receive" => Call,
    /// Send DTMF digits.
    DigitsSend = "digits_send" => Call,
    /// Echo the caller's audio back.
    Echo = "echo" => Call,
    /// Send an email.
    EmailSend = "email_send" => Unsupported(MESSAGING),
    /// Start streaming the call's media to an external host.
    ExternalMediaStart = "external_media_start" => Call,
    /// Stop the external media stream.
    ExternalMediaStop = "external_media_stop" => Call,
    /// Fetch actions from a URL and run them as a pushed stack.
    Fetch = "fetch" => Control,
    /// Run another flow's actions as a pushed stack.
    FetchFlow = "fetch_flow" => Control,
    /// Jump to a target, at most `loop_count` times.
    Goto = "goto" => Control,
    /// Hang up the call.
    Hangup = "hangup" => Call,
    /// Send an SMS or other message.
    MessageSend = "message_send" => Unsupported(MESSAGING),
    /// Mute the call (VoIPBIN never executes it; here it is a media action).
    Mute = "mute" => Call,
    /// Play audio from URLs.
    Play = "play" => Call,
    /// Join the call to a queue (pushes the queue's wait actions).
    QueueJoin = "queue_join" => Unsupported(QUEUE),
    /// Start recording the call.
    RecordingStart = "recording_start" => Call,
    /// Stop recording the call.
    RecordingStop = "recording_stop" => Call,
    /// Pause for a duration.
    Sleep = "sleep" => Call,
    /// Stop the flow.
    Stop = "stop" => Control,
    /// Echo the RTP stream, DTMF included.
    StreamEcho = "stream_echo" => Call,
    /// Speak text or SSML through TTS.
    Talk = "talk" => Call,
    /// Start real-time transcription of the call.
    TranscribeStart = "transcribe_start" => Unsupported(TRANSCRIBE),
    /// Stop real-time transcription.
    TranscribeStop = "transcribe_stop" => Unsupported(TRANSCRIBE),
    /// Transcribe the call's recordings.
    TranscribeRecording = "transcribe_recording" => Unsupported(TRANSCRIBE),
    /// Set a flow variable.
    VariableSet = "variable_set" => Control,
    /// Send an HTTP request.
    WebhookSend = "webhook_send" => Control,
}
internal {
    /// Pause the flow until a service calls `continue` (pushed by services only).
    Block = "block",
    /// Do nothing and move on, following `next_id` (pushed by services only).
    Empty = "empty",
}
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown action type name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownActionType(pub String);

impl fmt::Display for UnknownActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown action type {:?}", self.0)
    }
}

impl std::error::Error for UnknownActionType {}

impl FromStr for ActionType {
    type Err = UnknownActionType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionType::from_wire(s).ok_or_else(|| UnknownActionType(s.to_string()))
    }
}

impl Serialize for ActionType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ActionType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn forty_types_with_unique_wire_names_that_round_trip() {
        assert_eq!(ActionType::ALL.len(), 40);
        let names: BTreeSet<_> = ActionType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names.len(), 40);
        for &t in ActionType::ALL {
            assert_eq!(t.as_str().parse::<ActionType>(), Ok(t));
            let v = serde_json::to_value(t).unwrap();
            assert_eq!(v, serde_json::Value::String(t.as_str().to_string()));
            assert_eq!(serde_json::from_value::<ActionType>(v).unwrap(), t);
        }
    }

    #[test]
    fn unknown_type_name_is_refused() {
        let e = "tlak".parse::<ActionType>().unwrap_err();
        assert_eq!(e.to_string(), r#"unknown action type "tlak""#);
        assert!(serde_json::from_value::<ActionType>(serde_json::json!("tlak")).is_err());
    }

    #[test]
    fn handling_table_splits_control_call_and_refused() {
        use ActionType as T;
        let call = [
            T::Answer,
            T::Beep,
            T::Talk,
            T::Play,
            T::DigitsReceive,
            T::DigitsSend,
            T::Echo,
            T::StreamEcho,
            T::Sleep,
            T::Hangup,
            T::RecordingStart,
            T::RecordingStop,
            T::ExternalMediaStart,
            T::ExternalMediaStop,
            T::Mute,
            T::Call,
            T::Connect,
        ];
        let refused = [
            T::AiTalk,
            T::AiSummary,
            T::ConferenceJoin,
            T::QueueJoin,
            T::MessageSend,
            T::EmailSend,
            T::ConversationSend,
            T::TranscribeStart,
            T::TranscribeStop,
            T::TranscribeRecording,
            T::Amd,
            T::ConfbridgeJoin,
        ];
        for &t in ActionType::ALL {
            match t.handling() {
                Handling::Call => assert!(call.contains(&t), "{t}"),
                Handling::Unsupported(why) => {
                    assert!(refused.contains(&t), "{t}");
                    assert!(why.contains("not available"), "{t}: {why}");
                }
                Handling::Control => assert!(!call.contains(&t) && !refused.contains(&t), "{t}"),
                Handling::Internal => panic!("{t} is a contract type"),
            }
        }
        for &t in ActionType::INTERNAL {
            assert_eq!(t.handling(), Handling::Internal);
            assert_eq!(t.as_str().parse::<ActionType>(), Ok(t));
            assert!(!ActionType::ALL.contains(&t));
        }
    }

    /// The wire names equal the contract's `FlowManagerActionType` enum.
    #[test]
    fn wire_names_match_the_contract_enum() {
        let path = std::env::var("VOXBIN_CONTRACT").unwrap_or_else(|_| {
            format!(
                "{}/../../../shared/contract/voipbin-openapi.yaml",
                env!("CARGO_MANIFEST_DIR")
            )
        });
        let Ok(text) = std::fs::read_to_string(&path) else {
            println!("skipped: contract not found at {path}");
            return;
        };
        let contract = contract_enum(&text, "FlowManagerActionType");
        assert_eq!(contract.len(), 40, "contract enum parsed from {path}");
        let ours: BTreeSet<String> = ActionType::ALL
            .iter()
            .map(|t| t.as_str().to_string())
            .collect();
        assert_eq!(ours, contract);
    }

    /// The `enum:` items of a component schema, by a line scan of the yaml.
    fn contract_enum(yaml: &str, schema: &str) -> BTreeSet<String> {
        let header = format!("    {schema}:");
        let mut lines = yaml.lines().skip_while(|l| *l != header).skip(1);
        let mut out = BTreeSet::new();
        let mut in_enum = false;
        for line in lines.by_ref() {
            if line.starts_with("    ") && !line.starts_with("     ") {
                break; // next schema
            }
            let t = line.trim();
            if t == "enum:" {
                in_enum = true;
            } else if in_enum {
                match t.strip_prefix("- ") {
                    Some(item) => {
                        out.insert(item.trim_matches('\'').to_string());
                    }
                    None => in_enum = false,
                }
            }
        }
        out
    }
}
