//! Accounts: sign-up with an invite and address verification, and the pieces every change of
//! credentials shares (setting a password, ending sessions, telling the owner). Every change and
//! the events and mail it causes commit in one transaction.
//!
//! Nothing here tells a stranger whether an address has an account: sign-up checks the invite
//! first and answers a taken address as it answers a fresh one (the owner is mailed instead).

use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    api::Region,
    password::{self, PasswordError},
    tokens::{self, Carries, Purpose, TokenError},
};
use crate::{
    platform::{
        audit::{self, AuditError},
        client::ClientInfo,
        clock::to_minute,
        crypto::{self, CryptoError},
        db::{DbError, TenantTx},
        mail::{self, Mail, MailError},
        rate_limit::{self, RateLimitError},
        state::AppState,
    },
    privacy::{ledger, policies, service::PrivacyError},
    ui::form::FormError,
};

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
    #[error("The email address or password is not right.")]
    BadCredentials,
    #[error(transparent)]
    RateLimited(#[from] RateLimitError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the account store failed: {0}")]
    Database(#[from] DbError),
    #[error("the security log failed: {0}")]
    Audit(#[from] AuditError),
    #[error("the key store failed: {0}")]
    Crypto(#[from] CryptoError),
    #[error("the outbox failed: {0}")]
    Mail(#[from] MailError),
    #[error("the session store failed: {0}")]
    Session(#[from] tower_sessions::session::Error),
    #[error("the consent ledger failed: {0}")]
    Consent(#[from] PrivacyError),
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
    #[error("This link cannot remove sign-in methods. If someone else added one, use the “This wasn't me” link in the mail that told you about it.")]
    FactorRemovalNeedsNotMe,
}

impl From<sqlx::Error> for AuthError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error.into())
    }
}

impl From<AuthError> for FormError {
    fn from(error: AuthError) -> Self {
        let message = error.to_string();
        match error {
            AuthError::InvalidEmail | AuthError::EmailTaken => FormError::field("email", message),
            AuthError::InvalidDisplayName => FormError::field("display_name", message),
            AuthError::Password(PasswordError::Busy) => FormError::Busy,
            AuthError::Password(PasswordError::Hashing) => FormError::Page(message),
            AuthError::Password(_) => FormError::field("password", message),
            AuthError::PasswordMismatch => FormError::field("confirm", message),
            AuthError::Invite(_) => FormError::field("invite", message),
            AuthError::SudoPasswordMissing
            | AuthError::SudoPasswordWrong
            | AuthError::SudoThrottled(_)
            | AuthError::SudoLocked => FormError::field("sudo_password", message),
            AuthError::SudoCode(_) => FormError::field("sudo_code", message),
            AuthError::SessionEnded => FormError::SignedOut,
            AuthError::RateLimited(RateLimitError::Exceeded) => FormError::Page(message),
            AuthError::Token(TokenError::Database(_) | TokenError::Crypto(_))
            | AuthError::RateLimited(RateLimitError::Database(_))
            | AuthError::Database(_)
            | AuthError::Audit(_)
            | AuthError::Crypto(_)
            | AuthError::Mail(_)
            | AuthError::Session(_)
            | AuthError::Consent(_) => {
                tracing::error!(error = %message, "account operation failed");
                FormError::Failed
            }
            _ => FormError::Page(message),
        }
    }
}

/// Trims and lower-cases an address and checks its form.
pub fn normalize_email(raw: &str) -> Result<String, AuthError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && local.len() <= 64 && domain.contains('.')
        })
        && email.parse::<lettre::Address>().is_ok();
    if valid {
        Ok(email)
    } else {
        Err(AuthError::InvalidEmail)
    }
}

pub fn normalize_display_name(raw: &str) -> Result<String, AuthError> {
    let name = raw.trim();
    let length = name.chars().count();
    if (1..=100).contains(&length) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(AuthError::InvalidDisplayName)
    }
}

pub async fn account_for_email(state: &AppState, email: &str) -> Result<Option<Uuid>, AuthError> {
    Ok(sqlx::query_scalar("SELECT custodian_account_for_email($1)")
        .bind(email)
        .fetch_one(&state.pool)
        .await?)
}

fn invite_refusal(status: &str) -> AuthError {
    AuthError::Invite(match status {
        "used" => "This invite code has already been used.",
        "expired" => "This invite code has expired. Ask for a new one.",
        _ => "This invite code is not valid. Check it and try again.",
    })
}

