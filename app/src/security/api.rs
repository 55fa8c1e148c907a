//! The Security pages' server functions: the sessions list (promise P4), the security log
//! (promise P5) and the account's data key (promise P9).

use leptos::prelude::*;

use super::model::{DataKeyStatus, LogPage, SessionRow};
use crate::{platform::ids::AccountSessionId, ui::FormError};

#[server(endpoint = "security/sessions")]
pub async fn list_sessions() -> Result<Vec<SessionRow>, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::sessions(&SignedIn::current()?).await?)
}

#[server(endpoint = "security/revoke")]
pub async fn revoke_session(id: AccountSessionId) -> Result<(), FormError> {
    use super::model::SecurityNotice;
    use crate::platform::context::Sudo;

    super::service::revoke(&Sudo::current()?, id).await?;
    leptos_axum::redirect(&SecurityNotice::Revoked.at("/security/sessions"));
    Ok(())
}

#[server(endpoint = "security/revoke-others")]
pub async fn sign_out_everywhere_else() -> Result<(), FormError> {
    use super::model::SecurityNotice;
    use crate::platform::context::Sudo;

    super::service::revoke_others(&Sudo::current()?).await?;
    leptos_axum::redirect(&SecurityNotice::OthersEnded.at("/security/sessions"));
    Ok(())
}

/// One page of the log; `kind` filters by one of the kinds every area declares (any other
/// value shows every event).
#[server(endpoint = "security/log")]
pub async fn security_log(kind: Option<String>, before: Option<i64>) -> Result<LogPage, FormError> {
    use crate::platform::{area::Catalog, context::SignedIn};

    let me = SignedIn::current()?;
    let catalog = use_context::<Catalog>().unwrap_or_default();
    let kind = kind.and_then(|code| catalog.event(&code));
    Ok(super::service::log_page(&me, kind, before).await?)
}

/// The account's data key: its version and when it was made.
#[server(endpoint = "security/data-key")]
pub async fn my_data_key() -> Result<DataKeyStatus, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::data_key(&SignedIn::current()?).await?)
}

/// Rotates the account's data key and seals everything again with the new one.
#[server(endpoint = "security/rotate-data-key")]
pub async fn rotate_data_key() -> Result<(), FormError> {
    use super::model::SecurityNotice;
    use crate::platform::context::Sudo;

    super::service::rotate_data_key(&Sudo::current()?).await?;
    leptos_axum::redirect(&SecurityNotice::KeyRotated.at("/security/encryption"));
    Ok(())
}
