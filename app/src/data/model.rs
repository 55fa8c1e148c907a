//! The Your data area's types shared by the pages and the server, its rules, notices and
//! security-log events.

use serde::{Deserialize, Serialize};

use crate::platform::area::{events, notices};

/// Exports that may start per account in any 24 hours (those that failed do not count).
pub const EXPORTS_PER_DAY: i64 = 3;
/// Days a finished archive is kept before the sweep deletes it.
pub const KEEP_DAYS: i64 = crate::platform::retention::EXPORT_ARCHIVE_DAYS;

notices! {
    /// Confirmations of the Your data page, shown after a redirect.
    DataNotice {
        ExportStarted = "export-started" => "Your export has started. You can leave this page: we mail you when it is ready.",
        ExportDeleted = "export-deleted" => "The export was deleted.",
        ConfirmToDownload = "confirm-to-download" => "Confirm it is you, then download the archive.",
        DeletionCancelled = "deletion-cancelled" => "The deletion is cancelled: your account is as it was.",
        RequestMade = "request-made" => "Your request is received: we mailed you a confirmation with its due dates.",
        RestrictionLifted = "restriction-lifted" => "The restriction is lifted: your data is processed as before.",
        ProductNewsChanged = "product-news-changed" => "Your choice about product news is saved.",
    }
}

events! {
    EXPORT_REQUESTED = "export_requested" => "Data export requested",
    EXPORT_READY = "export_ready" => "Data export ready",
    EXPORT_DOWNLOADED = "export_downloaded" => "Data export downloaded",
    EXPORT_DELETED = "export_deleted" => "Data export deleted",
    EXPORT_EXPIRED = "export_expired" => "Data export expired and deleted",
    EXPORT_FAILED = "export_failed" => "Data export failed",
    DELETION_REQUESTED = "deletion_requested" => "Account deletion requested",
    DELETION_CANCELLED = "deletion_cancelled" => "Account deletion cancelled",
    RIGHTS_REQUESTED = "rights_requested" => "Rights request made",
    RIGHT_EXTENDED = "right_extended" => "Rights request extended",
    RIGHT_COMPLETED = "right_completed" => "Rights request answered",
    RIGHT_REFUSED = "right_refused" => "Rights request refused",
    RESTRICTION_LIFTED = "restriction_lifted" => "Restriction of processing lifted",
    MARKETING_CHANGED = "marketing_changed" => "Product news by mail changed",
}

/// The page that explains account deletion and asks for it.
pub const DELETE_PAGE: &str = "/data/delete";
/// The one page a signed-in person whose account is scheduled for deletion reaches: the date,
/// "Cancel deletion" and "Sign out".
pub const DELETION_PAGE: &str = crate::platform::paths::DELETION_PAGE;
/// Where a person lands, signed out, right after asking for deletion.
pub const SCHEDULED_PAGE: &str = "/deletion-scheduled";

/// What a signed-in person whose account is scheduled for deletion may still reach: the
/// deletion page and its server functions, proving who they are (sudo) and signing out.
pub const REACHABLE_WHILE_SCHEDULED: &[&str] = &[
    DELETION_PAGE,
    SCHEDULED_PAGE,
    "/api/data/deletion",
    "/api/data/deletion/cancel",
    "/api/data/deletion/landing",
    "/api/account/viewer",
    "/api/signout",
    "/api/sudo",
    "/api/mfa/sudo-options",
    "/api/mfa/sudo-code",
    "/api/mfa/passkey-challenge",
    "/api/mfa/passkey-answer",
];

/// Days before the hard delete that reminders are mailed.
pub const REMINDER_DAYS: [i64; 2] = [7, 1];

/// What asking for deletion will do, and when, for the page that asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionPlan {
    /// The address the person types to confirm.
    pub email: String,
    pub grace_days: u8,
    /// The day of the hard delete if asked now.
    pub hard_delete_on: String,
    /// The days reminders would be mailed.
    pub reminders_on: Vec<String>,
    pub backup_days: u8,
    /// Sessions that end at once, this one included.
    pub sessions: i64,
    /// Whether an export is under way (the request cancels it).
    pub export_under_way: bool,
}

/// Whether the account is scheduled for deletion, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionStatus {
    pub requested: Option<String>,
    /// The time of the hard delete, to the minute in UTC.
    pub hard_delete_at: Option<String>,
}

/// Where an export is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportState {
    Queued,
    Building,
    Ready,
    Expired,
    Deleted,
    Failed,
}

impl ExportState {
    /// The state as stored, with an archive past its expiry shown as expired.
    pub fn parse(stored: &str, expired: bool) -> Self {
        match stored {
            "queued" => Self::Queued,
            "building" => Self::Building,
            "ready" if expired => Self::Expired,
            "ready" => Self::Ready,
            "failed" => Self::Failed,
            _ => Self::Deleted,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "Waiting to start",
            Self::Building => "Building",
            Self::Ready => "Ready",
            Self::Expired => "Expired",
            Self::Deleted => "Deleted",
            Self::Failed => "Failed",
        }
    }

    /// Whether its job has yet to finish.
    pub fn in_progress(self) -> bool {
        matches!(self, Self::Queued | Self::Building)
    }
}

/// One export as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRow {
    pub id: uuid::Uuid,
    pub state: ExportState,
    /// What the job is doing now.
    pub stage: String,
    pub files_done: i32,
    pub files_total: i32,
    pub records: i64,
    pub requested: String,
    pub finished: Option<String>,
    pub expires: Option<String>,
    /// "2.4 MB"
    pub size: Option<String>,
    pub failure: Option<String>,
}

impl ExportRow {
    /// Progress in percent, for the bar.
    pub fn percent(&self) -> i32 {
        match self.state {
            ExportState::Queued => 0,
            ExportState::Building if self.files_total > 0 => {
                (self.files_done * 100 / self.files_total).clamp(0, 99)
            }
            ExportState::Building => 0,
            _ => 100,
        }
    }

    /// The path the archive downloads from.
    pub fn download_path(&self) -> String {
        format!("/data/exports/{}/archive", self.id)
    }
}

/// The Your data page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataOverview {
    /// Newest first.
    pub exports: Vec<ExportRow>,
    /// When the daily limit is reached: when the next export may start.
    pub next_allowed: Option<String>,
}

impl DataOverview {
    /// Whether an export is being built, so the page keeps its progress live.
    pub fn building(&self) -> bool {
        self.exports.iter().any(|row| row.state.in_progress())
    }
}

/// A size in bytes, as people read it.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1_000 {
        return format!("{bytes} bytes");
    }
    let mut size = bytes as f64 / 1_000.0;
    let mut unit = 0;
    while size >= 1_000.0 && unit + 1 < UNITS.len() {
        size /= 1_000.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(2_400_000), "2.4 MB");
        assert_eq!(human_size(1_500), "1.5 KB");
    }

    #[test]
    fn a_ready_archive_past_its_expiry_reads_as_expired() {
        assert_eq!(ExportState::parse("ready", false), ExportState::Ready);
        assert_eq!(ExportState::parse("ready", true), ExportState::Expired);
        assert!(ExportState::parse("queued", false).in_progress());
        assert!(!ExportState::parse("failed", false).in_progress());
    }
}
