//! Typed options, one struct per action type, after the contract's
//! `FlowManagerActionOption<Type>` schemas (and, for the six types the contract leaves without a
//! schema, VoIPBIN's `bin-flow-manager/models/action/option.go`).
//!
//! Every struct refuses unknown keys. Fields the contract or the reference documents with a
//! default are filled in, so the canonical option says what will run; other optional fields
//! stay absent. `null`, `""` and the nil UUID are read as "absent" because Go clients send their
//! zero values. Resource ids ([`IdRef`]) may be a `${variable}`: VoIPBIN substitutes variables
//! into option strings before it reads them, so `"reference_id": "${voipbin.call.id}"` works.

use crate::action::Action;
use crate::de;
use crate::types::ActionType;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use uuid::Uuid;

/// Most times one `goto` may jump (its `loop_count`).
pub const MAX_LOOP_COUNT: u32 = 100;
/// Most DTMF keys one `digits_send` may send (the media node sends at most 64 in one go).
pub const MAX_DIGITS_SEND: usize = 64;
/// Default variable a `branch` reads.
pub const BRANCH_DEFAULT_VARIABLE: &str = "voipbin.call.digits";

/// A resource id in an option: a UUID, or a `${variable}` resolved when the action runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdRef {
    /// A literal id.
    Id(Uuid),
    /// A string holding a `${variable}` reference, substituted at run time.
    Var(String),
}

impl IdRef {
    /// Parses a UUID or a string containing a `${…}` reference.
    pub fn parse(s: &str) -> Result<IdRef, String> {
        if let Ok(id) = Uuid::parse_str(s) {
            return Ok(IdRef::Id(id));
        }
        match s.find("${") {
            Some(start) if s[start..].contains('}') => Ok(IdRef::Var(s.to_string())),
            _ => Err(format!("expected a UUID or a ${{variable}}, got {s:?}")),
        }
    }

    /// The literal id, if this is one.
    pub fn id(&self) -> Option<Uuid> {
        match self {
            IdRef::Id(id) => Some(*id),
            IdRef::Var(_) => None,
        }
    }

    pub(crate) fn filter_nil(self) -> Option<IdRef> {
        match self {
            IdRef::Id(id) if id.is_nil() => None,
            other => Some(other),
        }
    }
}

impl fmt::Display for IdRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdRef::Id(id) => write!(f, "{id}"),
            IdRef::Var(v) => f.write_str(v),
        }
    }
}

impl Serialize for IdRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IdRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::req_ref(d)
    }
}

/// A field-level problem in an option: the field path inside the option and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// Path inside the option (`""` is the option itself), e.g. `destinations[0].type`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn fail<T>(field: &str, message: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError {
        field: field.to_string(),
        message: message.into(),
    })
}

/// Checks a decoded option beyond its types, and fills documented defaults.
trait Check {
    fn check(&mut self) -> Result<(), FieldError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Shared value types

/// A source or destination address (`CommonAddress`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Address type; absent for `""`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_enum"
    )]
    pub r#type: Option<AddressType>,
    /// The endpoint: phone number, UUID, email or SIP URI depending on the type.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub target: Option<String>,
    /// The target's display name.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub target_name: Option<String>,
    /// A label for the address.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub name: Option<String>,
    /// Notes about the address.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub detail: Option<String>,
}

/// The kinds of address in `CommonAddress.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressType {
    /// An agent (target is its UUID).
    Agent,
    /// A conference (target is its UUID).
    Conference,
    /// An email address.
    Email,
    /// An extension (target is its UUID).
    Extension,
    /// A messaging line.
    Line,
    /// A SIP URI.
    Sip,
    /// A phone number (E.164).
    Tel,
    /// A web session.
    WebSession,
}

fn check_destinations(field: &str, list: &[Address]) -> Result<(), FieldError> {
    if list.is_empty() {
        return fail(field, "must contain at least one destination");
    }
    Ok(())
}

/// Destinations a flow may dial (`call`, `connect`): phone numbers, SIP URIs, extensions.
fn check_dialable(field: &str, list: &[Address]) -> Result<(), FieldError> {
    check_destinations(field, list)?;
    for (i, a) in list.iter().enumerate() {
        match a.r#type {
            Some(AddressType::Tel | AddressType::Sip | AddressType::Extension) => {}
            other => {
                let name = serde_json::to_value(other).unwrap_or_default();
                return fail(
                    &format!("{field}[{i}].type"),
                    format!(
                        "{name} is not dialled from a flow in this version (tel, sip or extension)"
                    ),
                );
            }
        }
    }
    Ok(())
}

/// Comparison operators of the `condition_*` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    /// `==`
    #[serde(rename = "==")]
    Equal,
    /// `!=`
    #[serde(rename = "!=")]
    NotEqual,
    /// `>`
    #[serde(rename = ">")]
    Greater,
    /// `>=`
    #[serde(rename = ">=")]
    GreaterEqual,
    /// `<`
    #[serde(rename = "<")]
    Less,
    /// `<=`
    #[serde(rename = "<=")]
    LessEqual,
}

