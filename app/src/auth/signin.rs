//! Signing in and out (promises P2, P4): the password step under a throttle that counts before
//! it checks, the hand-over to the second step, the session that follows, and sign-out.
//!
//! A throttled or locked account gets the same answer as a wrong password, after the same
//! hashing work; its owner is told by mail instead.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::{Expiry, Session};
use uuid::Uuid;

use super::{
    accounts::{normalize_email, AuthError},
    password,
    session::{self, SignedIn},
    throttle::{self, PasswordAttempt, LOCK_AT, THROTTLE_AFTER},
};
use crate::{
    platform::{
        audit,
        client::ClientInfo,
        clock::to_minute,
        db::TenantTx,
        mail::{self, Mail},
        state::AppState,
    },
    privacy::{consent, ledger},
};

/// Where a right password leads.
#[derive(Debug)]
pub enum SignInOutcome {
    SignedIn(SignedIn),
    /// The account has a second factor; the session waits for it (`/signin/verify`).
    SecondFactorNeeded,
}

/// Checks the password. When right, signs the session in with a fresh id, or, when the account
/// has a second factor, leaves the session waiting for it, not signed in. A session already
/// signed in is signed out first, so no sign-in ever carries an older one along.
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    email: &str,
    password_typed: &str,
    remember: bool,
    client: &ClientInfo,
) -> Result<SignInOutcome, AuthError> {
    let email = normalize_email(email)?;
    end_current(state, session, client).await?;
    let Some(owner_id) = super::accounts::account_for_email(state, &email).await? else {
        // Same work, same answer as a wrong password.
        password::verify(&state.hashing, password_typed, None).await?;
        return Err(AuthError::BadCredentials);
    };
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
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
            let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
            audit::record(
                &mut tx,
                &state.key_encryption_key,
                "sign_in_failed",
                detail,
                client,
                now,
            )
            .await?;
            tx.commit().await?;
            return Err(AuthError::BadCredentials);
        }
    };
    let right = match password::verify(&state.hashing, password_typed, Some(password_hash)).await {
        Ok(right) => right,
        Err(unchecked) => {
            // No slot to check it in: the attempt does not count against the account.
            let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
            throttle::refund_password_attempt(&mut tx).await?;
            tx.commit().await?;
            return Err(unchecked.into());
        }
    };
    if !right {
        let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
        audit::record(
            &mut tx,
            &state.key_encryption_key,
            "sign_in_failed",
            "wrong password",
            client,
            now,
        )
        .await?;
        if failures == THROTTLE_AFTER || failures == LOCK_AT {
            tell_owner_of_failures(&mut tx, failures, client, now).await?;
        }
        tx.commit().await?;
        return Err(AuthError::BadCredentials);
    }
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    throttle::clear_password_failures(&mut tx).await?;
    let has_second_factor: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM totp_factors WHERE enabled_at IS NOT NULL) \
         OR EXISTS (SELECT 1 FROM passkeys)",
    )
    .fetch_one(&mut *tx)
    .await?;
    if has_second_factor {
        let pending = session::PendingSignIn {
            owner_id,
            id: Uuid::new_v4(),
            remember,
            password_accepted_at: now.unix_timestamp(),
        };
        // Pending sign-ins that ran out are dropped here, so none outlives the next sign-in.
        sqlx::query("DELETE FROM pending_sign_ins WHERE created_at <= $1")
            .bind(now - session::SECOND_STEP_WINDOW)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO pending_sign_ins (owner_id, id, created_at) VALUES ($1, $2, $3)")
            .bind(owner_id)
            .bind(pending.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // "Remember me" never skips this step; it only lengthens the session that follows. A
        // fresh id here too: the half-signed-in session must not be one planted earlier. It
        // lasts only as long as the step may take.
        session.cycle_id().await?;
        session.set_expiry(Some(Expiry::OnInactivity(session::SECOND_STEP_WINDOW)));
        session::write_pending(session, &pending).await?;
        return Ok(SignInOutcome::SecondFactorNeeded);
    }
    tx.commit().await?;
    start_session(state, session, owner_id, remember, "password", client)
        .await
        .map(SignInOutcome::SignedIn)
}

