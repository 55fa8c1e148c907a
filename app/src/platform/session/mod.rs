//! Browser sessions (promise P4): what the session store keeps for a signed-in browser, the
//! listing of each signed-in session in `account_sessions`, the store behind tower-sessions, and
//! the per-request check the server's middleware runs.
//!
//! The listing row is the authority: a session counts as signed in only while its row exists
//! and names the session's current store id. Ending a session (sign-out, revocation, password
//! change, reset) deletes the row, so a copy of a record, a record written back by a request in
//! flight, or one moved to a new id behind the listing's back is worth nothing.
//!
//! Owns: `account_sessions`, `tower_sessions.session`.

#[cfg(feature = "ssr")]
mod authenticate;
#[cfg(feature = "ssr")]
pub mod listing;
#[cfg(feature = "ssr")]
mod record;
#[cfg(feature = "ssr")]
mod store;

#[cfg(feature = "ssr")]
pub use authenticate::{authenticate, Authentication};
#[cfg(feature = "ssr")]
pub use record::{
    keep_cookie_lifetime, read, rotate_listed, rotate_new, write, CurrentUser, RotateError,
    SessionRecord, Standing, ABSOLUTE_LIFETIME, IDLE_TIMEOUT, REMEMBERED_LIFETIME, SUDO_WINDOW,
};
#[cfg(feature = "ssr")]
pub use store::{delete_expired_in, SessionRecords};

use serde::{Deserialize, Serialize};

/// The longest sudo window in minutes, and the default (SUDO_MINUTES may shorten it).
pub const SUDO_MINUTES: u32 = 10;

/// Why a session ended, carried to the sign-in page in its query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionEnd {
    Idle,
    Expired,
    Revoked,
}

impl SessionEnd {
    pub fn as_query(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Expired => "expired",
            Self::Revoked => "ended",
        }
    }

    pub fn from_query(value: &str) -> Option<Self> {
        [Self::Idle, Self::Expired, Self::Revoked]
            .into_iter()
            .find(|reason| reason.as_query() == value)
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::Idle => {
                "You were signed out after 30 minutes without activity. Sign in to continue."
            }
            Self::Expired => "Your session reached its time limit. Sign in to continue.",
            Self::Revoked => "Your session was ended. Sign in to continue.",
        }
    }
}
