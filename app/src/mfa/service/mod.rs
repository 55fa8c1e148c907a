//! Second factors' use cases (promise P3): the factors of an account, adding and removing them
//! (each change mailed to the owner with a way back), and checking a code, a backup code or a
//! passkey. `MfaError` is what they refuse, and how each refusal reads to the person.

pub mod backup_codes;
pub mod check;
pub mod enrolment;
pub mod factors;
pub mod passkey_enrolment;
pub mod passkeys;
pub mod totp;

use thiserror::Error;

use crate::{
    mfa::model::PASSKEY_NAME_MAX_CHARS,
    platform::error::{infra_conversions, InfraError},
    ui::FormError,
};

#[derive(Debug, Error)]
pub enum MfaError {
    #[error("Enter the 6-digit code from your authenticator app.")]
    CodeMalformed,
    #[error(
        "That code is not right, or it was already used. Wait for the next code and try again."
    )]
    CodeWrong,
    #[error("Enter a backup code like ABCDE-FGHJK.")]
    BackupCodeMalformed,
    #[error("That backup code is not right, or it was already used.")]
    BackupCodeWrong,
    #[error("Too many wrong codes. Wait {0} seconds, then try again.")]
    Throttled(i64),
    #[error("Set up the authenticator app first; its setup was not started or was replaced.")]
    NoTotpSetup,
    #[error("The authenticator app is already on. Turn it off first to set up another.")]
    TotpAlreadyOn,
    #[error("Verify your email address first: a sign-in method can be added only to an account whose address is confirmed.")]
    Unverified,
    #[error("Give the passkey a name of 1 to {PASSKEY_NAME_MAX_CHARS} characters.")]
    PasskeyName,
    #[error("That passkey no longer exists.")]
    NoSuchPasskey,
    #[error("This is your last second factor. Tick the box to confirm you want your account protected by the password alone.")]
    LastFactorNotConfirmed,
    #[error("{0}")]
    PasskeyPrompt(&'static str),
    #[error("Passkeys cannot be used at this address.")]
    PasskeysUnavailable,
    #[error(
        "Backup codes come with a second factor. Add a passkey or an authenticator app first."
    )]
    NoSecondFactor,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(MfaError);

impl From<MfaError> for FormError {
    fn from(error: MfaError) -> Self {
        let message = error.to_string();
        match error {
            MfaError::CodeMalformed | MfaError::CodeWrong => FormError::field("code", message),
            MfaError::BackupCodeMalformed | MfaError::BackupCodeWrong => {
                FormError::field("backup_code", message)
            }
            MfaError::PasskeyName => FormError::field("name", message),
            MfaError::LastFactorNotConfirmed => FormError::field("understood", message),
            MfaError::Infra(infra) => infra.into(),
            _ => FormError::Page(message),
        }
    }
}
