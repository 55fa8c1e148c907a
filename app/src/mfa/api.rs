//! The Security page's factor settings as server functions. Adding a sign-in method needs a
//! re-authentication made for it (`Reauthenticated`), not the one from signing in; removing one
//! needs the sudo window (`Sudo`).

use leptos::prelude::*;

use super::model::{Factors, TotpSetup};
use crate::{platform::ids::PasskeyId, ui::FormError};

#[server(endpoint = "mfa/factors")]
pub async fn list_factors() -> Result<Factors, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::factors::of(&SignedIn::current()?).await?)
}

/// Creates a new authenticator-app secret, waiting for its first code, and answers with what the
/// person copies into the app: the only place the secret is shown.
#[server(endpoint = "mfa/totp-start")]
pub async fn start_totp() -> Result<TotpSetup, FormError> {
    use crate::platform::context::Reauthenticated;

    Ok(super::service::enrolment::start_totp(&Reauthenticated::current()?).await?)
}

/// Turns the authenticator app on once a code from it is right. Returns the backup codes when
/// this is the account's first second factor.
#[server(endpoint = "mfa/totp-confirm")]
pub async fn confirm_totp(code: String) -> Result<Option<Vec<String>>, FormError> {
    use crate::platform::context::Reauthenticated;

    Ok(super::service::enrolment::confirm_totp(&Reauthenticated::current()?, &code).await?)
}

#[server(endpoint = "mfa/totp-off")]
pub async fn turn_off_totp(understood: Option<String>) -> Result<(), FormError> {
    use crate::platform::context::Sudo;

    super::service::enrolment::turn_off_totp(&Sudo::current()?, understood.is_some()).await?;
    Ok(())
}

/// A new set of backup codes; the old set stops working.
#[server(endpoint = "mfa/backup-codes")]
pub async fn regenerate_backup_codes() -> Result<Vec<String>, FormError> {
    use crate::platform::context::Reauthenticated;

    Ok(super::service::enrolment::regenerate_backup_codes(&Reauthenticated::current()?).await?)
}

/// Registration options for a new passkey, as the browser's JSON.
#[server(endpoint = "mfa/passkey-register")]
pub async fn start_passkey_registration(
    name: String,
    this_device: bool,
) -> Result<String, FormError> {
    use super::service::passkey_enrolment;
    use crate::platform::context::Reauthenticated;

    let me = Reauthenticated::current()?;
    Ok(passkey_enrolment::start_registration(&me, &name, this_device).await?)
}

/// Stores the passkey the browser made. Returns the backup codes when this is the account's
/// first second factor.
#[server(endpoint = "mfa/passkey-registered")]
pub async fn finish_passkey_registration(
    credential: String,
) -> Result<Option<Vec<String>>, FormError> {
    use super::service::passkey_enrolment;
    use crate::platform::context::Reauthenticated;

    let me = Reauthenticated::current()?;
    Ok(passkey_enrolment::finish_registration(&me, &credential).await?)
}

#[server(endpoint = "mfa/passkey-rename")]
pub async fn rename_passkey(id: PasskeyId, name: String) -> Result<(), FormError> {
    use crate::platform::context::SignedIn;

    super::service::passkey_enrolment::rename(&SignedIn::current()?, id, &name).await?;
    Ok(())
}

#[server(endpoint = "mfa/passkey-remove")]
pub async fn remove_passkey(id: PasskeyId, understood: Option<String>) -> Result<(), FormError> {
    use crate::platform::context::Sudo;

    super::service::passkey_enrolment::remove(&Sudo::current()?, id, understood.is_some()).await?;
    Ok(())
}
