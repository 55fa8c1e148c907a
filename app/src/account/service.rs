//! Changing the account: display name, address (confirmed by a link to the new one, the old one
//! told), password (the current one needed, other sessions ended), and invites.

use thiserror::Error;
use time::Duration;
use uuid::Uuid;

use super::api::{AccountSummary, InviteRow};
use crate::{
    auth::{
        accounts::{self, AuthError},
        api::Region,
        password, recovery,
        session::CurrentUser,
        sudo,
        tokens::{self, Carries, Purpose, Undo},
    },
    platform::{
        audit,
        client::ClientInfo,
        clock::to_minute,
        db::TenantTx,
        mail::{self, Mail},
        rate_limit,
        state::AppState,
    },
    ui::form::FormError,
};

pub const INVITE_LIMIT: usize = 5;
/// Address changes an account may ask for per hour (each mails two addresses).
const EMAIL_CHANGES_PER_HOUR: u32 = 5;
const INVITE_LIFETIME: Duration = Duration::days(7);

#[derive(Debug, Error)]
pub enum AccountError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("The current password is not right.")]
    WrongCurrentPassword,
    #[error("Too many attempts. Wait {0} seconds, then try again.")]
    CurrentPasswordThrottled(i64),
    #[error("Too many links were sent to that address in the last hour. Try again later.")]
    TooManyMails,
    #[error("That is already your address.")]
    SameEmail,
    #[error("Verify your email address before inviting anyone.")]
    Unverified,
    #[error("You have used all {INVITE_LIMIT} of your invites.")]
    InviteLimit,
}

impl From<sqlx::Error> for AccountError {
    fn from(error: sqlx::Error) -> Self {
        Self::Auth(error.into())
    }
}

impl From<crate::platform::db::DbError> for AccountError {
    fn from(error: crate::platform::db::DbError) -> Self {
        Self::Auth(error.into())
    }
}

impl From<crate::platform::audit::AuditError> for AccountError {
    fn from(error: crate::platform::audit::AuditError) -> Self {
        Self::Auth(error.into())
    }
}

impl From<crate::platform::mail::MailError> for AccountError {
    fn from(error: crate::platform::mail::MailError) -> Self {
        Self::Auth(error.into())
    }
}

impl From<AccountError> for FormError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Auth(inner) => inner.into(),
            AccountError::WrongCurrentPassword | AccountError::CurrentPasswordThrottled(_) => {
                FormError::field("current_password", error.to_string())
            }
            AccountError::SameEmail => FormError::field("email", error.to_string()),
            other => FormError::Page(other.to_string()),
        }
    }
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    email: String,
    email_verified_at: Option<time::OffsetDateTime>,
    display_name: String,
    created_at: time::OffsetDateTime,
    region: String,
}

async fn account_row(tx: &mut TenantTx) -> Result<AccountRow, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.email, a.email_verified_at, a.display_name, a.created_at, t.region \
         FROM accounts a JOIN tenants t USING (owner_id)",
    )
    .fetch_one(&mut **tx)
    .await
}

pub async fn overview(
    state: &AppState,
    user: &CurrentUser,
) -> Result<AccountSummary, AccountError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
    let account = account_row(&mut tx).await?;
    let invites: Vec<(
        time::OffsetDateTime,
        time::OffsetDateTime,
        Option<time::OffsetDateTime>,
        Option<String>,
    )> = sqlx::query_as(
        "SELECT created_at, expires_at, used_at, used_by_email FROM custodian_my_invites()",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(AccountSummary {
        email: account.email,
        email_verified: account.email_verified_at.is_some(),
        display_name: account.display_name,
        region: Region::parse(&account.region)
            .map_or("Unknown", Region::label)
            .to_owned(),
        created_on: account.created_at.date().to_string(),
        invites_left: INVITE_LIMIT.saturating_sub(invites.len()) as u8,
        invites: invites
            .into_iter()
            .map(|(created, expires, used_at, used_by)| InviteRow {
                created: to_minute(created),
                status: match (used_at, used_by) {
                    (Some(at), Some(email)) => format!("Used by {email} on {}", to_minute(at)),
                    (Some(at), None) => format!("Used on {}", to_minute(at)),
                    _ if expires <= now => format!("Expired on {}", to_minute(expires)),
                    _ => format!("Unused; expires {}", to_minute(expires)),
                },
            })
            .collect(),
    })
}

