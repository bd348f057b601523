//! A customer (tenant) as stored, and its public JSON shapes.

use serde_json::{json, Value};
use uuid::Uuid;
use voxbin_core::{Error, Result};
use voxbin_store::sqlx::any::AnyRow;

use voxbin_store::row;

/// Account lifecycle status: `initial|active|frozen|deleted|expired`.
pub const STATUSES: [&str; 5] = ["initial", "active", "frozen", "deleted", "expired"];

/// Status of an account that may use the platform.
pub const STATUS_ACTIVE: &str = "active";

/// Status of a frozen account (scheduled for deletion, every operation refused).
pub const STATUS_FROZEN: &str = "frozen";

/// Status of a deleted account.
pub const STATUS_DELETED: &str = "deleted";

/// The billing account id of a customer without one (VoIPBIN writes the nil UUID).
pub const NO_BILLING_ACCOUNT: Uuid = Uuid::nil();

/// One row of `customer_customers`.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    /// Customer id (also its own `customer_id`).
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Free text.
    pub detail: String,
    /// Contact email.
    pub email: String,
    /// Contact phone number (E.164 by convention).
    pub phone_number: String,
    /// Postal address.
    pub address: String,
    /// Webhook HTTP method (`""`, POST, GET, PUT, DELETE).
    pub webhook_method: String,
    /// Webhook target URL, or empty.
    pub webhook_uri: String,
    /// Key the webhook service signs deliveries with (HMAC-SHA256); empty: unsigned.
    /// Write-only: never part of any shape the customer service answers or publishes.
    pub webhook_secret: String,
    /// Default billing account (nil when none).
    pub billing_account_id: Uuid,
    /// Configuration flags (`{"rtp_debug": bool}`), stored as JSON.
    pub metadata: Value,
    /// Whether the email was verified (no verification flow in Voxbin yet: false).
    pub email_verified: bool,
    /// Lifecycle status, one of [`STATUSES`].
    pub status: String,
    /// Identity verification status (`none|pending|verified|rejected`).
    pub identity_verification_status: String,
    /// Terms of Service version agreed to (admin-only field).
    pub terms_agreed_version: String,
    /// Address the Terms of Service were agreed from (admin-only field).
    pub terms_agreed_ip: String,
    /// When deletion was requested, if it was.
    pub tm_deletion_scheduled: Option<String>,
    /// Creation time.
    pub tm_create: String,
    /// Last update time.
    pub tm_update: Option<String>,
    /// Deletion time; `None` while live.
    pub tm_delete: Option<String>,
}

impl Customer {
    /// A fresh active customer with empty contact details.
    pub fn new(id: Uuid, now: &str) -> Customer {
        Customer {
            id,
            name: String::new(),
            detail: String::new(),
            email: String::new(),
            phone_number: String::new(),
            address: String::new(),
            webhook_method: String::new(),
            webhook_uri: String::new(),
            webhook_secret: String::new(),
            billing_account_id: NO_BILLING_ACCOUNT,
            metadata: json!({"rtp_debug": false}),
            email_verified: false,
            status: STATUS_ACTIVE.to_string(),
            identity_verification_status: "none".to_string(),
            terms_agreed_version: String::new(),
            terms_agreed_ip: String::new(),
            tm_deletion_scheduled: None,
            tm_create: now.to_string(),
            tm_update: Some(now.to_string()),
            tm_delete: None,
        }
    }

    /// Decodes a row selected with [`super::store::COLUMNS`].
    pub fn from_row(row: &AnyRow) -> Result<Customer> {
        let metadata_text = row::text(row, "metadata")?;
        let metadata = serde_json::from_str(&metadata_text)
            .map_err(|e| Error::internal(format!("customer metadata is not JSON: {e}")))?;
        Ok(Customer {
            id: row::uuid(row, "id")?,
            name: row::text(row, "name")?,
            detail: row::text(row, "detail")?,
            email: row::text(row, "email")?,
            phone_number: row::text(row, "phone_number")?,
            address: row::text(row, "address")?,
            webhook_method: row::text(row, "webhook_method")?,
            webhook_uri: row::text(row, "webhook_uri")?,
            webhook_secret: row::text(row, "webhook_secret")?,
            billing_account_id: row::uuid(row, "billing_account_id")?,
            metadata,
            email_verified: row::flag(row, "email_verified")?,
            status: row::text(row, "status")?,
            identity_verification_status: row::text(row, "identity_verification_status")?,
            terms_agreed_version: row::text(row, "terms_agreed_version")?,
            terms_agreed_ip: row::text(row, "terms_agreed_ip")?,
            tm_deletion_scheduled: row::opt_text(row, "tm_deletion_scheduled")?,
            tm_create: row::text(row, "tm_create")?,
            tm_update: row::opt_text(row, "tm_update")?,
            tm_delete: row::opt_text(row, "tm_delete")?,
        })
    }

    /// The contract's `CustomerManagerCustomer`: what a customer sees of itself (`/customer`).
    pub fn to_public(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "detail": self.detail,
            "email": self.email,
            "phone_number": self.phone_number,
            "address": self.address,
            "webhook_method": self.webhook_method,
            "webhook_uri": self.webhook_uri,
            "billing_account_id": self.billing_account_id,
            "metadata": self.metadata,
            "email_verified": self.email_verified,
            "status": self.status,
            "identity_verification_status": self.identity_verification_status,
            "tm_deletion_scheduled": self.tm_deletion_scheduled,
            "tm_create": self.tm_create,
            "tm_update": self.tm_update,
            "tm_delete": self.tm_delete,
        })
    }

    /// The contract's `CustomerManagerCustomerAdmin`: the public shape plus the admin-only fields
    /// (what `/customers` answers to the project super-admin).
    pub fn to_admin(&self) -> Value {
        let mut value = self.to_public();
        if let Some(map) = value.as_object_mut() {
            map.insert(
                "terms_agreed_version".into(),
                Value::String(self.terms_agreed_version.clone()),
            );
            map.insert(
                "terms_agreed_ip".into(),
                Value::String(self.terms_agreed_ip.clone()),
            );
        }
        value
    }

    /// The shape for a caller: admin fields only for the super-admin / internal scope.
    pub fn shape_for(&self, admin: bool) -> Value {
        if admin {
            self.to_admin()
        } else {
            self.to_public()
        }
    }
}
