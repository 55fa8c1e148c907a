//! SQL of `account_tokens`: the SHA-256 of each mailed link's secret, its purpose, what it
//! carries, and when it was used.

use time::OffsetDateTime;

use crate::platform::db::TenantTx;

/// A token to store.
pub struct NewToken<'a> {
    pub secret_sha256: &'a [u8],
    pub purpose: &'static str,
    pub new_email: Option<&'a str>,
    pub scope: Option<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

pub async fn insert(tx: &mut TenantTx, token: &NewToken<'_>) -> Result<(), sqlx::Error> {
    let owner_id = tx.owner_id().as_uuid();
    sqlx::query!(
        "INSERT INTO account_tokens \
         (owner_id, secret_sha256, purpose, new_email, scope, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        owner_id,
        token.secret_sha256,
        token.purpose,
        token.new_email,
        token.scope.as_deref(),
        token.created_at,
        token.expires_at
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// A stored token: when it expires, when it was used, and what it carries.
pub type StoredToken = (
    OffsetDateTime,
    Option<OffsetDateTime>,
    Option<String>,
    Option<String>,
);

/// The token with this digest and purpose, locked until the transaction ends.
pub async fn find_for_update(
    tx: &mut TenantTx,
    secret_sha256: &[u8],
    purpose: &str,
) -> Result<Option<StoredToken>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT expires_at, used_at, new_email, scope FROM account_tokens \
         WHERE secret_sha256 = $1 AND purpose = $2 FOR UPDATE",
        secret_sha256,
        purpose
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| (row.expires_at, row.used_at, row.new_email, row.scope)))
}

pub async fn mark_used(
    tx: &mut TenantTx,
    secret_sha256: &[u8],
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE account_tokens SET used_at = $2 WHERE secret_sha256 = $1",
        secret_sha256,
        now
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Deletes every unused token except "this wasn't me" links; how many.
pub async fn delete_outstanding(tx: &mut TenantTx) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("DELETE FROM account_tokens WHERE used_at IS NULL AND purpose <> 'not_me'")
            .execute(&mut **tx)
            .await?
            .rows_affected(),
    )
}

/// Deletes the unused address-change links (a change cancelled).
pub async fn delete_pending_email_changes(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM account_tokens WHERE purpose = 'change_email' AND used_at IS NULL")
        .execute(&mut **tx)
        .await
        .map(drop)
}
