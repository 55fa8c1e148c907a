//! The Security pages' types shared by the pages and the server, their notices and their
//! security-log event.

use serde::{Deserialize, Serialize};

use crate::platform::{
    area::{events, notices},
    ids::AccountSessionId,
};

/// Events on one page of the security log.
pub const LOG_PAGE_SIZE: i64 = 25;

notices! {
    /// Confirmations of the Security pages, shown after a redirect.
    SecurityNotice {
        Revoked = "revoked" => "The session was ended.",
        OthersEnded = "others-ended" => "Every other session was signed out.",
        KeyRotated = "key-rotated" => "Your data key was rotated: everything sealed is now sealed with the new key.",
    }
}

events! {
    OTHER_SESSIONS_ENDED = "other_sessions_ended" => "Signed out everywhere else",
    DATA_KEY_ROTATED = "data_key_rotated" => "Data key rotated",
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: AccountSessionId,
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

/// The account's own data key, as the encryption page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataKeyStatus {
    pub version: i32,
    pub created: String,
}
