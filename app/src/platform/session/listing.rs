//! The listing of signed-in sessions (`account_sessions`): one row per session, naming the store
//! record that currently carries it. Every function runs in the caller's tenant transaction.

use time::OffsetDateTime;

use super::record::SessionRecord;
use crate::platform::{client::ClientInfo, db::TenantTx, ids::AccountSessionId};

/// Lists a session that has just been signed in under `store_id`.
pub async fn list(
    tx: &mut TenantTx,
    record: &SessionRecord,
    store_id: &str,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO account_sessions \
         (owner_id, id, store_id, created_at, last_seen_at, expires_at, remember, user_agent, ip_prefix) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)",
        record.owner_id.as_uuid(),
        record.account_session.as_uuid(),
        store_id,
        now,
        record.expires_at(),
        record.remember,
        client.user_agent,
        client.ip_prefix()
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Deletes a session's listing row and its store record: sign-out, revocation, expiry.
pub async fn delete(tx: &mut TenantTx, id: AccountSessionId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH gone AS (DELETE FROM account_sessions WHERE id = $1 RETURNING store_id) \
         DELETE FROM tower_sessions.session WHERE id IN (SELECT store_id FROM gone)",
        id.as_uuid()
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Deletes the listing row of `id` only while it names `store_id`; whether it did.
pub async fn delete_if_current(
    tx: &mut TenantTx,
    id: AccountSessionId,
    store_id: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM account_sessions WHERE id = $1 AND store_id = $2",
        id.as_uuid(),
        store_id
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Ends every session of the tenant except `keep`; returns how many ended.
pub async fn delete_all(
    tx: &mut TenantTx,
    keep: Option<AccountSessionId>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "WITH gone AS (DELETE FROM account_sessions WHERE $1::uuid IS NULL OR id <> $1 RETURNING store_id) \
         DELETE FROM tower_sessions.session WHERE id IN (SELECT store_id FROM gone)",
        keep.map(AccountSessionId::as_uuid)
    )
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Whether the listing row `id` exists and names `store_id` (None: the session was ended), and
/// if so when the account is to be deleted (Some(None): it is not scheduled); records activity
/// in the row when `activity` is given. One statement: the schedule lives on the tenant's row.
pub async fn still_listed(
    tx: &mut TenantTx,
    id: AccountSessionId,
    store_id: &str,
    activity: Option<OffsetDateTime>,
) -> Result<Option<Option<OffsetDateTime>>, sqlx::Error> {
    const DELETION_DUE: &str = "(SELECT deletion_due_at FROM tenants WHERE owner_id = s.owner_id)";
    let statement = match activity {
        Some(_) => format!(
            "UPDATE account_sessions AS s SET last_seen_at = $3 WHERE id = $1 AND store_id = $2 \
             RETURNING {DELETION_DUE}"
        ),
        None => format!(
            "SELECT {DELETION_DUE} FROM account_sessions AS s WHERE id = $1 AND store_id = $2"
        ),
    };
    sqlx::query_scalar(&statement)
        .bind(id.as_uuid())
        .bind(store_id)
        .bind(activity)
        .fetch_optional(&mut **tx)
        .await
}

/// Counts a re-authentication attempt of a listed session; None when the session is no longer
/// listed under `store_id`. Some(failures) includes this one.
pub async fn count_reauth(
    tx: &mut TenantTx,
    id: AccountSessionId,
    store_id: &str,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE account_sessions SET failed_reauths = failed_reauths + 1 \
         WHERE id = $1 AND store_id = $2 RETURNING failed_reauths",
        id.as_uuid(),
        store_id
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn clear_reauth_failures(
    tx: &mut TenantTx,
    id: AccountSessionId,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE account_sessions SET failed_reauths = 0 WHERE id = $1",
        id.as_uuid()
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// A live session as the Sessions page lists it.
#[derive(Debug)]
pub struct Listed {
    pub id: AccountSessionId,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub remember: bool,
    pub user_agent: String,
    pub ip_prefix: String,
}

/// The tenant's live sessions (not expired, not idle unless remembered), `first` first, then
/// the most recently active.
pub async fn live(
    tx: &mut TenantTx,
    now: OffsetDateTime,
    first: AccountSessionId,
) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query_as!(
        Listed,
        r#"SELECT id AS "id: AccountSessionId", created_at, last_seen_at, remember, user_agent,
                  ip_prefix
           FROM account_sessions
           WHERE expires_at > $1 AND (remember OR last_seen_at > $2)
           ORDER BY (id = $3) DESC, last_seen_at DESC"#,
        now,
        now - super::IDLE_TIMEOUT,
        first.as_uuid()
    )
    .fetch_all(&mut **tx)
    .await
}

/// The user agent a listed session signed in with; None when it is not listed.
pub async fn user_agent_of(
    tx: &mut TenantTx,
    id: AccountSessionId,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT user_agent FROM account_sessions WHERE id = $1",
        id.as_uuid()
    )
    .fetch_optional(&mut **tx)
    .await
}
