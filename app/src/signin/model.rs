//! The sign-in area's types shared by the pages and the server, its rules, its notices and its
//! security-log events.

use serde::{Deserialize, Serialize};

use crate::platform::{
    area::{events, notices},
    paths,
};

/// How long the second step of a sign-in waits after the password was accepted, in minutes.
pub const SECOND_STEP_MINUTES: i64 = 5;
/// Wrong second-step answers after which a pending sign-in ends.
pub const SECOND_STEP_TRIES: i32 = 10;
/// Consecutive wrong codes of an account (over any number of sign-ins) after which its owner is
/// told that their password is known.
pub const SECOND_STEP_MAIL_AT: i32 = 5;
/// Failed re-authentications after which a session ends.
pub const REAUTH_TRIES: i32 = 10;

notices! {
    /// Confirmations of the sign-in area, shown after a redirect.
    SignInNotice {
        SignedOut = "signed-out" => "You are signed out.",
        PasswordReset = "password-reset" => "Your password was reset and every session was signed out. Sign in with the new password.",
        ResetLinkSent = "sent" => "If an account uses that address, a link to reset its password is on its way. It works for 30 minutes.",
    }
}

events! {
    SIGN_IN = "sign_in" => "Signed in",
    SIGN_IN_FAILED = "sign_in_failed" => "Sign-in failed",
    SIGN_OUT = "sign_out" => "Signed out",
    SESSION_REVOKED = "session_revoked" => "Session ended",
    PASSWORD_RESET_REQUESTED = "password_reset_requested" => "Password reset requested",
    PASSWORD_RESET = "password_reset" => "Password reset",
    NOT_ME = "not_me" => "“This wasn't me” link used",
    SUDO_GRANTED = "sudo_granted" => "Identity confirmed",
    SUDO_FAILED = "sudo_failed" => "Identity confirmation failed",
    BACKUP_CODE_USED = "backup_code_used" => "Backup code used",
}

/// Where a sign-in leads: the page it was asked for when that is a path on this site (by the one
/// strict rule of `platform::paths`) other than the sign-in pages, else the Account page.
pub fn after_sign_in(next: Option<&str>) -> String {
    match next.and_then(paths::local_path) {
        Some(path) if !path.starts_with("/signin") => path.to_owned(),
        _ => "/account".to_owned(),
    }
}

/// How the signed-in person can confirm who they are besides the password, and for how long a
/// confirmation opens sensitive actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SudoOptions {
    pub passkey: bool,
    pub totp: bool,
    /// SUDO_MINUTES as this server is configured.
    pub window_minutes: i64,
}

/// The prompt's explanation, with the window the server keeps.
pub fn sudo_explanation(window_minutes: i64) -> String {
    let minutes = if window_minutes == 1 {
        "1 minute".to_owned()
    } else {
        format!("{window_minutes} minutes")
    };
    format!(
        "This change needs you to confirm who you are: sensitive changes ask again {minutes} after you last did, and adding a sign-in method always asks once after signing in."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_names_the_configured_window() {
        assert!(sudo_explanation(3).contains("ask again 3 minutes after"));
        assert!(sudo_explanation(1).contains("ask again 1 minute after"));
    }

    #[test]
    fn a_sign_in_leads_only_to_local_pages_other_than_sign_in() {
        assert_eq!(
            after_sign_in(Some("/security/sessions")),
            "/security/sessions"
        );
        assert_eq!(after_sign_in(Some("/signin/verify")), "/account");
        assert_eq!(after_sign_in(Some("https://evil.example/")), "/account");
        assert_eq!(after_sign_in(None), "/account");
    }
}
