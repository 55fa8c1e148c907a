//! Second factors' types shared by the pages and the server, their rules, and their
//! security-log events.

use serde::{Deserialize, Serialize};

use crate::platform::{area::events, ids::PasskeyId};

/// Backup codes in a set.
pub const BACKUP_CODE_SET_SIZE: usize = 10;
/// Unused backup codes at or below which the page says the set runs low.
pub const BACKUP_CODES_LOW: i64 = 3;
/// The longest passkey name.
pub const PASSKEY_NAME_MAX_CHARS: usize = 60;

events! {
    TOTP_SETUP_STARTED = "totp_setup_started" => "Authenticator app setup started",
    TOTP_ENABLED = "totp_enabled" => "Authenticator app turned on",
    TOTP_DISABLED = "totp_disabled" => "Authenticator app turned off",
    BACKUP_CODES_CREATED = "backup_codes_created" => "Backup codes created",
    PASSKEY_ADDED = "passkey_added" => "Passkey added",
    PASSKEY_RENAMED = "passkey_renamed" => "Passkey renamed",
    PASSKEY_REMOVED = "passkey_removed" => "Passkey removed",
    PASSKEY_FAILED = "passkey_failed" => "Passkey check failed",
    SECOND_FACTOR_FAILED = "second_factor_failed" => "Wrong code",
}

/// The authenticator app's state on the Security page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TotpState {
    Off,
    /// Set up but not yet confirmed with a code. Its secret is not part of this state: only the
    /// answer to the setup request carries it.
    Pending,
    On,
}

/// What the person copies into their authenticator app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    pub secret_text: String,
    pub uri: String,
    pub qr_svg: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRow {
    pub id: PasskeyId,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
}

/// Every second factor of the account, at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factors {
    pub totp: TotpState,
    pub passkeys: Vec<PasskeyRow>,
    /// Unused backup codes; None when the account has no set.
    pub backup_codes_left: Option<i64>,
}

impl Factors {
    /// Whether sign-in asks for a second step.
    pub fn any(&self) -> bool {
        self.totp == TotpState::On || !self.passkeys.is_empty()
    }

    /// Whether removing one more factor leaves none.
    pub fn is_last(&self) -> bool {
        usize::from(self.totp == TotpState::On) + self.passkeys.len() == 1
    }
}

/// The factors an account can use right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsableFactors {
    pub passkey: bool,
    pub totp: bool,
    pub backup_code: bool,
}

/// Why the browser is asked for a passkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasskeyPurpose {
    /// Sign in with the passkey alone.
    SignIn,
    /// The second step after a password.
    SecondFactor,
    /// Re-authentication for sudo mode.
    Sudo,
}
