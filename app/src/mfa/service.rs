//! Second factors (promise P3): the error every second-factor use case returns, the factors of
//! an account at a glance, and the mail that tells the owner of every change to them. Adding and
//! removing factors is in `enrolment`, using them in `verification`.

use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use super::api::{Factors, PasskeyRow, SecondStep, TotpState};
use crate::{
    auth::{accounts::AuthError, recovery, tokens::Undo},
    platform::{
        audit::AuditError,
        client::ClientInfo,
        clock::to_minute,
        crypto::CryptoError,
        db::{DbError, TenantTx},
        mail::{self, Mail, MailError},
        state::AppState,
    },
    ui::form::FormError,
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
    #[error("Your sign-in waited more than 5 minutes for the second step. Sign in again.")]
    SecondStepExpired,
    #[error("Too many wrong answers. Sign in again.")]
    SecondStepExhausted,
    #[error("Give the passkey a name of 1 to 60 characters.")]
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
    #[error("You are signed out.")]
    SignedOut,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("the factor store failed: {0}")]
    Database(#[from] DbError),
    #[error("sealing failed: {0}")]
    Crypto(#[from] CryptoError),
    #[error("the security log failed: {0}")]
    Audit(#[from] AuditError),
    #[error("the outbox failed: {0}")]
    Mail(#[from] MailError),
    #[error("the session store failed: {0}")]
    Session(#[from] tower_sessions::session::Error),
}

impl From<sqlx::Error> for MfaError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error.into())
    }
}

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
            MfaError::Auth(inner) => inner.into(),
            MfaError::SignedOut => FormError::SignedOut,
            MfaError::Database(_)
            | MfaError::Crypto(_)
            | MfaError::Audit(_)
            | MfaError::Mail(_)
            | MfaError::Session(_) => {
                tracing::error!(error = %message, "second-factor operation failed");
                FormError::Failed
            }
            _ => FormError::Page(message),
        }
    }
}

/// The factors of an account, for the Security page. A pending authenticator setup shows as
/// pending only: its secret is in the answer of the (re-authenticated) setup request alone.
pub async fn factors(state: &AppState, owner_id: Uuid) -> Result<Factors, MfaError> {
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let totp_row: Option<Option<OffsetDateTime>> =
        sqlx::query_scalar("SELECT enabled_at FROM totp_factors")
            .fetch_optional(&mut *tx)
            .await?;
    let totp = match totp_row {
        None => TotpState::Off,
        Some(Some(_)) => TotpState::On,
        Some(None) => TotpState::Pending,
    };
    let passkeys: Vec<(Uuid, String, OffsetDateTime, Option<OffsetDateTime>)> = sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM passkeys ORDER BY created_at, id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let (total, unused): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE used_at IS NULL) FROM backup_codes",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Factors {
        totp,
        passkeys: passkeys
            .into_iter()
            .map(|(id, name, created, last_used)| PasskeyRow {
                id: id.to_string(),
                name,
                created: to_minute(created),
                last_used: last_used.map(to_minute),
            })
            .collect(),
        backup_codes_left: (total > 0).then_some(unused),
    })
}

/// The factors an account can use right now.
pub async fn usable_factors(state: &AppState, owner_id: Uuid) -> Result<SecondStep, MfaError> {
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let (passkey, totp, backup_code): (bool, bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM passkeys), \
         EXISTS (SELECT 1 FROM totp_factors WHERE enabled_at IS NOT NULL), \
         EXISTS (SELECT 1 FROM backup_codes WHERE used_at IS NULL)",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(SecondStep {
        passkey,
        totp,
        backup_code,
    })
}

/// How a signed-in person can re-authenticate besides the password (backup codes are for
/// signing in only).
pub async fn sudo_options(state: &AppState, owner_id: Uuid) -> Result<SecondStep, MfaError> {
    Ok(SecondStep {
        backup_code: false,
        ..usable_factors(state, owner_id).await?
    })
}

pub(super) async fn factor_count(tx: &mut TenantTx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM totp_factors WHERE enabled_at IS NOT NULL) \
         + (SELECT count(*) FROM passkeys)",
    )
    .fetch_one(&mut **tx)
    .await
}

/// Refuses to add a sign-in method to an account whose address is not verified: otherwise
/// someone could sign up with another person's address, add a passkey, and keep it when the
/// address's owner later takes the account over with a password reset.
pub(super) async fn require_verified(tx: &mut TenantTx) -> Result<(), MfaError> {
    let verified: bool = sqlx::query_scalar("SELECT email_verified_at IS NOT NULL FROM accounts")
        .fetch_one(&mut **tx)
        .await?;
    if verified {
        Ok(())
    } else {
        Err(MfaError::Unverified)
    }
}

pub(super) async fn account_email(tx: &mut TenantTx) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT email FROM accounts")
        .fetch_one(&mut **tx)
        .await
}

/// Tells the owner, in the change's transaction, that their sign-in methods changed (`what`:
/// "A passkey “Laptop” was added"), with a link that undoes the change, ends every session and
/// leads to a password reset if it was not them.
pub(super) async fn tell_owner_of_change(
    state: &AppState,
    tx: &mut TenantTx,
    change: (&str, &str, Undo),
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<(), MfaError> {
    let (subject, what, undo) = change;
    let email = account_email(tx).await?;
    let not_me = recovery::not_me_link(state, tx, undo, now).await?;
    let owner_id = tx.owner_id();
    mail::enqueue(
        tx,
        Mail {
            account: owner_id,
            to: &email,
            subject,
            body: format!(
                "{what} on your Custodian account at {}, from {} ({}).\n\nIf this was you, there is nothing to do.\n\nIf it was not you, open this link: it undoes the change, signs out every session of your account at once, and lets you choose a new password and remove any other sign-in method you did not add (it works once, for 3 days):\n\n{not_me}",
                to_minute(now),
                client.device(),
                client.ip_prefix(),
            ),
        },
        now,
    )
    .await?;
    Ok(())
}