/// `yes` / `no` / `auto` caller-id anonymity of `call` and `connect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Anonymous {
    /// Always send an anonymous caller id.
    Yes,
    /// Never anonymise.
    No,
    /// Inherit from the incoming call's Privacy header (the default).
    #[default]
    Auto,
}

/// HTTP methods of `webhook_send` and `fetch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpMethod {
    /// POST
    #[serde(rename = "POST")]
    Post,
    /// GET
    #[serde(rename = "GET")]
    Get,
    /// PUT
    #[serde(rename = "PUT")]
    Put,
    /// DELETE
    #[serde(rename = "DELETE")]
    Delete,
}

impl HttpMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Post => "POST",
            HttpMethod::Get => "GET",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// Speech-to-text providers (`TranscribeManagerTranscribeProvider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SttProvider {
    /// Google Cloud.
    Gcp,
    /// AWS.
    Aws,
}

/// Audio directions to transcribe (`TranscribeManagerTranscribeDirection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranscribeDirection {
    /// Both directions (the default).
    #[default]
    Both,
    /// Incoming audio.
    In,
    /// Outgoing audio.
    Out,
}

const DTMF_KEYS: &str = "0123456789ABCD#*";

fn check_dtmf(field: &str, s: &str) -> Result<(), FieldError> {
    match s.chars().find(|c| !DTMF_KEYS.contains(*c)) {
        Some(c) => fail(
            field,
            format!("invalid DTMF key {c:?}; allowed: 0-9, A-D, #, *"),
        ),
        None => Ok(()),
    }
}

fn check_not_empty(field: &str, s: &str) -> Result<(), FieldError> {
    if s.trim().is_empty() {
        return fail(field, "must not be empty");
    }
    Ok(())
}

/// Refuses an option the action would accept but this version would not honour, naming the
/// action, so a flow fails when it is created rather than doing something else when it runs.
fn not_honoured<T>(action: &str, field: &str, why: &str) -> Result<T, FieldError> {
    fail(
        field,
        format!("{action} with {field} is not supported in this version: {why}"),
    )
}

// ---------------------------------------------------------------------------------------------
// Options without fields

macro_rules! empty_options {
    ($($(#[$doc:meta])* $name:ident,)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {}
        impl Check for $name {}
    )*};
}

empty_options! {
    /// `answer` takes no options.
    OptionAnswer,
    /// `beep` takes no options.
    OptionBeep,
    /// `external_media_stop` takes no options.
    OptionExternalMediaStop,
    /// `mute` takes no options (VoIPBIN's option registry maps it to an empty struct).
    OptionMute,
    /// `recording_stop` takes no options.
    OptionRecordingStop,
    /// `stop` takes no options (VoIPBIN's option registry maps it to an empty struct).
    OptionStop,
    /// `transcribe_stop` takes no options.
    OptionTranscribeStop,
    /// `block` (internal) takes no options.
    OptionBlock,
    /// `empty` (internal) takes no options.
    OptionEmpty,
}

// ---------------------------------------------------------------------------------------------
// AI

/// Reference types of `ai_summary` (`AIManagerSummaryReferenceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SummaryReferenceType {
    /// A call.
    Call,
    /// A conference.
    Conference,
    /// A transcribe.
    Transcribe,
    /// A recording.
    Recording,
}

/// Options of `ai_summary`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionAiSummary {
    /// Flow to start when the summary is done.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_ref"
    )]
    pub on_end_flow_id: Option<IdRef>,
    /// What to summarise; absent for `""`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_enum"
    )]
    pub reference_type: Option<SummaryReferenceType>,
    /// Id of the resource to summarise.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_ref"
    )]
    pub reference_id: Option<IdRef>,
    /// BCP47 language of the summary.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub language: Option<String>,
}
impl Check for OptionAiSummary {}

/// Assistance kinds of `ai_talk` (`AIManagerAIcallAssistanceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssistanceType {
    /// An AI.
    Ai,
    /// A team of AIs.
    Team,
}

/// Options of `ai_talk`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionAiTalk {
    /// Deprecated: the AI to talk to (use `assistance_type` + `assistance_id`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_ref"
    )]
    pub ai_id: Option<IdRef>,
    /// Whether `assistance_id` is an AI or a team; absent for `""`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_enum"
    )]
    pub assistance_type: Option<AssistanceType>,
    /// The AI or team to talk to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_ref"
    )]
    pub assistance_id: Option<IdRef>,
    /// Longest session, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// BCP47 language (listed by the reference notes, not by the contract).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub language: Option<String>,
}
impl Check for OptionAiTalk {
    fn check(&mut self) -> Result<(), FieldError> {
        if self.ai_id.is_none() && self.assistance_id.is_none() {
            return fail("assistance_id", "missing required field (or ai_id)");
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Media actions

/// What `amd` does when a machine answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineHandle {
    /// Hang up.
    Hangup,
    /// Go on with the flow.
    Continue,
}

/// Options of `amd`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionAmd {
    /// What to do when a machine answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_handle: Option<MachineHandle>,
    /// If true the flow goes on while detection runs.
    #[serde(default, rename = "async")]
    pub r#async: bool,
}
impl Check for OptionAmd {}

/// Options of `confbridge_join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionConfbridgeJoin {
    /// The confbridge to join (required).
    #[serde(deserialize_with = "de::req_ref")]
    pub confbridge_id: IdRef,
}
impl Check for OptionConfbridgeJoin {}

