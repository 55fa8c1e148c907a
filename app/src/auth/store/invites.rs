//! SQL of `invites` (stored only as the code's SHA-256). The app role reaches them only through
//! the functions the migrations define; the operator's commands use the migration role.

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use time::OffsetDateTime;

use crate::platform::{db::TenantTx, ids::OwnerId};

/// Lock id ("custinv" in ASCII) that serialises "create the first invite" across processes.
const FIRST_INVITE_LOCK: i64 = 0x0063_7573_7469_6e76;

/// Stores an invite for `code`, expiring in `days`; returns when it expires.
pub async fn insert(
    conn: &mut PgConnection,
    code: &str,
    invited_by: Option<OwnerId>,
    days: i32,
) -> Result<OffsetDateTime, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO invites (code_sha256, invited_by, expires_at) \
         VALUES (sha256(convert_to($1, 'UTF8')), $2, now() + make_interval(days => $3)) \
         RETURNING expires_at",
        code,
        invited_by.map(OwnerId::as_uuid),
        days
    )
    .fetch_one(conn)
    .await
}

/// Takes the lock that lets one process at a time look for the first invite, and says whether
/// any invite exists.
pub async fn lock_and_check_any(
    tx: &mut Transaction<'static, Postgres>,
) -> Result<bool, sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", FIRST_INVITE_LOCK)
        .execute(&mut **tx)
        .await?;
    sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM invites) AS "any!""#)
        .fetch_one(&mut **tx)
        .await
}

/// "ok", "used", "expired" or "invalid".
pub async fn status(pool: &PgPool, code: &str, now: OffsetDateTime) -> Result<String, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT custodian_invite_status($1, $2) AS "status!""#,
        code,
        now
    )
    .fetch_one(pool)
    .await
}

/// Spends an invite for `email` (for the transaction's tenant when `for_tenant`): its status
/// and who invited.
pub async fn redeem(
    tx: &mut TenantTx,
    code: &str,
    email: &str,
    now: OffsetDateTime,
    for_tenant: bool,
) -> Result<(String, Option<OwnerId>), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT status AS "status!", inviter AS "inviter: OwnerId"
           FROM custodian_redeem_invite($1, $2, $3, $4)"#,
        code,
        email,
        now,
        for_tenant
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.status, row.inviter))
}

/// The hashes of the invite codes `owner` made (an operator's command, which names the owner:
/// the migration role is not held by row-level security).
pub async fn code_hashes_of(conn: &mut PgConnection, owner: OwnerId) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT code_sha256 FROM invites WHERE invited_by = $1",
        owner.as_uuid()
    )
    .fetch_all(conn)
    .await
}

/// Creates an invite from the transaction's tenant; false when it has used its share.
pub async fn create_for_tenant(
    tx: &mut TenantTx,
    code: &str,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT custodian_create_invite($1, $2, $3) AS "created!""#,
        code,
        now,
        expires_at
    )
    .fetch_one(&mut **tx)
    .await
}

/// An invite the tenant created: when, until when, and when and by whom it was used.
pub type MyInvite = (
    OffsetDateTime,
    OffsetDateTime,
    Option<OffsetDateTime>,
    Option<String>,
);

pub async fn mine(tx: &mut TenantTx) -> Result<Vec<MyInvite>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT created_at AS "created_at!", expires_at AS "expires_at!", used_at, used_by_email
           FROM custodian_my_invites()"#
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            (
                row.created_at,
                row.expires_at,
                row.used_at,
                row.used_by_email,
            )
        })
        .collect())
}
