//! The flow row and its public JSON (`FlowManagerFlow`): the two have the same fields.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use voxbin_actions::Action;

/// Most live flows one customer may keep (VoIPBIN's limit).
pub const MAX_FLOWS_PER_CUSTOMER: i64 = 10_000;

/// Longest flow name, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// Longest flow detail, in characters.
pub const MAX_DETAIL_CHARS: usize = 4096;

/// What a flow is for (`FlowManagerFlowType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowType {
    /// A customer's call or message flow (the default).
    Flow,
    /// A conference's pre/post flow.
    Conference,
    /// A queue's wait flow.
    Queue,
    /// A campaign's flow.
    Campaign,
    /// A transfer's flow.
    Transfer,
}

impl FlowType {
    /// Every wire name, in the contract's order.
    pub const NAMES: &'static [&'static str] =
        &["flow", "conference", "queue", "campaign", "transfer"];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowType::Flow => "flow",
            FlowType::Conference => "conference",
            FlowType::Queue => "queue",
            FlowType::Campaign => "campaign",
            FlowType::Transfer => "transfer",
        }
    }

    /// The type for a wire name.
    pub fn from_wire(name: &str) -> Option<FlowType> {
        Some(match name {
            "flow" => FlowType::Flow,
            "conference" => FlowType::Conference,
            "queue" => FlowType::Queue,
            "campaign" => FlowType::Campaign,
            "transfer" => FlowType::Transfer,
            _ => return None,
        })
    }
}

/// A flow: a row of `flow_flows`, serialised as the contract's `FlowManagerFlow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// The flow's id.
    pub id: Uuid,
    /// The owning customer.
    pub customer_id: Uuid,
    /// What the flow is for.
    pub r#type: FlowType,
    /// Name.
    pub name: String,
    /// Description.
    pub detail: String,
    /// The validated, normalised actions.
    pub actions: Vec<Action>,
    /// `direct.<hash>` for direct SIP access; empty until one is generated.
    pub direct_hash: String,
    /// The flow started when an activeflow of this flow ends; nil for none.
    pub on_complete_flow_id: Uuid,
    /// Creation time.
    pub tm_create: String,
    /// Last update time.
    pub tm_update: Option<String>,
    /// Deletion time; `None` while live.
    pub tm_delete: Option<String>,
    /// Bumped by every write; orders the cached copies (not part of the public JSON).
    #[serde(skip)]
    pub version: i64,
}
