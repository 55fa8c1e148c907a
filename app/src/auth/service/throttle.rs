//! Throttling that holds under concurrency (NIST SP 800-63B): every password or second-factor
//! attempt is counted before it is checked, in the same UPDATE that applies the delay, so fifty
//! guesses sent at once are counted fifty times and only the first few are checked at all. A
//! success clears the count. The delay is `custodian_throttle_delay` in the database.

use time::OffsetDateTime;

use crate::{auth::store::accounts as store, platform::db::TenantTx};

/// Consecutive failures after which each further attempt must wait.
pub const THROTTLE_AFTER: i32 = 5;
/// Consecutive password failures at which the account locks until a password reset.
pub const LOCK_AT: i32 = 100;

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

fn whole_seconds(wait: f64) -> i64 {
    (wait.ceil() as i64).max(1)
}

/// Counts a password attempt for the transaction's account, unless it is throttled or locked.
pub async fn count_password_attempt(
    tx: &mut TenantTx,
    now: OffsetDateTime,
) -> Result<PasswordAttempt, sqlx::Error> {
    if let Some((failures, password_hash)) = store::count_password_attempt(tx, now, LOCK_AT).await?
    {
        return Ok(PasswordAttempt::Counted {
            failures,
            password_hash,
        });
    }
    let (failures, wait) = store::password_wait(tx, now).await?;
    Ok(if failures >= LOCK_AT {
        PasswordAttempt::Locked
    } else {
        PasswordAttempt::Throttled {
            wait_seconds: whole_seconds(wait),
        }
    })
}

/// An attempt that was counted but never checked (no hashing slot was free) does not count.
pub async fn refund_password_attempt(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    store::refund_password_attempt(tx).await
}

/// The password was right: the count starts again.
pub async fn clear_password_failures(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    store::clear_password_failures(tx).await
}

/// Counts a second-factor attempt (a code or a backup code) for the account: Ok with the
/// account's consecutive attempts, this one included, or Err with the seconds to wait when it is
/// throttled. Second factors never lock: a reset cannot help.
pub async fn count_second_factor_attempt(
    tx: &mut TenantTx,
    now: OffsetDateTime,
) -> Result<Result<i32, i64>, sqlx::Error> {
    if let Some(failures) = store::count_second_factor_attempt(tx, now).await? {
        return Ok(Ok(failures));
    }
    Ok(Err(whole_seconds(
        store::second_factor_wait(tx, now).await?,
    )))
}

pub async fn clear_second_factor_failures(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    store::clear_second_factor_failures(tx).await
}
