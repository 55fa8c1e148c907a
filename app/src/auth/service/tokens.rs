//! Single-use links sent by mail (verify an address, confirm a new one, reset a password, "this
//! wasn't me"). The token names its tenant through an opaque id only this server can read, and
//! carries 256 random bits; only their SHA-256 is stored, so a leaked table cannot be used.

use time::{Duration, OffsetDateTime};

use super::AuthError;
use crate::{
    auth::store::tokens::{self as store, NewToken},
    platform::{
        crypto,
        db::TenantTx,
        directory,
        error::InfraError,
        ids::{OwnerId, PasskeyId},
        keys::{self, KeyEncryptionKey},
        region::Tenant,
        state::AppState,
    },
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ChangeEmail,
    ResetPassword,
    /// Mailed with every change of the sign-in methods: ends every session and leads to a reset.
    NotMe,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ChangeEmail => "change_email",
            Self::ResetPassword => "reset_password",
            Self::NotMe => "not_me",
        }
    }

    pub fn lifetime(self) -> Duration {
        match self {
            Self::VerifyEmail | Self::ChangeEmail => Duration::hours(24),
            Self::ResetPassword => Duration::minutes(30),
            Self::NotMe => Duration::days(3),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("This link is not valid. Check that you copied all of it, or ask for a new one.")]
    Invalid,
    #[error("This link has expired. Ask for a new one.")]
    Expired,
    #[error("This link has already been used.")]
    Used,
}

/// What a "this wasn't me" link undoes: the change its mail reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    /// The authenticator app turned on.
    Totp,
    /// The passkey added.
    Passkey(PasskeyId),
    /// The backup codes created.
    BackupCodes,
    /// The address change asked for (its confirmation links stop working).
    EmailChange,
    /// Nothing beyond signing out everywhere (a factor was removed, not added).
    SignOutOnly,
}

impl Undo {
    fn as_scope(self) -> String {
        match self {
            Self::Totp => "totp".to_owned(),
            Self::Passkey(id) => format!("passkey:{id}"),
            Self::BackupCodes => "backup_codes".to_owned(),
            Self::EmailChange => "email_change".to_owned(),
            Self::SignOutOnly => "sign_out".to_owned(),
        }
    }

    fn parse(scope: &str) -> Option<Self> {
        Some(match scope {
            "totp" => Self::Totp,
            "backup_codes" => Self::BackupCodes,
            "email_change" => Self::EmailChange,
            "sign_out" => Self::SignOutOnly,
            other => Self::Passkey(other.strip_prefix("passkey:")?.parse().ok()?),
        })
    }
}

/// What a token carries besides its purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carries {
    Nothing,
    /// The address an address-change link confirms.
    NewEmail(String),
    /// What a "this wasn't me" link undoes.
    Undo(Undo),
    /// A reset link that may also remove every second factor: only one that a "this wasn't me"
    /// link led to. A plain reset link (a mailbox alone) cannot strip the second factor.
    FactorRemoval,
}

impl Carries {
    fn columns(&self) -> (Option<&str>, Option<String>) {
        match self {
            Self::Nothing => (None, None),
            Self::NewEmail(email) => (Some(email), None),
            Self::Undo(undo) => (None, Some(undo.as_scope())),
            Self::FactorRemoval => (None, Some("remove_factors".to_owned())),
        }
    }

    fn read(new_email: Option<String>, scope: Option<String>) -> Self {
        match (new_email, scope.as_deref()) {
            (Some(email), _) => Self::NewEmail(email),
            (None, Some("remove_factors")) => Self::FactorRemoval,
            (None, Some(scope)) => Undo::parse(scope).map_or(Self::Nothing, Self::Undo),
            (None, None) => Self::Nothing,
        }
    }
}

/// Stores a new token in the tenant's transaction and returns it, to be mailed.
pub async fn issue(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    purpose: Purpose,
    carries: &Carries,
    now: OffsetDateTime,
) -> Result<String, InfraError> {
    let (new_email, scope) = carries.columns();
    let route = crypto::opaque_id(kek, tx.owner_id())?;
    let secret = keys::link_secret();
    let token = NewToken {
        secret_sha256: &keys::secret_sha256(&secret),
        purpose: purpose.as_str(),
        new_email,
        scope,
        created_at: now,
        expires_at: now + purpose.lifetime(),
    };
    store::insert(tx, &token).await?;
    Ok(format!("{route}.{secret}"))
}

