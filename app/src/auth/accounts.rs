//! Accounts: sign-up with an invite, sign-in with throttling, sign-out, address verification and
//! password reset. Every change and the events and mail it causes commit in one transaction.

use sha2::{Digest, Sha256};
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use tower_sessions::{Expiry, Session};
use uuid::Uuid;

use super::{
    api::Region,
    password::{self, PasswordError},
    session::{self, SignedIn},
    tokens::{self, Purpose, TokenError},
};
use crate::{
    platform::{
        audit::{self, AuditError},
        client::ClientInfo,
        crypto::{self, CryptoError},
        db::{DbError, TenantTx},
        mail::{self, Mail, MailError},
        rate_limit,
        state::AppState,
    },
    privacy::{consent, policies, service::PrivacyError},
    ui::form::FormError,
};

/// Consecutive failures after which each further attempt must wait (NIST SP 800-63B).
pub const THROTTLE_AFTER: i32 = 5;
/// Consecutive failures at which the account locks until a password reset.
pub const LOCK_AT: i32 = 100;
const MAX_DELAY: Duration = Duration::minutes(15);

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
    #[error("An account with this email address already exists. Sign in instead.")]
    EmailTaken,
    #[error("{0}")]
    Invite(&'static str),
    #[error("The email address or password is not right.")]
    BadCredentials,
    #[error("Too many failed sign-ins. Wait {0} seconds, then try again.")]
    Throttled(i64),
    #[error(
        "This account is locked after too many failed sign-ins. Reset your password to unlock it."
    )]
    Locked,
    #[error("Too many attempts from your network. Wait a minute, then try again.")]
    RateLimited,
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
    #[error("{0}")]
    SudoCode(String),
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
            AuthError::Password(PasswordError::Hashing) => FormError::Page(message),
            AuthError::Password(_) => FormError::field("password", message),
            AuthError::PasswordMismatch => FormError::field("confirm", message),
            AuthError::Invite(_) => FormError::field("invite", message),
            AuthError::SudoPasswordMissing | AuthError::SudoPasswordWrong => {
                FormError::field("sudo_password", message)
            }
            AuthError::SudoCode(_) => FormError::field("sudo_code", message),
            AuthError::Token(TokenError::Database(_))
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

/// Applies the per-network limit to sign-in, sign-up and reset requests.
pub async fn check_rate(state: &AppState, client: &ClientInfo) -> Result<(), AuthError> {
    let bucket = format!("auth:{}", client.ip);
    if rate_limit::allow(
        &state.pool,
        &bucket,
        state.auth_rate_limit,
        state.clock.now(),
    )
    .await?
    {
        Ok(())
    } else {
        Err(AuthError::RateLimited)
    }
}

async fn account_for_email(state: &AppState, email: &str) -> Result<Option<Uuid>, AuthError> {
    Ok(sqlx::query_scalar("SELECT custodian_account_for_email($1)")
        .bind(email)
        .fetch_one(&state.pool)
        .await?)
}

pub struct SignUp {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub region: Region,
    pub invite: String,
}

/// Creates a tenant and its account, redeems the invite and queues the verification mail, all
/// or nothing. Returns the new owner id.
pub async fn sign_up(
    state: &AppState,
    input: SignUp,
    client: &ClientInfo,
) -> Result<Uuid, AuthError> {
    let email = normalize_email(&input.email)?;
    let display_name = normalize_display_name(&input.display_name)?;
    password::check_new(&input.password, &[&email, &display_name])?;
    let invite = input.invite.trim();
    if invite.is_empty() {
        return Err(AuthError::Invite("Enter the invite code you were sent."));
    }
    let password_hash = password::hash(&input.password).await?;
    let now = state.clock.now();
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
    let claimed: bool = sqlx::query_scalar("SELECT custodian_claim_email($1)")
        .bind(&email)
        .fetch_one(&mut *tx)
        .await?;
    if !claimed {
        return Err(AuthError::EmailTaken);
    }
    let (redeemed, inviter): (String, Option<Uuid>) =
        sqlx::query_as("SELECT status, inviter FROM custodian_redeem_invite($1, $2, $3)")
            .bind(invite)
            .bind(&email)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
    match redeemed.as_str() {
        "ok" => {}
        "used" => return Err(AuthError::Invite("This invite code has already been used.")),
        "expired" => {
            return Err(AuthError::Invite(
                "This invite code has expired. Ask for a new one.",
            ))
        }
        _ => {
            return Err(AuthError::Invite(
                "This invite code is not valid. Check it and try again.",
            ))
        }
    }
    audit::record(&mut tx, "signed_up", "joined with an invite", client, now).await?;
    consent::record_sign_up(&mut tx, client, now).await?;
    policies::acknowledge_current(&mut tx, now).await?;
    send_verification(state, &mut tx, owner_id, &email, now).await?;
    if let Some(inviter) = inviter {
        // Last: from here the transaction acts for the inviter, who sees who joined.
        tx.switch_tenant(inviter).await?;
        audit::record_unattributed(&mut tx, "invite_used", &format!("by {email}"), now).await?;
    }
    tx.commit().await?;
    tracing::info!(owner = %owner_id, "account created");
    Ok(owner_id)
}

