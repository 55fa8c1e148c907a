//! Getting back in: the password reset (which may remove every sign-in method only when a
//! "this wasn't me" link led to it, so a mailbox alone cannot strip the second factor), and the
//! "this wasn't me" link mailed with every change of the sign-in methods and of the address,
//! which undoes that change and ends every session.

use time::OffsetDateTime;

use super::{
    accounts::{
        account_for_email, end_sessions, link, mark_verified, normalize_email,
        notify_password_changed, set_password, AuthError,
    },
    password,
    tokens::{self, Carries, Purpose, TokenError, Undo},
};
use crate::platform::{
    audit,
    client::ClientInfo,
    db::TenantTx,
    mail::{self, Mail},
    rate_limit,
    state::AppState,
};

/// Mails a reset link when the address has an account (at most a few an hour); says nothing
/// either way.
pub async fn request_password_reset(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let email = normalize_email(email)?;
    let Some(owner_id) = account_for_email(state, &email).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    if !rate_limit::allow_mail(&mut tx, &state.key_encryption_key, "reset", &email, now).await? {
        tx.commit().await?;
        return Ok(());
    }
    let token = tokens::issue(
        &mut tx,
        &state.key_encryption_key,
        Purpose::ResetPassword,
        &Carries::Nothing,
        now,
    )
    .await?;
    let link = link(state, "/reset-password", &token);
    mail::enqueue(
        &mut tx,
        Mail {
            account: owner_id,
            to: &email,
            subject: "Reset your password",
            body: format!(
                "Someone (hopefully you) asked to reset the password of your Custodian account.\n\nOpen this link to choose a new password (it works once, for 30 minutes):\n\n{link}\n\nIf you did not ask, ignore this message; your password stays as it is.\nRequested from {} ({}).",
                client.device(),
                client.ip_prefix()
            ),
        },
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "password_reset_requested",
        "",
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What the reset form sent.
pub struct Reset<'a> {
    pub token: &'a str,
    pub new_password: &'a str,
    pub confirm: &'a str,
    /// Also remove every passkey and authenticator app (and so the backup codes): for the person
    /// whose account someone else got into. Only a reset that a "this wasn't me" link led to may.
    pub remove_factors: bool,
}

/// Sets a new password from a reset link, unlocks the account and ends every session. The link
/// is checked before anything of the account is read; a refused password leaves it usable. The
/// link proves the person reads the account's mailbox, so the address counts as verified.
pub async fn reset_password(
    state: &AppState,
    reset: Reset<'_>,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let now = state.clock.now();
    let (owner_id, mut tx) =
        tokens::tenant_of(&state.pool, &state.key_encryption_key, reset.token).await?;
    let carries = tokens::redeem(&mut tx, reset.token, Purpose::ResetPassword, now).await?;
    if reset.remove_factors && carries != Carries::FactorRemoval {
        return Err(AuthError::FactorRemovalNeedsNotMe);
    }
    let (email, display_name): (String, String) =
        sqlx::query_as("SELECT email, display_name FROM accounts")
            .fetch_one(&mut *tx)
            .await?;
    password::check_new(reset.new_password, &[&email, &display_name])?;
    if reset.new_password != reset.confirm {
        return Err(AuthError::PasswordMismatch);
    }
    let password_hash = password::hash(&state.hashing, reset.new_password).await?;
    set_password(&mut tx, &password_hash, now).await?;
    mark_verified(&mut tx, now).await?;
    end_sessions(&mut tx, None).await?;
    tokens::revoke_outstanding(&mut tx).await?;
    let mut detail = "all sessions ended".to_owned();
    if reset.remove_factors {
        remove_all_factors(&mut tx).await?;
        detail.push_str(", passkeys and authenticator app removed");
    }
    notify_password_changed(&mut tx, &email, reset.remove_factors, now).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "password_reset",
        &detail,
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(owner = %owner_id, "password reset");
    Ok(())
}

/// Removes every second factor of the transaction's account, with its backup codes.
async fn remove_all_factors(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    for statement in [
        "DELETE FROM passkeys",
        "DELETE FROM totp_factors",
        "DELETE FROM backup_codes",
    ] {
        sqlx::query(statement).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Undoes what a "this wasn't me" link reported, if it is still there; returns what it did, for
/// the security log.
async fn undo(tx: &mut TenantTx, what: Undo) -> Result<&'static str, sqlx::Error> {
    let done = match what {
        Undo::Totp => {
            sqlx::query("DELETE FROM totp_factors")
                .execute(&mut **tx)
                .await?;
            "authenticator app removed"
        }
        Undo::Passkey(id) => {
            sqlx::query("DELETE FROM passkeys WHERE id = $1")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            "passkey removed"
        }
        Undo::BackupCodes => {
            sqlx::query("DELETE FROM backup_codes")
                .execute(&mut **tx)
                .await?;
            "backup codes removed"
        }
        Undo::EmailChange => {
            sqlx::query(
                "DELETE FROM account_tokens WHERE purpose = 'change_email' AND used_at IS NULL",
            )
            .execute(&mut **tx)
            .await?;
            "address change cancelled"
        }
        Undo::SignOutOnly => "nothing to undo",
    };
    // Backup codes belong to a second factor: with none left, they go too.
    sqlx::query(
        "DELETE FROM backup_codes WHERE NOT EXISTS (SELECT 1 FROM passkeys) \
         AND NOT EXISTS (SELECT 1 FROM totp_factors WHERE enabled_at IS NOT NULL)",
    )
    .execute(&mut **tx)
    .await?;
    Ok(done)
}

/// Uses a "this wasn't me" link: the change it reported is undone, every session ends, and the
/// owner gets a fresh reset link (the one the page goes on to) that may also remove every other
/// sign-in method, since whoever opened the mail reads the account's mailbox.
pub async fn not_me(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<String, AuthError> {
    let now = state.clock.now();
    let (_, mut tx) = tokens::tenant_of(&state.pool, &state.key_encryption_key, token).await?;
    let Carries::Undo(what) = tokens::redeem(&mut tx, token, Purpose::NotMe, now).await? else {
        return Err(TokenError::Invalid.into());
    };
    let undone = undo(&mut tx, what).await?;
    let ended = end_sessions(&mut tx, None).await?;
    let reset = tokens::issue(
        &mut tx,
        &state.key_encryption_key,
        Purpose::ResetPassword,
        &Carries::FactorRemoval,
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "not_me",
        &format!("{undone}, {ended} sessions ended"),
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(reset)
}

/// A "this wasn't me" link for a mail about a change (`what` it undoes), in the change's
/// transaction.
pub async fn not_me_link(
    state: &AppState,
    tx: &mut TenantTx,
    what: Undo,
    now: OffsetDateTime,
) -> Result<String, AuthError> {
    let token = tokens::issue(
        tx,
        &state.key_encryption_key,
        Purpose::NotMe,
        &Carries::Undo(what),
        now,
    )
    .await?;
    Ok(link(state, "/not-me", &token))
}
