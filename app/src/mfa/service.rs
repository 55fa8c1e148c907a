//! Second factors (promise P3): enrolment and removal, the second step of sign-in, and
//! re-authentication. Each change, its security-log event and its mail commit together.

use sqlx::types::Json;
use thiserror::Error;
use time::OffsetDateTime;
use tower_sessions::Session;
use uuid::Uuid;
use webauthn_rs::prelude::{Passkey, PublicKeyCredential, RegisterPublicKeyCredential};

use super::{
    api::{Factors, PasskeyPurpose, PasskeyRow, SecondStep, TotpSetup, TotpState},
    backup_codes,
    passkeys::{self, Ceremony},
    totp,
};
use crate::{
    auth::{
        accounts::{self, throttle_delay, AuthError},
        session::{self, SignedIn},
    },
    platform::{
        audit::{self, AuditError},
        client::ClientInfo,
        clock::to_minute,
        crypto::{self, CryptoError, Purpose},
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
    #[error("Your sign-in waited more than 5 minutes for the second step. Sign in again.")]
    SecondStepExpired,
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

/// The factors of an account, for the Security page.
pub async fn factors(state: &AppState, owner_id: Uuid) -> Result<Factors, MfaError> {
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let totp_row: Option<(Vec<u8>, Option<OffsetDateTime>)> =
        sqlx::query_as("SELECT sealed_secret, enabled_at FROM totp_factors")
            .fetch_optional(&mut *tx)
            .await?;
    let totp = match totp_row {
        None => TotpState::Off,
        Some((_, Some(_))) => TotpState::On,
        Some((sealed, None)) => {
            let secret = crypto::open(
                &mut tx,
                &state.key_encryption_key,
                Purpose::TotpSecret,
                &sealed,
            )
            .await?;
            let email: String = sqlx::query_scalar("SELECT email FROM accounts")
                .fetch_one(&mut *tx)
                .await?;
            match totp::enrolment(&secret, &email) {
                Some(e) => TotpState::Pending(TotpSetup {
                    secret_text: e.secret_text,
                    uri: e.uri,
                    qr_svg: e.qr_svg,
                }),
                None => TotpState::Off,
            }
        }
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

async fn factor_count(tx: &mut TenantTx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM totp_factors WHERE enabled_at IS NOT NULL) \
         + (SELECT count(*) FROM passkeys)",
    )
    .fetch_one(&mut **tx)
    .await
}

async fn account_email(tx: &mut TenantTx) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT email FROM accounts")
        .fetch_one(&mut **tx)
        .await
}

/// Starts (or restarts) the authenticator-app setup with a fresh secret.
pub async fn start_totp(
    state: &AppState,
    owner_id: Uuid,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let secret = totp::new_secret();
    let sealed = crypto::seal(
        &mut tx,
        &state.key_encryption_key,
        Purpose::TotpSecret,
        &secret,
        now,
    )
    .await?;
    // An app already on stays on until it is turned off; this only replaces a pending setup.
    let started = sqlx::query(
        "INSERT INTO totp_factors (owner_id, sealed_secret, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (owner_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, \
         created_at = excluded.created_at, last_used_step = 0 \
         WHERE totp_factors.enabled_at IS NULL",
    )
    .bind(owner_id)
    .bind(sealed)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if started == 1 {
        audit::record(&mut tx, "totp_setup_started", "", client, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Refuses early while second-factor failures are throttled.
async fn check_throttle(tx: &mut TenantTx, now: OffsetDateTime) -> Result<(), MfaError> {
    let (failures, last): (i32, Option<OffsetDateTime>) =
        sqlx::query_as("SELECT failed_second_factors, last_failed_second_factor_at FROM accounts")
            .fetch_one(&mut **tx)
            .await?;
    if let Some(last) = last {
        let wait_until = last + throttle_delay(failures);
        if now < wait_until {
            return Err(MfaError::Throttled(
                (wait_until - now).whole_seconds().max(1),
            ));
        }
    }
    Ok(())
}

/// Counts a wrong code and logs it, in a transaction of its own so it sticks.
async fn record_failure(
    state: &AppState,
    owner_id: Uuid,
    kind: &str,
    detail: &str,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    sqlx::query(
        "UPDATE accounts SET failed_second_factors = failed_second_factors + 1, \
         last_failed_second_factor_at = $1",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(&mut tx, kind, detail, client, now).await?;
    tx.commit().await?;
    Ok(())
}

async fn clear_failures(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET failed_second_factors = 0, last_failed_second_factor_at = NULL",
    )
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Checks a code against the authenticator app (enabled, or pending when `enrolling`) and marks
/// its time step used. Ok(false) when the code is wrong or replayed.
async fn accept_totp(
    state: &AppState,
    tx: &mut TenantTx,
    code: &str,
    enrolling: bool,
    now: OffsetDateTime,
) -> Result<bool, MfaError> {
    // FOR UPDATE: two requests with the same code cannot both see the step unused.
    let row: Option<(Vec<u8>, i64)> = sqlx::query_as(if enrolling {
        "SELECT sealed_secret, last_used_step FROM totp_factors WHERE enabled_at IS NULL FOR UPDATE"
    } else {
        "SELECT sealed_secret, last_used_step FROM totp_factors WHERE enabled_at IS NOT NULL FOR UPDATE"
    })
    .fetch_optional(&mut **tx)
    .await?;
    let Some((sealed, last_used_step)) = row else {
        return if enrolling {
            Err(MfaError::NoTotpSetup)
        } else {
            Ok(false)
        };
    };
    let secret = crypto::open(tx, &state.key_encryption_key, Purpose::TotpSecret, &sealed).await?;
    let Some(step) = totp::accepted_step(&secret, code, now.unix_timestamp(), last_used_step)
    else {
        return Ok(false);
    };
    sqlx::query("UPDATE totp_factors SET last_used_step = $1")
        .bind(step)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

/// Creates a set of backup codes when the account has none; returns it to be shown once.
async fn first_backup_codes(
    state: &AppState,
    tx: &mut TenantTx,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<Option<Vec<String>>, MfaError> {
    let has_set: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM backup_codes)")
        .fetch_one(&mut **tx)
        .await?;
    if has_set {
        return Ok(None);
    }
    Ok(Some(replace_backup_codes(state, tx, client, now).await?))
}

async fn replace_backup_codes(
    state: &AppState,
    tx: &mut TenantTx,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<Vec<String>, MfaError> {
    sqlx::query("DELETE FROM backup_codes")
        .execute(&mut **tx)
        .await?;
    let codes = backup_codes::new_set();
    for code in &codes {
        let normalized = backup_codes::normalize(code).unwrap_or_default();
        let digest = crypto::keyed_digest(
            tx,
            &state.key_encryption_key,
            Purpose::BackupCode,
            normalized.as_bytes(),
            now,
        )
        .await?;
        sqlx::query(
            "INSERT INTO backup_codes (owner_id, code_digest, created_at) VALUES ($1, $2, $3)",
        )
        .bind(tx.owner_id())
        .bind(digest)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    audit::record(tx, "backup_codes_created", "10 codes", client, now).await?;
    Ok(codes)
}

/// Turns the authenticator app on with its first correct code.
pub async fn confirm_totp(
    state: &AppState,
    owner_id: Uuid,
    code: &str,
    client: &ClientInfo,
) -> Result<Option<Vec<String>>, MfaError> {
    let now = state.clock.now();
    let mut tx = check_totp(state, owner_id, code, true, client).await?;
    sqlx::query("UPDATE totp_factors SET enabled_at = $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, "totp_enabled", "", client, now).await?;
    let codes = first_backup_codes(state, &mut tx, client, now).await?;
    tx.commit().await?;
    Ok(codes)
}

/// After a factor was removed: when none is left, the backup codes go too and the person is
/// told by mail. Refused unless `understood` when this removes the last one.
async fn after_removal(
    tx: &mut TenantTx,
    understood: bool,
    what: &str,
    now: OffsetDateTime,
) -> Result<(), MfaError> {
    if factor_count(tx).await? > 0 {
        return Ok(());
    }
    if !understood {
        return Err(MfaError::LastFactorNotConfirmed);
    }
    sqlx::query("DELETE FROM backup_codes")
        .execute(&mut **tx)
        .await?;
    let email = account_email(tx).await?;
    let owner_id = tx.owner_id();
    mail::enqueue(
        tx,
        Mail {
            account: owner_id,
            to: &email,
            subject: "Two-step sign-in is off",
            body: format!(
                "The last second factor of your Custodian account ({what}) was removed at {}. Your account is now protected by its password alone, and its backup codes no longer work.\n\nIf this was not you, reset your password now and add a passkey or an authenticator app again.",
                to_minute(now)
            ),
        },
        now,
    )
    .await?;
    Ok(())
}

pub async fn turn_off_totp(
    state: &AppState,
    owner_id: Uuid,
    understood: bool,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let was_on: bool =
        sqlx::query_scalar("DELETE FROM totp_factors RETURNING enabled_at IS NOT NULL")
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(false);
    // A setup never confirmed was no factor: dropping it changes nothing else.
    if was_on {
        after_removal(&mut tx, understood, "the authenticator app", now).await?;
        audit::record(&mut tx, "totp_disabled", "", client, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn regenerate_backup_codes(
    state: &AppState,
    owner_id: Uuid,
    client: &ClientInfo,
) -> Result<Vec<String>, MfaError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    if factor_count(&mut tx).await? == 0 {
        return Err(MfaError::NoSecondFactor);
    }
    let codes = replace_backup_codes(state, &mut tx, client, now).await?;
    tx.commit().await?;
    Ok(codes)
}

fn normalize_passkey_name(raw: &str) -> Result<String, MfaError> {
    let name = raw.trim();
    if (1..=60).contains(&name.chars().count()) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(MfaError::PasskeyName)
    }
}

async fn stored_passkeys(tx: &mut TenantTx) -> Result<Vec<(Uuid, Passkey)>, sqlx::Error> {
    let rows: Vec<(Uuid, Json<Passkey>)> =
        sqlx::query_as("SELECT id, credential FROM passkeys ORDER BY created_at")
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows.into_iter().map(|(id, key)| (id, key.0)).collect())
}

pub async fn start_passkey_registration(
    state: &AppState,
    session: &Session,
    owner_id: Uuid,
    name: &str,
    this_device: bool,
) -> Result<String, MfaError> {
    let name = normalize_passkey_name(name)?;
    let webauthn = passkeys::relying_party(&state.public_url)?;
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let (email, display_name): (String, String) =
        sqlx::query_as("SELECT email, display_name FROM accounts")
            .fetch_one(&mut *tx)
            .await?;
    let existing = stored_passkeys(&mut tx).await?;
    tx.commit().await?;
    let exclude = existing
        .iter()
        .map(|(_, key)| key.cred_id().clone())
        .collect::<Vec<_>>();
    // The user handle is the owner id: a discoverable passkey names its tenant when it signs in.
    let (mut options, registration) = webauthn
        .start_passkey_registration(owner_id, &email, &display_name, Some(exclude))
        .map_err(|e| passkeys::refusal(&e))?;
    passkeys::ask_for_discoverable(&mut options, this_device);
    passkeys::save(
        session,
        Ceremony::Register {
            owner_id,
            name,
            state: registration,
        },
        state.clock.now(),
    )
    .await?;
    Ok(serde_json::to_string(&options).unwrap_or_default())
}

fn parse_answer<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, MfaError> {
    serde_json::from_str(json).map_err(|error| {
        tracing::info!(%error, "a malformed passkey answer");
        MfaError::PasskeyPrompt("The browser's passkey answer was malformed. Try again.")
    })
}

pub async fn finish_passkey_registration(
    state: &AppState,
    session: &Session,
    owner_id: Uuid,
    credential: &str,
    client: &ClientInfo,
) -> Result<Option<Vec<String>>, MfaError> {
    let now = state.clock.now();
    let Ceremony::Register {
        owner_id: started_by,
        name,
        state: registration,
    } = passkeys::take(session, now).await?
    else {
        return Err(passkeys::prompt_ended());
    };
    if started_by != owner_id {
        return Err(passkeys::prompt_ended());
    }
    let answer: RegisterPublicKeyCredential = parse_answer(credential)?;
    let webauthn = passkeys::relying_party(&state.public_url)?;
    let passkey = webauthn
        .finish_passkey_registration(&answer, &registration)
        .map_err(|e| passkeys::refusal(&e))?;
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let inserted = sqlx::query(
        "INSERT INTO passkeys (owner_id, id, credential_id, name, credential, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner_id, credential_id) DO NOTHING",
    )
    .bind(owner_id)
    .bind(Uuid::new_v4())
    .bind(passkey.cred_id().to_vec())
    .bind(&name)
    .bind(Json(&passkey))
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(MfaError::PasskeyPrompt(
            "This passkey is already registered to your account.",
        ));
    }
    audit::record(&mut tx, "passkey_added", &name, client, now).await?;
    let codes = first_backup_codes(state, &mut tx, client, now).await?;
    tx.commit().await?;
    Ok(codes)
}

fn parse_id(id: &str) -> Result<Uuid, MfaError> {
    Uuid::parse_str(id).map_err(|_| MfaError::NoSuchPasskey)
}

pub async fn rename_passkey(
    state: &AppState,
    owner_id: Uuid,
    id: &str,
    name: &str,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let id = parse_id(id)?;
    let name = normalize_passkey_name(name)?;
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let renamed = sqlx::query("UPDATE passkeys SET name = $2 WHERE id = $1")
        .bind(id)
        .bind(&name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if renamed == 0 {
        return Err(MfaError::NoSuchPasskey);
    }
    audit::record(&mut tx, "passkey_renamed", &name, client, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove_passkey(
    state: &AppState,
    owner_id: Uuid,
    id: &str,
    understood: bool,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let id = parse_id(id)?;
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let name: String = sqlx::query_scalar("DELETE FROM passkeys WHERE id = $1 RETURNING name")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(MfaError::NoSuchPasskey)?;
    after_removal(&mut tx, understood, &format!("the passkey “{name}”"), now).await?;
    audit::record(&mut tx, "passkey_removed", &name, client, now).await?;
    tx.commit().await?;
    Ok(())
}

/// The sign-in waiting for its second step, if it has not run out.
async fn pending_sign_in(
    state: &AppState,
    session: &Session,
) -> Result<session::PendingSignIn, MfaError> {
    let pending = session::read_pending(session)
        .await
        .ok_or(MfaError::SecondStepExpired)?;
    if !pending.is_current(state.clock.now()) {
        session::clear_pending(session).await?;
        return Err(MfaError::SecondStepExpired);
    }
    Ok(pending)
}

/// The factors an account can use right now.
async fn usable_factors(state: &AppState, owner_id: Uuid) -> Result<SecondStep, MfaError> {
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

pub async fn second_step(state: &AppState, session: &Session) -> Result<SecondStep, MfaError> {
    let pending = pending_sign_in(state, session).await?;
    usable_factors(state, pending.owner_id).await
}

/// How a signed-in person can re-authenticate besides the password (backup codes are for
/// signing in only).
pub async fn sudo_options(state: &AppState, owner_id: Uuid) -> Result<SecondStep, MfaError> {
    Ok(SecondStep {
        backup_code: false,
        ..usable_factors(state, owner_id).await?
    })
}

/// Options for the browser's passkey prompt, with the ceremony saved in the session.
pub async fn passkey_challenge(
    state: &AppState,
    session: &Session,
    purpose: PasskeyPurpose,
) -> Result<String, MfaError> {
    let webauthn = passkeys::relying_party(&state.public_url)?;
    let now = state.clock.now();
    let (options, ceremony) = match purpose {
        PasskeyPurpose::SignIn => {
            let (mut options, state) = webauthn
                .start_discoverable_authentication()
                .map_err(|e| passkeys::refusal(&e))?;
            // The page chooses between autofill and a button; the options say neither.
            options.mediation = None;
            (serde_json::to_string(&options), Ceremony::SignIn { state })
        }
        PasskeyPurpose::SecondFactor | PasskeyPurpose::Sudo => {
            let owner_id = match purpose {
                PasskeyPurpose::SecondFactor => pending_sign_in(state, session).await?.owner_id,
                _ => session::read(session)
                    .await
                    .map(|s| s.owner_id)
                    .ok_or(MfaError::SignedOut)?,
            };
            let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
            let keys: Vec<Passkey> = stored_passkeys(&mut tx)
                .await?
                .into_iter()
                .map(|(_, key)| key)
                .collect();
            tx.commit().await?;
            if keys.is_empty() {
                return Err(MfaError::PasskeyPrompt("Your account has no passkey."));
            }
            let (options, state) = webauthn
                .start_passkey_authentication(&keys)
                .map_err(|e| passkeys::refusal(&e))?;
            (
                serde_json::to_string(&options),
                Ceremony::Verify {
                    owner_id,
                    purpose,
                    state,
                },
            )
        }
    };
    passkeys::save(session, ceremony, now).await?;
    Ok(options.unwrap_or_default())
}

/// Verifies a passkey answer against the tenant's stored passkey and stores its new counter
/// and backup state. Returns the passkey's name.
async fn verify_passkey(
    state: &AppState,
    owner_id: Uuid,
    answer: &PublicKeyCredential,
    verify: impl FnOnce(
        &webauthn_rs::Webauthn,
        &Passkey,
    ) -> Result<
        webauthn_rs::prelude::AuthenticationResult,
        webauthn_rs::prelude::WebauthnError,
    >,
    client: &ClientInfo,
) -> Result<String, MfaError> {
    let webauthn = passkeys::relying_party(&state.public_url)?;
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let row: Option<(Uuid, String, Json<Passkey>)> = sqlx::query_as(
        "SELECT id, name, credential FROM passkeys WHERE credential_id = $1 FOR UPDATE",
    )
    .bind(answer.get_credential_id())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, name, Json(mut passkey))) = row else {
        drop(tx);
        record_failure(state, owner_id, "passkey_failed", "unknown passkey", client).await?;
        return Err(MfaError::PasskeyPrompt(
            "This passkey is not registered to an account here. Use another one or your password.",
        ));
    };
    let result = match verify(&webauthn, &passkey) {
        Ok(result) => result,
        Err(error) => {
            drop(tx);
            record_failure(state, owner_id, "passkey_failed", &name, client).await?;
            return Err(passkeys::refusal(&error));
        }
    };
    passkey.update_credential(&result);
    sqlx::query("UPDATE passkeys SET credential = $2, last_used_at = $3 WHERE id = $1")
        .bind(id)
        .bind(Json(&passkey))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    clear_failures(&mut tx).await?;
    tx.commit().await?;
    Ok(name)
}

/// Verifies an answer to a prompt that asked `owner_id` for one of their passkeys, for
/// `purpose`.
async fn verify_for(
    state: &AppState,
    owner_id: Uuid,
    ceremony: Ceremony,
    purpose: PasskeyPurpose,
    answer: &PublicKeyCredential,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let Ceremony::Verify {
        owner_id: asked,
        purpose: asked_for,
        state: authentication,
    } = ceremony
    else {
        return Err(passkeys::prompt_ended());
    };
    if asked != owner_id || asked_for != purpose {
        return Err(passkeys::prompt_ended());
    }
    verify_passkey(
        state,
        owner_id,
        answer,
        |webauthn, _| webauthn.finish_passkey_authentication(answer, &authentication),
        client,
    )
    .await
    .map(|_| ())
}

/// Signs in with a passkey: alone (a discoverable credential names its account) or as the
/// second step after a password.
pub async fn passkey_sign_in(
    state: &AppState,
    session: &Session,
    purpose: PasskeyPurpose,
    credential: &str,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let now = state.clock.now();
    let ceremony = passkeys::take(session, now).await?;
    let answer: PublicKeyCredential = parse_answer(credential)?;
    let (owner_id, remember, method) = match (purpose, ceremony) {
        (
            PasskeyPurpose::SignIn,
            Ceremony::SignIn {
                state: discoverable,
            },
        ) => {
            let webauthn = passkeys::relying_party(&state.public_url)?;
            let (owner_id, _) = webauthn
                .identify_discoverable_authentication(&answer)
                .map_err(|e| passkeys::refusal(&e))?;
            let known: bool = {
                let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
                let known = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts)")
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                known
            };
            if !known {
                return Err(MfaError::PasskeyPrompt(
                    "This passkey is not registered to an account here. Use another one or your password.",
                ));
            }
            verify_passkey(
                state,
                owner_id,
                &answer,
                |webauthn, passkey| {
                    webauthn.finish_discoverable_authentication_v2(&answer, discoverable, passkey)
                },
                client,
            )
            .await?;
            (owner_id, false, "passkey")
        }
        (PasskeyPurpose::SecondFactor, ceremony) => {
            let pending = pending_sign_in(state, session).await?;
            verify_for(state, pending.owner_id, ceremony, purpose, &answer, client).await?;
            (pending.owner_id, pending.remember, "password + passkey")
        }
        _ => return Err(passkeys::prompt_ended()),
    };
    accounts::start_session(state, session, owner_id, remember, method, client).await?;
    Ok(())
}

pub async fn passkey_sudo(
    state: &AppState,
    session: &Session,
    signed_in: &SignedIn,
    credential: &str,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let ceremony = passkeys::take(session, state.clock.now()).await?;
    let answer: PublicKeyCredential = parse_answer(credential)?;
    verify_for(
        state,
        signed_in.owner_id,
        ceremony,
        PasskeyPurpose::Sudo,
        &answer,
        client,
    )
    .await?;
    accounts::open_sudo(state, session, signed_in, "passkey", client).await?;
    Ok(())
}

/// Checks a code from the authenticator app (the pending one when `enrolling`) under the
/// throttle, recording a failure when wrong. On success the code's step is spent and the
/// failures cleared in the returned transaction, which the caller finishes and commits.
async fn check_totp(
    state: &AppState,
    owner_id: Uuid,
    typed: &str,
    enrolling: bool,
    client: &ClientInfo,
) -> Result<TenantTx, MfaError> {
    let code = totp::normalize_code(typed).ok_or(MfaError::CodeMalformed)?;
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    check_throttle(&mut tx, now).await?;
    if !accept_totp(state, &mut tx, &code, enrolling, now).await? {
        drop(tx);
        let detail = if enrolling {
            "authenticator setup code"
        } else {
            "authenticator code"
        };
        record_failure(state, owner_id, "second_factor_failed", detail, client).await?;
        return Err(MfaError::CodeWrong);
    }
    clear_failures(&mut tx).await?;
    Ok(tx)
}

pub async fn totp_sign_in(
    state: &AppState,
    session: &Session,
    code: &str,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let pending = pending_sign_in(state, session).await?;
    check_totp(state, pending.owner_id, code, false, client)
        .await?
        .commit()
        .await?;
    accounts::start_session(
        state,
        session,
        pending.owner_id,
        pending.remember,
        "password + authenticator app",
        client,
    )
    .await?;
    Ok(())
}

pub async fn totp_sudo(
    state: &AppState,
    session: &Session,
    signed_in: &SignedIn,
    code: &str,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let tx = check_totp(state, signed_in.owner_id, code, false, client)
        .await
        .map_err(|error| match error {
            MfaError::CodeMalformed | MfaError::CodeWrong => {
                // The sudo form names its field differently from the sign-in step's.
                MfaError::Auth(AuthError::SudoCode(error.to_string()))
            }
            other => other,
        })?;
    tx.commit().await?;
    accounts::open_sudo(state, session, signed_in, "authenticator app", client).await?;
    Ok(())
}

/// Signs in with a backup code (for the person who lost their device); the code is spent and
/// the account's address is told.
pub async fn backup_code_sign_in(
    state: &AppState,
    session: &Session,
    typed: &str,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let pending = pending_sign_in(state, session).await?;
    let code = backup_codes::normalize(typed).ok_or(MfaError::BackupCodeMalformed)?;
    let now = state.clock.now();
    let owner_id = pending.owner_id;
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    check_throttle(&mut tx, now).await?;
    let digest = crypto::keyed_digest(
        &mut tx,
        &state.key_encryption_key,
        Purpose::BackupCode,
        code.as_bytes(),
        now,
    )
    .await?;
    let spent = sqlx::query(
        "UPDATE backup_codes SET used_at = $2 WHERE code_digest = $1 AND used_at IS NULL",
    )
    .bind(&digest)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if spent == 0 {
        drop(tx);
        record_failure(
            state,
            owner_id,
            "second_factor_failed",
            "backup code",
            client,
        )
        .await?;
        return Err(MfaError::BackupCodeWrong);
    }
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM backup_codes WHERE used_at IS NULL")
        .fetch_one(&mut *tx)
        .await?;
    clear_failures(&mut tx).await?;
    let email = account_email(&mut tx).await?;
    mail::enqueue(
        &mut tx,
        Mail {
            account: owner_id,
            to: &email,
            subject: "A backup code was used",
            body: format!(
                "A backup code was used to sign in to your Custodian account at {} from {} ({}). {left} unused codes are left.\n\nIf this was not you, reset your password, then create new backup codes on your Security page.",
                to_minute(now),
                client.device(),
                client.ip_prefix(),
            ),
        },
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        "backup_code_used",
        &format!("{left} left"),
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    accounts::start_session(
        state,
        session,
        owner_id,
        pending.remember,
        "password + backup code",
        client,
    )
    .await?;
    Ok(())
}
