//! The privacy area's error, and how each failure reads to the person.

use thiserror::Error;

use crate::{
    platform::{audit::AuditError, db::DbError, mail::MailError},
    ui::form::FormError,
};

#[derive(Debug, Error)]
pub enum PrivacyError {
    #[error("There is no policy called {0:?}.")]
    UnknownDocument(String),
    #[error("That version of the policy does not exist.")]
    UnknownVersion,
    #[error("There is no such consent record among yours.")]
    UnknownRecord,
    #[error("the consent ledger could not be read or written: {0}")]
    Database(#[from] DbError),
    #[error("the security log could not be written: {0}")]
    Audit(#[from] AuditError),
    #[error("the notification could not be queued: {0}")]
    Mail(#[from] MailError),
}

impl From<sqlx::Error> for PrivacyError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(DbError::from(error))
    }
}

impl From<PrivacyError> for FormError {
    fn from(error: PrivacyError) -> Self {
        match error {
            PrivacyError::Database(_) | PrivacyError::Audit(_) | PrivacyError::Mail(_) => {
                tracing::error!(%error, "privacy operation failed");
                FormError::Failed
            }
            other => FormError::Page(other.to_string()),
        }
    }
}