/// The tenant a token belongs to, read from its opaque first part.
pub fn owner_of(kek: &KeyEncryptionKey, token: &str) -> Result<OwnerId, TokenError> {
    let (route, secret) = token.trim().split_once('.').ok_or(TokenError::Invalid)?;
    if secret.len() != keys::LINK_SECRET_LEN {
        return Err(TokenError::Invalid);
    }
    crypto::open_opaque_id(kek, route).ok_or(TokenError::Invalid)
}

/// Marks the token used inside the tenant's transaction (which the caller commits with the
/// change the token allows) and returns what it carries.
pub async fn redeem(
    tx: &mut TenantTx,
    token: &str,
    purpose: Purpose,
    now: OffsetDateTime,
) -> Result<Carries, AuthError> {
    let (_, secret) = token.trim().split_once('.').ok_or(TokenError::Invalid)?;
    let secret = keys::secret_sha256(secret);
    let (expires_at, used_at, new_email, scope) =
        store::find_for_update(tx, &secret, purpose.as_str())
            .await?
            .ok_or(TokenError::Invalid)?;
    if used_at.is_some() {
        return Err(TokenError::Used.into());
    }
    if expires_at <= now {
        return Err(TokenError::Expired.into());
    }
    store::mark_used(tx, &secret, now).await?;
    Ok(Carries::read(new_email, scope))
}

/// Opens the transaction of the tenant a token names, in the region the directory gives it.
pub async fn tenant_of(state: &AppState, token: &str) -> Result<(OwnerId, TenantTx), AuthError> {
    let owner = owner_of(&state.key_encryption_key, token)?;
    let region = directory::region_of(state.regions.directory(), owner)
        .await?
        .ok_or(TokenError::Invalid)?;
    let tx = TenantTx::begin(&state.regions, Tenant::new(owner, region)).await?;
    Ok((owner, tx))
}

/// Every outstanding link that changes the account (verification, address change, reset) stops
/// working: after a password change, a reset or an address change, a link mailed before it must
/// not undo it. "This wasn't me" links stay for their three days: they are the owner's way back
/// from a change someone else made, password change included.
pub async fn revoke_outstanding(tx: &mut TenantTx) -> Result<u64, sqlx::Error> {
    store::delete_outstanding(tx).await
}

/// The address change asked for is cancelled: its confirmation links stop working.
pub async fn cancel_email_change(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    store::delete_pending_email_changes(tx).await
}

/// An absolute link to `path` on this site with the token in its query.
pub fn link(state: &AppState, path: &str, token: &str) -> String {
    let mut url = state.public_url.clone();
    url.set_path(path);
    url.query_pairs_mut().clear().append_pair("token", token);
    url.to_string()
}

/// A "this wasn't me" link for a mail about a change (`what` it undoes), in the change's
/// transaction.
pub async fn not_me_link(
    state: &AppState,
    tx: &mut TenantTx,
    what: Undo,
    now: OffsetDateTime,
) -> Result<String, InfraError> {
    let token = issue(
        tx,
        &state.key_encryption_key,
        Purpose::NotMe,
        &Carries::Undo(what),
        now,
    )
    .await?;
    Ok(link(state, "/not-me", &token))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[test]
    fn malformed_tokens_are_invalid_and_an_owner_id_is_no_route() {
        let kek = crate::platform::keys::from_setting(
            &base64::engine::general_purpose::STANDARD.encode([4u8; 32]),
        )
        .unwrap();
        assert!(matches!(
            owner_of(&kek, "nonsense"),
            Err(TokenError::Invalid)
        ));
        assert!(matches!(
            owner_of(&kek, "abc.def"),
            Err(TokenError::Invalid)
        ));
        let owner = OwnerId::random();
        let guessed = format!("{}.{}", owner.as_uuid().simple(), "a".repeat(43));
        assert!(matches!(owner_of(&kek, &guessed), Err(TokenError::Invalid)));
        let route = crypto::opaque_id(&kek, owner).unwrap();
        let token = format!("{route}.{}", "a".repeat(43));
        assert_eq!(owner_of(&kek, &token).unwrap(), owner);
    }

    #[test]
    fn what_a_token_carries_reads_back() {
        for carries in [
            Carries::Nothing,
            Carries::NewEmail("ada@example.com".to_owned()),
            Carries::FactorRemoval,
            Carries::Undo(Undo::Totp),
            Carries::Undo(Undo::Passkey(PasskeyId::random())),
            Carries::Undo(Undo::BackupCodes),
            Carries::Undo(Undo::EmailChange),
            Carries::Undo(Undo::SignOutOnly),
        ] {
            let (email, scope) = carries.columns();
            assert_eq!(Carries::read(email.map(str::to_owned), scope), carries);
        }
    }
}
