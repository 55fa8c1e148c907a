//! The password step of signing in (promise P2): under a throttle that counts before it checks,
//! then either the session that follows or the wait for the second step.
//!
//! A throttled or locked account gets the same answer as a wrong password, after the same
//! hashing work; its owner is told by mail instead.

use time::OffsetDateTime;
use tower_sessions::Expiry;

use super::{
    second_step::{self, PendingSignIn, SECOND_STEP_WINDOW},
    session::{end_current, start_session},
    SignInError,
};
use crate::{
    auth::{
        model::Email,
        service::{
            accounts, password,
            throttle::{self, PasswordAttempt, LOCK_AT, THROTTLE_AFTER},
        },
    },
    mfa::service::factors,
    platform::{
        clock::to_minute,
        context::Visitor,
        db::TenantTx,
        mail::{self, Mail},
        session::SessionRecord,
    },
    signin::model::SIGN_IN_FAILED,
};

/// Where a right password leads.
#[derive(Debug)]
pub enum SignInOutcome {
    SignedIn(SessionRecord),
    /// The account has a second factor; the session waits for it (`/signin/verify`).
    SecondFactorNeeded,
}

/// Checks the password. When right, signs the session in with a fresh id, or, when the account
/// has a second factor, leaves the session waiting for it, not signed in. A session already
/// signed in is signed out first, so no sign-in ever carries an older one along.
pub async fn sign_in(
    visitor: &Visitor,
    email: &str,
    password_typed: &str,
    remember: bool,
) -> Result<SignInOutcome, SignInError> {
    let state = visitor.state();
    let email = Email::parse(email).map_err(crate::auth::service::AuthError::from)?;
    end_current(visitor).await?;
    let Some(tenant) = accounts::account_for_email(state, &email).await? else {
        // Same work, same answer as a wrong password.
        password::verify(&state.hashing, password_typed, None).await?;
        return Err(SignInError::BadCredentials);
    };
    let now = visitor.now();
    let mut tx = visitor.begin(tenant).await?;
    let attempt = throttle::count_password_attempt(&mut tx, now).await?;
    // Counted and committed before the check, so concurrent guesses see each other.
    tx.commit().await?;
    let (failures, password_hash) = match attempt {
        PasswordAttempt::Counted {
            failures,
            password_hash,
        } => (failures, password_hash),
        PasswordAttempt::Throttled { .. } | PasswordAttempt::Locked => {
            password::verify(&state.hashing, password_typed, None).await?;
            let detail = if matches!(attempt, PasswordAttempt::Locked) {
                "account locked"
            } else {
                "throttled"
            };
            let mut tx = visitor.begin(tenant).await?;
            visitor.audit(&mut tx, SIGN_IN_FAILED, detail).await?;
            tx.commit().await?;
            return Err(SignInError::BadCredentials);
        }
    };
    let right = match password::verify(&state.hashing, password_typed, Some(password_hash)).await {
        Ok(right) => right,
        Err(unchecked) => {
            // No slot to check it in: the attempt does not count against the account.
            let mut tx = visitor.begin(tenant).await?;
            throttle::refund_password_attempt(&mut tx).await?;
            tx.commit().await?;
            return Err(unchecked.into());
        }
    };
    if !right {
        let mut tx = visitor.begin(tenant).await?;
        visitor
            .audit(&mut tx, SIGN_IN_FAILED, "wrong password")
            .await?;
        if failures == THROTTLE_AFTER || failures == LOCK_AT {
            tell_owner_of_failures(visitor, &mut tx, failures, now).await?;
        }
        tx.commit().await?;
        return Err(SignInError::BadCredentials);
    }
    let mut tx = visitor.begin(tenant).await?;
    throttle::clear_password_failures(&mut tx).await?;
    if factors::has_second_factor(&mut tx).await? {
        let pending = PendingSignIn {
            tenant,
            id: uuid::Uuid::new_v4(),
            remember,
            password_accepted_at: now.unix_timestamp(),
        };
        second_step::start_pending(&mut tx, &pending, now).await?;
        tx.commit().await?;
        // "Remember me" never skips this step; it only lengthens the session that follows. A
        // fresh id here too: the half-signed-in session must not be one planted earlier. It
        // lasts only as long as the step may take.
        let session = visitor.session();
        session.cycle_id().await?;
        session.set_expiry(Some(Expiry::OnInactivity(SECOND_STEP_WINDOW)));
        second_step::write_pending(session, &pending).await?;
        return Ok(SignInOutcome::SecondFactorNeeded);
    }
    tx.commit().await?;
    start_session(visitor, tenant, remember, "password")
        .await
        .map(SignInOutcome::SignedIn)
}

/// Mails the owner when wrong passwords start to be slowed down and when they lock the account.
async fn tell_owner_of_failures(
    visitor: &Visitor,
    tx: &mut TenantTx,
    failures: i32,
    now: OffsetDateTime,
) -> Result<(), SignInError> {
    let client = visitor.client();
    let email = accounts::profile(tx).await?.email;
    let (subject, what) = if failures >= LOCK_AT {
        (
            "Your account is locked",
            "Your account is now locked: reset your password from the sign-in page to open it again.",
        )
    } else {
        (
            "Failed sign-ins to your account",
            "Further sign-ins to your account must now wait a little after each failure.",
        )
    };
    let owner_id = tx.owner_id();
    mail::enqueue(
        tx,
        Mail {
            account: owner_id,
            to: &email,
            subject,
            body: format!(
                "Someone typed a wrong password for your Custodian account {failures} times in a row, most recently at {} from {} ({}).\n\n{what}\n\nIf this was not you, your password is still safe, but consider changing it and adding a passkey.",
                to_minute(now),
                client.device(),
                client.ip_prefix(),
            ),
        },
        now,
    )
    .await?;
    Ok(())
}
