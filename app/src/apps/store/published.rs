//! Publishing an app to Discover: its owner's switches on `apps`, the signed receipts of each
//! publication and withdrawal, and the public reads. Those run in a transaction with no tenant,
//! where the `discover_reads` policies let through published apps of unlocked accounts and
//! their files, and nothing else: the database, not this code, keeps private apps out.
//!
//! Owns: `app_publications`.

use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::platform::{
    db::TenantTx,
    ids::{AppId, OwnerId},
};

/// Publishes the tenant's app (out of the trash, not yet published); false otherwise.
pub async fn publish(
    tx: &mut TenantTx,
    id: AppId,
    author: &str,
    remix_allowed: bool,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE apps SET published_at = $3, published_author = $4, remix_allowed = $5 \
         WHERE owner_id = $1 AND id = $2 AND trashed_at IS NULL AND published_at IS NULL",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(now)
    .bind(author)
    .bind(remix_allowed)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Takes the tenant's app off Discover; false when it was not on it.
pub async fn unpublish(tx: &mut TenantTx, id: AppId) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE apps SET published_at = NULL, published_author = NULL, remix_allowed = false \
         WHERE owner_id = $1 AND id = $2 AND published_at IS NOT NULL",
    )
    .bind(tx.owner_id())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Allows or stops remixing a published app; false when it is not published.
pub async fn set_remix(tx: &mut TenantTx, id: AppId, allowed: bool) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE apps SET remix_allowed = $3 \
         WHERE owner_id = $1 AND id = $2 AND published_at IS NOT NULL",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(allowed)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Keeps the signed receipt of a publication or withdrawal.
pub async fn record(
    tx: &mut TenantTx,
    id: Uuid,
    app: AppId,
    action: &str,
    at: OffsetDateTime,
    receipt: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO app_publications (owner_id, id, app_id, action, at, receipt) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(app)
    .bind(action)
    .bind(at)
    .bind(receipt)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// The receipts of the app, the newest first: id, action and when.
pub async fn receipts(
    tx: &mut TenantTx,
    app: AppId,
) -> Result<Vec<(Uuid, String, OffsetDateTime)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, action, at FROM app_publications \
         WHERE owner_id = $1 AND app_id = $2 ORDER BY at DESC, id LIMIT 50",
    )
    .bind(tx.owner_id())
    .bind(app)
    .fetch_all(&mut **tx)
    .await
}

/// One receipt of the tenant's app.
pub async fn receipt(
    tx: &mut TenantTx,
    app: AppId,
    id: Uuid,
) -> Result<Option<Value>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT receipt FROM app_publications WHERE owner_id = $1 AND app_id = $2 AND id = $3",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// A published app as anyone sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Listed {
    pub owner_id: OwnerId,
    pub id: AppId,
    pub name: String,
    pub description: String,
    pub published_author: String,
    pub published_at: OffsetDateTime,
    pub remix_allowed: bool,
    pub connect_hosts: Vec<String>,
}

const LISTED: &str = "owner_id, id, name, description, published_author, published_at, \
                      remix_allowed, connect_hosts";

/// Published apps, the newest first, at most `limit`; with `pattern` (a LIKE pattern whose
/// own `%`, `_` and `\` the caller escaped), those whose name or description matches it. No
/// tenant is set: the policies decide which rows exist here.
pub async fn listed(
    conn: &mut PgConnection,
    pattern: Option<&str>,
    limit: i64,
) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {LISTED} FROM apps WHERE published_at IS NOT NULL \
         AND ($1::text IS NULL OR name ILIKE $1 ESCAPE '\\' OR description ILIKE $1 ESCAPE '\\') \
         ORDER BY published_at DESC, id DESC LIMIT $2"
    ))
    .bind(pattern)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// One published app of `owner`, if it is published and its account unlocked.
pub async fn one(
    conn: &mut PgConnection,
    owner: OwnerId,
    id: AppId,
) -> Result<Option<Listed>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {LISTED} FROM apps WHERE owner_id = $1 AND id = $2 AND published_at IS NOT NULL"
    ))
    .bind(owner)
    .bind(id)
    .fetch_optional(conn)
    .await
}
