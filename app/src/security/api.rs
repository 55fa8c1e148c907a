//! The Security pages' server functions: the sessions list (promise P4) and the security log
//! (promise P5).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ui::form::FormError;

/// Every kind of security-log event, with how the log names it.
pub const EVENT_KINDS: [(&str, &str); 29] = [
    ("sign_in", "Signed in"),
    ("sign_in_failed", "Sign-in failed"),
    ("sign_out", "Signed out"),
    ("session_revoked", "Session ended"),
    ("signed_up", "Account created"),
    ("email_verified", "Email address verified"),
    ("email_change_requested", "Email change requested"),
    ("email_changed", "Email address changed"),
    ("display_name_changed", "Display name changed"),
    ("password_changed", "Password changed"),
    ("password_reset_requested", "Password reset requested"),
    ("password_reset", "Password reset"),
    ("invite_created", "Invite created"),
    ("invite_used", "Your invite was used"),
    ("sudo_granted", "Identity confirmed"),
    ("sudo_failed", "Identity confirmation failed"),
    ("other_sessions_ended", "Signed out everywhere else"),
    ("totp_setup_started", "Authenticator app setup started"),
    ("totp_enabled", "Authenticator app turned on"),
    ("totp_disabled", "Authenticator app turned off"),
    ("backup_codes_created", "Backup codes created"),
    ("backup_code_used", "Backup code used"),
    ("passkey_added", "Passkey added"),
    ("passkey_renamed", "Passkey renamed"),
    ("passkey_removed", "Passkey removed"),
    ("passkey_failed", "Passkey check failed"),
    ("second_factor_failed", "Wrong code"),
    ("consent_changed", "Consent choice recorded"),
    ("policy_acknowledged", "Policy change reviewed"),
];

pub fn event_label(kind: &str) -> &str {
    EVENT_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(kind, |(_, label)| label)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: String,
    pub device: String,
    pub network: String,
    pub created: String,
    pub last_active: String,
    pub remembered: bool,
    pub this_device: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRow {
    pub seq: i64,
    pub when: String,
    pub kind: String,
    pub detail: String,
    pub network: String,
    pub device: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPage {
    pub events: Vec<EventRow>,
    /// Pass as `before` for the next (older) page.
    pub older: Option<i64>,
}

#[server(endpoint = "security/sessions")]
pub async fn list_sessions() -> Result<Vec<SessionRow>, FormError> {
    use crate::auth::guard;

    let (state, _) = guard::request()?;
    Ok(super::service::sessions(&state, &guard::user()?).await?)
}

#[server(endpoint = "security/revoke")]
pub async fn revoke_session(id: String) -> Result<(), FormError> {
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let user = guard::sudo_user(&state)?;
    super::service::revoke(&state, &user, &id, &client).await?;
    leptos_axum::redirect("/security/sessions?notice=revoked");
    Ok(())
}

#[server(endpoint = "security/revoke-others")]
pub async fn sign_out_everywhere_else() -> Result<(), FormError> {
    use crate::auth::guard;

    let (state, client) = guard::request()?;
    let user = guard::sudo_user(&state)?;
    super::service::revoke_others(&state, &user, &client).await?;
    leptos_axum::redirect("/security/sessions?notice=others-ended");
    Ok(())
}

#[server(endpoint = "security/log")]
pub async fn security_log(kind: Option<String>, before: Option<i64>) -> Result<LogPage, FormError> {
    use crate::auth::guard;

    let (state, _) = guard::request()?;
    let kind = kind.filter(|k| EVENT_KINDS.iter().any(|(known, _)| known == k));
    Ok(super::service::log_page(&state, &guard::user()?, kind.as_deref(), before).await?)
}
