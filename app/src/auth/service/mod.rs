//! The accounts area's use cases: sign-up with an invite, the address and its verification,
//! passwords, the failure counters, mailed single-use links, and invites. `AuthError` is what
//! they refuse, and how each refusal reads to the person.

pub mod accounts;
pub mod invites;
pub mod password;
pub mod throttle;
pub mod tokens;

use thiserror::Error;

use crate::{
    auth::model::{InvalidDisplayName, InvalidEmail},
    platform::error::{infra_conversions, InfraError},
    ui::FormError,
};
use password::PasswordError;
use tokens::TokenError;

#[derive(Debug, Error)]
pub enum AuthError {
    #[error("Enter an email address like name@example.com.")]
    InvalidEmail,
    #[error("Enter a name of 1 to 100 characters.")]
    InvalidDisplayName,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("The two passwords do not match.")]
    PasswordMismatch,
    #[error("That address belongs to another account.")]
    EmailTaken,
    #[error("{0}")]
    Invite(&'static str),
    #[error("{0} is not available on this server. Choose another data region.")]
    RegionUnavailable(&'static str),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(AuthError);

impl From<InvalidEmail> for AuthError {
    fn from(_: InvalidEmail) -> Self {
        Self::InvalidEmail
    }
}

impl From<InvalidDisplayName> for AuthError {
    fn from(_: InvalidDisplayName) -> Self {
        Self::InvalidDisplayName
    }
}

impl From<AuthError> for FormError {
    fn from(error: AuthError) -> Self {
        let message = error.to_string();
        match error {
            AuthError::InvalidEmail | AuthError::EmailTaken => FormError::field("email", message),
            AuthError::InvalidDisplayName => FormError::field("display_name", message),
            AuthError::Password(_) => FormError::field("password", message),
            AuthError::PasswordMismatch => FormError::field("confirm", message),
            AuthError::Invite(_) => FormError::field("invite", message),
            AuthError::RegionUnavailable(_) => FormError::field("region", message),
            AuthError::Token(_) => FormError::Page(message),
            AuthError::Infra(infra) => infra.into(),
        }
    }
}
