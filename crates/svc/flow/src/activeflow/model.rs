//! The activeflow row and its public JSON (`FlowManagerActiveflow`).
//!
//! The row holds the engine's state (stack map, current stack, forward stack, execute count);
//! the public JSON leaves those out, as VoIPBIN's webhook shape does.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_actions::{Action, ID_EMPTY, ID_START};

/// Id of the main stack, the one holding the flow's own actions (VoIPBIN's `…0001`).
pub const MAIN_STACK_ID: Uuid = Uuid::from_u128(1);

/// Whether an activeflow still runs (`FlowManagerActiveflowStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActiveflowStatus {
    /// The cursor may still move.
    Running,
    /// Stopped or finished; final.
    Ended,
}

impl ActiveflowStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActiveflowStatus::Running => "running",
            ActiveflowStatus::Ended => "ended",
        }
    }

    /// The status for a wire name.
    pub fn from_wire(name: &str) -> Option<Self> {
        match name {
            "running" => Some(ActiveflowStatus::Running),
            "ended" => Some(ActiveflowStatus::Ended),
            _ => None,
        }
    }
}

/// What an activeflow runs against (`FlowManagerReferenceType`, without the empty value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReferenceType {
    /// An AI session.
    Ai,
    /// An API-started run with no media.
    Api,
    /// A call (the only real-time media reference).
    Call,
    /// A campaign.
    Campaign,
    /// A conversation.
    Conversation,
    /// A transcription.
    Transcribe,
    /// A recording.
    Recording,
}

impl ReferenceType {
    /// Every wire name.
    pub const NAMES: &'static [&'static str] = &[
        "ai",
        "api",
        "call",
        "campaign",
        "conversation",
        "transcribe",
        "recording",
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReferenceType::Ai => "ai",
            ReferenceType::Api => "api",
            ReferenceType::Call => "call",
            ReferenceType::Campaign => "campaign",
            ReferenceType::Conversation => "conversation",
            ReferenceType::Transcribe => "transcribe",
            ReferenceType::Recording => "recording",
        }
    }

    /// The type for a wire name.
    pub fn from_wire(name: &str) -> Option<Self> {
        Some(match name {
            "ai" => ReferenceType::Ai,
            "api" => ReferenceType::Api,
            "call" => ReferenceType::Call,
            "campaign" => ReferenceType::Campaign,
            "conversation" => ReferenceType::Conversation,
            "transcribe" => ReferenceType::Transcribe,
            "recording" => ReferenceType::Recording,
            _ => return None,
        })
    }
}

/// One action list of an activeflow and where to return when it runs out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    /// The stack's id (the main stack, or the id of the service that pushed it).
    pub id: Uuid,
    /// Its actions.
    pub actions: Vec<Action>,
    /// The stack to return to; nil for the main stack.
    pub return_stack_id: Uuid,
    /// The action to return to in that stack; nil for the main stack.
    pub return_action_id: Uuid,
}

/// The cursor of a fresh activeflow: VoIPBIN's start action, `{id: …0001, next_id: …0000}`.
pub fn start_action() -> Value {
    json!({"id": ID_START, "next_id": ID_EMPTY})
}

/// How many executed actions an activeflow keeps (the most recent), so a long call's row stays
/// small; `execute_count` still counts them all.
pub const MAX_EXECUTED_KEPT: usize = 100;

/// An activeflow: a row of `flow_activeflows`.
#[derive(Debug, Clone, PartialEq)]
pub struct Activeflow {
    /// The activeflow's id.
    pub id: Uuid,
    /// The owning customer.
    pub customer_id: Uuid,
    /// The flow it runs.
    pub flow_id: Uuid,
    /// Running or ended.
    pub status: ActiveflowStatus,
    /// What it runs against.
    pub reference_type: ReferenceType,
    /// The id of that resource.
    pub reference_id: Uuid,
    /// The activeflow whose end started this one (on_complete chains); nil for none.
    pub reference_activeflow_id: Uuid,
    /// The flow to start when this one ends; nil for none.
    pub on_complete_flow_id: Uuid,
    /// Extra webhook destination of this run; empty for none.
    pub webhook_uri: String,
    /// Its method (`POST`, ...); empty for none.
    pub webhook_method: String,
    /// Every stack by id; the main stack holds the flow's actions.
    pub stack_map: BTreeMap<Uuid, Stack>,
    /// The stack the cursor is in.
    pub current_stack_id: Uuid,
    /// The action under the cursor: an [`Action`], or the typeless [`start_action`].
    pub current_action: Value,
    /// The stack of a pending jump; nil for none.
    pub forward_stack_id: Uuid,
    /// The action of a pending jump; nil for none.
    pub forward_action_id: Uuid,
    /// Actions executed so far (guards against endless loops).
    pub execute_count: i64,
    /// The most recent actions executed (at most [`MAX_EXECUTED_KEPT`]), with their `tm_execute`.
    pub executed_actions: Vec<Action>,
    /// Why it ended (stop request, finished flow, budget, failed fetch, ...); empty while running.
    pub end_reason: String,
    /// Bumped by every write; a write that finds another revision lost a race and is retried.
    pub revision: i64,
    /// Creation time.
    pub tm_create: String,
    /// Last update time.
    pub tm_update: Option<String>,
    /// Deletion time; `None` while live.
    pub tm_delete: Option<String>,
}