pub async fn change_display_name(
    state: &AppState,
    user: &CurrentUser,
    display_name: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let display_name = accounts::normalize_display_name(display_name)?;
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
    sqlx::query("UPDATE accounts SET display_name = $1")
        .bind(&display_name)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "display_name_changed",
        "",
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sends a confirmation link to the new address and tells the old one, with a link that cancels
/// the change and signs out every session if it was not them. Nothing changes until the
/// confirmation link is used. At most `EMAIL_CHANGES_PER_HOUR` an hour per account.
pub async fn request_email_change(
    state: &AppState,
    user: &CurrentUser,
    new_email: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let new_email = accounts::normalize_email(new_email)?;
    let now = state.clock.now();
    let owner_id = user.owner_id();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let account = account_row(&mut tx).await?;
    if account.email == new_email {
        return Err(AccountError::SameEmail);
    }
    let key = &state.key_encryption_key;
    let within_limits = rate_limit::allow_for_account(
        &mut tx,
        key,
        "email change",
        owner_id,
        EMAIL_CHANGES_PER_HOUR,
        now,
    )
    .await?
        && rate_limit::allow_mail(&mut tx, key, "change", &new_email, now).await?;
    if !within_limits {
        return Err(AccountError::TooManyMails);
    }
    let carries = Carries::NewEmail(new_email.clone());
    let token = tokens::issue(&mut tx, key, Purpose::ChangeEmail, &carries, now)
        .await
        .map_err(AuthError::from)?;
    let link = accounts::link(state, "/confirm-email", &token);
    mail::enqueue(
        &mut tx,
        Mail {
            account: owner_id,
            to: &new_email,
            subject: "Confirm your new email address",
            body: format!(
                "Open this link to make this the address of your Custodian account (it works once, for 24 hours):\n\n{link}\n\nIf you did not ask for this, ignore this message."
            ),
        },
        now,
    )
    .await?;
    let not_me = recovery::not_me_link(state, &mut tx, Undo::EmailChange, now).await?;
    mail::enqueue(
        &mut tx,
        Mail {
            account: owner_id,
            to: &account.email,
            subject: "Your email address is being changed",
            body: format!(
                "Someone signed in to your Custodian account asked to change its address to {new_email}. It changes once the link sent there is opened.\n\nIf this was not you, open this link: it cancels the change, signs out every session at once and lets you choose a new password (it works once, for 3 days):\n\n{not_me}"
            ),
        },
        now,
    )
    .await?;
    audit::record(&mut tx, key, "email_change_requested", "", client, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Uses a confirmation link: the address becomes the account's (and is verified by the link).
pub async fn confirm_email_change(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let now = state.clock.now();
    let (owner_id, mut tx) = tokens::tenant_of(&state.pool, &state.key_encryption_key, token)
        .await
        .map_err(AuthError::from)?;
    let Carries::NewEmail(new_email) = tokens::redeem(&mut tx, token, Purpose::ChangeEmail, now)
        .await
        .map_err(AuthError::from)?
    else {
        return Err(AuthError::Token(tokens::TokenError::Invalid).into());
    };
    let old = account_row(&mut tx).await?;
    // The link proves the person reads the new mailbox: the claim is verified at once.
    let claimed: bool = sqlx::query_scalar("SELECT custodian_claim_email($1, $2, true)")
        .bind(&new_email)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
    if !claimed {
        return Err(AuthError::EmailTaken.into());
    }
    sqlx::query("UPDATE accounts SET email = $1, email_verified_at = $2")
        .bind(&new_email)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    mail::enqueue(
        &mut tx,
        Mail {
            account: owner_id,
            to: &old.email,
            subject: "Your email address was changed",
            body: format!(
                "The address of your Custodian account is now {new_email}. Mail about the account no longer comes here.\n\nIf this was not you, contact us and reset your password from the sign-in page."
            ),
        },
        now,
    )
    .await?;
    // Links mailed to the old address (a reset, say) must not outlive the change.
    tokens::revoke_outstanding(&mut tx).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "email_changed",
        "",
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Needs the current password, checked under the same counters as re-authentication; ends
/// every other session and every link mailed before.
pub async fn change_password(
    state: &AppState,
    user: &CurrentUser,
    current: &str,
    new_password: &str,
    confirm: &str,
    client: &ClientInfo,
) -> Result<(), AccountError> {
    let owner_id = user.owner_id();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let (email, display_name): (String, String) =
        sqlx::query_as("SELECT email, display_name FROM accounts")
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    // The rules first: a new password that would be refused costs no attempt.
    password::check_new(new_password, &[&email, &display_name]).map_err(AuthError::from)?;
    if new_password != confirm {
        return Err(AuthError::PasswordMismatch.into());
    }
    sudo::check_password(
        state,
        user,
        current,
        "wrong current password",
        AuthError::SudoPasswordWrong,
        client,
    )
    .await
    .map_err(|error| match error {
        AuthError::SudoPasswordWrong => AccountError::WrongCurrentPassword,
        AuthError::SudoThrottled(seconds) => AccountError::CurrentPasswordThrottled(seconds),
        other => other.into(),
    })?;
    let hash = password::hash(&state.hashing, new_password)
        .await
        .map_err(AuthError::from)?;
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    accounts::set_password(&mut tx, &hash, now).await?;
    let ended = accounts::end_sessions(&mut tx, Some(user.signed_in.account_session)).await?;
    tokens::revoke_outstanding(&mut tx).await?;
    accounts::notify_password_changed(&mut tx, &email, false, now).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "password_changed",
        &format!("{ended} other sessions ended"),
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates an invite for a verified account; returns the code, shown once.
pub async fn create_invite(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
) -> Result<(String, String), AccountError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
    if account_row(&mut tx).await?.email_verified_at.is_none() {
        return Err(AccountError::Unverified);
    }
    let code = Uuid::new_v4().simple().to_string();
    let expires_at = now + INVITE_LIFETIME;
    let created: bool = sqlx::query_scalar("SELECT custodian_create_invite($1, $2, $3)")
        .bind(&code)
        .bind(now)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
    if !created {
        return Err(AccountError::InviteLimit);
    }
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "invite_created",
        "",
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok((code, to_minute(expires_at)))
}

/// Sends the verification link again, a few times an hour at most.
pub async fn resend_verification(state: &AppState, user: &CurrentUser) -> Result<(), AccountError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
    let account = account_row(&mut tx).await?;
    if account.email_verified_at.is_none()
        && !accounts::send_verification(state, &mut tx, &account.email, now).await?
    {
        return Err(AccountError::TooManyMails);
    }
    tx.commit().await?;
    Ok(())
}
