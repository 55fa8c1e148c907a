//! Invite codes: single-use, expiring, stored only as a SHA-256 hash.

use sqlx::PgPool;
use thiserror::Error;
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

/// Lock id ("custinv" in ASCII) that serialises "create the first invite" across server processes.
const FIRST_INVITE_LOCK: i64 = 0x0063_7573_7469_6e76;

const MAX_EXPIRY_DAYS: u32 = 90;

#[derive(Debug, Error)]
pub enum InviteError {
    #[error("an invite must expire in 1 to {MAX_EXPIRY_DAYS} days")]
    InvalidExpiry,
    #[error("could not store the invite: {0}")]
    Database(#[from] sqlx::Error),
}

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
    invited_by: Option<Uuid>,
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
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(FIRST_INVITE_LOCK)
        .execute(&mut *tx)
        .await?;
    let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM invites)")
        .fetch_one(&mut *tx)
        .await?;
    if any {
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

async fn insert(
    tx: &mut sqlx::PgConnection,
    expires_in_days: u32,
    invited_by: Option<Uuid>,
) -> Result<NewInvite, InviteError> {
    let days = validate_expiry(expires_in_days)?;
    // 122 random bits from the OS generator: unguessable, and URL-safe as it is.
    let code = Uuid::new_v4().simple().to_string();
    let expires_at: OffsetDateTime = sqlx::query_scalar(
        "INSERT INTO invites (code_sha256, invited_by, expires_at) \
         VALUES (sha256(convert_to($1, 'UTF8')), $2, now() + make_interval(days => $3)) \
         RETURNING expires_at",
    )
    .bind(&code)
    .bind(invited_by)
    .bind(days)
    .fetch_one(&mut *tx)
    .await?;
    Ok(NewInvite { code, expires_at })
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
