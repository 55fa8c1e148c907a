//! Answering passkey prompts: signing in with a passkey alone, as the second step after a
//! password, and re-authenticating with one.

use sqlx::types::Json;
use tower_sessions::Session;
use uuid::Uuid;
use webauthn_rs::prelude::{Passkey, PublicKeyCredential};

use super::{
    api::PasskeyPurpose,
    enrolment::{parse_answer, stored_passkeys},
    passkeys::{self, Ceremony},
    service::MfaError,
    verification::{log_failure, pending_sign_in, Answer},
};
use crate::{
    auth::{accounts::AuthError, session, session::CurrentUser, signin, sudo, throttle},
    platform::{client::ClientInfo, db::TenantTx, state::AppState},
};

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
    options.map_err(|_| MfaError::PasskeysUnavailable)
}

/// Verifies a passkey answer against the tenant's stored passkey and stores its new counter
/// and backup state. A credential the account does not have is refused without logging anything
/// against the account: the user handle that named it is the answerer's to choose. A passkey
/// cannot be guessed, so its failures are logged but not counted.
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
        return Err(MfaError::PasskeyPrompt(
            "This passkey is not registered to an account here. Use another one or your password.",
        ));
    };
    let result = match verify(&webauthn, &passkey) {
        Ok(result) => result,
        Err(error) => {
            drop(tx);
            log_failure(state, owner_id, "passkey_failed", &name, client).await?;
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
    throttle::clear_second_factor_failures(&mut tx).await?;
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

/// Signs in with a passkey alone: a discoverable credential names its account.
async fn discoverable_sign_in(
    state: &AppState,
    discoverable: webauthn_rs::prelude::DiscoverableAuthentication,
    answer: &PublicKeyCredential,
    client: &ClientInfo,
) -> Result<Uuid, MfaError> {
    let webauthn = passkeys::relying_party(&state.public_url)?;
    let (owner_id, _) = webauthn
        .identify_discoverable_authentication(answer)
        .map_err(|e| passkeys::refusal(&e))?;
    verify_passkey(
        state,
        owner_id,
        answer,
        |webauthn, passkey| {
            webauthn.finish_discoverable_authentication_v2(answer, discoverable, passkey)
        },
        client,
    )
    .await?;
    Ok(owner_id)
}

/// Signs in with a passkey: alone, or as the second step after a password.
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
            let owner_id = discoverable_sign_in(state, discoverable, &answer, client).await?;
            (owner_id, false, "passkey")
        }
        (PasskeyPurpose::SecondFactor, ceremony) => {
            let step = Answer::count(state, session, client).await?;
            let owner_id = step.pending.owner_id;
            if let Err(error) =
                verify_for(state, owner_id, ceremony, purpose, &answer, client).await
            {
                return Err(step.refuse(None, error).await);
            }
            let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
            step.accepted(&mut tx).await?;
            tx.commit().await?;
            (owner_id, step.pending.remember, "password + passkey")
        }
        _ => return Err(passkeys::prompt_ended()),
    };
    signin::start_session(state, session, owner_id, remember, method, client).await?;
    Ok(())
}

pub async fn passkey_sudo(
    state: &AppState,
    session: &Session,
    user: &CurrentUser,
    credential: &str,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let ceremony = passkeys::take(session, state.clock.now()).await?;
    let answer: PublicKeyCredential = parse_answer(credential)?;
    let attempt = sudo::begin_attempt(state, user, client).await?;
    let verified = verify_for(
        state,
        user.owner_id(),
        ceremony,
        PasskeyPurpose::Sudo,
        &answer,
        client,
    )
    .await;
    if let Err(error) = verified {
        let message = error.to_string();
        return match sudo::failed(
            state,
            user,
            attempt,
            "passkey",
            AuthError::SudoCode(message),
            client,
        )
        .await?
        {
            AuthError::SessionEnded => Err(AuthError::SessionEnded.into()),
            _ => Err(error),
        };
    }
    sudo::open_sudo(state, session, user, "passkey", client).await?;
    Ok(())
}
