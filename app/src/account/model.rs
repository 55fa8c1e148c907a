//! The account area's types shared by the pages and the server, its notices and its
//! security-log events.

use serde::{Deserialize, Serialize};

use crate::platform::area::{events, notices};

notices! {
    /// Confirmations of the account area, shown after a redirect.
    AccountNotice {
        NameSaved = "name-saved" => "Your display name was saved.",
        EmailLinkSent = "email-link-sent" => "We sent a confirmation link to the new address. Your address changes once you open it.",
        EmailChanged = "email-changed" => "Your email address was changed.",
        PasswordChanged = "password-changed" => "Your password was changed, and your other sessions were signed out.",
        VerificationSent = "verification-sent" => "We sent a new verification link.",
        MoveRequested = "move-requested" => "Your request to move your data was recorded. An operator moves it and you get a signed receipt by mail.",
    }
}

events! {
    EMAIL_CHANGE_REQUESTED = "email_change_requested" => "Email change requested",
    EMAIL_CHANGED = "email_changed" => "Email address changed",
    DISPLAY_NAME_CHANGED = "display_name_changed" => "Display name changed",
    PASSWORD_CHANGED = "password_changed" => "Password changed",
    INVITE_CREATED = "invite_created" => "Invite created",
    REGION_MOVE_REQUESTED = "region_move_requested" => "Move to another data region requested",
    REGION_MOVED = "region_moved" => "Data moved to another region",
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub email: String,
    pub email_verified: bool,
    pub display_name: String,
    pub region: String,
    /// The regions this server serves besides the account's: (id, name).
    pub other_regions: Vec<(String, String)>,
    /// A pending request to move: "EU-West, asked on 2026-11-30 12:00 UTC".
    pub move_requested: Option<String>,
    pub created_on: String,
    pub invites: Vec<InviteRow>,
    pub invites_left: u8,
    /// "Processing restricted since …, because …." while it is (promise P15).
    pub restriction: Option<String>,
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

/// Who the header says is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub display_name: String,
}