/// Options of `digits_receive`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionDigitsReceive {
    /// How long to wait for digits, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// DTMF keys that end the collection (any of them); absent for `""`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub key: Option<String>,
    /// Stop after this many digits; absent or 0 means no limit (as VoIPBIN's code does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
}
impl Check for OptionDigitsReceive {
    fn check(&mut self) -> Result<(), FieldError> {
        if let Some(key) = &self.key {
            check_dtmf("key", key)?;
        }
        Ok(())
    }
}

/// Options of `digits_send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionDigitsSend {
    /// Keys to send (required): 1 to 100 of `0-9 A-D # *`.
    pub digits: String,
    /// Tone length per key, 100 to 1000 ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// Pause between keys, 0 to 5000 ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
}
impl Check for OptionDigitsSend {
    fn check(&mut self) -> Result<(), FieldError> {
        if self.digits.is_empty() {
            return fail("digits", "must not be empty");
        }
        if self.digits.chars().count() > MAX_DIGITS_SEND {
            return fail("digits", format!("at most {MAX_DIGITS_SEND} keys"));
        }
        check_dtmf("digits", &self.digits)?;
        if let Some(d) = self.duration {
            if !(100..=1000).contains(&d) {
                return fail("duration", format!("must be 100 to 1000 ms, got {d}"));
            }
        }
        if let Some(i) = self.interval {
            if i > 5000 {
                return fail("interval", format!("must be 0 to 5000 ms, got {i}"));
            }
            if i > 0 {
                return not_honoured(
                    "digits_send",
                    "interval",
                    "the keys are sent back to back; leave interval out or 0",
                );
            }
        }
        Ok(())
    }
}

/// Options of `echo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionEcho {
    /// How long to echo, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
}
impl Check for OptionEcho {}

/// Options of `stream_echo`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionStreamEcho {
    /// How long to echo, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
}
impl Check for OptionStreamEcho {}

/// Options of `sleep`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionSleep {
    /// How long to sleep, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
}
impl Check for OptionSleep {}

fn default_encapsulation() -> String {
    "rtp".into()
}
fn default_transport() -> String {
    "udp".into()
}
fn default_connection_type() -> String {
    "client".into()
}
fn default_format() -> String {
    "ulaw".into()
}
fn default_direction() -> String {
    "both".into()
}

/// Options of `external_media_start`; empty strings take the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionExternalMediaStart {
    /// Where to send the media, `host:port` (required).
    pub external_host: String,
    /// Encapsulation, default `rtp`.
    #[serde(default = "default_encapsulation")]
    pub encapsulation: String,
    /// Transport, default `udp`.
    #[serde(default = "default_transport")]
    pub transport: String,
    /// Connection type, default `client`.
    #[serde(default = "default_connection_type")]
    pub connection_type: String,
    /// Audio format, default `ulaw`.
    #[serde(default = "default_format")]
    pub format: String,
    /// Media direction, default `both`.
    #[serde(default = "default_direction")]
    pub direction: String,
    /// Extra data for the external endpoint.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub data: Option<String>,
    /// Transport-specific data (appended to the dial string for websocket).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub transport_data: Option<String>,
}
/// The one `external_media_start` this version runs: the media node connects out as an
/// audiosocket client over TCP and streams 8 kHz signed linear audio.
pub const EXTERNAL_MEDIA_RUNS: [(&str, &str); 4] = [
    ("encapsulation", "audiosocket"),
    ("transport", "tcp"),
    ("connection_type", "client"),
    ("format", "slin"),
];

/// Why an `external_media_start` whose `key` is `value` cannot run (the same words at flow
/// creation and, for flows stored before the check, when the call service meets it).
pub fn external_media_refusal(key: &str, value: &str) -> String {
    format!(
        "external_media_start with {key} {value:?} is not supported in this version: \
         set encapsulation audiosocket, transport tcp, connection_type client, format slin"
    )
}

