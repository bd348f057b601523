//! SQL for `agent_agents`.
//!
//! `live_username` holds the lower-cased username while the agent is live and NULL once it
//! is deleted; its unique index makes usernames unique among live agents on both engines, so
//! every delete here clears it.

use uuid::Uuid;
use voxbin_core::{clock, Result};
use voxbin_store::sqlx::{self, Any, AssertSqlSafe, Executor};
use voxbin_store::{map_db_error, Db, Page, PageRequest, LIVE};
use voxbin_svc_kit::scoped::Table;

use super::model::Agent;

/// Columns selected for an [`Agent`].
pub const COLUMNS: &str = "id, customer_id, username, password_hash, name, detail, ring_method, \
    status, permission, tag_ids, addresses, direct_hash, tm_password_update, tm_create, \
    tm_update, tm_delete";

/// `agent_agents`, scoped on `customer_id`.
const TABLE: Table = Table::new("agent_agents", COLUMNS);

/// The key usernames are unique and looked up by.
pub fn username_key(username: &str) -> String {
    username.trim().to_lowercase()
}

/// Inserts a new agent; a taken username is 409 `ALREADY_EXISTS`.
pub async fn insert<'e>(exec: impl Executor<'e, Database = Any>, a: &Agent) -> Result<()> {
    sqlx::query(
        "INSERT INTO agent_agents (id, customer_id, username, live_username, password_hash, name, \
         detail, ring_method, status, permission, tag_ids, addresses, direct_hash, \
         tm_password_update, tm_create, tm_update, tm_delete) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(a.id.to_string())
    .bind(a.customer_id.to_string())
    .bind(a.username.as_str())
    .bind(username_key(&a.username))
    .bind(a.password_hash.as_str())
    .bind(a.name.as_str())
    .bind(a.detail.as_str())
    .bind(a.ring_method.as_str())
    .bind(a.status.as_str())
    .bind(i64::try_from(a.permission).unwrap_or(0))
    .bind(serde_json::to_string(&a.tag_ids).unwrap_or_else(|_| "[]".into()))
    .bind(serde_json::to_string(&a.addresses).unwrap_or_else(|_| "[]".into()))
    .bind(a.direct_hash.as_str())
    .bind(a.tm_password_update.as_str())
    .bind(a.tm_create.as_str())
    .bind(a.tm_update.clone())
    .bind(a.tm_delete.clone())
    .execute(exec)
    .await
    .map_err(map_db_error)?;
    Ok(())
}

/// The agent `id` (live only unless `with_deleted`), scoped to `customer` when given.
pub async fn get<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: Uuid,
    customer: Option<Uuid>,
    with_deleted: bool,
) -> Result<Option<Agent>> {
    TABLE
        .get(exec, id, customer, with_deleted, Agent::from_row)
        .await
}

/// The live agent with this username (compared without case).
pub async fn get_by_username(db: &Db, username: &str) -> Result<Option<Agent>> {
    let sql = format!("SELECT {COLUMNS} FROM agent_agents WHERE live_username = ?");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(username_key(username))
        .fetch_optional(db.writer())
        .await
        .map_err(map_db_error)?;
    row.as_ref().map(Agent::from_row).transpose()
}

/// One page of live agents, newest first, of one customer (or of all).
pub async fn list(db: &Db, customer: Option<Uuid>, req: &PageRequest) -> Result<Page<Agent>> {
    let agents = db
        .read(|pool| TABLE.list(pool, customer, req, Agent::from_row))
        .await?;
    Ok(Page::from_rows(agents, req.size, |a| {
        (a.tm_create.clone(), a.id)
    }))
}

/// Stores a new password hash and moves `tm_password_update` to now; false when not live.
pub async fn set_password<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: Uuid,
    password_hash: &str,
) -> Result<bool> {
    let now = clock::now();
    let sql = format!(
        "UPDATE agent_agents SET password_hash = ?, tm_password_update = ?, tm_update = ? \
         WHERE id = ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(password_hash)
        .bind(now.as_str())
        .bind(now.as_str())
        .bind(id.to_string())
        .execute(exec)
        .await
        .map_err(map_db_error)?;
    Ok(done.rows_affected() > 0)
}

/// Soft-deletes the live agent `id` (scoped to `customer` when given) and frees its username.
pub async fn delete<'e>(
    exec: impl Executor<'e, Database = Any>,
    id: Uuid,
    customer: Option<Uuid>,
) -> Result<bool> {
    let also = "live_username = NULL";
    TABLE.soft_delete(exec, id, customer, also).await
}

/// Soft-deletes every live agent of `customer`; returns how many.
/// Ids of the customer's live agents.
pub async fn live_ids_of(db: &Db, customer: Uuid) -> Result<Vec<Uuid>> {
    let sql = format!("SELECT id FROM agent_agents WHERE customer_id = ? AND {LIVE}");
    let ids: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql))
        .bind(customer.to_string())
        .fetch_all(db.writer())
        .await
        .map_err(map_db_error)?;
    Ok(ids.iter().filter_map(|t| Uuid::parse_str(t).ok()).collect())
}

/// Soft-deletes every live agent of a customer; returns how many.
pub async fn delete_all_of(db: &Db, customer: Uuid) -> Result<u64> {
    let now = clock::now();
    let sql = format!(
        "UPDATE agent_agents SET live_username = NULL, tm_update = ?, tm_delete = ? \
         WHERE customer_id = ? AND {LIVE}"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(now.as_str())
        .bind(now.as_str())
        .bind(customer.to_string())
        .execute(db.writer())
        .await
        .map_err(map_db_error)?;
    Ok(done.rows_affected())
}
