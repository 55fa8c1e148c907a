//! The Account page's server functions and the data they return.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ui::form::FormError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub email: String,
    pub email_verified: bool,
    pub display_name: String,
    pub region: String,
    pub created_on: String,
    pub invites: Vec<InviteRow>,
    pub invites_left: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteRow {
    pub created: String,
    pub status: String,
}

/// A new invite, shown once: the sign-up link with the code in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedInvite {
    pub link: String,
    pub expires: String,
}

#[server(endpoint = "account")]
pub async fn account_overview() -> Result<AccountSummary, FormError> {
    use crate::auth::guard;

    let (state, _) = guard::request()?;
    Ok(super::service::overview(&state, &guard::user()?).await?)
}

#[server(endpoint = "account/name")]
pub async fn change_display_name(display_name: String) -> Result<(), FormError> {
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    super::service::change_display_name(&state, &guard::user()?, &display_name, &client).await?;
    leptos_axum::redirect("/account?notice=name-saved");
    Ok(())
}

/// Asks to change the address. The address is how the account is recovered, so this needs a
/// re-authentication made for it, not the one from signing in.
#[server(endpoint = "account/email")]
pub async fn change_email(email: String) -> Result<(), FormError> {
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let user = guard::reauthenticated_user(&state)?;
    super::service::request_email_change(&state, &user, &email, &client).await?;
    leptos_axum::redirect("/account?notice=email-link-sent");
    Ok(())
}

#[server(endpoint = "confirm-email")]
pub async fn confirm_email_change(token: String) -> Result<(), FormError> {
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    super::service::confirm_email_change(&state, &token, &client).await?;
    leptos_axum::redirect(if guard::user().is_ok() {
        "/account?notice=email-changed"
    } else {
        "/signin?notice=email-changed"
    });
    Ok(())
}

#[server(endpoint = "account/password")]
pub async fn change_password(
    current_password: String,
    password: String,
    confirm: String,
) -> Result<(), FormError> {
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let user = guard::sudo_user(&state)?;
    super::service::change_password(
        &state,
        &user,
        &current_password,
        &password,
        &confirm,
        &client,
    )
    .await?;
    leptos_axum::redirect("/account?notice=password-changed");
    Ok(())
}

#[server(endpoint = "account/invite")]
pub async fn create_invite() -> Result<CreatedInvite, FormError> {
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let (code, expires) = super::service::create_invite(&state, &guard::user()?, &client).await?;
    Ok(CreatedInvite {
        link: crate::auth::invites::signup_url(&state.public_url, &code).to_string(),
        expires,
    })
}

#[server(endpoint = "account/resend-verification")]
pub async fn resend_verification() -> Result<(), FormError> {
    use crate::auth::guard;

    let (state, _) = guard::request()?;
    super::service::resend_verification(&state, &guard::user()?).await?;
    leptos_axum::redirect("/account?notice=verification-sent");
    Ok(())
}
