//! SQL of `accounts` (one row per tenant: address, name, password hash, failure counters) and of
//! the address directory `email_directory`, which the app role reaches only through the
//! functions the migrations define (look up one address, claim one for the current tenant).

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::platform::{db::TenantTx, ids::OwnerId};

/// The account whose address is `email`, if any.
pub async fn account_for_email(pool: &PgPool, email: &str) -> Result<Option<OwnerId>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT custodian_account_for_email($1) AS "account: OwnerId""#,
        email
    )
    .fetch_one(pool)
    .await
}

/// Every address and its account, for the operator's commands (migration role).
pub async fn directory(owner: &PgPool) -> Result<Vec<(String, OwnerId)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT email, account AS "account: OwnerId" FROM email_directory ORDER BY email"#
    )
    .fetch_all(owner)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.email, row.account))
        .collect())
}

/// The account of one address, for the operator's commands (migration role).
pub async fn directory_entry(owner: &PgPool, email: &str) -> Result<Option<OwnerId>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT account AS "account: OwnerId" FROM email_directory WHERE email = $1"#,
        email
    )
    .fetch_optional(owner)
    .await
}

/// A new account's first row.
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub now: OffsetDateTime,
}

pub async fn insert(tx: &mut TenantTx, account: &NewAccount<'_>) -> Result<(), sqlx::Error> {
    let owner_id = tx.owner_id().as_uuid();
    sqlx::query!(
        "INSERT INTO accounts (owner_id, email, display_name, password_hash, password_changed_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
        owner_id,
        account.email,
        account.display_name,
        account.password_hash,
        account.now
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Gives the tenant the address (its previous one is released); false when another account has
/// it. `verified` says the person proved they read the mailbox.
pub async fn claim_email(
    tx: &mut TenantTx,
    email: &str,
    now: OffsetDateTime,
    verified: bool,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT custodian_claim_email($1, $2, $3) AS "claimed!""#,
        email,
        now,
        verified
    )
    .fetch_one(&mut **tx)
    .await
}

/// The account's address is the person's: a link sent there was opened.
pub async fn mark_verified(tx: &mut TenantTx, now: OffsetDateTime) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE accounts SET email_verified_at = coalesce(email_verified_at, $1)",
        now
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!("SELECT custodian_email_verified()")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stores a new password hash and clears the failure count (a reset unlocks the account).
pub async fn set_password(
    tx: &mut TenantTx,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE accounts SET password_hash = $1, password_changed_at = $2, failed_sign_ins = 0, \
         last_failed_sign_in_at = NULL",
        password_hash,
        now
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

pub async fn set_display_name(tx: &mut TenantTx, display_name: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE accounts SET display_name = $1", display_name)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Makes `email` the account's address, verified at `now`.
pub async fn set_email(
    tx: &mut TenantTx,
    email: &str,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE accounts SET email = $1, email_verified_at = $2",
        email,
        now
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// What the account shows of itself.
#[derive(Debug, Clone)]
pub struct AccountRow {
    pub email: String,
    pub email_verified_at: Option<OffsetDateTime>,
    pub display_name: String,
    pub created_at: OffsetDateTime,
}

pub async fn account(tx: &mut TenantTx) -> Result<AccountRow, sqlx::Error> {
    sqlx::query_as!(
        AccountRow,
        "SELECT email, email_verified_at, display_name, created_at FROM accounts"
    )
    .fetch_one(&mut **tx)
    .await
}

/// Counts a password attempt unless the account waits or is locked: the failures so far (this
/// one included) and the hash to check it against.
pub async fn count_password_attempt(
    tx: &mut TenantTx,
    now: OffsetDateTime,
    lock_at: i32,
) -> Result<Option<(i32, String)>, sqlx::Error> {
    let row = sqlx::query!(
        "UPDATE accounts SET failed_sign_ins = failed_sign_ins + 1, last_failed_sign_in_at = $1 \
         WHERE failed_sign_ins < $2 AND (last_failed_sign_in_at IS NULL \
             OR last_failed_sign_in_at + custodian_throttle_delay(failed_sign_ins) <= $1) \
         RETURNING failed_sign_ins, password_hash",
        now,
        lock_at
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| (row.failed_sign_ins, row.password_hash)))
}

/// The password failures so far and the seconds until the next attempt may be counted.
pub async fn password_wait(
    tx: &mut TenantTx,
    now: OffsetDateTime,
) -> Result<(i32, f64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT failed_sign_ins, coalesce(extract(epoch FROM last_failed_sign_in_at
             + custodian_throttle_delay(failed_sign_ins) - $1), 0)::float8 AS "wait!"
           FROM accounts"#,
        now
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.failed_sign_ins, row.wait))
}

pub async fn refund_password_attempt(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE accounts SET failed_sign_ins = greatest(failed_sign_ins - 1, 0)")
        .execute(&mut **tx)
        .await
        .map(drop)
}

pub async fn clear_password_failures(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE accounts SET failed_sign_ins = 0, last_failed_sign_in_at = NULL")
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Counts a second-factor attempt unless the account waits: the consecutive attempts so far.
pub async fn count_second_factor_attempt(
    tx: &mut TenantTx,
    now: OffsetDateTime,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE accounts SET failed_second_factors = failed_second_factors + 1, \
             last_failed_second_factor_at = $1 \
         WHERE last_failed_second_factor_at IS NULL \
             OR last_failed_second_factor_at + custodian_throttle_delay(failed_second_factors) <= $1 \
         RETURNING failed_second_factors",
        now
    )
    .fetch_optional(&mut **tx)
    .await
}

/// The seconds until the next second-factor attempt may be counted.
pub async fn second_factor_wait(
    tx: &mut TenantTx,
    now: OffsetDateTime,
) -> Result<f64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT coalesce(extract(epoch FROM last_failed_second_factor_at
             + custodian_throttle_delay(failed_second_factors) - $1), 0)::float8 AS "wait!"
           FROM accounts"#,
        now
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn clear_second_factor_failures(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE accounts SET failed_second_factors = 0, last_failed_second_factor_at = NULL"
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// One row of `owner` in `accounts` (isolation tests, migration role).
pub async fn seed(conn: &mut PgConnection, owner: OwnerId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (owner_id, email, display_name, password_hash, password_changed_at, created_at) \
         VALUES ($1, $1::text || '@example.com', 'Seed', '$argon2id$seed', now(), now())",
    )
    .bind(owner)
    .execute(conn)
    .await
    .map(drop)
}