/// The public JSON of an activeflow (`FlowManagerActiveflow`).
#[derive(Debug, Serialize)]
pub struct PublicActiveflow<'a> {
    id: Uuid,
    customer_id: Uuid,
    flow_id: Uuid,
    status: ActiveflowStatus,
    reference_type: ReferenceType,
    reference_id: Uuid,
    reference_activeflow_id: Uuid,
    on_complete_flow_id: Uuid,
    webhook_uri: &'a str,
    webhook_method: &'a str,
    /// Absent while the cursor is on the (typeless) start action.
    #[serde(skip_serializing_if = "Option::is_none")]
    current_action: Option<Action>,
    forward_action_id: Uuid,
    executed_actions: &'a [Action],
    tm_create: &'a str,
    tm_update: Option<&'a str>,
    tm_delete: Option<&'a str>,
}

impl Activeflow {
    /// A fresh `running` activeflow of `flow`: its actions as the main stack, the cursor on
    /// the start action.
    pub fn start(
        customer_id: Uuid,
        flow: &crate::flow::model::Flow,
        reference_type: ReferenceType,
        reference_id: Uuid,
        now: &str,
    ) -> Activeflow {
        let main = Stack {
            id: MAIN_STACK_ID,
            actions: flow.actions.clone(),
            return_stack_id: Uuid::nil(),
            return_action_id: Uuid::nil(),
        };
        Activeflow {
            id: voxbin_core::id::new_id(),
            customer_id,
            flow_id: flow.id,
            status: ActiveflowStatus::Running,
            reference_type,
            reference_id,
            reference_activeflow_id: Uuid::nil(),
            on_complete_flow_id: flow.on_complete_flow_id,
            webhook_uri: String::new(),
            webhook_method: String::new(),
            stack_map: BTreeMap::from([(MAIN_STACK_ID, main)]),
            current_stack_id: MAIN_STACK_ID,
            current_action: start_action(),
            forward_stack_id: Uuid::nil(),
            forward_action_id: Uuid::nil(),
            execute_count: 0,
            executed_actions: Vec::new(),
            end_reason: String::new(),
            revision: 0,
            tm_create: now.to_owned(),
            tm_update: Some(now.to_owned()),
            tm_delete: None,
        }
    }

    /// The public JSON shape, without the engine's internal state.
    pub fn public(&self) -> PublicActiveflow<'_> {
        PublicActiveflow {
            id: self.id,
            customer_id: self.customer_id,
            flow_id: self.flow_id,
            status: self.status,
            reference_type: self.reference_type,
            reference_id: self.reference_id,
            reference_activeflow_id: self.reference_activeflow_id,
            on_complete_flow_id: self.on_complete_flow_id,
            webhook_uri: &self.webhook_uri,
            webhook_method: &self.webhook_method,
            // The start action has no type, which the contract's action schema requires.
            current_action: serde_json::from_value(self.current_action.clone()).ok(),
            forward_action_id: self.forward_action_id,
            executed_actions: &self.executed_actions,
            tm_create: &self.tm_create,
            tm_update: self.tm_update.as_deref(),
            tm_delete: self.tm_delete.as_deref(),
        }
    }

    /// The public JSON as a value.
    pub fn public_json(&self) -> voxbin_core::Result<Value> {
        serde_json::to_value(self.public()).map_err(|e| {
            voxbin_core::Error::internal(format!("cannot encode activeflow {}: {e}", self.id))
        })
    }
}
