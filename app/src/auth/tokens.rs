//! Single-use links sent by mail (verify an address, confirm a new one, reset a password). The
//! token names its tenant in the clear and carries 256 random bits; only their SHA-256 is
//! stored, so a leaked table cannot be used.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::platform::db::{DbError, TenantTx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ChangeEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ChangeEmail => "change_email",
            Self::ResetPassword => "reset_password",
        }
    }

    pub fn lifetime(self) -> Duration {
        match self {
            Self::VerifyEmail | Self::ChangeEmail => Duration::hours(24),
            Self::ResetPassword => Duration::minutes(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("This link is not valid. Check that you copied all of it, or ask for a new one.")]
    Invalid,
    #[error("This link has expired. Ask for a new one.")]
    Expired,
    #[error("This link has already been used.")]
    Used,
    #[error("the link could not be checked: {0}")]
    Database(#[from] DbError),
}

impl From<sqlx::Error> for TokenError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error.into())
    }
}

fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Stores a new token in the tenant's transaction and returns it, to be mailed.
pub async fn issue(
    tx: &mut TenantTx,
    owner_id: Uuid,
    purpose: Purpose,
    new_email: Option<&str>,
    now: OffsetDateTime,
) -> Result<String, sqlx::Error> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    sqlx::query(
        "INSERT INTO account_tokens (owner_id, secret_sha256, purpose, new_email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(owner_id)
    .bind(digest(&secret))
    .bind(purpose.as_str())
    .bind(new_email)
    .bind(now)
    .bind(now + purpose.lifetime())
    .execute(&mut **tx)
    .await?;
    Ok(format!("{}.{secret}", owner_id.simple()))
}

/// The tenant a token belongs to, read from its first part.
pub fn owner_of(token: &str) -> Result<Uuid, TokenError> {
    let (owner, secret) = token.trim().split_once('.').ok_or(TokenError::Invalid)?;
    if secret.len() != 43 {
        return Err(TokenError::Invalid);
    }
    Uuid::try_parse(owner).map_err(|_| TokenError::Invalid)
}

/// Marks the token used inside the tenant's transaction (which the caller commits with the
/// change the token allows) and returns the new address it carries, if any.
pub async fn redeem(
    tx: &mut TenantTx,
    token: &str,
    purpose: Purpose,
    now: OffsetDateTime,
) -> Result<Option<String>, TokenError> {
    let (_, secret) = token.trim().split_once('.').ok_or(TokenError::Invalid)?;
    let found: Option<(OffsetDateTime, Option<OffsetDateTime>, Option<String>)> = sqlx::query_as(
        "SELECT expires_at, used_at, new_email FROM account_tokens \
         WHERE secret_sha256 = $1 AND purpose = $2 FOR UPDATE",
    )
    .bind(digest(secret))
    .bind(purpose.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    let (expires_at, used_at, new_email) = found.ok_or(TokenError::Invalid)?;
    if used_at.is_some() {
        return Err(TokenError::Used);
    }
    if expires_at <= now {
        return Err(TokenError::Expired);
    }
    sqlx::query("UPDATE account_tokens SET used_at = $2 WHERE secret_sha256 = $1")
        .bind(digest(secret))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(new_email)
}

/// Opens the transaction of the tenant a token names.
pub async fn tenant_of(pool: &sqlx::PgPool, token: &str) -> Result<(Uuid, TenantTx), TokenError> {
    let owner = owner_of(token)?;
    Ok((owner, TenantTx::begin(pool, owner).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_tokens_are_invalid() {
        assert!(matches!(owner_of("nonsense"), Err(TokenError::Invalid)));
        assert!(matches!(owner_of("abc.def"), Err(TokenError::Invalid)));
        let owner = Uuid::new_v4();
        let token = format!("{}.{}", owner.simple(), "a".repeat(43));
        assert_eq!(owner_of(&token).unwrap(), owner);
    }
}
