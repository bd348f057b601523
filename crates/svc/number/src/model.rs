//! The number as stored and as answered (contract schema `NumberManagerNumber`), and the
//! request bodies that create and change it, each validated into a value the store can write.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use voxbin_core::{id, Error, Result};
use voxbin_svc_kit::body::{is_e164, text, MAX_DETAIL_CHARS, MAX_NAME_CHARS};

/// Country code of the non-geographic "virtual" numbers of the contract (`+899...`).
const VIRTUAL_PREFIX: &str = "+899";

/// Normal (PSTN) or virtual number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NumberType {
    /// A PSTN number.
    Normal,
    /// A platform-internal number in the `+899` range.
    Virtual,
}

/// Whether the number is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NumberStatus {
    /// Live.
    Active,
    /// Soft-deleted.
    Deleted,
}

/// Per-number switches (contract schema `NumberManagerMetadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Capture RTP of calls to this number for debugging.
    #[serde(default)]
    pub rtp_debug: bool,
}

/// A number, in the public shape of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Number {
    /// Id (UUID v7).
    pub id: Uuid,
    /// Owner.
    pub customer_id: Uuid,
    /// E.164 text, e.g. `+14155551234`.
    pub number: String,
    /// Normal or virtual.
    #[serde(rename = "type")]
    pub kind: NumberType,
    /// Flow run on inbound calls; nil when none.
    pub call_flow_id: Uuid,
    /// Flow run on inbound messages; nil when none.
    pub message_flow_id: Uuid,
    /// Label.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// Active, or deleted once soft-deleted.
    pub status: NumberStatus,
    /// T.38 fax (no carrier here: always false).
    pub t38_enabled: bool,
    /// Emergency calling (no carrier here: always false).
    pub emergency_enabled: bool,
    /// Per-number switches.
    pub metadata: Metadata,
    /// When the platform took the number.
    pub tm_purchase: Option<String>,
    /// Last renewal (none without a carrier).
    pub tm_renew: Option<String>,
    /// Created.
    pub tm_create: String,
    /// Last changed.
    pub tm_update: Option<String>,
    /// Deleted; `None` while live.
    pub tm_delete: Option<String>,
}

impl Number {
    /// A fresh, active number of `customer_id` created `now`.
    pub fn new(customer_id: Uuid, new: NewNumber, now: String) -> Number {
        Number {
            id: id::new_id(),
            customer_id,
            number: new.number,
            kind: new.kind,
            call_flow_id: new.flows.call_flow_id,
            message_flow_id: new.flows.message_flow_id,
            name: new.name,
            detail: new.detail,
            status: NumberStatus::Active,
            t38_enabled: false,
            emergency_enabled: false,
            metadata: Metadata::default(),
            tm_purchase: Some(now.clone()),
            tm_renew: None,
            tm_create: now.clone(),
            tm_update: Some(now),
            tm_delete: None,
        }
    }
}

/// Body of `POST /numbers`; unknown fields are ignored (the contract schema is open).
#[derive(Debug, Deserialize)]
pub struct CreateNumber {
    number: Option<String>,
    #[serde(rename = "type")]
    kind: Option<NumberType>,
    call_flow_id: Option<String>,
    message_flow_id: Option<String>,
    name: Option<String>,
    detail: Option<String>,
}

/// A validated `POST /numbers`.
#[derive(Debug, Clone)]
pub struct NewNumber {
    /// E.164 text.
    pub number: String,
    /// Normal unless asked otherwise.
    pub kind: NumberType,
    /// Flows to run (not yet checked to exist).
    pub flows: FlowIds,
    /// Label.
    pub name: String,
    /// Free text.
    pub detail: String,
}

impl CreateNumber {
    /// Checks every field; the flows' existence is checked by the handler.
    pub fn validate(self) -> Result<NewNumber> {
        let number = self
            .number
            .ok_or_else(|| Error::invalid_argument("INVALID_ARGUMENT", "number is required"))?;
        let kind = self.kind.unwrap_or(NumberType::Normal);
        check_e164(&number)?;
        if kind == NumberType::Virtual && !number.starts_with(VIRTUAL_PREFIX) {
            return Err(Error::invalid_argument(
                "INVALID_NUMBER",
                format!("number: a virtual number must start with {VIRTUAL_PREFIX}"),
            ));
        }
        Ok(NewNumber {
            number,
            kind,
            flows: FlowIds::parse(self.call_flow_id, self.message_flow_id)?,
            name: text("name", self.name.unwrap_or_default(), MAX_NAME_CHARS)?,
            detail: text("detail", self.detail.unwrap_or_default(), MAX_DETAIL_CHARS)?,
        })
    }
}

