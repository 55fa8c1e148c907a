//! The privacy area's use cases: consent on each request and from forms, the ledger, the
//! versioned policies, the receipts and the page-view counter. `PrivacyError` is what they
//! refuse, and how each refusal reads to the person.

pub mod analytics;
pub mod browser_records;
pub mod consent;
pub mod ledger;
pub mod policies;
pub mod receipts;

use thiserror::Error;

use crate::{
    platform::error::{infra_conversions, InfraError},
    ui::FormError,
};

#[derive(Debug, Error)]
pub enum PrivacyError {
    #[error("There is no policy called {0:?}.")]
    UnknownDocument(String),
    #[error("That version of the policy does not exist.")]
    UnknownVersion,
    #[error("Choose Accept all, Reject all, or save your own choices.")]
    UnknownChoice,
    #[error("That form is out of date. Reload the page and choose again.")]
    UnknownMethod,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(PrivacyError);

impl From<PrivacyError> for FormError {
    fn from(error: PrivacyError) -> Self {
        match error {
            PrivacyError::Infra(infra) => infra.into(),
            refusal => FormError::Page(refusal.to_string()),
        }
    }
}