impl Check for OptionExternalMediaStart {
    fn check(&mut self) -> Result<(), FieldError> {
        check_not_empty("external_host", &self.external_host)?;
        for (field, default) in [
            (
                &mut self.encapsulation,
                default_encapsulation as fn() -> String,
            ),
            (&mut self.transport, default_transport),
            (&mut self.connection_type, default_connection_type),
            (&mut self.format, default_format),
            (&mut self.direction, default_direction),
        ] {
            if field.is_empty() {
                *field = default();
            }
        }
        // The contract's defaults (rtp over udp, ulaw) are refused too: nothing here speaks them.
        for (key, runs) in EXTERNAL_MEDIA_RUNS {
            let value = match key {
                "encapsulation" => &self.encapsulation,
                "transport" => &self.transport,
                "connection_type" => &self.connection_type,
                _ => &self.format,
            };
            if value.as_str() != runs {
                return fail(key, external_media_refusal(key, value));
            }
        }
        if self.direction != "both" {
            return not_honoured(
                "external_media_start",
                "direction",
                "audiosocket streams both directions; set direction both",
            );
        }
        for (key, set) in [
            ("data", self.data.is_some()),
            ("transport_data", self.transport_data.is_some()),
        ] {
            if set {
                return not_honoured(
                    "external_media_start",
                    key,
                    "audiosocket carries no extra data; leave it out",
                );
            }
        }
        Ok(())
    }
}

/// Hangup reasons (`CallManagerCallHangupReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HangupReason {
    /// Normal clearing.
    Normal,
    /// Failure.
    Failed,
    /// Busy.
    Busy,
    /// Cancelled.
    Cancel,
    /// Timed out.
    Timeout,
    /// Not answered.
    Noanswer,
    /// Dial-out failure.
    Dialout,
    /// Answering machine detected.
    Amd,
}

/// Options of `hangup`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionHangup {
    /// Hangup reason; absent for `""`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_enum"
    )]
    pub reason: Option<HangupReason>,
    /// Hang up with this call's reason instead (overrides `reason`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_ref"
    )]
    pub reference_id: Option<IdRef>,
}
impl Check for OptionHangup {
    fn check(&mut self) -> Result<(), FieldError> {
        if self.reference_id.is_some() {
            return not_honoured(
                "hangup",
                "reference_id",
                "the call hangs up with its own reason; set reason instead",
            );
        }
        Ok(())
    }
}

/// Options of `play`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionPlay {
    /// Media URLs played in order (required, at least one).
    pub stream_urls: Vec<String>,
}
impl Check for OptionPlay {
    fn check(&mut self) -> Result<(), FieldError> {
        if self.stream_urls.is_empty() {
            return fail("stream_urls", "must contain at least one URL");
        }
        for (i, url) in self.stream_urls.iter().enumerate() {
            let field = format!("stream_urls[{i}]");
            check_not_empty(&field, url)?;
            // Anything else would be read as a path on the media node's disk.
            let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
            if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                return fail(
                    &field,
                    format!("play takes http:// or https:// URLs, got {url:?}"),
                );
            }
        }
        Ok(())
    }
}

/// Recording file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingFormat {
    /// WAV.
    Wav,
    /// MP3.
    Mp3,
    /// Ogg.
    Ogg,
}

/// Options of `recording_start`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionRecordingStart {
    /// File format (`wav`, `mp3`, `ogg`); absent for `""`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_enum"
    )]
    pub format: Option<RecordingFormat>,
    /// Stop after this many seconds of silence; 0 for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_of_silence: Option<u64>,
    /// DTMF that stops the recording: `none`, `any`, `*` or `#`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub end_of_key: Option<String>,
    /// Longest recording in seconds; 0 for no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// Play a beep when recording begins.
    #[serde(default)]
    pub beep_start: bool,
    /// Flow to start when the recording ends.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_ref"
    )]
    pub on_end_flow_id: Option<IdRef>,
}
impl Check for OptionRecordingStart {
    fn check(&mut self) -> Result<(), FieldError> {
        if let Some(key) = &self.end_of_key {
            if !["none", "any", "*", "#"].contains(&key.as_str()) {
                return fail(
                    "end_of_key",
                    format!("must be one of none, any, *, #; got {key:?}"),
                );
            }
            if key == "any" {
                return fail(
                    "end_of_key",
                    "recording_start with end_of_key \"any\" is not supported in this version: \
                     only * or # stop a recording; set one of them or none",
                );
            }
        }
        if matches!(
            self.format,
            Some(RecordingFormat::Mp3 | RecordingFormat::Ogg)
        ) {
            return not_honoured(
                "recording_start",
                "format",
                "recordings are wav only; set format wav or leave it out",
            );
        }
        if self.on_end_flow_id.is_some() {
            return not_honoured(
                "recording_start",
                "on_end_flow_id",
                "no flow is started when a recording ends; leave it out",
            );
        }
        Ok(())
    }
}

/// Voice genders of `talk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Male voice.
    Male,
    /// Female voice.
    Female,
    /// Neutral voice.
    Neutral,
}

/// Text-to-speech providers of `talk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TtsProvider {
    /// Google Cloud TTS.
    Gcp,
    /// AWS Polly.
    Aws,
}

