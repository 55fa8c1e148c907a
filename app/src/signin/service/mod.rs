//! Signing in and proving it again: the password step under its throttle, the second step,
//! passkeys, re-authentication (sudo), sign-out, and getting back in (reset, "this wasn't me").
//! `SignInError` is what they refuse; a refusal of the accounts or second-factor areas passes
//! through unchanged.

pub mod passkey;
pub mod password_step;
pub mod recovery;
pub mod second_step;
pub mod session;
pub mod sudo;

use thiserror::Error;

use crate::{
    auth::service::AuthError,
    mfa::service::MfaError,
    platform::error::{infra_conversions, InfraError},
    signin::model::SECOND_STEP_MINUTES,
    ui::FormError,
};

#[derive(Debug, Error)]
pub enum SignInError {
    #[error("The email address or password is not right.")]
    BadCredentials,
    #[error("Enter your password.")]
    SudoPasswordMissing,
    #[error("That password is not right.")]
    SudoPasswordWrong,
    #[error("Too many attempts. Wait {0} seconds, then try again.")]
    SudoThrottled(i64),
    #[error(
        "This account is locked after too many failed sign-ins. Reset your password to unlock it."
    )]
    SudoLocked,
    #[error("{0}")]
    SudoCode(String),
    /// The session ended meanwhile, or after too many failed confirmations.
    #[error("You are signed out.")]
    SessionEnded,
    #[error("Your sign-in waited more than {SECOND_STEP_MINUTES} minutes for the second step. Sign in again.")]
    SecondStepExpired,
    #[error("Too many wrong answers. Sign in again.")]
    SecondStepExhausted,
    #[error("This link cannot remove sign-in methods. If someone else added one, use the “This wasn't me” link in the mail that told you about it.")]
    FactorRemovalNeedsNotMe,
    #[error(transparent)]
    Auth(AuthError),
    #[error(transparent)]
    Mfa(MfaError),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(SignInError);

impl From<AuthError> for SignInError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Infra(infra) => Self::Infra(infra),
            refusal => Self::Auth(refusal),
        }
    }
}

impl From<MfaError> for SignInError {
    fn from(error: MfaError) -> Self {
        match error {
            MfaError::Infra(infra) => Self::Infra(infra),
            refusal => Self::Mfa(refusal),
        }
    }
}

impl From<crate::auth::service::tokens::TokenError> for SignInError {
    fn from(error: crate::auth::service::tokens::TokenError) -> Self {
        Self::Auth(error.into())
    }
}

impl From<crate::auth::service::password::PasswordError> for SignInError {
    fn from(error: crate::auth::service::password::PasswordError) -> Self {
        Self::Auth(error.into())
    }
}

impl From<SignInError> for FormError {
    fn from(error: SignInError) -> Self {
        let message = error.to_string();
        match error {
            SignInError::SudoPasswordMissing
            | SignInError::SudoPasswordWrong
            | SignInError::SudoThrottled(_)
            | SignInError::SudoLocked => FormError::field("sudo_password", message),
            SignInError::SudoCode(_) => FormError::field("sudo_code", message),
            SignInError::SessionEnded => FormError::SignedOut,
            SignInError::Auth(refusal) => refusal.into(),
            SignInError::Mfa(refusal) => refusal.into(),
            SignInError::Infra(infra) => infra.into(),
            _ => FormError::Page(message),
        }
    }
}