/// Mails the owner when wrong passwords start to be slowed down and when they lock the account.
async fn tell_owner_of_failures(
    tx: &mut TenantTx,
    failures: i32,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    let email: String = sqlx::query_scalar("SELECT email FROM accounts")
        .fetch_one(&mut **tx)
        .await?;
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

/// Signs out a session that is signed in, before it signs in again. Only a session whose listing
/// names it is listed; any other record is simply dropped.
pub async fn end_current(
    state: &AppState,
    session: &Session,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let Some(signed_in) = session::read(session).await else {
        return Ok(());
    };
    let store_id = session.id().map(|id| id.to_string()).unwrap_or_default();
    let mut tx = TenantTx::begin(&state.pool, signed_in.owner_id).await?;
    let listed = sqlx::query("DELETE FROM account_sessions WHERE id = $1 AND store_id = $2")
        .bind(signed_in.account_session)
        .bind(&store_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if listed {
        audit::record(
            &mut tx,
            &state.key_encryption_key,
            "sign_out",
            "signed in again",
            client,
            state.clock.now(),
        )
        .await?;
    }
    tx.commit().await?;
    session.flush().await?;
    Ok(())
}

/// Signs the session in under a fresh id and lists it, once every factor has passed. `method`
/// says how, for the security log.
pub async fn start_session(
    state: &AppState,
    session: &Session,
    owner_id: Uuid,
    remember: bool,
    method: &str,
    client: &ClientInfo,
) -> Result<SignedIn, AuthError> {
    end_current(state, session, client).await?;
    let now = state.clock.now();
    // A new id at every sign-in, so that a planted session id is worth nothing.
    let signed_in = SignedIn::new(owner_id, Uuid::new_v4(), remember, now, state.sudo_window);
    session::clear_pending(session).await?;
    let store_id = session::rotate_new(session, &signed_in).await?;

    let outcome = record_sign_in(state, &signed_in, &store_id, method, client).await;
    if outcome.is_err() {
        // Unlisted, the record signs nobody in; this only spares the store a dead record.
        if let Err(error) = session.flush().await {
            tracing::warn!(%error, "could not clear a sign-in that failed to be recorded");
        }
    }
    outcome.map(|()| signed_in)
}

async fn record_sign_in(
    state: &AppState,
    signed_in: &SignedIn,
    store_id: &str,
    method: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let now = state.clock.now();
    let owner_id = signed_in.owner_id;
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let email: String = sqlx::query_scalar("SELECT email FROM accounts")
        .fetch_one(&mut *tx)
        .await?;
    throttle::clear_password_failures(&mut tx).await?;
    sqlx::query(
        "INSERT INTO account_sessions \
         (owner_id, id, store_id, created_at, last_seen_at, expires_at, remember, user_agent, ip_prefix) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)",
    )
    .bind(owner_id)
    .bind(signed_in.account_session)
    .bind(store_id)
    .bind(now)
    .bind(signed_in.expires_at())
    .bind(signed_in.remember)
    .bind(&client.user_agent)
    .bind(client.ip_prefix())
    .execute(&mut *tx)
    .await?;
    let device = client.device();
    let fingerprint = Sha256::digest(format!("{device}\n{}", client.ip_prefix())).to_vec();
    let known_before: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM known_devices)")
        .fetch_one(&mut *tx)
        .await?;
    let new_device = sqlx::query(
        "INSERT INTO known_devices (owner_id, fingerprint, first_seen_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(owner_id)
    .bind(&fingerprint)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if new_device && known_before {
        mail::enqueue(
            &mut tx,
            Mail {
                account: owner_id,
                to: &email,
                subject: "New sign-in to your account",
                body: format!(
                    "Your Custodian account was signed in from a device it had not seen before:\n\n  {device}, network {}\n  {}\n\nIf this was you, there is nothing to do. If not, reset your password and end the session on your Sessions page.",
                    client.ip_prefix(),
                    to_minute(now),
                ),
            },
            now,
        )
        .await?;
    }
    let detail = if signed_in.remember {
        format!("{method}, remember me")
    } else {
        method.to_owned()
    };
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "sign_in",
        &detail,
        client,
        now,
    )
    .await?;
    ledger::link_browser(&mut tx, client, now).await?;
    tx.commit().await?;
    consent::rotate_browser_id(state, client);
    Ok(())
}

/// Ends the session on the server and in the browser.
pub async fn sign_out(
    state: &AppState,
    session: &Session,
    signed_in: &SignedIn,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, signed_in.owner_id).await?;
    session::delete_listed(&mut tx, signed_in.account_session).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "sign_out",
        "",
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(session.flush().await?)
}
