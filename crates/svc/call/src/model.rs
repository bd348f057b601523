//! The call as stored and as answered (contract schema `CallManagerCall`), its status machine
//! and hangup vocabulary.
//!
//! Statuses only move forward: dialing -> ringing -> progressing -> terminating/canceling ->
//! hangup (a step may be skipped, none may be taken back). [`Status::can_move_to`] is the one
//! rule; the store applies it in the `WHERE` of every status write, so two racing events can
//! not move a call backwards.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Outgoing, INVITE sent, nothing heard back yet.
    Dialing,
    /// The callee is alerted (incoming calls start here).
    Ringing,
    /// Answered: media flows.
    Progressing,
    /// Being hung up after answer.
    Terminating,
    /// Being cancelled before answer.
    Canceling,
    /// Over.
    Hangup,
}

impl Status {
    /// Every status, in order.
    pub const ALL: [Status; 6] = [
        Status::Dialing,
        Status::Ringing,
        Status::Progressing,
        Status::Terminating,
        Status::Canceling,
        Status::Hangup,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Dialing => "dialing",
            Status::Ringing => "ringing",
            Status::Progressing => "progressing",
            Status::Terminating => "terminating",
            Status::Canceling => "canceling",
            Status::Hangup => "hangup",
        }
    }

    /// True when a call in `self` may move to `next` (forward only; terminating and
    /// canceling are alternatives, so neither leads to the other).
    pub fn can_move_to(self, next: Status) -> bool {
        use Status::*;
        match (self, next) {
            (Hangup, _) => false,
            (Terminating, Canceling) | (Canceling, Terminating) => false,
            (Terminating | Canceling, Hangup) => true,
            (from, to) => from < to,
        }
    }

    /// The statuses a call may be in to move to `next` (for the store's guard).
    pub fn sources_of(next: Status) -> Vec<Status> {
        Status::ALL
            .into_iter()
            .filter(|s| s.can_move_to(next))
            .collect()
    }

    /// The status that ends the call from here: canceling before answer, else terminating.
    pub fn ending(self) -> Status {
        match self {
            Status::Dialing | Status::Ringing => Status::Canceling,
            _ => Status::Terminating,
        }
    }
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HangupReason {
    /// Not ended.
    #[serde(rename = "")]
    None,
    /// Ended by either side after answer.
    Normal,
    /// Could not be set up.
    Failed,
    /// The callee was busy.
    Busy,
    /// Cancelled before answer.
    Cancel,
    /// A limit ran out (duration, no media).
    Timeout,
    /// Nobody answered.
    Noanswer,
    /// Ended because the dial-out ended (chained calls).
    Dialout,
    /// An answering machine was detected.
    Amd,
}

impl HangupReason {
    /// The reason of a media node's hangup cause; unknown causes are `failed`.
    pub fn from_cause(cause: &str) -> HangupReason {
        match cause {
            "normal" => HangupReason::Normal,
            "busy" => HangupReason::Busy,
            "noanswer" => HangupReason::Noanswer,
            "cancel" => HangupReason::Cancel,
            "timeout" => HangupReason::Timeout,
            "dialout" => HangupReason::Dialout,
            "amd" => HangupReason::Amd,
            _ => HangupReason::Failed,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            HangupReason::None => "",
            HangupReason::Normal => "normal",
            HangupReason::Failed => "failed",
            HangupReason::Busy => "busy",
            HangupReason::Cancel => "cancel",
            HangupReason::Timeout => "timeout",
            HangupReason::Noanswer => "noanswer",
            HangupReason::Dialout => "dialout",
            HangupReason::Amd => "amd",
        }
    }

    /// The cause to send to the media node (which knows fewer words).
    pub fn media_cause(self) -> &'static str {
        match self {
            HangupReason::Busy => "busy",
            HangupReason::Noanswer => "noanswer",
            HangupReason::Cancel => "cancel",
            HangupReason::Timeout => "timeout",
            HangupReason::Failed => "failed",
            _ => "normal",
        }
    }
}

