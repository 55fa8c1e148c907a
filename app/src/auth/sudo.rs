//! Re-authentication (sudo mode, promise P4): the signed-in person proves again who they are,
//! and sensitive actions open for SUDO_MINUTES under a fresh session id.
//!
//! Every attempt is counted before it is checked, twice: against the account's sign-in failures
//! (so sudo is no faster password oracle than the sign-in form) and against the session (ten
//! failures end the session, and the owner is mailed).

use tower_sessions::Session;

use super::{
    accounts::AuthError,
    password,
    session::{self, CurrentUser, RotateError},
    throttle::{self, PasswordAttempt, REAUTH_TRIES},
};
use crate::platform::{
    audit,
    client::ClientInfo,
    clock::to_minute,
    db::TenantTx,
    mail::{self, Mail},
    state::AppState,
};

/// One counted re-authentication attempt of a session.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    /// The session's failed attempts so far, this one included.
    count: i32,
}

/// Counts one re-authentication attempt of the session, in a transaction of its own that commits
/// before the answer is checked. A session that had its tries ends here, and its owner is
/// mailed.
pub async fn begin_attempt(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
) -> Result<Attempt, AuthError> {
    let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
    let count = throttle::count_reauth(&mut tx, user.signed_in.account_session, &user.store_id)
        .await?
        .ok_or(AuthError::SessionEnded)?;
    if count > REAUTH_TRIES {
        end_after_failures(state, &mut tx, user, client).await?;
        tx.commit().await?;
        return Err(AuthError::SessionEnded);
    }
    tx.commit().await?;
    Ok(Attempt { count })
}

/// Records a failed attempt in the security log; the attempt that uses the session's last try
/// ends it (then the answer is SessionEnded rather than `refusal`).
pub async fn failed(
    state: &AppState,
    user: &CurrentUser,
    attempt: Attempt,
    detail: &str,
    refusal: AuthError,
    client: &ClientInfo,
) -> Result<AuthError, AuthError> {
    let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "sudo_failed",
        detail,
        client,
        state.clock.now(),
    )
    .await?;
    let last_try = attempt.count >= REAUTH_TRIES;
    if last_try {
        end_after_failures(state, &mut tx, user, client).await?;
    }
    tx.commit().await?;
    Ok(if last_try {
        AuthError::SessionEnded
    } else {
        refusal
    })
}

/// Ends the session after too many failed re-authentications and tells the owner.
async fn end_after_failures(
    state: &AppState,
    tx: &mut TenantTx,
    user: &CurrentUser,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let now = state.clock.now();
    session::delete_listed(tx, user.signed_in.account_session).await?;
    audit::record(
        tx,
        &state.key_encryption_key,
        "session_revoked",
        "too many failed confirmations",
        client,
        now,
    )
    .await?;
    let email: String = sqlx::query_scalar("SELECT email FROM accounts")
        .fetch_one(&mut **tx)
        .await?;
    let owner_id = tx.owner_id();
    mail::enqueue(
        tx,
        Mail {
            account: owner_id,
            to: &email,
            subject: "A session of your account was signed out",
            body: format!(
                "A signed-in session of your Custodian account ({}, network {}) failed to confirm who it is {REAUTH_TRIES} times, so it was signed out at {}.\n\nIf this was not you, someone may have had access to that device: change your password and review your sessions.",
                client.device(),
                client.ip_prefix(),
                to_minute(now),
            ),
        },
        now,
    )
    .await?;
    Ok(())
}

/// Checks the current password of the signed-in person under both counters: the account's
/// sign-in failures first (a throttled account refuses unchecked, without spending one of the
/// session's tries, so whoever keeps it throttled cannot end the owner's session), then the
/// session's. A wrong password is logged as `detail` and answered with `refusal`.
pub async fn check_password(
    state: &AppState,
    user: &CurrentUser,
    password_typed: &str,
    detail: &str,
    refusal: AuthError,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
    let counted = throttle::count_password_attempt(&mut tx, state.clock.now()).await?;
    tx.commit().await?;
    let password_hash = match counted {
        PasswordAttempt::Counted { password_hash, .. } => password_hash,
        PasswordAttempt::Throttled { wait_seconds } => {
            return Err(AuthError::SudoThrottled(wait_seconds))
        }
        PasswordAttempt::Locked => return Err(AuthError::SudoLocked),
    };
    let attempt = begin_attempt(state, user, client).await?;
    match password::verify(&state.hashing, password_typed, Some(password_hash)).await {
        Ok(true) => {
            let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
            throttle::clear_password_failures(&mut tx).await?;
            throttle::clear_reauth_failures(&mut tx, user.signed_in.account_session).await?;
            tx.commit().await?;
            Ok(())
        }
        Ok(false) => Err(failed(state, user, attempt, detail, refusal, client).await?),
        Err(unchecked) => {
            // No slot to check it in: the attempt does not count against the account.
            let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
            throttle::refund_password_attempt(&mut tx).await?;
            tx.commit().await?;
            Err(unchecked.into())
        }
    }
}

/// Checks the signed-in person's password again and opens sudo mode.
pub async fn grant_sudo(
    state: &AppState,
    session: &Session,
    user: &CurrentUser,
    password_typed: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    if password_typed.is_empty() {
        return Err(AuthError::SudoPasswordMissing);
    }
    check_password(
        state,
        user,
        password_typed,
        "wrong password",
        AuthError::SudoPasswordWrong,
        client,
    )
    .await?;
    open_sudo(state, session, user, "password", client).await
}

/// Opens sudo mode (SUDO_MINUTES) under a fresh session id, once the person proved again who
/// they are (`method`: password, passkey or authenticator app). This re-authentication also
/// allows adding a sign-in method, which the one from signing in does not.
pub async fn open_sudo(
    state: &AppState,
    session: &Session,
    user: &CurrentUser,
    method: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let now = state.clock.now();
    let mut signed_in = user.signed_in.clone();
    let until = Some((now + state.sudo_window).unix_timestamp());
    signed_in.sudo_until = until;
    signed_in.reauthenticated_until = until;
    // Logged before it is granted: no grant ever goes unlogged (a session ended meanwhile leaves
    // a logged grant that never took effect).
    let mut tx = TenantTx::begin(&state.pool, signed_in.owner_id).await?;
    throttle::clear_reauth_failures(&mut tx, signed_in.account_session).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "sudo_granted",
        method,
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    session::rotate_listed(session, &signed_in, &user.store_id)
        .await
        .map_err(|error| match error {
            RotateError::Ended => AuthError::SessionEnded,
            RotateError::Store(error) => AuthError::Session(error),
        })
}