pub struct SignUp {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub region: Region,
    pub invite: String,
}

/// Creates a tenant and its account, redeems the invite and queues the verification mail, all
/// or nothing, and returns the new owner id. When the address already has an account, the
/// invite is spent all the same, the owner is mailed, no account is made, and the answer is the
/// same (None): the caller must not tell the two apart.
pub async fn sign_up(
    state: &AppState,
    input: SignUp,
    client: &ClientInfo,
) -> Result<Option<Uuid>, AuthError> {
    let email = normalize_email(&input.email)?;
    let display_name = normalize_display_name(&input.display_name)?;
    password::check_new(&input.password, &[&email, &display_name])?;
    let invite = input.invite.trim();
    if invite.is_empty() {
        return Err(AuthError::Invite("Enter the invite code you were sent."));
    }
    let now = state.clock.now();
    // The invite first: without one, sign-up costs no hashing and reveals nothing.
    let status: String = sqlx::query_scalar("SELECT custodian_invite_status($1, $2)")
        .bind(invite)
        .bind(now)
        .fetch_one(&state.pool)
        .await?;
    if status != "ok" {
        return Err(invite_refusal(&status));
    }
    let password_hash = password::hash(&state.hashing, &input.password).await?;
    let owner_id = Uuid::new_v4();

    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    sqlx::query("INSERT INTO tenants (owner_id, region, created_at) VALUES ($1, $2, $3)")
        .bind(owner_id)
        .bind(input.region.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    crypto::create_data_key(&mut tx, &state.key_encryption_key, now).await?;
    sqlx::query(
        "INSERT INTO accounts (owner_id, email, display_name, password_hash, password_changed_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(owner_id)
    .bind(&email)
    .bind(&display_name)
    .bind(&password_hash)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let claimed: bool = sqlx::query_scalar("SELECT custodian_claim_email($1, $2, false)")
        .bind(&email)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
    if !claimed {
        drop(tx);
        sign_up_with_taken_address(state, invite, &email, client).await?;
        return Ok(None);
    }
    let inviter = redeem_invite(&mut tx, invite, &email, true, now).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "signed_up",
        "joined with an invite",
        client,
        now,
    )
    .await?;
    ledger::record_sign_up(&mut tx, client, now).await?;
    policies::acknowledge_current(&mut tx, now).await?;
    send_verification(state, &mut tx, &email, now).await?;
    tell_inviter(state, &mut tx, inviter, &email, now).await?;
    tx.commit().await?;
    tracing::info!(owner = %owner_id, "account created");
    Ok(Some(owner_id))
}

async fn redeem_invite(
    tx: &mut TenantTx,
    invite: &str,
    email: &str,
    for_tenant: bool,
    now: OffsetDateTime,
) -> Result<Option<Uuid>, AuthError> {
    let (status, inviter): (String, Option<Uuid>) =
        sqlx::query_as("SELECT status, inviter FROM custodian_redeem_invite($1, $2, $3, $4)")
            .bind(invite)
            .bind(email)
            .bind(now)
            .bind(for_tenant)
            .fetch_one(&mut **tx)
            .await?;
    if status == "ok" {
        Ok(inviter)
    } else {
        Err(invite_refusal(&status))
    }
}

/// Last in a sign-up's transaction: from here it acts for the inviter, who sees who joined.
async fn tell_inviter(
    state: &AppState,
    tx: &mut TenantTx,
    inviter: Option<Uuid>,
    email: &str,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    if let Some(inviter) = inviter {
        tx.switch_tenant(inviter).await?;
        audit::record_unattributed(
            tx,
            &state.key_encryption_key,
            "invite_used",
            &format!("by {email}"),
            now,
        )
        .await?;
    }
    Ok(())
}

/// A sign-up with an address that has an account: the invite is spent as for any sign-up, the
/// owner hears of it, and nothing else changes.
async fn sign_up_with_taken_address(
    state: &AppState,
    invite: &str,
    email: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let now = state.clock.now();
    let Some(holder) = account_for_email(state, email).await? else {
        // The address was released between the two looks: the person may simply try again.
        return Err(AuthError::Invite(
            "That did not work. Check the form and try again.",
        ));
    };
    let mut tx = TenantTx::begin(&state.pool, holder).await?;
    let inviter = redeem_invite(&mut tx, invite, email, false, now).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "sign_up_with_your_address",
        "no account was created",
        client,
        now,
    )
    .await?;
    if rate_limit::allow_mail(&mut tx, &state.key_encryption_key, "signup", email, now).await? {
        mail::enqueue(
            &mut tx,
            Mail {
                account: holder,
                to: email,
                subject: "Someone tried to sign up with your address",
                body: format!(
                    "At {} someone tried to create a Custodian account with this address, which already has one. No account was created and nothing of yours changed.\n\nIf it was you, sign in instead, or reset your password from the sign-in page if you forgot it.",
                    to_minute(now)
                ),
            },
            now,
        )
        .await?;
    }
    tell_inviter(state, &mut tx, inviter, email, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Queues the "verify your address" mail in the tenant's transaction, unless the address had
/// its share of such mail this hour.
pub async fn send_verification(
    state: &AppState,
    tx: &mut TenantTx,
    email: &str,
    now: OffsetDateTime,
) -> Result<bool, AuthError> {
    if !rate_limit::allow_mail(tx, &state.key_encryption_key, "verify", email, now).await? {
        return Ok(false);
    }
    let token = tokens::issue(
        tx,
        &state.key_encryption_key,
        Purpose::VerifyEmail,
        &Carries::Nothing,
        now,
    )
    .await?;
    let link = link(state, "/verify-email", &token);
    let owner_id = tx.owner_id();
    mail::enqueue(
        tx,
        Mail {
            account: owner_id,
            to: email,
            subject: "Verify your email address",
            body: format!(
                "Welcome to Custodian.\n\nOpen this link to verify your email address (it works once, for 24 hours):\n\n{link}\n\nIf you did not sign up, ignore this message."
            ),
        },
        now,
    )
    .await?;
    Ok(true)
}

/// An absolute link to `path` on this site with the token in its query.
pub fn link(state: &AppState, path: &str, token: &str) -> String {
    let mut url = state.public_url.clone();
    url.set_path(path);
    url.query_pairs_mut().clear().append_pair("token", token);
    url.to_string()
}

/// Marks the address verified. The token proves the person reads that mailbox.
pub async fn verify_email(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let now = state.clock.now();
    let (_, mut tx) = tokens::tenant_of(&state.pool, &state.key_encryption_key, token).await?;
    tokens::redeem(&mut tx, token, Purpose::VerifyEmail, now).await?;
    mark_verified(&mut tx, now).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "email_verified",
        "",
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The account's address is the person's: a link sent there was opened.
pub(super) async fn mark_verified(
    tx: &mut TenantTx,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET email_verified_at = coalesce(email_verified_at, $1)")
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query("SELECT custodian_email_verified()")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stores a new password hash and clears the failure count (a reset unlocks the account).
pub async fn set_password(
    tx: &mut TenantTx,
    password_hash: &str,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET password_hash = $1, password_changed_at = $2, failed_sign_ins = 0, \
         last_failed_sign_in_at = NULL",
    )
    .bind(password_hash)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends every session of the tenant except `keep`, and every sign-in waiting for its second
/// step; returns how many sessions ended.
pub async fn end_sessions(tx: &mut TenantTx, keep: Option<Uuid>) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM pending_sign_ins")
        .execute(&mut **tx)
        .await?;
    Ok(sqlx::query(
        "WITH gone AS (DELETE FROM account_sessions WHERE $1::uuid IS NULL OR id <> $1 RETURNING store_id) \
         DELETE FROM tower_sessions.session WHERE id IN (SELECT store_id FROM gone)",
    )
    .bind(keep)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

pub async fn notify_password_changed(
    tx: &mut TenantTx,
    email: &str,
    factors_removed: bool,
    now: OffsetDateTime,
) -> Result<(), MailError> {
    let owner_id = tx.owner_id();
    let factors = if factors_removed {
        " Every passkey and the authenticator app were removed as you asked; add them again on your Security page."
    } else {
        ""
    };
    mail::enqueue(
        tx,
        Mail {
            account: owner_id,
            to: email,
            subject: "Your password was changed",
            body: format!(
                "The password of your Custodian account was changed at {}. Every other session was signed out.{factors}\n\nIf this was not you, reset your password now from the sign-in page.",
                to_minute(now)
            ),
        },
        now,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "a b@example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
        assert!(normalize_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(normalize_display_name("  Ada  ").unwrap(), "Ada");
        assert!(normalize_display_name("   ").is_err());
        assert!(normalize_display_name(&"a".repeat(101)).is_err());
        assert!(normalize_display_name("a\u{7}b").is_err());
    }
}