/// Which side ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HangupBy {
    /// Not ended.
    #[serde(rename = "")]
    None,
    /// The peer.
    Remote,
    /// The platform.
    Local,
}

/// Incoming or outgoing, seen from the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The peer called us.
    Incoming,
    /// We called the peer.
    Outgoing,
}

/// An address of the contract (`CommonAddress`): type, target, names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// `tel`, `sip`, `extension`, `agent`, ... (empty when unknown).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Number, URI, extension name, ...
    #[serde(default)]
    pub target: String,
    /// Display name.
    #[serde(default)]
    pub target_name: String,
    /// Free name.
    #[serde(default)]
    pub name: String,
    /// Free detail.
    #[serde(default)]
    pub detail: String,
}

impl Address {
    /// An address of `kind` with `target`.
    pub fn new(kind: &str, target: impl Into<String>) -> Address {
        Address {
            kind: kind.to_owned(),
            target: target.into(),
            ..Address::default()
        }
    }
}

/// A call, in the public shape of the contract plus the internal fields (skipped on output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Id (also the media leg's id).
    pub id: Uuid,
    /// Owner.
    pub customer_id: Uuid,
    /// `agent`, ... or empty.
    pub owner_type: String,
    /// Owner resource; nil when none.
    pub owner_id: Uuid,
    /// The flow run on this call; nil when none.
    pub flow_id: Uuid,
    /// The activeflow running it; nil when none.
    pub activeflow_id: Uuid,
    /// `flow`, `conference`, `sip-service` or empty.
    #[serde(rename = "type")]
    pub kind: String,
    /// The call that started this one (chained calls); nil when none.
    pub master_call_id: Uuid,
    /// Calls this one started and ends with.
    pub chained_call_ids: Vec<Uuid>,
    /// The recording in progress; nil when none.
    pub recording_id: Uuid,
    /// Every recording of the call.
    pub recording_ids: Vec<Uuid>,
    /// The group call this is part of; nil when none.
    pub groupcall_id: Uuid,
    /// Caller.
    pub source: Address,
    /// Callee.
    pub destination: Address,
    /// Where the call is.
    pub status: Status,
    /// The flow action being executed (`{}` when none, left out of the answer then).
    #[serde(skip_serializing_if = "no_action", default = "empty_object")]
    pub action: Value,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// `''`, `both`, `in`, `out`.
    pub mute_direction: String,
    /// Who ended it.
    pub hangup_by: HangupBy,
    /// Why it ended.
    pub hangup_reason: HangupReason,
    /// System key-values.
    pub metadata: Value,
    /// Media node holding the leg (internal).
    #[serde(skip_serializing, default)]
    pub node_id: String,
    /// The media operation the current action waits for (internal); nil when none.
    #[serde(skip_serializing, default)]
    pub op_id: Uuid,
    /// The action that operation belongs to (internal); nil when none.
    #[serde(skip_serializing, default)]
    pub op_action_id: Uuid,
    /// Answered at.
    pub tm_progressing: Option<String>,
    /// Ringing since.
    pub tm_ringing: Option<String>,
    /// Ended at.
    pub tm_hangup: Option<String>,
    /// Created.
    pub tm_create: String,
    /// Last changed.
    pub tm_update: Option<String>,
    /// Deleted; `None` while live.
    pub tm_delete: Option<String>,
}

