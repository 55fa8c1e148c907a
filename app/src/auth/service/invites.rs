//! Invite codes (promise P12): single-use, expiring, stored only as a SHA-256 hash; made by the
//! operator's command, or by a verified person up to their share.

use sqlx::PgPool;
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use url::Url;
use uuid::Uuid;

use crate::{
    auth::{model::INVITE_DAYS, store::invites as store},
    platform::{
        db::TenantTx,
        directory,
        error::{infra_conversions, InfraError},
        ids::OwnerId,
    },
};

const MAX_EXPIRY_DAYS: u32 = 90;
const INVITE_LIFETIME: Duration = Duration::days(INVITE_DAYS);

#[derive(Debug, Error)]
pub enum InviteError {
    #[error("an invite must expire in 1 to {MAX_EXPIRY_DAYS} days")]
    InvalidExpiry,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(InviteError);

/// A freshly created invite. The code is shown once and never stored in the clear.
pub struct NewInvite {
    pub code: String,
    pub expires_at: OffsetDateTime,
}

impl NewInvite {
    /// The expiry to the minute, for people: "2026-11-29 19:26 UTC".
    pub fn expires_on(&self) -> String {
        crate::platform::clock::to_minute(self.expires_at)
    }

    pub fn signup_url(&self, public_url: &Url) -> Url {
        signup_url(public_url, &self.code)
    }
}

/// The sign-up page with the code filled in.
pub fn signup_url(public_url: &Url, code: &str) -> Url {
    let mut url = public_url.clone();
    url.set_path("/signup");
    url.query_pairs_mut().clear().append_pair("invite", code);
    url
}

/// Creates an invite with the migration role's pool (the app role has no access to invites).
pub async fn create(
    owner: &PgPool,
    expires_in_days: u32,
    invited_by: Option<OwnerId>,
) -> Result<NewInvite, InviteError> {
    let mut tx = owner.begin().await?;
    let invite = insert(&mut tx, expires_in_days, invited_by).await?;
    tx.commit().await?;
    Ok(invite)
}

/// On a fresh installation, creates the first invite so that someone can sign up; returns None
/// once any invite exists. Safe when several servers start at once.
pub async fn create_first(
    owner: &PgPool,
    expires_in_days: u32,
) -> Result<Option<NewInvite>, InviteError> {
    let mut tx = owner.begin().await?;
    if store::lock_and_check_any(&mut tx).await? {
        return Ok(None);
    }
    let invite = insert(&mut tx, expires_in_days, None).await?;
    tx.commit().await?;
    Ok(Some(invite))
}

/// Checks an expiry before anything is written.
pub fn validate_expiry(expires_in_days: u32) -> Result<i32, InviteError> {
    if (1..=MAX_EXPIRY_DAYS).contains(&expires_in_days) {
        i32::try_from(expires_in_days).map_err(|_| InviteError::InvalidExpiry)
    } else {
        Err(InviteError::InvalidExpiry)
    }
}

/// 122 random bits from the OS generator: unguessable, and URL-safe as it is.
fn new_code() -> String {
    Uuid::new_v4().simple().to_string()
}

async fn insert(
    tx: &mut sqlx::PgConnection,
    expires_in_days: u32,
    invited_by: Option<OwnerId>,
) -> Result<NewInvite, InviteError> {
    let days = validate_expiry(expires_in_days)?;
    let code = new_code();
    let expires_at = store::insert(tx, &code, invited_by, days).await?;
    Ok(NewInvite { code, expires_at })
}

/// An invite from the transaction's person, when they have invites left. It is kept in their
/// region, and the directory learns which region that is before the caller commits.
pub async fn create_for_tenant(
    directory: &PgPool,
    tx: &mut TenantTx,
    now: OffsetDateTime,
) -> Result<Option<NewInvite>, InfraError> {
    let code = new_code();
    let expires_at = now + INVITE_LIFETIME;
    if !store::create_for_tenant(tx, &code, now, expires_at).await? {
        return Ok(None);
    }
    directory::route_invite(directory, &code, tx.tenant().region).await?;
    Ok(Some(NewInvite { code, expires_at }))
}

/// The hashes of the invite codes `owner` made (an operator's command on one region).
pub async fn code_hashes_of(owner_pool: &PgPool, owner: OwnerId) -> Result<Vec<Vec<u8>>, InfraError> {
    let mut conn = owner_pool.acquire().await?;
    Ok(store::code_hashes_of(&mut conn, owner).await?)
}

/// The invites the transaction's person made.
pub async fn mine(tx: &mut TenantTx) -> Result<Vec<store::MyInvite>, InfraError> {
    Ok(store::mine(tx).await?)
}

/// "ok", "used", "expired" or "invalid".
pub async fn status(pool: &PgPool, code: &str, now: OffsetDateTime) -> Result<String, InfraError> {
    Ok(store::status(pool, code, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> NewInvite {
        NewInvite {
            code: "abc123".to_owned(),
            // 2026-11-29 19:26:30.77 UTC
            expires_at: OffsetDateTime::from_unix_timestamp_nanos(1_795_980_390_770_000_000)
                .unwrap(),
        }
    }

    #[test]
    fn the_expiry_reads_to_the_minute_in_utc() {
        assert_eq!(invite().expires_on(), "2026-11-29 19:26 UTC");
    }

    #[test]
    fn the_signup_url_carries_the_code_on_the_signup_page() {
        let base = Url::parse("https://c.example/anything?x=1").unwrap();
        assert_eq!(
            invite().signup_url(&base).as_str(),
            "https://c.example/signup?invite=abc123"
        );
    }
}
