//! The authenticated caller and the permission bits of the contract.

use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_svc_kit::Scope;

/// Permission bits (`AgentManagerAgentPermission`).
pub struct Permission;

impl Permission {
    /// Project super-admin: every customer's data.
    pub const PROJECT_SUPER_ADMIN: u64 = 0x1;
    /// A customer's agent.
    pub const CUSTOMER_AGENT: u64 = 0x10;
    /// A customer's administrator.
    pub const CUSTOMER_ADMIN: u64 = 0x20;
    /// A customer's manager.
    pub const CUSTOMER_MANAGER: u64 = 0x40;
    /// Admin or manager.
    pub const ADMIN_OR_MANAGER: u64 = Self::CUSTOMER_ADMIN | Self::CUSTOMER_MANAGER;
}

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    /// An access key.
    AccessKey {
        /// The key's id.
        id: Uuid,
    },
    /// A login token issued to an agent.
    Token {
        /// The agent.
        agent_id: Uuid,
    },
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The caller's customer.
    pub customer_id: Uuid,
    /// Permission bits in force now.
    pub permission: u64,
    /// The credential used.
    pub via: Via,
}

impl Identity {
    /// True for the project super-admin.
    pub fn is_super_admin(&self) -> bool {
        self.permission & Permission::PROJECT_SUPER_ADMIN != 0
    }

    /// The data this caller may touch.
    pub fn scope(&self) -> Scope {
        if self.is_super_admin() {
            Scope::All
        } else {
            Scope::Customer(self.customer_id)
        }
    }

    /// The agent, when the caller logged in as one.
    pub fn agent_id(&self) -> Option<Uuid> {
        match self.via {
            Via::Token { agent_id } => Some(agent_id),
            Via::AccessKey { .. } => None,
        }
    }

    /// Passes when the caller holds any of `bits` or is the super-admin.
    pub fn require(&self, bits: u64) -> Result<()> {
        if self.is_super_admin() || self.permission & bits != 0 {
            Ok(())
        } else {
            Err(Error::permission_denied(
                "This credential lacks the permission for this operation.",
            ))
        }
    }
}
