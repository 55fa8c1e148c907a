//! Second factors as server functions: the Security page's factor settings, the second step of
//! sign-in, passkey ceremonies and re-authentication without the password.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ui::form::FormError;

/// The authenticator app's state on the Security page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TotpState {
    Off,
    /// Set up but not yet confirmed with a code. Its secret is not part of this state: only the
    /// answer to the setup request carries it.
    Pending,
    On,
}

/// What the person copies into their authenticator app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    pub secret_text: String,
    pub uri: String,
    pub qr_svg: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// Every second factor of the account, at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factors {
    pub totp: TotpState,
    pub passkeys: Vec<PasskeyRow>,
    /// Unused backup codes; None when the account has no set.
    pub backup_codes_left: Option<i64>,
}

impl Factors {
    /// Whether sign-in asks for a second step.
    pub fn any(&self) -> bool {
        self.totp == TotpState::On || !self.passkeys.is_empty()
    }

    /// Whether removing one more factor leaves none.
    pub fn is_last(&self) -> bool {
        usize::from(self.totp == TotpState::On) + self.passkeys.len() == 1
    }
}

/// The factors a half-finished sign-in can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondStep {
    pub passkey: bool,
    pub totp: bool,
    pub backup_code: bool,
}

/// Why the browser is asked for a passkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasskeyPurpose {
    /// Sign in with the passkey alone.
    SignIn,
    /// The second step after a password.
    SecondFactor,
    /// Re-authentication for sudo mode.
    Sudo,
}

#[server(endpoint = "mfa/factors")]
pub async fn list_factors() -> Result<Factors, FormError> {
    use super::service;
    use crate::auth::guard;

    let (state, _) = guard::request()?;
    Ok(service::factors(&state, guard::user()?.owner_id()).await?)
}

/// Creates a new authenticator-app secret, waiting for its first code, and answers with what the
/// person copies into the app: the only place the secret is shown. Adding a sign-in method needs
/// a re-authentication made for it, not the one from signing in.
#[server(endpoint = "mfa/totp-start")]
pub async fn start_totp() -> Result<TotpSetup, FormError> {
    use super::enrolment;
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let user = guard::reauthenticated_user(&state)?;
    Ok(enrolment::start_totp(&state, user.owner_id(), &client).await?)
}

/// Turns the authenticator app on once a code from it is right. Returns the backup codes when
/// this is the account's first second factor.
#[server(endpoint = "mfa/totp-confirm")]
pub async fn confirm_totp(code: String) -> Result<Option<Vec<String>>, FormError> {
    use super::enrolment;
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let user = guard::reauthenticated_user(&state)?;
    Ok(enrolment::confirm_totp(&state, user.owner_id(), &code, &client).await?)
}

#[server(endpoint = "mfa/totp-off")]
pub async fn turn_off_totp(understood: Option<String>) -> Result<(), FormError> {
    use super::enrolment;
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let user = guard::sudo_user(&state)?;
    enrolment::turn_off_totp(&state, user.owner_id(), understood.is_some(), &client).await?;
    Ok(())
}

/// A new set of backup codes; the old set stops working.
#[server(endpoint = "mfa/backup-codes")]
pub async fn regenerate_backup_codes() -> Result<Vec<String>, FormError> {
    use super::enrolment;
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let user = guard::reauthenticated_user(&state)?;
    Ok(enrolment::regenerate_backup_codes(&state, user.owner_id(), &client).await?)
}

/// Registration options for a new passkey, as the browser's JSON.
#[server(endpoint = "mfa/passkey-register")]
pub async fn start_passkey_registration(
    name: String,
    this_device: bool,
) -> Result<String, FormError> {
    use super::enrolment;
    use crate::auth::guard;

    let (state, _) = guard::request()?;
    let user = guard::reauthenticated_user(&state)?;
    Ok(enrolment::start_passkey_registration(
        &state,
        &guard::session()?,
        user.owner_id(),
        &name,
        this_device,
    )
    .await?)
}

/// Stores the passkey the browser made. Returns the backup codes when this is the account's
/// first second factor.
#[server(endpoint = "mfa/passkey-registered")]
pub async fn finish_passkey_registration(
    credential: String,
) -> Result<Option<Vec<String>>, FormError> {
    use super::enrolment;
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let user = guard::reauthenticated_user(&state)?;
    Ok(enrolment::finish_passkey_registration(
        &state,
        &guard::session()?,
        user.owner_id(),
        &credential,
        &client,
    )
    .await?)
}