/// What `talk` does when a digit arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigitsHandle {
    /// Stop talking and move to the next action.
    Next,
}

/// Options of `talk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionTalk {
    /// Plain text or SSML to speak (required).
    pub text: String,
    /// Voice gender; absent for `""`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_enum"
    )]
    pub gender: Option<Gender>,
    /// IETF locale, e.g. `en-US`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub language: Option<String>,
    /// TTS provider (reference notes; not in the contract); absent for `""`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_enum"
    )]
    pub provider: Option<TtsProvider>,
    /// Provider-specific voice (reference notes; not in the contract).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub voice_id: Option<String>,
    /// Digit handling; absent (`""`) means digits do not interrupt.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_enum"
    )]
    pub digits_handle: Option<DigitsHandle>,
    /// If true the flow goes on while talking.
    #[serde(default, rename = "async")]
    pub r#async: bool,
}
impl Check for OptionTalk {
    fn check(&mut self) -> Result<(), FieldError> {
        check_not_empty("text", &self.text)?;
        if self.r#async {
            return not_honoured(
                "talk",
                "async",
                "the flow waits until the text is spoken; leave async false",
            );
        }
        let unused = [
            (
                "digits_handle",
                self.digits_handle.is_some(),
                "digits do not interrupt speech; leave it out",
            ),
            (
                "provider",
                self.provider.is_some(),
                "speech comes from the media node's own engine; leave it out",
            ),
            (
                "voice_id",
                self.voice_id.is_some(),
                "speech comes from the media node's own engine; leave it out",
            ),
        ];
        for (field, set, why) in unused {
            if set {
                return not_honoured("talk", field, why);
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Flow control

/// Options of `branch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionBranch {
    /// Variable to read; default (and for `""`) `voipbin.call.digits`.
    #[serde(default = "branch_default_variable")]
    pub variable: String,
    /// Where to go when no value matches.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_target"
    )]
    pub default_target_id: Option<Uuid>,
    /// Value to action id.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "de::target_map"
    )]
    pub target_ids: BTreeMap<String, Uuid>,
}
fn branch_default_variable() -> String {
    BRANCH_DEFAULT_VARIABLE.into()
}
impl Check for OptionBranch {
    fn check(&mut self) -> Result<(), FieldError> {
        if self.variable.is_empty() {
            self.variable = branch_default_variable();
        }
        if self.target_ids.is_empty() && self.default_target_id.is_none() {
            return fail(
                "target_ids",
                "branch needs target_ids or a default_target_id",
            );
        }
        Ok(())
    }
}

/// Call statuses (`CallManagerCallStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    /// Dialing.
    Dialing,
    /// Ringing.
    Ringing,
    /// Answered.
    Progressing,
    /// Terminating.
    Terminating,
    /// Canceling.
    Canceling,
    /// Hung up.
    Hangup,
}

/// Options of the deprecated `condition_call_digits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionConditionCallDigits {
    /// Matches when at least this many digits arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Matches when any of these DTMF keys arrived.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub key: Option<String>,
    /// Where to go when it does not match (required).
    #[serde(deserialize_with = "de::target")]
    pub false_target_id: Uuid,
}
impl Check for OptionConditionCallDigits {
    fn check(&mut self) -> Result<(), FieldError> {
        if let Some(key) = &self.key {
            check_dtmf("key", key)?;
        }
        Ok(())
    }
}

/// Options of the deprecated `condition_call_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionConditionCallStatus {
    /// The status to match (required).
    pub status: CallStatus,
    /// Where to go when it does not match (required).
    #[serde(deserialize_with = "de::target")]
    pub false_target_id: Uuid,
}
impl Check for OptionConditionCallStatus {}

/// Options of `condition_datetime` (UTC). As in VoIPBIN, `month`/`day` ≤ 0 and
/// `hour`/`minute` < 0 match anything, and an empty `weekdays` matches every day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionConditionDatetime {
    /// Comparison operator (required).
    pub condition: Condition,
    /// Minute 0-59, or -1 for any.
    #[serde(default)]
    pub minute: i32,
    /// Hour 0-23, or -1 for any.
    #[serde(default)]
    pub hour: i32,
    /// Day of month 1-31, or 0/-1 for any.
    #[serde(default)]
    pub day: i32,
    /// Month 1-12, or 0/-1 for any.
    #[serde(default)]
    pub month: i32,
    /// Weekdays, Sunday = 0 to Saturday = 6.
    #[serde(default)]
    pub weekdays: Vec<u8>,
    /// Where to go when it does not match (required).
    #[serde(deserialize_with = "de::target")]
    pub false_target_id: Uuid,
}
impl Check for OptionConditionDatetime {
    fn check(&mut self) -> Result<(), FieldError> {
        for (field, value, min, max) in [
            ("minute", self.minute, -1, 59),
            ("hour", self.hour, -1, 23),
            ("day", self.day, -1, 31),
            ("month", self.month, -1, 12),
        ] {
            if !(min..=max).contains(&value) {
                return fail(field, format!("must be {min} to {max}, got {value}"));
            }
        }
        for (i, d) in self.weekdays.iter().enumerate() {
            if *d > 6 {
                return fail(
                    &format!("weekdays[{i}]"),
                    format!("must be 0 (Sunday) to 6 (Saturday), got {d}"),
                );
            }
        }
        Ok(())
    }
}