/// True for the stored "no action" value.
fn no_action(v: &Value) -> bool {
    v.as_object().is_none_or(|m| m.is_empty())
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

impl Call {
    /// A fresh call record for leg `id` on `node_id`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: Uuid,
        customer_id: Uuid,
        direction: Direction,
        status: Status,
        source: Address,
        destination: Address,
        node_id: String,
        now: String,
    ) -> Call {
        Call {
            id,
            customer_id,
            owner_type: String::new(),
            owner_id: Uuid::nil(),
            flow_id: Uuid::nil(),
            activeflow_id: Uuid::nil(),
            kind: String::new(),
            master_call_id: Uuid::nil(),
            chained_call_ids: Vec::new(),
            recording_id: Uuid::nil(),
            recording_ids: Vec::new(),
            groupcall_id: Uuid::nil(),
            source,
            destination,
            status,
            action: Value::Object(Default::default()),
            direction,
            mute_direction: String::new(),
            hangup_by: HangupBy::None,
            hangup_reason: HangupReason::None,
            metadata: Value::Object(Default::default()),
            node_id,
            op_id: Uuid::nil(),
            op_action_id: Uuid::nil(),
            tm_progressing: None,
            tm_ringing: (status == Status::Ringing).then(|| now.clone()),
            tm_hangup: None,
            tm_create: now.clone(),
            tm_update: Some(now),
            tm_delete: None,
        }
    }

    /// True once the call is over.
    pub fn is_over(&self) -> bool {
        self.status == Status::Hangup
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        use Status::*;
        assert!(Dialing.can_move_to(Ringing));
        assert!(Dialing.can_move_to(Progressing));
        assert!(Ringing.can_move_to(Canceling));
        assert!(Progressing.can_move_to(Terminating));
        assert!(Terminating.can_move_to(Hangup));
        assert!(Canceling.can_move_to(Hangup));
        assert!(Ringing.can_move_to(Hangup));
        for s in Status::ALL {
            assert!(!s.can_move_to(s), "{s:?} to itself");
            assert!(!Hangup.can_move_to(s), "hangup to {s:?}");
        }
        assert!(!Progressing.can_move_to(Ringing));
        assert!(!Ringing.can_move_to(Dialing));
        assert!(!Terminating.can_move_to(Canceling));
        assert!(!Canceling.can_move_to(Terminating));
        assert!(!Terminating.can_move_to(Progressing));
        assert_eq!(Status::sources_of(Dialing), vec![]);
        assert_eq!(
            Status::sources_of(Hangup),
            vec![Dialing, Ringing, Progressing, Terminating, Canceling]
        );
        assert_eq!(
            Status::sources_of(Terminating),
            vec![Dialing, Ringing, Progressing]
        );
    }

    #[test]
    fn ending_depends_on_answer() {
        assert_eq!(Status::Ringing.ending(), Status::Canceling);
        assert_eq!(Status::Dialing.ending(), Status::Canceling);
        assert_eq!(Status::Progressing.ending(), Status::Terminating);
    }

    #[test]
    fn hangup_words_round_trip_and_unknown_causes_fail() {
        for r in [
            "normal", "busy", "noanswer", "cancel", "timeout", "dialout", "amd",
        ] {
            assert_eq!(HangupReason::from_cause(r).as_str(), r);
        }
        assert_eq!(HangupReason::from_cause("weird"), HangupReason::Failed);
        assert_eq!(HangupReason::Amd.media_cause(), "normal");
        assert_eq!(serde_json::to_value(HangupReason::None).unwrap(), "");
        assert_eq!(serde_json::to_value(HangupBy::Remote).unwrap(), "remote");
    }

    #[test]
    fn internal_fields_stay_inside() {
        let c = Call::new(
            Uuid::now_v7(),
            Uuid::now_v7(),
            Direction::Incoming,
            Status::Ringing,
            Address::new("tel", "+15550100"),
            Address::new("tel", "+15550199"),
            "node-1".into(),
            "2026-01-01T00:00:00.000000Z".into(),
        );
        let v = serde_json::to_value(&c).unwrap();
        assert!(v.get("node_id").is_none());
        assert!(v.get("op_id").is_none());
        assert_eq!(v["status"], "ringing");
        assert_eq!(v["type"], "");
        assert_eq!(v["hangup_reason"], "");
        assert!(v["tm_ringing"].is_string());
    }
}
