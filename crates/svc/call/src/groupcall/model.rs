//! The group call as stored and as answered (contract schema `CallManagerGroupcall`), its
//! status machine and its ring and answer methods.
//!
//! Statuses only move forward: progressing -> hangingup -> hangup (hangingup may be skipped).
//! The contract has no status before an answer: a group call is `progressing` from creation,
//! and `answer_call_id` tells whether one of its calls answered.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::model::Address;

/// Where a group call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupStatus {
    /// Dialling its destinations, or one of them answered.
    Progressing,
    /// Asked to hang up: its live calls are being hung up.
    Hangingup,
    /// Over: none of its calls is live and none will be dialled.
    Hangup,
}

impl GroupStatus {
    /// Every status, in order.
    pub const ALL: [GroupStatus; 3] = [
        GroupStatus::Progressing,
        GroupStatus::Hangingup,
        GroupStatus::Hangup,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupStatus::Progressing => "progressing",
            GroupStatus::Hangingup => "hangingup",
            GroupStatus::Hangup => "hangup",
        }
    }

    /// True when a group call in `self` may move to `next` (forward only).
    pub fn can_move_to(self, next: GroupStatus) -> bool {
        self < next
    }

    /// The statuses a group call may be in to move to `next` (for the store's guard).
    pub fn sources_of(next: GroupStatus) -> Vec<GroupStatus> {
        GroupStatus::ALL
            .into_iter()
            .filter(|s| s.can_move_to(next))
            .collect()
    }
}

/// How the destinations are dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RingMethod {
    /// All at once; the first to answer wins.
    #[serde(rename = "ring_all")]
    RingAll,
    /// One after another, each for the ring timeout, until one answers.
    #[serde(rename = "linear")]
    Linear,
}

impl RingMethod {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RingMethod::RingAll => "ring_all",
            RingMethod::Linear => "linear",
        }
    }

    /// The method of a request's `ring_method` (`""` means ring_all, the contract's default).
    pub fn parse(s: &str) -> Option<RingMethod> {
        match s {
            "" | "ring_all" | "ringall" => Some(RingMethod::RingAll),
            "linear" => Some(RingMethod::Linear),
            _ => None,
        }
    }
}

/// What happens to the other calls once one answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnswerMethod {
    /// Nothing: the others may answer too, each running the flow.
    #[serde(rename = "")]
    None,
    /// The others are hung up (cancelled while ringing).
    #[serde(rename = "hangup_others")]
    HangupOthers,
}

impl AnswerMethod {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerMethod::None => "",
            AnswerMethod::HangupOthers => "hangup_others",
        }
    }

    /// The method of a request's `answer_method`.
    pub fn parse(s: &str) -> Option<AnswerMethod> {
        match s {
            "" => Some(AnswerMethod::None),
            "hangup_others" => Some(AnswerMethod::HangupOthers),
            _ => None,
        }
    }
}

/// A group call, in the public shape of the contract plus internal fields (skipped on output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Groupcall {
    /// Id.
    pub id: Uuid,
    /// Owner.
    pub customer_id: Uuid,
    /// `agent`, ... or empty.
    pub owner_type: String,
    /// Owner resource; nil when none.
    pub owner_id: Uuid,
    /// Where it is.
    pub status: GroupStatus,
    /// The flow each answered call runs.
    pub flow_id: Uuid,
    /// Caller id of its calls.
    pub source: Address,
    /// Whom it dials.
    pub destinations: Vec<Address>,
    /// The call that started it; nil when none.
    pub master_call_id: Uuid,
    /// The group call that started it; nil when none.
    pub master_groupcall_id: Uuid,
    /// All at once or one after another.
    pub ring_method: RingMethod,
    /// What an answer does to the others.
    pub answer_method: AnswerMethod,
    /// The first call that answered; nil until one does.
    pub answer_call_id: Uuid,
    /// Its calls, in the order they were dialled.
    pub call_ids: Vec<Uuid>,
    /// The first group call that answered (nested group calls); nil.
    pub answer_groupcall_id: Uuid,
    /// Nested group calls.
    pub groupcall_ids: Vec<Uuid>,
    /// Its calls still live.
    pub call_count: i64,
    /// Its nested group calls still live.
    pub groupcall_count: i64,
    /// The destination being dialled (linear); 0 for ring_all.
    pub dial_index: i64,
    /// Variables seeded into each call's flow (internal).
    #[serde(skip_serializing, default)]
    pub variables: Map<String, Value>,
    /// Created.
    pub tm_create: String,
    /// Last changed.
    pub tm_update: Option<String>,
    /// Deleted; `None` while live.
    pub tm_delete: Option<String>,
}

impl Groupcall {
    /// True once the group call is over.
    pub fn is_over(&self) -> bool {
        self.status == GroupStatus::Hangup
    }

    /// True once one of its calls answered.
    pub fn is_answered(&self) -> bool {
        !self.answer_call_id.is_nil()
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn statuses_only_move_forward() {
        use GroupStatus::*;
        assert!(Progressing.can_move_to(Hangingup));
        assert!(Progressing.can_move_to(Hangup));
        assert!(Hangingup.can_move_to(Hangup));
        for s in GroupStatus::ALL {
            assert!(!s.can_move_to(s));
            assert!(!Hangup.can_move_to(s));
        }
        assert!(!Hangingup.can_move_to(Progressing));
        assert_eq!(
            GroupStatus::sources_of(Hangup),
            vec![Progressing, Hangingup]
        );
        assert_eq!(GroupStatus::sources_of(Progressing), vec![]);
    }

    #[test]
    fn methods_use_the_contract_words() {
        assert_eq!(RingMethod::parse("ring_all"), Some(RingMethod::RingAll));
        assert_eq!(RingMethod::parse("ringall"), Some(RingMethod::RingAll));
        assert_eq!(RingMethod::parse("linear"), Some(RingMethod::Linear));
        assert_eq!(RingMethod::parse("random"), None);
        assert_eq!(AnswerMethod::parse(""), Some(AnswerMethod::None));
        assert_eq!(
            AnswerMethod::parse("hangup_others"),
            Some(AnswerMethod::HangupOthers)
        );
        assert_eq!(AnswerMethod::parse("keep"), None);
        assert_eq!(
            serde_json::to_value(RingMethod::RingAll).unwrap(),
            "ring_all"
        );
        assert_eq!(serde_json::to_value(AnswerMethod::None).unwrap(), "");
        assert_eq!(
            serde_json::to_value(GroupStatus::Hangingup).unwrap(),
            "hangingup"
        );
    }
}
