//! An agent as stored, its public JSON shape and the internal auth view.

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_core::Result;
use voxbin_store::sqlx::any::AnyRow;

use voxbin_store::row;

/// Permission bit: the project super-admin.
pub const PERMISSION_PROJECT_SUPER_ADMIN: u64 = 0x1;
/// Permission bit: a customer's agent.
pub const PERMISSION_CUSTOMER_AGENT: u64 = 0x10;
/// Permission bit: a customer's admin (what access keys act as).
pub const PERMISSION_CUSTOMER_ADMIN: u64 = 0x20;
/// Permission bit: a customer's manager.
pub const PERMISSION_CUSTOMER_MANAGER: u64 = 0x40;

/// Permission values the contract allows (`AgentManagerAgentPermission`).
pub const PERMISSIONS: [u64; 8] = [0, 0xffff, 0x1, 0xf, 0x10, 0x20, 0x40, 0xf0];

/// Permission values a customer may give its own agents (no project-level bits).
pub const CUSTOMER_PERMISSIONS: [u64; 5] = [0, 0x10, 0x20, 0x40, 0xf0];

/// Ring methods of the contract.
pub const RING_METHODS: [&str; 2] = ["ringall", "linear"];

/// Address types of the contract's `CommonAddress`.
pub const ADDRESS_TYPES: [&str; 9] = [
    "",
    "agent",
    "conference",
    "email",
    "extension",
    "line",
    "sip",
    "tel",
    "web_session",
];

/// Status of a new agent.
pub const STATUS_OFFLINE: &str = "offline";

/// One row of `agent_agents` (the password hash never leaves the service).
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    /// Agent id.
    pub id: Uuid,
    /// Owning customer.
    pub customer_id: Uuid,
    /// Login name as given (unique among live agents, without case).
    pub username: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// `ringall` or `linear`.
    pub ring_method: String,
    /// Availability status.
    pub status: String,
    /// Permission bits.
    pub permission: u64,
    /// Tag ids.
    pub tag_ids: Vec<Uuid>,
    /// Endpoint addresses (`CommonAddress` objects).
    pub addresses: Vec<Value>,
    /// Direct-access hash (empty until generated).
    pub direct_hash: String,
    /// When the password was last set; tokens issued before it are revoked by the gateway.
    pub tm_password_update: String,
    /// Creation time.
    pub tm_create: String,
    /// Last update time.
    pub tm_update: Option<String>,
    /// Deletion time; `None` while live.
    pub tm_delete: Option<String>,
}

impl Agent {
    /// Decodes a row selected with [`super::store::COLUMNS`].
    pub fn from_row(row: &AnyRow) -> Result<Agent> {
        Ok(Agent {
            id: row::uuid(row, "id")?,
            customer_id: row::uuid(row, "customer_id")?,
            username: row::text(row, "username")?,
            password_hash: row::text(row, "password_hash")?,
            name: row::text(row, "name")?,
            detail: row::text(row, "detail")?,
            ring_method: row::text(row, "ring_method")?,
            status: row::text(row, "status")?,
            permission: u64::try_from(row::int(row, "permission")?).unwrap_or(0),
            tag_ids: row::json(row, "tag_ids")?,
            addresses: row::json(row, "addresses")?,
            direct_hash: row::text(row, "direct_hash")?,
            tm_password_update: row::text(row, "tm_password_update")?,
            tm_create: row::text(row, "tm_create")?,
            tm_update: row::opt_text(row, "tm_update")?,
            tm_delete: row::opt_text(row, "tm_delete")?,
        })
    }

    /// The contract's `AgentManagerAgent` (no password hash, no internal timestamps).
    pub fn to_public(&self) -> Value {
        json!({
            "id": self.id,
            "customer_id": self.customer_id,
            "username": self.username,
            "name": self.name,
            "detail": self.detail,
            "ring_method": self.ring_method,
            "status": self.status,
            "permission": self.permission,
            "tag_ids": self.tag_ids,
            "addresses": self.addresses,
            "direct_hash": self.direct_hash,
            "tm_create": self.tm_create,
            "tm_update": self.tm_update,
            "tm_delete": self.tm_delete,
        })
    }

    /// What the gateway needs to accept or revoke a JWT of this agent
    /// (`GET /v1/agents/{id}/auth`): tokens issued before `tm_password_update`, or after
    /// `tm_delete`, are no longer valid.
    pub fn to_auth(&self) -> Value {
        json!({
            "id": self.id,
            "customer_id": self.customer_id,
            "permission": self.permission,
            "tm_password_update": self.tm_password_update,
            "tm_delete": self.tm_delete,
        })
    }
}