/// How `condition_variable` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// Compare as strings with `value_string`.
    String,
    /// Compare as numbers with `value_number`.
    Number,
    /// Compare the value's length with `value_length`.
    Length,
}

/// Options of `condition_variable`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionConditionVariable {
    /// Comparison operator (required).
    pub condition: Condition,
    /// The value to test, usually a `${variable}` (required).
    pub variable: String,
    /// How to compare (required).
    pub value_type: ValueType,
    /// Operand for `string`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_string: Option<String>,
    /// Operand for `number`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_number: Option<f64>,
    /// Operand for `length`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_length: Option<u32>,
    /// Where to go when it does not match (required).
    #[serde(deserialize_with = "de::target")]
    pub false_target_id: Uuid,
}
impl Check for OptionConditionVariable {}

/// Options of `goto`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionGoto {
    /// The action to jump to (required).
    #[serde(deserialize_with = "de::target")]
    pub target_id: Uuid,
    /// Jumps left, 0 to 100; at 0 the goto falls through.
    #[serde(default)]
    pub loop_count: u32,
}
impl Check for OptionGoto {
    fn check(&mut self) -> Result<(), FieldError> {
        if self.loop_count > MAX_LOOP_COUNT {
            return fail(
                "loop_count",
                format!("must be 0 to {MAX_LOOP_COUNT}, got {}", self.loop_count),
            );
        }
        Ok(())
    }
}

/// Options of `variable_set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionVariableSet {
    /// Variable name (required).
    pub key: String,
    /// Value; `${…}` is substituted on write.
    #[serde(default)]
    pub value: String,
}
/// Prefix of the built-in variables, which flows may read but never set.
pub const BUILTIN_PREFIX: &str = "voipbin.";

impl Check for OptionVariableSet {
    fn check(&mut self) -> Result<(), FieldError> {
        check_not_empty("key", &self.key)?;
        if self.key.starts_with(BUILTIN_PREFIX) {
            return fail(
                "key",
                format!(
                    "{:?} is a built-in variable; voipbin.* variables are read-only",
                    self.key
                ),
            );
        }
        Ok(())
    }
}

/// Options of `fetch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionFetch {
    /// URL returning the actions to run (required).
    pub event_url: String,
    /// HTTP method; absent for `""` (VoIPBIN then sends GET).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_enum"
    )]
    pub event_method: Option<HttpMethod>,
}
impl Check for OptionFetch {
    fn check(&mut self) -> Result<(), FieldError> {
        check_not_empty("event_url", &self.event_url)
    }
}

/// Options of `fetch_flow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionFetchFlow {
    /// The flow whose actions to run (required).
    #[serde(deserialize_with = "de::req_ref")]
    pub flow_id: IdRef,
}
impl Check for OptionFetchFlow {}

// ---------------------------------------------------------------------------------------------
// Calls, services, messages

/// Options of `call`. Inline `actions` are validated as a flow of their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionCall {
    /// Caller address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Address>,
    /// Who to call (required, at least one).
    pub destinations: Vec<Address>,
    /// Flow to run on the new calls.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_ref"
    )]
    pub flow_id: Option<IdRef>,
    /// Inline actions, used when `flow_id` is absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// Hang the new calls up with the master call.
    #[serde(default)]
    pub chained: bool,
    /// Run the flow before the call is answered.
    #[serde(default)]
    pub early_execution: bool,
    /// Caller-id anonymity, default `auto`.
    #[serde(default)]
    pub anonymous: Anonymous,
}
impl Check for OptionCall {
    fn check(&mut self) -> Result<(), FieldError> {
        if self.early_execution {
            return fail(
                "early_execution",
                "running the flow before answer is not supported in this version",
            );
        }
        check_dialable("destinations", &self.destinations)
    }
}

/// Options of `connect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionConnect {
    /// Caller address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Address>,
    /// Who to ring, all at once (required, at least one).
    pub destinations: Vec<Address>,
    /// Pass early media from the destination.
    #[serde(default)]
    pub early_media: bool,
    /// Hang the master call up with the first destination's reason.
    #[serde(default)]
    pub relay_reason: bool,
    /// Caller-id anonymity, default `auto`.
    #[serde(default)]
    pub anonymous: Anonymous,
}
impl Check for OptionConnect {
    fn check(&mut self) -> Result<(), FieldError> {
        check_dialable("destinations", &self.destinations)
    }
}

