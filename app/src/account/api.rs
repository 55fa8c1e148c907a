//! The Account page's server functions.

use leptos::prelude::*;

use super::model::{AccountSummary, CreatedInvite, Viewer};
use crate::ui::FormError;

#[server(endpoint = "account")]
pub async fn account_overview() -> Result<AccountSummary, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::overview(&SignedIn::current()?).await?)
}

/// Who is signed in, for the header; None for a visitor who is not.
#[server(endpoint = "account/viewer")]
pub async fn whoami() -> Result<Option<Viewer>, FormError> {
    use crate::platform::context::Visitor;

    match Visitor::current()?.signed_in() {
        Ok(me) => Ok(Some(super::service::viewer(&me).await?)),
        Err(_) => Ok(None),
    }
}

#[server(endpoint = "account/name")]
pub async fn change_display_name(display_name: String) -> Result<(), FormError> {
    use super::model::AccountNotice;
    use crate::platform::context::SignedIn;

    super::service::change_display_name(&SignedIn::current()?, &display_name).await?;
    leptos_axum::redirect(&AccountNotice::NameSaved.at("/account"));
    Ok(())
}

/// Asks to change the address. The address is how the account is recovered, so this needs a
/// re-authentication made for it, not the one from signing in.
#[server(endpoint = "account/email")]
pub async fn change_email(email: String) -> Result<(), FormError> {
    use super::model::AccountNotice;
    use crate::platform::context::Reauthenticated;

    super::service::request_email_change(&Reauthenticated::current()?, &email).await?;
    leptos_axum::redirect(&AccountNotice::EmailLinkSent.at("/account"));
    Ok(())
}

#[server(endpoint = "confirm-email")]
pub async fn confirm_email_change(token: String) -> Result<(), FormError> {
    use super::model::AccountNotice;
    use crate::platform::context::Visitor;

    let visitor = Visitor::current()?;
    super::service::confirm_email_change(&visitor, &token).await?;
    let page = if visitor.user().is_some() {
        "/account"
    } else {
        "/signin"
    };
    leptos_axum::redirect(&AccountNotice::EmailChanged.at(page));
    Ok(())
}

#[server(endpoint = "account/password")]
pub async fn change_password(
    current_password: String,
    password: String,
    confirm: String,
) -> Result<(), FormError> {
    use super::model::AccountNotice;
    use crate::platform::context::Sudo;

    let me = Sudo::current()?;
    super::service::change_password(&me, &current_password, &password, &confirm).await?;
    leptos_axum::redirect(&AccountNotice::PasswordChanged.at("/account"));
    Ok(())
}

/// Asks to move the account's data to the region `to`; needs sudo.
#[server(endpoint = "account/region-move")]
pub async fn request_region_move(to: String) -> Result<(), FormError> {
    use super::model::AccountNotice;
    use crate::platform::context::Sudo;

    super::service::request_region_move(&Sudo::current()?, &to).await?;
    leptos_axum::redirect(&AccountNotice::MoveRequested.at("/account"));
    Ok(())
}

#[server(endpoint = "account/invite")]
pub async fn create_invite() -> Result<CreatedInvite, FormError> {
    use crate::platform::context::SignedIn;

    let (link, expires) = super::service::create_invite(&SignedIn::current()?).await?;
    Ok(CreatedInvite { link, expires })
}

#[server(endpoint = "account/resend-verification")]
pub async fn resend_verification() -> Result<(), FormError> {
    use super::model::AccountNotice;
    use crate::platform::context::SignedIn;

    super::service::resend_verification(&SignedIn::current()?).await?;
    leptos_axum::redirect(&AccountNotice::VerificationSent.at("/account"));
    Ok(())
}
