//! Re-authentication (sudo mode, promise P4): the signed-in person proves again who they are
//! (password, passkey or authenticator code), and sensitive actions open for SUDO_MINUTES under
//! a fresh session id.
//!
//! Every attempt is counted before it is checked, twice: against the account (so sudo is no
//! faster oracle than the sign-in form) and against the session (REAUTH_TRIES failures end the
//! session, and the owner is mailed).

use super::SignInError;
use crate::{
    auth::service::{
        accounts, password,
        throttle::{self, PasswordAttempt},
    },
    mfa::service::{check, factors, totp, MfaError},
    platform::{
        clock::to_minute,
        context::SignedIn,
        db::TenantTx,
        mail::{self, Mail},
        session::{self, listing, RotateError},
    },
    signin::model::{SudoOptions, REAUTH_TRIES, SESSION_REVOKED, SUDO_FAILED, SUDO_GRANTED},
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
pub async fn begin_attempt(me: &SignedIn) -> Result<Attempt, SignInError> {
    let user = me.user();
    let mut tx = me.begin_own().await?;
    let count = listing::count_reauth(&mut tx, user.account_session(), &user.store_id)
        .await?
        .ok_or(SignInError::SessionEnded)?;
    if count > REAUTH_TRIES {
        end_after_failures(me, &mut tx).await?;
        tx.commit().await?;
        return Err(SignInError::SessionEnded);
    }
    tx.commit().await?;
    Ok(Attempt { count })
}

/// Records a failed attempt in the security log; the attempt that uses the session's last try
/// ends it (then the answer is SessionEnded rather than `refusal`).
pub async fn failed(
    me: &SignedIn,
    attempt: Attempt,
    detail: &str,
    refusal: SignInError,
) -> Result<SignInError, SignInError> {
    let mut tx = me.begin_own().await?;
    me.audit(&mut tx, SUDO_FAILED, detail).await?;
    let last_try = attempt.count >= REAUTH_TRIES;
    if last_try {
        end_after_failures(me, &mut tx).await?;
    }
    tx.commit().await?;
    Ok(if last_try {
        SignInError::SessionEnded
    } else {
        refusal
    })
}

/// Ends the session after too many failed re-authentications and tells the owner.
async fn end_after_failures(me: &SignedIn, tx: &mut TenantTx) -> Result<(), SignInError> {
    let now = me.now();
    let client = me.client();
    listing::delete(tx, me.user().account_session()).await?;
    me.audit(tx, SESSION_REVOKED, "too many failed confirmations")
        .await?;
    let email = accounts::profile(tx).await?.email;
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
    me: &SignedIn,
    password_typed: &str,
    detail: &str,
    refusal: SignInError,
) -> Result<(), SignInError> {
    let state = me.state();
    let mut tx = me.begin_own().await?;
    let counted = throttle::count_password_attempt(&mut tx, me.now()).await?;
    tx.commit().await?;
    let password_hash = match counted {
        PasswordAttempt::Counted { password_hash, .. } => password_hash,
        PasswordAttempt::Throttled { wait_seconds } => {
            return Err(SignInError::SudoThrottled(wait_seconds))
        }
        PasswordAttempt::Locked => return Err(SignInError::SudoLocked),
    };
    let attempt = begin_attempt(me).await?;
    match password::verify(&state.hashing, password_typed, Some(password_hash)).await {
        Ok(true) => {
            let mut tx = me.begin_own().await?;
            throttle::clear_password_failures(&mut tx).await?;
            listing::clear_reauth_failures(&mut tx, me.user().account_session()).await?;
            tx.commit().await?;
            Ok(())
        }
        Ok(false) => Err(failed(me, attempt, detail, refusal).await?),
        Err(unchecked) => {
            // No slot to check it in: the attempt does not count against the account.
            let mut tx = me.begin_own().await?;
            throttle::refund_password_attempt(&mut tx).await?;
            tx.commit().await?;
            Err(unchecked.into())
        }
    }
}

/// Checks the signed-in person's password again and opens sudo mode.
pub async fn grant_sudo(me: &SignedIn, password_typed: &str) -> Result<(), SignInError> {
    if password_typed.is_empty() {
        return Err(SignInError::SudoPasswordMissing);
    }
    check_password(
        me,
        password_typed,
        "wrong password",
        SignInError::SudoPasswordWrong,
    )
    .await?;
    open_sudo(me, "password").await
}

/// Re-authentication with a code. A throttled account refuses the code unchecked, without
/// spending one of the session's tries (so whoever keeps the account throttled cannot end the
/// owner's session).
pub async fn totp_sudo(me: &SignedIn, typed: &str) -> Result<(), SignInError> {
    // The sudo form names its field differently from the sign-in step's.
    let refusal = |error: MfaError| SignInError::SudoCode(error.to_string());
    let code = totp::normalize_code(typed).ok_or_else(|| refusal(MfaError::CodeMalformed))?;
    check::count_account_attempt(me, me.tenant())
        .await
        .map_err(|error| match error {
            MfaError::Throttled(_) => refusal(error),
            other => other.into(),
        })?;
    let attempt = begin_attempt(me).await?;
    match check::verify_totp(me, me.tenant(), &code, false).await {
        Ok(tx) => tx.commit().await?,
        Err(wrong @ MfaError::CodeWrong) => {
            let detail = "authenticator code";
            return Err(failed(me, attempt, detail, refusal(wrong)).await?);
        }
        Err(other) => return Err(other.into()),
    }
    open_sudo(me, "authenticator app").await
}

/// Opens sudo mode (SUDO_MINUTES) under a fresh session id, once the person proved again who
/// they are (`method`: password, passkey or authenticator app). This re-authentication also
/// allows adding a sign-in method, which the one from signing in does not.
pub async fn open_sudo(me: &SignedIn, method: &str) -> Result<(), SignInError> {
    let user = me.user();
    let record = user
        .record
        .clone()
        .with_sudo_until(me.now() + me.state().sudo_window);
    // Logged before it is granted: no grant ever goes unlogged (a session ended meanwhile leaves
    // a logged grant that never took effect).
    let mut tx = me.begin_own().await?;
    listing::clear_reauth_failures(&mut tx, user.account_session()).await?;
    me.audit(&mut tx, SUDO_GRANTED, method).await?;
    tx.commit().await?;
    session::rotate_listed(me.session(), &record, &user.store_id)
        .await
        .map_err(|error| match error {
            RotateError::Ended => SignInError::SessionEnded,
            RotateError::Store(error) => error.into(),
        })
}

/// How the signed-in person can re-authenticate besides the password (backup codes are for
/// signing in only), and the window a confirmation opens.
pub async fn options(me: &SignedIn) -> Result<SudoOptions, SignInError> {
    let mut tx = me.begin_own().await?;
    let usable = factors::usable(&mut tx).await?;
    tx.commit().await?;
    Ok(SudoOptions {
        passkey: usable.passkey,
        totp: usable.totp,
        window_minutes: me.state().sudo_window.whole_minutes(),
    })
}
