//! The apps area's SQL, the only SQL for the tables it owns: `apps` (each app's details and
//! whether it is in the trash), its files (`files`) and its share links (`links`). Every query
//! runs in the owner's tenant transaction and names the owner.
//!
//! Owns: `apps`.

pub mod export;
pub mod files;
pub mod links;
pub mod members;
pub mod published;

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::platform::{
    db::{self, TenantTx},
    ids::{AppId, OwnerId},
    jobs::BoxFuture,
    server_parts::for_owner,
};

/// An app as stored, with its files counted.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredApp {
    pub id: AppId,
    pub name: String,
    pub description: String,
    pub connect_hosts: Vec<String>,
    pub updated_at: OffsetDateTime,
    pub purge_at: Option<OffsetDateTime>,
    /// On Discover since, under this author name.
    pub published_at: Option<OffsetDateTime>,
    pub published_author: Option<String>,
    pub remix_allowed: bool,
    pub remixed_from: Option<String>,
    pub files: i64,
    pub bytes: i64,
}

const COLUMNS: &str = "a.id, a.name, a.description, a.connect_hosts, a.updated_at, a.purge_at, \
     a.published_at, a.published_author, a.remix_allowed, a.remixed_from, \
     (SELECT count(*) FROM app_files f WHERE f.owner_id = a.owner_id AND f.app_id = a.id) AS files, \
     (SELECT coalesce(sum(f.size_bytes), 0)::bigint FROM app_files f \
      WHERE f.owner_id = a.owner_id AND f.app_id = a.id) AS bytes";

/// Makes changes to `owner`'s apps (by the owner or an editor) wait for each other until the
/// transaction ends, so that the limits on files and sizes are counted by one change at a time.
pub async fn lock_changes(tx: &mut TenantTx, owner: OwnerId) -> Result<(), sqlx::Error> {
    db::lock_until_commit(tx, &format!("apps:{owner}")).await
}

/// How many apps the tenant has, the trash's included.
pub async fn count(tx: &mut TenantTx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM apps WHERE owner_id = $1")
        .bind(tx.owner_id())
        .fetch_one(&mut **tx)
        .await
}

/// Like `lock_changes`, but false at once when another change holds the lock.
pub async fn try_lock_changes(tx: &mut TenantTx, owner: OwnerId) -> Result<bool, sqlx::Error> {
    db::try_lock_until_commit(tx, &format!("apps:{owner}")).await
}

/// The tenant's apps in the trash and when each is purged.
pub async fn trashed(tx: &mut TenantTx) -> Result<Vec<(AppId, OffsetDateTime)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, purge_at FROM apps WHERE owner_id = $1 AND purge_at IS NOT NULL ORDER BY id",
    )
    .bind(tx.owner_id())
    .fetch_all(&mut **tx)
    .await
}

/// Makes an app; `remixed_from` notes the published app it copies, if any.
pub async fn insert(
    tx: &mut TenantTx,
    id: AppId,
    name: &str,
    description: &str,
    remixed_from: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO apps (owner_id, id, name, description, remixed_from, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(name)
    .bind(description)
    .bind(remixed_from)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// The tenant's apps, the most recently changed first.
pub async fn list(tx: &mut TenantTx) -> Result<Vec<StoredApp>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apps a WHERE a.owner_id = $1 ORDER BY a.updated_at DESC, a.id"
    ))
    .bind(tx.owner_id())
    .fetch_all(&mut **tx)
    .await
}

pub async fn get(tx: &mut TenantTx, id: AppId) -> Result<Option<StoredApp>, sqlx::Error> {
    let owner = tx.owner_id();
    get_of(tx, owner, id).await
}

/// `owner`'s app, as the transaction's tenant may see it (its own, or one shared with it).
pub async fn get_of(
    tx: &mut TenantTx,
    owner: OwnerId,
    id: AppId,
) -> Result<Option<StoredApp>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM apps a WHERE a.owner_id = $1 AND a.id = $2"
    ))
    .bind(owner)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// The details of an app out of the trash; false when there is none.
