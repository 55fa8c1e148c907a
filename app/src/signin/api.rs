//! The sign-in area's server functions: signing in and out, the second step, passkey prompts,
//! re-authentication, and getting back in. Plain HTML forms post to most of them.

use leptos::prelude::*;

use super::model::SudoOptions;
use crate::{
    mfa::model::{PasskeyPurpose, UsableFactors},
    ui::FormError,
};

#[server(endpoint = "signin")]
pub async fn sign_in(
    email: String,
    password: String,
    remember: Option<String>,
    next: Option<String>,
) -> Result<(), FormError> {
    use super::{
        model::after_sign_in,
        service::password_step::{self, SignInOutcome},
    };
    use crate::platform::{context::Visitor, rate_limit::Action};

    if email.trim().is_empty() {
        return Err(FormError::field("email", "Enter your email address."));
    }
    if password.is_empty() {
        return Err(FormError::field("password", "Enter your password."));
    }
    let visitor = Visitor::limited(Action::Authenticate).await?;
    let outcome = password_step::sign_in(&visitor, &email, &password, remember.is_some()).await?;
    let next = after_sign_in(next.as_deref());
    match outcome {
        SignInOutcome::SignedIn(_) => {
            leptos_axum::redirect(&super::service::session::landing(&visitor, next).await?)
        }
        SignInOutcome::SecondFactorNeeded => leptos_axum::redirect(&format!(
            "/signin/verify?next={}",
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        )),
    }
    Ok(())
}

#[server(endpoint = "signout")]
pub async fn sign_out() -> Result<(), FormError> {
    use super::{model::SignInNotice, service::session};
    use crate::{platform::context::Visitor, privacy::service::consent};

    let visitor = Visitor::current()?;
    if let Ok(me) = visitor.signed_in() {
        session::sign_out(&me).await?;
    }
    // Whatever this browser kept of the account goes with the session: cookies (also the consent
    // id, so the next person here starts afresh) and storage.
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::HeaderName::from_static("clear-site-data"),
            axum::http::HeaderValue::from_static("\"cookies\", \"storage\""),
        );
    }
    consent::forget_browser(visitor.state());
    leptos_axum::redirect(&SignInNotice::SignedOut.at("/signin"));
    Ok(())
}

/// The factors the half-finished sign-in of this session can use.
#[server(endpoint = "mfa/second-step")]
pub async fn second_step_options() -> Result<UsableFactors, FormError> {
    use crate::platform::context::Visitor;

    Ok(super::service::second_step::options(&Visitor::current()?).await?)
}

#[server(endpoint = "mfa/verify-code")]
pub async fn verify_code(code: String, next: Option<String>) -> Result<(), FormError> {
    use super::{model::after_sign_in, service::second_step};
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::limited(Action::Authenticate).await?;
    second_step::totp_sign_in(&visitor, &code).await?;
    let next = after_sign_in(next.as_deref());
    leptos_axum::redirect(&super::service::session::landing(&visitor, next).await?);
    Ok(())
}

#[server(endpoint = "mfa/verify-backup-code")]
pub async fn verify_backup_code(
    backup_code: String,
    next: Option<String>,
) -> Result<(), FormError> {
    use super::{model::after_sign_in, service::second_step};
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::limited(Action::Authenticate).await?;
    second_step::backup_code_sign_in(&visitor, &backup_code).await?;
    let next = after_sign_in(next.as_deref());
    leptos_axum::redirect(&super::service::session::landing(&visitor, next).await?);
    Ok(())
}

/// Options asking the browser for a passkey, as its JSON.
#[server(endpoint = "mfa/passkey-challenge")]
pub async fn passkey_challenge(purpose: PasskeyPurpose) -> Result<String, FormError> {
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::limited(Action::Passkey).await?;
    Ok(super::service::passkey::challenge(&visitor, purpose).await?)
}

/// Checks the browser's passkey answer: the session is then signed in, or in sudo mode. Only
/// scripts call this (passkeys need one), and the script goes on to the next page itself.
#[server(endpoint = "mfa/passkey-answer")]
pub async fn passkey_answer(purpose: PasskeyPurpose, credential: String) -> Result<(), FormError> {
    use super::service::passkey;
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::limited(Action::Passkey).await?;
    match purpose {
        PasskeyPurpose::Sudo => passkey::sudo(&visitor.signed_in()?, &credential).await?,
        PasskeyPurpose::SignIn | PasskeyPurpose::SecondFactor => {
            passkey::sign_in(&visitor, purpose, &credential).await?
        }
    }
    Ok(())
}

/// How the signed-in person can re-authenticate besides the password.
#[server(endpoint = "mfa/sudo-options")]
pub async fn sudo_methods() -> Result<SudoOptions, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::sudo::options(&SignedIn::current()?).await?)
}

/// Re-authentication for sudo mode: the password again.
#[server(endpoint = "sudo")]
pub async fn confirm_sudo(sudo_password: String) -> Result<(), FormError> {
    use crate::platform::{context::Visitor, rate_limit::Action};

    let me = Visitor::limited(Action::Authenticate).await?.signed_in()?;
    super::service::sudo::grant_sudo(&me, &sudo_password).await?;
    Ok(())
}

/// Re-authentication for sudo mode with a code from the authenticator app.
#[server(endpoint = "mfa/sudo-code")]
pub async fn confirm_sudo_code(sudo_code: String) -> Result<(), FormError> {
    use crate::platform::{context::Visitor, rate_limit::Action};

    let me = Visitor::limited(Action::Authenticate).await?.signed_in()?;
    super::service::sudo::totp_sudo(&me, &sudo_code).await?;
    Ok(())
}

#[server(endpoint = "forgot-password")]
pub async fn request_password_reset(email: String) -> Result<(), FormError> {
    use super::{model::SignInNotice, service::recovery};
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::limited(Action::Authenticate).await?;
    recovery::request_password_reset(&visitor, &email).await?;
    leptos_axum::redirect(&SignInNotice::ResetLinkSent.at("/forgot-password"));
    Ok(())
}

#[server(endpoint = "reset-password")]
pub async fn reset_password(
    token: String,
    password: String,
    confirm: String,
    remove_factors: Option<String>,
) -> Result<(), FormError> {
    use super::{
        model::SignInNotice,
        service::recovery::{self, Reset},
    };
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::limited(Action::Authenticate).await?;
    let reset = Reset {
        token: &token,
        new_password: &password,
        confirm: &confirm,
        remove_factors: remove_factors.is_some(),
    };
    recovery::reset_password(&visitor, reset).await?;
    leptos_axum::redirect(&SignInNotice::PasswordReset.at("/signin"));
    Ok(())
}

/// Uses a mailed "this wasn't me" link: every session ends, then the page to choose a new
/// password (and to remove the sign-in methods someone else may have added).
#[server(endpoint = "not-me")]
pub async fn not_me(token: String) -> Result<(), FormError> {
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::limited(Action::Authenticate).await?;
    let reset = super::service::recovery::not_me(&visitor, &token).await?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &reset)
        .append_pair("after", "not-me")
        .finish();
    leptos_axum::redirect(&format!("/reset-password?{query}"));
    Ok(())
}
