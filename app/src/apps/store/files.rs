//! An app's files: tenant rows, so that isolation, export and deletion cover them. Each query
//! names the app's owner: the owner's own transaction, or a member's, whom the policies let in.
//!
//! Owns: `app_files`.

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::platform::{
    db::TenantTx,
    ids::{AppId, OwnerId},
};

/// A file as listed (without its content).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredFile {
    pub path: String,
    pub content_type: String,
    pub size_bytes: i32,
}

/// Writes a file, replacing the one at the same path.
pub async fn put(
    tx: &mut TenantTx,
    owner: OwnerId,
    app: AppId,
    path: &str,
    content_type: &str,
    content: &[u8],
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO app_files (owner_id, app_id, path, content_type, content, size_bytes, updated_at) \
         VALUES ($1, $2, $3, $4, $5, octet_length($5), $6) \
         ON CONFLICT (owner_id, app_id, path) DO UPDATE \
         SET content_type = excluded.content_type, content = excluded.content, \
             size_bytes = excluded.size_bytes, updated_at = excluded.updated_at",
    )
    .bind(owner)
    .bind(app)
    .bind(path)
    .bind(content_type)
    .bind(content)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Deletes a file; false when the app has none at that path.
pub async fn delete(
    tx: &mut TenantTx,
    owner: OwnerId,
    app: AppId,
    path: &str,
) -> Result<bool, sqlx::Error> {
    let deleted =
        sqlx::query("DELETE FROM app_files WHERE owner_id = $1 AND app_id = $2 AND path = $3")
            .bind(owner)
            .bind(app)
            .bind(path)
            .execute(&mut **tx)
            .await?;
    Ok(deleted.rows_affected() == 1)
}

/// The app's files, by path.
pub async fn list(
    tx: &mut TenantTx,
    owner: OwnerId,
    app: AppId,
) -> Result<Vec<StoredFile>, sqlx::Error> {
    sqlx::query_as(
        "SELECT path, content_type, size_bytes FROM app_files \
         WHERE owner_id = $1 AND app_id = $2 ORDER BY path",
    )
    .bind(owner)
    .bind(app)
    .fetch_all(&mut **tx)
    .await
}

/// A file's content type and content, as the connection's tenant (or, with none, anyone) may
/// read it.
pub async fn read(
    conn: &mut PgConnection,
    owner: OwnerId,
    app: AppId,
    path: &str,
) -> Result<Option<(String, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT content_type, content FROM app_files \
         WHERE owner_id = $1 AND app_id = $2 AND path = $3",
    )
    .bind(owner)
    .bind(app)
    .bind(path)
    .fetch_optional(conn)
    .await
}

/// Every file of the app with its content, by path: what the publish check reads and a remix
/// copies.
pub async fn contents(
    conn: &mut PgConnection,
    owner: OwnerId,
    app: AppId,
) -> Result<Vec<(String, String, Vec<u8>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT path, content_type, content FROM app_files \
         WHERE owner_id = $1 AND app_id = $2 ORDER BY path",
    )
    .bind(owner)
    .bind(app)
    .fetch_all(conn)
    .await
}

/// Each file's path, SHA-256 (hex) and size, by path: what a publication receipt names.
pub async fn digests(
    tx: &mut TenantTx,
    owner: OwnerId,
    app: AppId,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT path, encode(sha256(content), 'hex'), size_bytes::bigint FROM app_files \
         WHERE owner_id = $1 AND app_id = $2 ORDER BY path",
    )
    .bind(owner)
    .bind(app)
    .fetch_all(&mut **tx)
    .await
}

/// How many files the app holds and how much they weigh.
pub async fn app_totals(
    tx: &mut TenantTx,
    owner: OwnerId,
    app: AppId,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*), coalesce(sum(size_bytes), 0)::bigint FROM app_files \
         WHERE owner_id = $1 AND app_id = $2",
    )
    .bind(owner)
    .bind(app)
    .fetch_one(&mut **tx)
    .await
}