/// Queues the "verify your address" mail in the tenant's transaction.
pub async fn send_verification(
    state: &AppState,
    tx: &mut TenantTx,
    owner_id: Uuid,
    email: &str,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    let token = tokens::issue(tx, owner_id, Purpose::VerifyEmail, None, now).await?;
    let link = link(state, "/verify-email", &token);
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
    Ok(())
}

/// An absolute link to `path` on this site with the token in its query.
pub fn link(state: &AppState, path: &str, token: &str) -> String {
    let mut url = state.public_url.clone();
    url.set_path(path);
    url.query_pairs_mut().clear().append_pair("token", token);
    url.to_string()
}

/// How long a throttled account must wait after its last failure.
pub fn throttle_delay(failures: i32) -> Duration {
    if failures < THROTTLE_AFTER {
        return Duration::ZERO;
    }
    let exponent = (failures - THROTTLE_AFTER).clamp(0, 20) as u32;
    Duration::seconds(1_i64 << exponent).min(MAX_DELAY)
}

#[derive(sqlx::FromRow)]
struct Credentials {
    password_hash: String,
    failed_sign_ins: i32,
    last_failed_sign_in_at: Option<OffsetDateTime>,
    has_second_factor: bool,
}

/// Where a right password leads.
#[derive(Debug)]
pub enum SignInOutcome {
    SignedIn(SignedIn),
    /// The account has a second factor; the session waits for it (`/signin/verify`).
    SecondFactorNeeded,
}