/// Options of `conference_join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionConferenceJoin {
    /// The conference to join (required).
    #[serde(deserialize_with = "de::req_ref")]
    pub conference_id: IdRef,
}
impl Check for OptionConferenceJoin {}

/// Options of `queue_join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionQueueJoin {
    /// The queue to join (required).
    #[serde(deserialize_with = "de::req_ref")]
    pub queue_id: IdRef,
}
impl Check for OptionQueueJoin {}

/// Options of `conversation_send`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionConversationSend {
    /// The conversation to write to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_ref"
    )]
    pub conversation_id: Option<IdRef>,
    /// Message text.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub text: Option<String>,
    /// Wait for delivery.
    #[serde(default)]
    pub sync: bool,
}
impl Check for OptionConversationSend {}

/// Attachment types of `email_send` (`EmailManagerEmailAttachmentReferenceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentReferenceType {
    /// A recording.
    Recording,
}

/// An email attachment (`EmailManagerEmailAttachment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailAttachment {
    /// What is attached (required).
    pub reference_type: AttachmentReferenceType,
    /// Id of the attached resource (required).
    #[serde(deserialize_with = "de::req_ref")]
    pub reference_id: IdRef,
}

/// Options of `email_send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionEmailSend {
    /// Recipients (required, at least one).
    pub destinations: Vec<Address>,
    /// Subject line.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub subject: Option<String>,
    /// Body.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub content: Option<String>,
    /// Attachments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<EmailAttachment>,
}
impl Check for OptionEmailSend {
    fn check(&mut self) -> Result<(), FieldError> {
        check_destinations("destinations", &self.destinations)
    }
}

/// Options of `message_send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionMessageSend {
    /// Sender address (a number you own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Address>,
    /// Recipients (required, at least one).
    pub destinations: Vec<Address>,
    /// Message text.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub text: Option<String>,
}
impl Check for OptionMessageSend {
    fn check(&mut self) -> Result<(), FieldError> {
        check_destinations("destinations", &self.destinations)
    }
}

/// Options of `transcribe_start` and `transcribe_recording`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionTranscribe {
    /// BCP47 language, e.g. `en-US`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub language: Option<String>,
    /// Flow to start when transcription ends.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_ref"
    )]
    pub on_end_flow_id: Option<IdRef>,
    /// STT provider; absent (`""`) lets the service choose.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_enum"
    )]
    pub provider: Option<SttProvider>,
    /// Audio direction, default `both`.
    #[serde(default)]
    pub direction: TranscribeDirection,
}
impl Check for OptionTranscribe {}

/// Options of `transcribe_start`.
pub type OptionTranscribeStart = OptionTranscribe;
/// Options of `transcribe_recording`.
pub type OptionTranscribeRecording = OptionTranscribe;

/// Options of `webhook_send`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionWebhookSend {
    /// Wait for the response (its body can set variables).
    #[serde(default)]
    pub sync: bool,
    /// Target URL (required).
    pub uri: String,
    /// HTTP method; absent for `""`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_enum"
    )]
    pub method: Option<HttpMethod>,
    /// Content type of `data`, e.g. `application/json`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub data_type: Option<String>,
    /// Request body; `${…}` is substituted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de::opt_string"
    )]
    pub data: Option<String>,
}
impl Check for OptionWebhookSend {
    fn check(&mut self) -> Result<(), FieldError> {
        check_not_empty("uri", &self.uri)
    }
}

// ---------------------------------------------------------------------------------------------
// The sum type

macro_rules! action_options {
    ($($variant:ident => $ty:ty,)*) => {
        /// The typed option of an action, one variant per [`ActionType`].
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum ActionOption {
            $(
                #[doc = concat!("Options of [`ActionType::", stringify!($variant), "`].")]
                $variant($ty),
            )*
        }

        impl ActionOption {
            /// The action type these options belong to.
            pub fn action_type(&self) -> ActionType {
                match self {
                    $(ActionOption::$variant(_) => ActionType::$variant,)*
                }
            }

            /// Decodes and checks the option object of an action of type `t`.
            pub(crate) fn parse(t: ActionType, v: &Value) -> Result<ActionOption, FieldError> {
                match t {
                    $(ActionType::$variant => parse_one::<$ty>(v).map(ActionOption::$variant),)*
                }
            }
        }
    };
}

