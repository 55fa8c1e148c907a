//! Adding, renaming and removing second factors. Each change, its security-log event and a mail
//! to the owner (with a "this wasn't me" link) commit together: no factor is ever added or
//! removed silently.

use sqlx::types::Json;
use time::OffsetDateTime;
use tower_sessions::Session;
use uuid::Uuid;
use webauthn_rs::prelude::{Passkey, RegisterPublicKeyCredential};

use super::{
    api::TotpSetup,
    backup_codes,
    passkeys::{self, Ceremony},
    service::{account_email, factor_count, require_verified, tell_owner_of_change, MfaError},
    totp,
    verification::check_totp,
};
use crate::{
    auth::{recovery, tokens::Undo},
    platform::{
        audit,
        client::ClientInfo,
        clock::to_minute,
        crypto::{self, Purpose},
        db::TenantTx,
        mail::{self, Mail},
        state::AppState,
    },
};

/// Starts (or restarts) the authenticator-app setup with a fresh secret, and returns what the
/// person copies into their app. This answer is the only place the secret is ever shown.
pub async fn start_totp(
    state: &AppState,
    owner_id: Uuid,
    client: &ClientInfo,
) -> Result<TotpSetup, MfaError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    require_verified(&mut tx).await?;
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
    if started == 0 {
        return Err(MfaError::TotpAlreadyOn);
    }
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "totp_setup_started",
        "",
        client,
        now,
    )
    .await?;
    let email = account_email(&mut tx).await?;
    let enrolment = totp::enrolment(&secret, &email).ok_or(MfaError::NoTotpSetup)?;
    tx.commit().await?;
    Ok(TotpSetup {
        secret_text: enrolment.secret_text,
        uri: enrolment.uri,
        qr_svg: enrolment.qr_svg,
    })
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
    audit::record(
        tx,
        &state.key_encryption_key,
        "backup_codes_created",
        "10 codes",
        client,
        now,
    )
    .await?;
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
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "totp_enabled",
        "",
        client,
        now,
    )
    .await?;
    let codes = first_backup_codes(state, &mut tx, client, now).await?;
    tell_owner_of_change(
        state,
        &mut tx,
        (
            "An authenticator app was added to your account",
            "An authenticator app was turned on for two-step sign-in",
            Undo::Totp,
        ),
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// After a factor was removed: when none is left, the backup codes go too and the mail says so.
/// Refused unless `understood` when this removes the last one.
async fn after_removal(
    state: &AppState,
    tx: &mut TenantTx,
    understood: bool,
    what: &str,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<(), MfaError> {
    if factor_count(tx).await? > 0 {
        return tell_owner_of_change(
            state,
            tx,
            (
                "A sign-in method was removed from your account",
                &format!("{what} was removed"),
                Undo::SignOutOnly,
            ),
            client,
            now,
        )
        .await;
    }
    if !understood {
        return Err(MfaError::LastFactorNotConfirmed);
    }
    sqlx::query("DELETE FROM backup_codes")
        .execute(&mut **tx)
        .await?;
    let email = account_email(tx).await?;
    let not_me = recovery::not_me_link(state, tx, Undo::SignOutOnly, now).await?;
    let owner_id = tx.owner_id();
    mail::enqueue(
        tx,
        Mail {
            account: owner_id,
            to: &email,
            subject: "Two-step sign-in is off",
            body: format!(
                "The last second factor of your Custodian account ({what}) was removed at {}. Your account is now protected by its password alone, and its backup codes no longer work.\n\nIf this was not you, open this link: it signs out every session at once and lets you choose a new password (it works once, for 3 days):\n\n{not_me}",
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
        after_removal(
            state,
            &mut tx,
            understood,
            "The authenticator app",
            client,
            now,
        )
        .await?;
        audit::record(
            &mut tx,
            &state.key_encryption_key,
            "totp_disabled",
            "",
            client,
            now,
        )
        .await?;
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
    tell_owner_of_change(
        state,
        &mut tx,
        (
            "New backup codes were created for your account",
            "A new set of backup codes was created (the old codes stopped working)",
            Undo::BackupCodes,
        ),
        client,
        now,
    )
    .await?;
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

pub(super) async fn stored_passkeys(
    tx: &mut TenantTx,
) -> Result<Vec<(Uuid, Passkey)>, sqlx::Error> {
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
    require_verified(&mut tx).await?;
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
    serde_json::to_string(&options).map_err(|_| MfaError::PasskeysUnavailable)
}

pub(super) fn parse_answer<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, MfaError> {
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
    require_verified(&mut tx).await?;
    let id = Uuid::new_v4();
    let inserted = sqlx::query(
        "INSERT INTO passkeys (owner_id, id, credential_id, name, credential, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner_id, credential_id) DO NOTHING",
    )
    .bind(owner_id)
    .bind(id)
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
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "passkey_added",
        &name,
        client,
        now,
    )
    .await?;
    let codes = first_backup_codes(state, &mut tx, client, now).await?;
    tell_owner_of_change(
        state,
        &mut tx,
        (
            "A passkey was added to your account",
            &format!("A passkey named “{name}” was added"),
            Undo::Passkey(id),
        ),
        client,
        now,
    )
    .await?;
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
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "passkey_renamed",
        &name,
        client,
        now,
    )
    .await?;
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
    after_removal(
        state,
        &mut tx,
        understood,
        &format!("The passkey “{name}”"),
        client,
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "passkey_removed",
        &name,
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