/// Body of `PUT /numbers/{id}`: a full replacement of these fields, as VoIPBIN does (an
/// absent field becomes empty or nil).
#[derive(Debug, Deserialize)]
pub struct UpdateNumber {
    call_flow_id: Option<String>,
    message_flow_id: Option<String>,
    name: Option<String>,
    detail: Option<String>,
}

/// A validated `PUT /numbers/{id}`.
#[derive(Debug, Clone)]
pub struct NumberInfo {
    /// Flows to run (not yet checked to exist).
    pub flows: FlowIds,
    /// Label.
    pub name: String,
    /// Free text.
    pub detail: String,
}

impl UpdateNumber {
    /// Checks every field; the flows' existence is checked by the handler.
    pub fn validate(self) -> Result<NumberInfo> {
        Ok(NumberInfo {
            flows: FlowIds::parse(self.call_flow_id, self.message_flow_id)?,
            name: text("name", self.name.unwrap_or_default(), MAX_NAME_CHARS)?,
            detail: text("detail", self.detail.unwrap_or_default(), MAX_DETAIL_CHARS)?,
        })
    }
}

/// Body of `PUT /numbers/{id}/flow_ids`.
#[derive(Debug, Deserialize)]
pub struct UpdateFlowIds {
    call_flow_id: Option<String>,
    message_flow_id: Option<String>,
}

impl UpdateFlowIds {
    /// Parses both ids (the handler checks they exist).
    pub fn validate(self) -> Result<FlowIds> {
        FlowIds::parse(self.call_flow_id, self.message_flow_id)
    }
}

/// The two flows of a number; nil means "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowIds {
    /// Run on inbound calls.
    pub call_flow_id: Uuid,
    /// Run on inbound messages.
    pub message_flow_id: Uuid,
}

impl FlowIds {
    fn parse(call: Option<String>, message: Option<String>) -> Result<FlowIds> {
        Ok(FlowIds {
            call_flow_id: flow_id("call_flow_id", call)?,
            message_flow_id: flow_id("message_flow_id", message)?,
        })
    }

    /// The ids that name a flow, with their field names (nil ids left out).
    pub fn named(&self) -> impl Iterator<Item = (&'static str, Uuid)> {
        [
            ("call_flow_id", self.call_flow_id),
            ("message_flow_id", self.message_flow_id),
        ]
        .into_iter()
        .filter(|(_, id)| !id.is_nil())
    }
}

/// Absent, `null` and `""` mean no flow (nil, as VoIPBIN stores it); anything else must be a UUID.
fn flow_id(field: &str, text: Option<String>) -> Result<Uuid> {
    match text.as_deref() {
        None | Some("") => Ok(Uuid::nil()),
        Some(text) => id::parse_id(field, text),
    }
}

/// `+` then 7 to 15 digits.
pub fn check_e164(number: &str) -> Result<()> {
    if is_e164(number) {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "INVALID_NUMBER",
            format!("number must be E.164: '+' then 7 to 15 digits, got {number:?}"),
        ))
    }
}

#[cfg(test)]
mod unit {
    use super::*;
    use serde_json::json;
    use voxbin_svc_kit::body::parse_body;

    #[test]
    fn e164_is_plus_and_7_to_15_digits() {
        for good in ["+1234567", "+14155551234", "+123456789012345"] {
            check_e164(good).unwrap();
        }
        for bad in [
            "",
            "+",
            "14155551234",
            "+123456",
            "+1234567890123456",
            "+1415 555",
            "+1-415",
        ] {
            assert_eq!(
                check_e164(bad).unwrap_err().reason,
                "INVALID_NUMBER",
                "{bad}"
            );
        }
    }

    #[test]
    fn create_body_errors_name_the_field() {
        let body = json!({"number": "+14155551234", "type": "mobile"});
        let e = parse_body::<CreateNumber>(Some(&body)).unwrap_err();
        assert!(e.message.starts_with("type:"), "{e}");
        let body = json!({"number": 14155551234u64});
        let e = parse_body::<CreateNumber>(Some(&body)).unwrap_err();
        assert!(e.message.starts_with("number:"), "{e}");
        let body = json!({"number": "+14155551234", "call_flow_id": "x"});
        let e = parse_body::<CreateNumber>(Some(&body))
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.message.contains("call_flow_id"), "{e}");
        assert!(parse_body::<CreateNumber>(None).is_err());
    }

    #[test]
    fn flows_default_to_nil_and_virtual_needs_899() {
        let body = json!({"number": "+14155551234", "call_flow_id": "", "extra": 1});
        let new = parse_body::<CreateNumber>(Some(&body))
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(new.kind, NumberType::Normal);
        assert_eq!(new.flows.named().count(), 0);
        let body = json!({"number": "+14155551234", "type": "virtual"});
        let e = parse_body::<CreateNumber>(Some(&body))
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(e.message.contains("+899"), "{e}");
    }
}
