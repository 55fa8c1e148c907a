//! Throttling that holds under concurrency (NIST SP 800-63B): every password or code attempt is
//! counted before it is checked, in the same UPDATE that applies the delay, so fifty guesses sent
//! at once are counted fifty times and only the first few are checked at all. A success clears
//! the count. The delay is `custodian_throttle_delay` in the database.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::platform::db::TenantTx;

/// Consecutive failures after which each further attempt must wait.
pub const THROTTLE_AFTER: i32 = 5;
/// Consecutive password failures at which the account locks until a password reset.
pub const LOCK_AT: i32 = 100;
/// Wrong second-step answers after which a pending sign-in ends.
pub const SECOND_STEP_TRIES: i32 = 10;
/// Consecutive wrong codes of an account (over any number of sign-ins) after which its owner is
/// told that their password is known.
pub const SECOND_STEP_MAIL_AT: i32 = 5;
/// Failed re-authentications after which a session ends.
pub const REAUTH_TRIES: i32 = 10;

/// What counting a password attempt found.
#[derive(Debug)]
pub enum PasswordAttempt {
    /// Counted; the password may be checked. `failures` includes this attempt.
    Counted {
        failures: i32,
        password_hash: String,
    },
    /// The account must wait `wait_seconds` before its next attempt.
    Throttled { wait_seconds: i64 },
    /// Too many failures: only a password reset opens the account again.
    Locked,
}

/// Counts a password attempt for the transaction's account, unless it is throttled or locked.
pub async fn count_password_attempt(
    tx: &mut TenantTx,
    now: OffsetDateTime,
) -> Result<PasswordAttempt, sqlx::Error> {
    let counted: Option<(i32, String)> = sqlx::query_as(
        "UPDATE accounts SET failed_sign_ins = failed_sign_ins + 1, last_failed_sign_in_at = $1 \
         WHERE failed_sign_ins < $2 AND (last_failed_sign_in_at IS NULL \
             OR last_failed_sign_in_at + custodian_throttle_delay(failed_sign_ins) <= $1) \
         RETURNING failed_sign_ins, password_hash",
    )
    .bind(now)
    .bind(LOCK_AT)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((failures, password_hash)) = counted {
        return Ok(PasswordAttempt::Counted {
            failures,
            password_hash,
        });
    }
    let (failures, wait_seconds): (i32, f64) = sqlx::query_as(
        "SELECT failed_sign_ins, coalesce(extract(epoch FROM last_failed_sign_in_at \
             + custodian_throttle_delay(failed_sign_ins) - $1), 0)::float8 FROM accounts",
    )
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(if failures >= LOCK_AT {
        PasswordAttempt::Locked
    } else {
        PasswordAttempt::Throttled {
            wait_seconds: (wait_seconds.ceil() as i64).max(1),
        }
    })
}

/// An attempt that was counted but never checked (no hashing slot was free) does not count.
pub async fn refund_password_attempt(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET failed_sign_ins = greatest(failed_sign_ins - 1, 0)")
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// The password was right: the count starts again.
pub async fn clear_password_failures(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET failed_sign_ins = 0, last_failed_sign_in_at = NULL")
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Counts a second-factor attempt (a code or a backup code) for the account: Ok with the
/// account's consecutive attempts, this one included, or Err with the seconds to wait when it is
/// throttled. Second factors never lock: a reset cannot help.
pub async fn count_second_factor_attempt(
    tx: &mut TenantTx,
    now: OffsetDateTime,
) -> Result<Result<i32, i64>, sqlx::Error> {
    let counted: Option<i32> = sqlx::query_scalar(
        "UPDATE accounts SET failed_second_factors = failed_second_factors + 1, \
             last_failed_second_factor_at = $1 \
         WHERE last_failed_second_factor_at IS NULL \
             OR last_failed_second_factor_at + custodian_throttle_delay(failed_second_factors) <= $1 \
         RETURNING failed_second_factors",
    )
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(failures) = counted {
        return Ok(Ok(failures));
    }
    let wait: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM last_failed_second_factor_at \
             + custodian_throttle_delay(failed_second_factors) - $1)::float8 FROM accounts",
    )
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Err((wait.ceil() as i64).max(1)))
}

pub async fn clear_second_factor_failures(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET failed_second_factors = 0, last_failed_second_factor_at = NULL",
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Counts a wrong-or-not answer of a pending sign-in's second step; None when the pending
/// sign-in is gone or has used its tries (it then ends). Some(failures) includes this one.
pub async fn count_second_step(
    tx: &mut TenantTx,
    pending: Uuid,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE pending_sign_ins SET failures = failures + 1 WHERE id = $1 AND failures < $2 \
         RETURNING failures",
    )
    .bind(pending)
    .bind(SECOND_STEP_TRIES)
    .fetch_optional(&mut **tx)
    .await
}

/// Counts a re-authentication attempt of a listed session; None when the session is no longer
/// listed under `store_id`. Some(failures) includes this one.
pub async fn count_reauth(
    tx: &mut TenantTx,
    account_session: Uuid,
    store_id: &str,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE account_sessions SET failed_reauths = failed_reauths + 1 \
         WHERE id = $1 AND store_id = $2 RETURNING failed_reauths",
    )
    .bind(account_session)
    .bind(store_id)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn clear_reauth_failures(
    tx: &mut TenantTx,
    account_session: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE account_sessions SET failed_reauths = 0 WHERE id = $1")
        .bind(account_session)
        .execute(&mut **tx)
        .await
        .map(drop)
}
