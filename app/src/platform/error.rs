//! The error spine.
//!
//! Policy:
//! - A failure of the machinery (database, security log, keys, outbox, session store, hashing
//!   slots, jobs) is an `InfraError`, defined here once with its conversions. It is our fault:
//!   the person reads "something went wrong" (or "busy"), the server's log gets the details.
//! - Each area's error enum holds only its own refusals (what the person typed wrong or may not
//!   do) plus one `Infra(InfraError)` variant; `infra_conversions!` lets `?` lift any
//!   machinery error into it.
//! - Nothing is swallowed into a default value: a failure is refused or propagated, never
//!   turned into an empty string, an empty list or a "false".
//! - At the server-function boundary every error becomes a `ui::FormError`.

use thiserror::Error;

use super::{
    audit::AuditError, crypto::CryptoError, db::DbError, hashing::SlotError, mail::MailError,
};

#[derive(Debug, Error)]
pub enum InfraError {
    #[error("database: {0}")]
    Database(#[from] DbError),
    #[error("security log: {0}")]
    Audit(#[from] AuditError),
    #[error("keys: {0}")]
    Crypto(#[from] CryptoError),
    #[error("outbox: {0}")]
    Mail(#[from] MailError),
    #[error("session store: {0}")]
    Session(#[from] tower_sessions::session::Error),
    /// Every password-hashing slot stayed busy: the person may simply try again.
    #[error("every hashing slot stayed busy")]
    Busy,
    #[error("the hashing thread failed")]
    HashingFailed,
    #[error("encoding: {0}")]
    Encoding(#[from] serde_json::Error),
}

impl From<sqlx::Error> for InfraError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error.into())
    }
}

impl From<SlotError> for InfraError {
    fn from(error: SlotError) -> Self {
        match error {
            SlotError::Busy => Self::Busy,
            SlotError::Failed => Self::HashingFailed,
        }
    }
}

/// Lets `?` lift every machinery error into an area's `Infra` variant.
macro_rules! infra_conversions {
    ($area:ty) => {
        $crate::platform::error::infra_conversions!(
            @each $area,
            sqlx::Error,
            $crate::platform::db::DbError,
            $crate::platform::audit::AuditError,
            $crate::platform::crypto::CryptoError,
            $crate::platform::mail::MailError,
            $crate::platform::hashing::SlotError,
            tower_sessions::session::Error,
            serde_json::Error
        );
    };
    (@each $area:ty, $($source:ty),*) => {
        $(impl From<$source> for $area {
            fn from(error: $source) -> Self {
                Self::Infra($crate::platform::error::InfraError::from(error))
            }
        })*
    };
}
pub(crate) use infra_conversions;
