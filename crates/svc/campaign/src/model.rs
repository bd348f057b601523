//! The outplan as stored and as answered (contract schema `CampaignManagerOutplan`), and the
//! request bodies that create and change it.
//!
//! Times are milliseconds, as in VoIPBIN (its request descriptions say seconds; its model and
//! tutorials say milliseconds). A `dial_timeout` below one second is refused, which also
//! catches the common mistake of sending seconds.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use voxbin_core::{id, Error, Result};
use voxbin_svc_kit::body::{is_e164, text, MAX_DETAIL_CHARS, MAX_NAME_CHARS};

/// Longest text in a `source` address.
const MAX_ADDRESS_CHARS: usize = 255;

/// Accepted `dial_timeout`: 1 s to 10 min, in milliseconds.
const DIAL_TIMEOUT_MS: std::ops::RangeInclusive<i64> = 1_000..=600_000;

/// Accepted `try_interval`: none to one day, in milliseconds.
const TRY_INTERVAL_MS: std::ops::RangeInclusive<i64> = 0..=86_400_000;

/// Accepted `max_try_count_N`.
const MAX_TRY_COUNT: std::ops::RangeInclusive<i64> = 0..=100;

/// Kind of an address (contract schema `CommonAddress.type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressType {
    /// Unset.
    #[default]
    #[serde(rename = "")]
    None,
    /// An agent id.
    Agent,
    /// A conference id.
    Conference,
    /// An email address.
    Email,
    /// An extension id.
    Extension,
    /// A messaging line.
    Line,
    /// A SIP URI.
    Sip,
    /// An E.164 phone number.
    Tel,
    /// A web session.
    WebSession,
}

/// A source or destination (contract schema `CommonAddress`); absent texts are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    /// Kind.
    #[serde(rename = "type")]
    pub kind: AddressType,
    /// The endpoint: a number for `tel`, an id, a SIP URI, ...
    pub target: String,
    /// Display name.
    pub target_name: String,
    /// Label.
    pub name: String,
    /// Notes.
    pub detail: String,
}

/// An outplan, in the public shape of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outplan {
    /// Id (UUID v7).
    pub id: Uuid,
    /// Owner.
    pub customer_id: Uuid,
    /// Label.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// Caller id of the calls.
    pub source: Address,
    /// How long a call rings, in ms.
    pub dial_timeout: i64,
    /// Wait between two tries, in ms.
    pub try_interval: i64,
    /// Tries for destination 0 of a target.
    pub max_try_count_0: i64,
    /// Tries for destination 1.
    pub max_try_count_1: i64,
    /// Tries for destination 2.
    pub max_try_count_2: i64,
    /// Tries for destination 3.
    pub max_try_count_3: i64,
    /// Tries for destination 4.
    pub max_try_count_4: i64,
    /// Created.
    pub tm_create: String,
    /// Last changed.
    pub tm_update: Option<String>,
    /// Deleted; `None` while live.
    pub tm_delete: Option<String>,
}

impl Outplan {
    /// A fresh outplan of `customer_id` created `now`.
    pub fn new(customer_id: Uuid, info: OutplanInfo, dial: DialInfo, now: String) -> Outplan {
        let mut outplan = Outplan {
            id: id::new_id(),
            customer_id,
            name: info.name,
            detail: info.detail,
            source: Address::default(),
            dial_timeout: 0,
            try_interval: 0,
            max_try_count_0: 0,
            max_try_count_1: 0,
            max_try_count_2: 0,
            max_try_count_3: 0,
            max_try_count_4: 0,
            tm_create: now.clone(),
            tm_update: Some(now),
            tm_delete: None,
        };
        outplan.set_dial_info(dial);
        outplan
    }

    /// Applies validated dial settings.
    pub fn set_dial_info(&mut self, dial: DialInfo) {
        let [c0, c1, c2, c3, c4] = dial.max_try_counts;
        self.source = dial.source;
        self.dial_timeout = dial.dial_timeout;
        self.try_interval = dial.try_interval;
        (self.max_try_count_0, self.max_try_count_1) = (c0, c1);
        (
            self.max_try_count_2,
            self.max_try_count_3,
            self.max_try_count_4,
        ) = (c2, c3, c4);
    }
}

