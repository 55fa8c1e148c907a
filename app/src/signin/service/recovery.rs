//! Getting back in: the password reset (which may remove every sign-in method only when a
//! "this wasn't me" link led to it, so a mailbox alone cannot strip the second factor), and the
//! "this wasn't me" link mailed with every change of the sign-in methods and of the address,
//! which undoes that change and ends every session.

use super::{session::end_sessions, SignInError};
use crate::{
    auth::{
        model::Email,
        service::{
            accounts,
            password::NewPassword,
            tokens::{self, Carries, Purpose, TokenError, Undo},
            AuthError,
        },
    },
    mfa::service::factors,
    platform::{
        context::Visitor,
        mail::{self, Mail},
        rate_limit,
    },
    signin::model::{NOT_ME, PASSWORD_RESET, PASSWORD_RESET_REQUESTED},
};

/// Mails a reset link when the address has an account (at most a few an hour); says nothing
/// either way.
pub async fn request_password_reset(visitor: &Visitor, email: &str) -> Result<(), SignInError> {
    let state = visitor.state();
    let client = visitor.client();
    let email = Email::parse(email).map_err(AuthError::from)?;
    let Some(tenant) = accounts::account_for_email(state, &email).await? else {
        return Ok(());
    };
    let now = visitor.now();
    let key = &state.key_encryption_key;
    let mut tx = visitor.begin(tenant).await?;
    if !rate_limit::allow_mail(&mut tx, key, "reset", email.as_str(), now).await? {
        tx.commit().await?;
        return Ok(());
    }
    let token = tokens::issue(&mut tx, key, Purpose::ResetPassword, &Carries::Nothing, now).await?;
    let link = tokens::link(state, "/reset-password", &token);
    let minutes = Purpose::ResetPassword.lifetime().whole_minutes();
    mail::enqueue(
        &mut tx,
        Mail {
            account: tenant.owner_id,
            to: email.as_str(),
            subject: "Reset your password",
            body: format!(
                "Someone (hopefully you) asked to reset the password of your Custodian account.\n\nOpen this link to choose a new password (it works once, for {minutes} minutes):\n\n{link}\n\nIf you did not ask, ignore this message; your password stays as it is.\nRequested from {} ({}).",
                client.device(),
                client.ip_prefix()
            ),
        },
        now,
    )
    .await?;
    visitor.audit(&mut tx, PASSWORD_RESET_REQUESTED, "").await?;
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
pub async fn reset_password(visitor: &Visitor, reset: Reset<'_>) -> Result<(), SignInError> {
    let state = visitor.state();
    let now = visitor.now();
    let (owner_id, mut tx) =
        tokens::tenant_of(state, reset.token).await?;
    let carries = tokens::redeem(&mut tx, reset.token, Purpose::ResetPassword, now).await?;
    if reset.remove_factors && carries != Carries::FactorRemoval {
        return Err(SignInError::FactorRemovalNeedsNotMe);
    }
    let account = accounts::profile(&mut tx).await?;
    let new_password =
        NewPassword::check(reset.new_password, &[&account.email, &account.display_name])?;
    if !new_password.matches(reset.confirm) {
        return Err(AuthError::PasswordMismatch.into());
    }
    let password_hash = new_password.hash(&state.hashing).await?;
    accounts::set_password(&mut tx, &password_hash, now).await?;
    accounts::mark_verified(&mut tx, now).await?;
    end_sessions(&mut tx, None).await?;
    tokens::revoke_outstanding(&mut tx).await?;
    let mut detail = "all sessions ended".to_owned();
    if reset.remove_factors {
        factors::remove_all(&mut tx).await?;
        detail.push_str(", passkeys and authenticator app removed");
    }
    accounts::notify_password_changed(&mut tx, &account.email, reset.remove_factors, now).await?;
    visitor.audit(&mut tx, PASSWORD_RESET, &detail).await?;
    tx.commit().await?;
    tracing::info!(owner = %owner_id, "password reset");
    Ok(())
}

/// Uses a "this wasn't me" link: the change it reported is undone, every session ends, and the
/// owner gets a fresh reset link (the one the page goes on to) that may also remove every other
/// sign-in method, since whoever opened the mail reads the account's mailbox.
pub async fn not_me(visitor: &Visitor, token: &str) -> Result<String, SignInError> {
    let state = visitor.state();
    let now = visitor.now();
    let (_, mut tx) = tokens::tenant_of(state, token).await?;
    let Carries::Undo(what) = tokens::redeem(&mut tx, token, Purpose::NotMe, now).await? else {
        return Err(TokenError::Invalid.into());
    };
    let mut undone = factors::undo(&mut tx, what).await?;
    if what == Undo::EmailChange {
        tokens::cancel_email_change(&mut tx).await?;
        undone = "address change cancelled";
    }
    let ended = end_sessions(&mut tx, None).await?;
    let key = &state.key_encryption_key;
    let reset = tokens::issue(
        &mut tx,
        key,
        Purpose::ResetPassword,
        &Carries::FactorRemoval,
        now,
    )
    .await?;
    visitor
        .audit(
            &mut tx,
            NOT_ME,
            &format!("{undone}, {ended} sessions ended"),
        )
        .await?;
    tx.commit().await?;
    Ok(reset)
}