/// Checks the password. When right, signs the session in with a fresh id, or, when the account
/// has a second factor, leaves the session waiting for it, not signed in.
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    email: &str,
    password: &str,
    remember: bool,
    client: &ClientInfo,
) -> Result<SignInOutcome, AuthError> {
    let email = normalize_email(email)?;
    let Some(owner_id) = account_for_email(state, &email).await? else {
        // Same work, same answer as a wrong password.
        password::verify(password, None).await?;
        return Err(AuthError::BadCredentials);
    };
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let credentials: Credentials = sqlx::query_as(
        "SELECT password_hash, failed_sign_ins, last_failed_sign_in_at, \
         EXISTS (SELECT 1 FROM totp_factors WHERE enabled_at IS NOT NULL) \
         OR EXISTS (SELECT 1 FROM passkeys) AS has_second_factor \
         FROM accounts",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;

    let now = state.clock.now();
    let refuse = |detail: &'static str, error: AuthError| async move {
        let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
        audit::record(&mut tx, "sign_in_failed", detail, client, now).await?;
        tx.commit().await?;
        Err::<SignInOutcome, AuthError>(error)
    };
    if credentials.failed_sign_ins >= LOCK_AT {
        return refuse("account locked", AuthError::Locked).await;
    }
    if let Some(last) = credentials.last_failed_sign_in_at {
        let wait_until = last + throttle_delay(credentials.failed_sign_ins);
        if now < wait_until {
            let seconds = (wait_until - now).whole_seconds().max(1);
            return refuse("throttled", AuthError::Throttled(seconds)).await;
        }
    }
    if !password::verify(password, Some(credentials.password_hash)).await? {
        let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
        sqlx::query(
            "UPDATE accounts SET failed_sign_ins = failed_sign_ins + 1, last_failed_sign_in_at = $1",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit::record(&mut tx, "sign_in_failed", "wrong password", client, now).await?;
        tx.commit().await?;
        return Err(AuthError::BadCredentials);
    }
    if credentials.has_second_factor {
        // "Remember me" never skips this step; it only lengthens the session that follows.
        let pending = session::PendingSignIn {
            owner_id,
            remember,
            password_accepted_at: now.unix_timestamp(),
        };
        // A fresh id here too: the half-signed-in session must not be one planted earlier. It
        // lasts only as long as the step may take.
        session.cycle_id().await?;
        session.set_expiry(Some(Expiry::OnInactivity(session::SECOND_STEP_WINDOW)));
        session::write_pending(session, &pending).await?;
        return Ok(SignInOutcome::SecondFactorNeeded);
    }
    start_session(state, session, owner_id, remember, "password", client)
        .await
        .map(SignInOutcome::SignedIn)
}

/// Signs the session in under a fresh id and lists it, once every factor has passed. `method`
/// says how, for the security log.
pub async fn start_session(
    state: &AppState,
    session: &Session,
    owner_id: Uuid,
    remember: bool,
    method: &str,
    client: &ClientInfo,
) -> Result<SignedIn, AuthError> {
    let now = state.clock.now();
    // A new id at every sign-in, so that a planted session id is worth nothing.
    let signed_in = SignedIn::new(owner_id, Uuid::new_v4(), remember, now, state.sudo_window);
    session::clear_pending(session).await?;
    session.set_expiry(Some(if remember {
        Expiry::AtDateTime(signed_in.expires_at())
    } else {
        Expiry::OnSessionEnd
    }));
    let store_id = session::rotate(session, &signed_in).await?;

    let outcome = record_sign_in(state, &signed_in, &store_id, method, client).await;
    if outcome.is_err() {
        let _ = session.flush().await;
    }
    outcome.map(|()| signed_in)
}

async fn record_sign_in(
    state: &AppState,
    signed_in: &SignedIn,
    store_id: &str,
    method: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let now = state.clock.now();
    let owner_id = signed_in.owner_id;
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let email: String = sqlx::query_scalar("SELECT email FROM accounts")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query("UPDATE accounts SET failed_sign_ins = 0, last_failed_sign_in_at = NULL")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO account_sessions \
         (owner_id, id, store_id, created_at, last_seen_at, expires_at, remember, user_agent, ip_prefix) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8)",
    )
    .bind(owner_id)
    .bind(signed_in.account_session)
    .bind(store_id)
    .bind(now)
    .bind(signed_in.expires_at())
    .bind(signed_in.remember)
    .bind(&client.user_agent)
    .bind(client.ip_prefix())
    .execute(&mut *tx)
    .await?;
    let device = client.device();
    let fingerprint = Sha256::digest(format!("{device}\n{}", client.ip_prefix())).to_vec();
    let known_before: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM known_devices)")
        .fetch_one(&mut *tx)
        .await?;
    let new_device = sqlx::query(
        "INSERT INTO known_devices (owner_id, fingerprint, first_seen_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(owner_id)
    .bind(&fingerprint)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if new_device && known_before {
        mail::enqueue(
            &mut tx,
            Mail {
                account: owner_id,
                to: &email,
                subject: "New sign-in to your account",
                body: format!(
                    "Your Custodian account was signed in from a device it had not seen before:\n\n  {device}, network {}\n  {}\n\nIf this was you, there is nothing to do. If not, reset your password and end the session on your Sessions page.",
                    client.ip_prefix(),
                    crate::platform::clock::to_minute(now),
                ),
            },
            now,
        )
        .await?;
    }
    let detail = if signed_in.remember {
        format!("{method}, remember me")
    } else {
        method.to_owned()
    };
    audit::record(&mut tx, "sign_in", &detail, client, now).await?;
    consent::link_browser(&mut tx, client, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends the session on the server and in the browser.
pub async fn sign_out(
    state: &AppState,
    session: &Session,
    signed_in: &SignedIn,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, signed_in.owner_id).await?;
    session::delete_listed(&mut tx, signed_in.account_session).await?;
    audit::record(&mut tx, "sign_out", "", client, now).await?;
    tx.commit().await?;
    Ok(session.flush().await?)
}

/// Checks the signed-in person's password again and opens sudo mode (SUDO_MINUTES), under a
/// fresh session id (a privilege change).
pub async fn grant_sudo(
    state: &AppState,
    session: &Session,
    signed_in: &SignedIn,
    password_typed: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    if password_typed.is_empty() {
        return Err(AuthError::SudoPasswordMissing);
    }
    let mut tx = TenantTx::begin(&state.pool, signed_in.owner_id).await?;
    let phc: String = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    let right = password::verify(password_typed, Some(phc)).await?;

    if !right {
        let mut tx = TenantTx::begin(&state.pool, signed_in.owner_id).await?;
        audit::record(
            &mut tx,
            "sudo_failed",
            "wrong password",
            client,
            state.clock.now(),
        )
        .await?;
        tx.commit().await?;
        return Err(AuthError::SudoPasswordWrong);
    }
    open_sudo(state, session, signed_in, "password", client).await
}

/// Opens sudo mode (SUDO_MINUTES) under a fresh session id, once the person proved again who
/// they are (`method`: password, passkey or authenticator app).
pub async fn open_sudo(
    state: &AppState,
    session: &Session,
    signed_in: &SignedIn,
    method: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let now = state.clock.now();
    let mut signed_in = signed_in.clone();
    signed_in.sudo_until = Some((now + state.sudo_window).unix_timestamp());
    let store_id = session::rotate(session, &signed_in).await?;
    let mut tx = TenantTx::begin(&state.pool, signed_in.owner_id).await?;
    sqlx::query("UPDATE account_sessions SET store_id = $2 WHERE id = $1")
        .bind(signed_in.account_session)
        .bind(store_id)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, "sudo_granted", method, client, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Marks the address verified. The token proves the person reads that mailbox.
pub async fn verify_email(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let now = state.clock.now();
    let (_, mut tx) = tokens::tenant_of(&state.pool, token).await?;
    tokens::redeem(&mut tx, token, Purpose::VerifyEmail, now).await?;
    sqlx::query("UPDATE accounts SET email_verified_at = coalesce(email_verified_at, $1)")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, "email_verified", "", client, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Mails a reset link when the address has an account; says nothing either way.
pub async fn request_password_reset(
    state: &AppState,
    email: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let email = normalize_email(email)?;
    let Some(owner_id) = account_for_email(state, &email).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let token = tokens::issue(&mut tx, owner_id, Purpose::ResetPassword, None, now).await?;
    let link = link(state, "/reset-password", &token);
    mail::enqueue(
        &mut tx,
        Mail {
            account: owner_id,
            to: &email,
            subject: "Reset your password",
            body: format!(
                "Someone (hopefully you) asked to reset the password of your Custodian account.\n\nOpen this link to choose a new password (it works once, for 30 minutes):\n\n{link}\n\nIf you did not ask, ignore this message; your password stays as it is.\nRequested from {} ({}).",
                client.device(),
                client.ip_prefix()
            ),
        },
        now,
    )
    .await?;
    audit::record(&mut tx, "password_reset_requested", "", client, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password from a reset link, unlocks the account and ends every session.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: &str,
    confirm: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let owner_id = tokens::owner_of(token)?;
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let (email, display_name): (String, String) =
        sqlx::query_as("SELECT email, display_name FROM accounts")
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(TokenError::Invalid)?;
    password::check_new(new_password, &[&email, &display_name])?;
    if new_password != confirm {
        return Err(AuthError::PasswordMismatch);
    }
    let now = state.clock.now();
    tokens::redeem(&mut tx, token, Purpose::ResetPassword, now).await?;
    let password_hash = password::hash(new_password).await?;
    set_password(&mut tx, &password_hash, now).await?;
    end_sessions(&mut tx, None).await?;
    notify_password_changed(&mut tx, owner_id, &email, now).await?;
    audit::record(&mut tx, "password_reset", "all sessions ended", client, now).await?;
    tx.commit().await?;
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

/// Ends every session of the tenant except `keep`; returns how many ended.
pub async fn end_sessions(tx: &mut TenantTx, keep: Option<Uuid>) -> Result<u64, sqlx::Error> {
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
    owner_id: Uuid,
    email: &str,
    now: OffsetDateTime,
) -> Result<(), MailError> {
    mail::enqueue(
        tx,
        Mail {
            account: owner_id,
            to: email,
            subject: "Your password was changed",
            body: format!(
                "The password of your Custodian account was changed at {}. Every other session was signed out.\n\nIf this was not you, reset your password now from the sign-in page.",
                crate::platform::clock::to_minute(now)
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

    #[test]
    fn the_delay_starts_at_five_failures_and_doubles_to_a_cap() {
        assert_eq!(throttle_delay(4), Duration::ZERO);
        assert_eq!(throttle_delay(5), Duration::seconds(1));
        assert_eq!(throttle_delay(8), Duration::seconds(8));
        assert_eq!(throttle_delay(99), MAX_DELAY);
    }
}