/// `name` and `detail` of `POST /outplans` and `PUT /outplans/{id}` (absent means empty).
#[derive(Debug, Deserialize)]
pub struct InfoBody {
    name: Option<String>,
    detail: Option<String>,
}

/// Validated `name` and `detail`.
#[derive(Debug, Clone)]
pub struct OutplanInfo {
    /// Label.
    pub name: String,
    /// Free text.
    pub detail: String,
}

impl InfoBody {
    /// Checks the lengths.
    pub fn validate(self) -> Result<OutplanInfo> {
        Ok(OutplanInfo {
            name: text("name", self.name.unwrap_or_default(), MAX_NAME_CHARS)?,
            detail: text("detail", self.detail.unwrap_or_default(), MAX_DETAIL_CHARS)?,
        })
    }
}

/// The dial settings of `POST /outplans` and `PUT /outplans/{id}/dial_info`; all required.
#[derive(Debug, Deserialize)]
pub struct DialBody {
    source: Option<Address>,
    dial_timeout: Option<i64>,
    try_interval: Option<i64>,
    max_try_count_0: Option<i64>,
    max_try_count_1: Option<i64>,
    max_try_count_2: Option<i64>,
    max_try_count_3: Option<i64>,
    max_try_count_4: Option<i64>,
}

/// Validated dial settings.
#[derive(Debug, Clone)]
pub struct DialInfo {
    /// Caller id.
    pub source: Address,
    /// Ring time, ms.
    pub dial_timeout: i64,
    /// Wait between tries, ms.
    pub try_interval: i64,
    /// Tries per destination 0..4.
    pub max_try_counts: [i64; 5],
}

impl DialBody {
    /// Checks presence and range of every setting, and that a `tel` source is E.164.
    pub fn validate(self) -> Result<DialInfo> {
        let source = self.source.ok_or_else(|| required("source"))?;
        check_address("source", &source)?;
        let counts = [
            ("max_try_count_0", self.max_try_count_0),
            ("max_try_count_1", self.max_try_count_1),
            ("max_try_count_2", self.max_try_count_2),
            ("max_try_count_3", self.max_try_count_3),
            ("max_try_count_4", self.max_try_count_4),
        ];
        let mut max_try_counts = [0; 5];
        for (slot, (field, value)) in max_try_counts.iter_mut().zip(counts) {
            *slot = ranged(field, value, MAX_TRY_COUNT, "")?;
        }
        Ok(DialInfo {
            source,
            dial_timeout: ranged("dial_timeout", self.dial_timeout, DIAL_TIMEOUT_MS, " ms")?,
            try_interval: ranged("try_interval", self.try_interval, TRY_INTERVAL_MS, " ms")?,
            max_try_counts,
        })
    }
}

fn required(field: &str) -> Error {
    Error::invalid_argument("INVALID_ARGUMENT", format!("{field} is required"))
}

/// A required integer within `range`.
fn ranged(
    field: &str,
    value: Option<i64>,
    range: std::ops::RangeInclusive<i64>,
    unit: &str,
) -> Result<i64> {
    let value = value.ok_or_else(|| required(field))?;
    if !range.contains(&value) {
        return Err(Error::invalid_argument(
            "INVALID_ARGUMENT",
            format!(
                "{field} must be from {} to {}{unit}, got {value}",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(value)
}

/// Lengths of every text, and a `tel` target must be E.164 (`+` then 7 to 15 digits).
fn check_address(field: &str, address: &Address) -> Result<()> {
    for (part, value) in [
        ("target", &address.target),
        ("target_name", &address.target_name),
        ("name", &address.name),
        ("detail", &address.detail),
    ] {
        if value.chars().count() > MAX_ADDRESS_CHARS {
            return Err(Error::invalid_argument(
                "INVALID_ARGUMENT",
                format!("{field}.{part} is longer than {MAX_ADDRESS_CHARS} characters"),
            ));
        }
    }
    if address.kind == AddressType::Tel && !is_e164(&address.target) {
        return Err(Error::invalid_argument(
            "INVALID_ARGUMENT",
            format!("{field}.target of a tel address must be E.164 ('+' then 7 to 15 digits)"),
        ));
    }
    Ok(())
}
