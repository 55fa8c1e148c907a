//! An app's share links: only a hash of each token is kept, and a password's argon2id hash.
//!
//! Owns: `app_share_links`.

use time::OffsetDateTime;

use crate::platform::{
    db::TenantTx,
    ids::{AppId, ShareLinkId},
};

/// A link as stored (its token's hash stays in the database).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredLink {
    pub id: ShareLinkId,
    pub label: String,
    pub password_hash: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub uses: i64,
    pub last_used_at: Option<OffsetDateTime>,
    pub last_used_network: Option<String>,
    pub failed_tries: i32,
    pub locked_until: Option<OffsetDateTime>,
}

const COLUMNS: &str = "id, label, password_hash, expires_at, revoked_at, uses, last_used_at, \
                       last_used_network, failed_tries, locked_until";

/// What a new link is.
pub struct NewLink<'a> {
    pub id: ShareLinkId,
    pub label: &'a str,
    pub token_sha256: &'a [u8],
    pub password_hash: Option<&'a str>,
    pub expires_at: Option<OffsetDateTime>,
}

pub async fn insert(
    tx: &mut TenantTx,
    app: AppId,
    link: &NewLink<'_>,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO app_share_links \
         (owner_id, app_id, id, label, token_sha256, password_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(link.id)
    .bind(link.label)
    .bind(link.token_sha256)
    .bind(link.password_hash)
    .bind(now)
    .bind(link.expires_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// How many links the app has, revoked ones included.
pub async fn count(tx: &mut TenantTx, app: AppId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM app_share_links WHERE owner_id = $1 AND app_id = $2")
        .bind(tx.owner_id())
        .bind(app)
        .fetch_one(&mut **tx)
        .await
}

/// The app's links, the newest first.
pub async fn list(tx: &mut TenantTx, app: AppId) -> Result<Vec<StoredLink>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM app_share_links WHERE owner_id = $1 AND app_id = $2 \
         ORDER BY created_at DESC, id"
    ))
    .bind(tx.owner_id())
    .bind(app)
    .fetch_all(&mut **tx)
    .await
}

/// The link with this token's hash, held until the transaction ends (so that password tries
/// on one link are judged one at a time).
pub async fn hold_by_token(
    tx: &mut TenantTx,
    app: AppId,
    token_sha256: &[u8],
) -> Result<Option<StoredLink>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM app_share_links \
         WHERE owner_id = $1 AND app_id = $2 AND token_sha256 = $3 FOR UPDATE"
    ))
    .bind(tx.owner_id())
    .bind(app)
    .bind(token_sha256)
    .fetch_optional(&mut **tx)
    .await
}

/// Counts one opening of the link, and clears its wrong tries.
pub async fn record_use(
    tx: &mut TenantTx,
    id: ShareLinkId,
    now: OffsetDateTime,
    network: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE app_share_links SET uses = uses + 1, last_used_at = $3, last_used_network = $4, \
         failed_tries = 0 WHERE owner_id = $1 AND id = $2",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(now)
    .bind(network)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Records a wrong password; the link locks until `lock_until` once it has taken `tries` of
/// them. Returns whether it locked.
pub async fn record_wrong_password(
    tx: &mut TenantTx,
    id: ShareLinkId,
    tries: i32,
    lock_until: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE app_share_links SET \
             failed_tries = CASE WHEN failed_tries + 1 >= $3 THEN 0 ELSE failed_tries + 1 END, \
             locked_until = CASE WHEN failed_tries + 1 >= $3 THEN $4 ELSE locked_until END \
         WHERE owner_id = $1 AND id = $2 RETURNING locked_until IS NOT DISTINCT FROM $4",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(tries)
    .bind(lock_until)
    .fetch_one(&mut **tx)
    .await
}

/// Revokes one link of the app; false when it has no such link still working.
pub async fn revoke(
    tx: &mut TenantTx,
    app: AppId,
    id: ShareLinkId,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE app_share_links SET revoked_at = $4 \
         WHERE owner_id = $1 AND app_id = $2 AND id = $3 AND revoked_at IS NULL",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Revokes every link of the app; returns how many.
pub async fn revoke_all(
    tx: &mut TenantTx,
    app: AppId,
    now: OffsetDateTime,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE app_share_links SET revoked_at = $3 \
         WHERE owner_id = $1 AND app_id = $2 AND revoked_at IS NULL",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Whether the link still opens the app now: not revoked, not expired, and the app out of the
/// trash.
pub async fn opens(
    tx: &mut TenantTx,
    app: AppId,
    id: ShareLinkId,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM app_share_links l JOIN apps a \
             ON a.owner_id = l.owner_id AND a.id = l.app_id \
         WHERE l.owner_id = $1 AND l.app_id = $2 AND l.id = $3 AND l.revoked_at IS NULL \
           AND (l.expires_at IS NULL OR l.expires_at > $4) AND a.trashed_at IS NULL)",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}