#[server(endpoint = "mfa/passkey-rename")]
pub async fn rename_passkey(id: String, name: String) -> Result<(), FormError> {
    use super::enrolment;
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let user = guard::user()?;
    enrolment::rename_passkey(&state, user.owner_id(), &id, &name, &client).await?;
    Ok(())
}

#[server(endpoint = "mfa/passkey-remove")]
pub async fn remove_passkey(id: String, understood: Option<String>) -> Result<(), FormError> {
    use super::enrolment;
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let user = guard::sudo_user(&state)?;
    enrolment::remove_passkey(&state, user.owner_id(), &id, understood.is_some(), &client).await?;
    Ok(())
}

/// Options asking the browser for a passkey, as its JSON.
#[server(endpoint = "mfa/passkey-challenge")]
pub async fn passkey_challenge(purpose: PasskeyPurpose) -> Result<String, FormError> {
    use super::passkey_answers;
    use crate::{auth::guard, platform::rate_limit::Action};

    let (state, _) = guard::limited(Action::Passkey).await?;
    Ok(passkey_answers::passkey_challenge(&state, &guard::session()?, purpose).await?)
}

/// Checks the browser's passkey answer: the session is then signed in, or in sudo mode. Only
/// scripts call this (passkeys need one), and the script goes on to the next page itself.
#[server(endpoint = "mfa/passkey-answer")]
pub async fn passkey_answer(purpose: PasskeyPurpose, credential: String) -> Result<(), FormError> {
    use super::passkey_answers;
    use crate::{auth::guard, platform::rate_limit::Action};

    let (state, client) = guard::limited(Action::Passkey).await?;
    let session = guard::session()?;
    match purpose {
        PasskeyPurpose::Sudo => {
            let user = guard::user()?;
            passkey_answers::passkey_sudo(&state, &session, &user, &credential, &client).await?;
        }
        PasskeyPurpose::SignIn | PasskeyPurpose::SecondFactor => {
            passkey_answers::passkey_sign_in(&state, &session, purpose, &credential, &client)
                .await?;
        }
    }
    Ok(())
}

/// The factors the half-finished sign-in of this session can use.
#[server(endpoint = "mfa/second-step")]
pub async fn second_step_options() -> Result<SecondStep, FormError> {
    use super::verification;
    use crate::auth::guard;

    let (state, _) = guard::request()?;
    Ok(verification::second_step(&state, &guard::session()?).await?)
}

#[server(endpoint = "mfa/verify-code")]
pub async fn verify_code(code: String, next: Option<String>) -> Result<(), FormError> {
    use super::verification;
    use crate::{
        auth::{api::after_sign_in, guard},
        platform::rate_limit::Action,
    };

    let (state, client) = guard::limited(Action::Authenticate).await?;
    verification::totp_sign_in(&state, &guard::session()?, &code, &client).await?;
    leptos_axum::redirect(&after_sign_in(next.as_deref()));
    Ok(())
}

#[server(endpoint = "mfa/verify-backup-code")]
pub async fn verify_backup_code(
    backup_code: String,
    next: Option<String>,
) -> Result<(), FormError> {
    use super::verification;
    use crate::{
        auth::{api::after_sign_in, guard},
        platform::rate_limit::Action,
    };

    let (state, client) = guard::limited(Action::Authenticate).await?;
    verification::backup_code_sign_in(&state, &guard::session()?, &backup_code, &client).await?;
    leptos_axum::redirect(&after_sign_in(next.as_deref()));
    Ok(())
}

/// How the signed-in person can re-authenticate besides the password.
#[server(endpoint = "mfa/sudo-options")]
pub async fn sudo_options() -> Result<SecondStep, FormError> {
    use super::service;
    use crate::auth::guard;

    let (state, _) = guard::request()?;
    Ok(service::sudo_options(&state, guard::user()?.owner_id()).await?)
}

/// Re-authentication for sudo mode with a code from the authenticator app.
#[server(endpoint = "mfa/sudo-code")]
pub async fn confirm_sudo_code(sudo_code: String) -> Result<(), FormError> {
    use super::verification;
    use crate::{auth::guard, platform::rate_limit::Action};

    let (state, client) = guard::limited(Action::Authenticate).await?;
    let user = guard::user()?;
    verification::totp_sudo(&state, &guard::session()?, &user, &sudo_code, &client).await?;
    Ok(())
}