pub async fn update_details(
    tx: &mut TenantTx,
    id: AppId,
    name: &str,
    description: &str,
    connect_hosts: &[String],
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE apps SET name = $3, description = $4, connect_hosts = $5, updated_at = $6 \
         WHERE owner_id = $1 AND id = $2 AND trashed_at IS NULL",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(name)
    .bind(description)
    .bind(connect_hosts)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Marks the app changed (its files were).
pub async fn touch(tx: &mut TenantTx, id: AppId, now: OffsetDateTime) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE apps SET updated_at = $3 WHERE owner_id = $1 AND id = $2")
        .bind(tx.owner_id())
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Moves an app into the trash (and off Discover), to be purged at `purge_at`; false when it is not
/// there to move.
pub async fn trash(
    tx: &mut TenantTx,
    id: AppId,
    now: OffsetDateTime,
    purge_at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE apps SET trashed_at = $3, purge_at = $4, \
             published_at = NULL, published_author = NULL, remix_allowed = false \
         WHERE owner_id = $1 AND id = $2 AND trashed_at IS NULL",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(now)
    .bind(purge_at)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Takes an app out of the trash before its purge; false when it is not there to take.
pub async fn restore(
    tx: &mut TenantTx,
    id: AppId,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE apps SET trashed_at = NULL, purge_at = NULL, updated_at = $3 \
         WHERE owner_id = $1 AND id = $2 AND purge_at > $3",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Deletes an app whose purge is due, with its files and links (by cascade); false when it is
/// not due (restored, or already gone).
pub async fn purge_due(
    tx: &mut TenantTx,
    id: AppId,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let deleted =
        sqlx::query("DELETE FROM apps WHERE owner_id = $1 AND id = $2 AND purge_at <= $3")
            .bind(tx.owner_id())
            .bind(id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    Ok(deleted.rows_affected() == 1)
}

pub fn erase(tx: &mut TenantTx) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let owner_id = tx.owner_id();
        for_owner(tx, owner_id, &[
            "DELETE FROM app_publications WHERE owner_id = $1",
            "DELETE FROM app_secret_uses WHERE owner_id = $1",
            "DELETE FROM app_secrets WHERE owner_id = $1",
            "DELETE FROM app_members WHERE owner_id = $1",
            "DELETE FROM app_share_links WHERE owner_id = $1",
            "DELETE FROM app_files WHERE owner_id = $1",
            "DELETE FROM apps WHERE owner_id = $1",
        ])
        .await
    })
}

pub fn seed(conn: &mut PgConnection, owner: OwnerId) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        for_owner(conn, owner, &[
            "INSERT INTO apps (owner_id, id, name, created_at, updated_at) \
             VALUES ($1, $1, 'Seed', now(), now())",
            "INSERT INTO app_files (owner_id, app_id, path, content_type, content, size_bytes, updated_at) \
             VALUES ($1, $1, 'index.html', 'text/html', '\\x3c703e', 3, now())",
            "INSERT INTO app_share_links (owner_id, app_id, id, label, token_sha256, created_at) \
             VALUES ($1, $1, gen_random_uuid(), 'Seed', decode(repeat('00', 32), 'hex'), now())",
            "INSERT INTO app_members (owner_id, app_id, id, email, role, invited_at, invite_expires_at) \
             VALUES ($1, $1, gen_random_uuid(), 'seed@example.com', 'viewer', now(), now())",
            "INSERT INTO app_publications (owner_id, id, app_id, action, at, receipt) \
             VALUES ($1, gen_random_uuid(), $1, 'published', now(), '{}')",
            "INSERT INTO app_secrets (owner_id, app_id, name, hosts, placement, sealed_value, hint, created_at, rotated_at) \
             VALUES ($1, $1, 'SEED', '{https://api.example.com}', 'bearer', '\\x00', '', now(), now())",
            "INSERT INTO app_secret_uses (owner_id, app_id, name, hour, uses) \
             VALUES ($1, $1, 'SEED', date_trunc('hour', now()), 1)",
        ])
        .await
    })
}