action_options! {
    AiTalk => OptionAiTalk,
    AiSummary => OptionAiSummary,
    Amd => OptionAmd,
    Answer => OptionAnswer,
    Beep => OptionBeep,
    Branch => OptionBranch,
    Call => OptionCall,
    ConditionCallDigits => OptionConditionCallDigits,
    ConditionCallStatus => OptionConditionCallStatus,
    ConditionDatetime => OptionConditionDatetime,
    ConditionVariable => OptionConditionVariable,
    ConfbridgeJoin => OptionConfbridgeJoin,
    ConferenceJoin => OptionConferenceJoin,
    Connect => OptionConnect,
    ConversationSend => OptionConversationSend,
    DigitsReceive => OptionDigitsReceive,
    DigitsSend => OptionDigitsSend,
    Echo => OptionEcho,
    EmailSend => OptionEmailSend,
    ExternalMediaStart => OptionExternalMediaStart,
    ExternalMediaStop => OptionExternalMediaStop,
    Fetch => OptionFetch,
    FetchFlow => OptionFetchFlow,
    Goto => OptionGoto,
    Hangup => OptionHangup,
    MessageSend => OptionMessageSend,
    Mute => OptionMute,
    Play => OptionPlay,
    QueueJoin => OptionQueueJoin,
    RecordingStart => OptionRecordingStart,
    RecordingStop => OptionRecordingStop,
    Sleep => OptionSleep,
    Stop => OptionStop,
    StreamEcho => OptionStreamEcho,
    Talk => OptionTalk,
    TranscribeStart => OptionTranscribeStart,
    TranscribeStop => OptionTranscribeStop,
    TranscribeRecording => OptionTranscribeRecording,
    VariableSet => OptionVariableSet,
    WebhookSend => OptionWebhookSend,
    Block => OptionBlock,
    Empty => OptionEmpty,
}

impl ActionOption {
    /// Decodes and checks `value` as the option of an action of type `t`; errors are 400
    /// `INVALID_ACTION` with a message like `option.duration: invalid type: …`.
    pub fn from_value(t: ActionType, value: &Value) -> Result<ActionOption, voxbin_core::Error> {
        ActionOption::parse(t, value).map_err(|e| {
            voxbin_core::Error::invalid_argument(
                crate::validate::REASON_INVALID_ACTION,
                format!("{}: {}", join_path("option", &e.field), e.message),
            )
        })
    }

    /// The canonical option object.
    pub fn to_value(&self) -> Value {
        // Serialising these structs cannot fail: their keys are strings and they hold no
        // non-finite floats (serde_json refuses those on input).
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// The action ids this option jumps to, with the field that names each.
    pub fn targets(&self) -> Vec<(String, Uuid)> {
        let false_target = |id: &Uuid| vec![("false_target_id".to_string(), *id)];
        match self {
            ActionOption::Goto(o) => vec![("target_id".to_string(), o.target_id)],
            ActionOption::Branch(o) => {
                let mut out: Vec<_> = o
                    .target_ids
                    .iter()
                    .map(|(k, id)| (format!("target_ids.{k}"), *id))
                    .collect();
                if let Some(id) = o.default_target_id {
                    out.push(("default_target_id".to_string(), id));
                }
                out
            }
            ActionOption::ConditionCallDigits(o) => false_target(&o.false_target_id),
            ActionOption::ConditionCallStatus(o) => false_target(&o.false_target_id),
            ActionOption::ConditionDatetime(o) => false_target(&o.false_target_id),
            ActionOption::ConditionVariable(o) => false_target(&o.false_target_id),
            _ => Vec::new(),
        }
    }
}

/// `base.field`, or `base` when `field` is empty; `[i]` segments attach without a dot.
pub(crate) fn join_path(base: &str, field: &str) -> String {
    if field.is_empty() {
        base.to_string()
    } else if field.starts_with('[') || base.is_empty() {
        format!("{base}{field}")
    } else {
        format!("{base}.{field}")
    }
}

fn parse_one<T: DeserializeOwned + Check>(v: &Value) -> Result<T, FieldError> {
    let empty = Value::Object(Map::new());
    let v = if v.is_null() { &empty } else { v };
    if !v.is_object() {
        return fail("", format!("expected an object, got {}", kind(v)));
    }
    let mut opt: T = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        field_error(path, &e.into_inner().to_string())
    })?;
    opt.check()?;
    Ok(opt)
}

/// Moves the key named in serde's missing/unknown-field messages into the path.
fn field_error(path: String, message: &str) -> FieldError {
    let named = |prefix: &str| -> Option<(String, String)> {
        let rest = message.strip_prefix(prefix)?;
        let (key, tail) = rest.split_once('`')?;
        Some((
            key.to_string(),
            tail.trim_start_matches(',').trim().to_string(),
        ))
    };
    if let Some((key, _)) = named("missing field `") {
        return FieldError {
            field: join_path(&path, &key),
            message: "missing required field".into(),
        };
    }
    if let Some((key, tail)) = named("unknown field `") {
        // serde_path_to_error may already have put the key in the path.
        let field = if path == key || path.ends_with(&format!(".{key}")) {
            path
        } else {
            join_path(&path, &key)
        };
        let message = if tail == "there are no fields" {
            "unknown option key; this action takes no options".to_string()
        } else {
            format!("unknown option key, {tail}")
        };
        return FieldError { field, message };
    }
    FieldError {
        field: path,
        message: message.to_string(),
    }
}

/// A short name of a JSON value's kind, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
