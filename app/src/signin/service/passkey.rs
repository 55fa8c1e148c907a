//! Answering passkey prompts: signing in with a passkey alone, as the second step after a
//! password, and re-authenticating with one.

use webauthn_rs::prelude::{DiscoverableAuthentication, PublicKeyCredential};

use super::{
    second_step::{pending_sign_in, Answer},
    session::start_session,
    sudo::{begin_attempt, failed, open_sudo},
    SignInError,
};
use crate::{
    mfa::{
        model::PasskeyPurpose,
        service::{
            check,
            passkeys::{self, Ceremony},
            MfaError,
        },
    },
    platform::{
        context::{SignedIn, Visitor},
        ids::OwnerId,
        session,
    },
};

/// Options for the browser's passkey prompt, with the ceremony saved in the session.
pub async fn challenge(visitor: &Visitor, purpose: PasskeyPurpose) -> Result<String, SignInError> {
    let webauthn = passkeys::relying_party(&visitor.state().public_url)?;
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
                PasskeyPurpose::SecondFactor => pending_sign_in(visitor).await?.owner_id,
                _ => session::read(visitor.session())
                    .await
                    .map(|record| record.owner_id)
                    .ok_or(SignInError::SessionEnded)?,
            };
            let keys = check::passkeys_of(visitor, owner_id).await?;
            if keys.is_empty() {
                return Err(MfaError::PasskeyPrompt("Your account has no passkey.").into());
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
    passkeys::save(visitor.session(), ceremony, visitor.now()).await?;
    options.map_err(|_| MfaError::PasskeysUnavailable.into())
}

/// Verifies an answer to a prompt that asked `owner_id` for one of their passkeys, for
/// `purpose`.
async fn verify_for(
    visitor: &Visitor,
    owner_id: OwnerId,
    ceremony: Ceremony,
    purpose: PasskeyPurpose,
    answer: &PublicKeyCredential,
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
    check::verify_passkey(visitor, owner_id, answer, |webauthn, _| {
        webauthn.finish_passkey_authentication(answer, &authentication)
    })
    .await
    .map(|_| ())
}

/// Signs in with a passkey alone: a discoverable credential names its account.
async fn discoverable_sign_in(
    visitor: &Visitor,
    discoverable: DiscoverableAuthentication,
    answer: &PublicKeyCredential,
) -> Result<OwnerId, MfaError> {
    let webauthn = passkeys::relying_party(&visitor.state().public_url)?;
    let (user_handle, _) = webauthn
        .identify_discoverable_authentication(answer)
        .map_err(|e| passkeys::refusal(&e))?;
    let owner_id = OwnerId::from_uuid(user_handle);
    check::verify_passkey(visitor, owner_id, answer, |webauthn, passkey| {
        webauthn.finish_discoverable_authentication_v2(answer, discoverable, passkey)
    })
    .await?;
    Ok(owner_id)
}

/// Signs in with a passkey: alone, or as the second step after a password.
pub async fn sign_in(
    visitor: &Visitor,
    purpose: PasskeyPurpose,
    credential: &str,
) -> Result<(), SignInError> {
    let ceremony = passkeys::take(visitor.session(), visitor.now()).await?;
    let answer: PublicKeyCredential = passkeys::parse_answer(credential)?;
    let (owner_id, remember, method) = match (purpose, ceremony) {
        (
            PasskeyPurpose::SignIn,
            Ceremony::SignIn {
                state: discoverable,
            },
        ) => {
            let owner_id = discoverable_sign_in(visitor, discoverable, &answer).await?;
            (owner_id, false, "passkey")
        }
        (PasskeyPurpose::SecondFactor, ceremony) => {
            let step = Answer::count(visitor).await?;
            let owner_id = step.pending.owner_id;
            if let Err(error) = verify_for(visitor, owner_id, ceremony, purpose, &answer).await {
                return Err(step.refuse(None, error.into()).await);
            }
            let mut tx = visitor.begin(owner_id).await?;
            step.accepted(&mut tx).await?;
            tx.commit().await?;
            (owner_id, step.pending.remember, "password + passkey")
        }
        _ => return Err(passkeys::prompt_ended().into()),
    };
    start_session(visitor, owner_id, remember, method).await?;
    Ok(())
}

/// Re-authentication with a passkey.
pub async fn sudo(me: &SignedIn, credential: &str) -> Result<(), SignInError> {
    let ceremony = passkeys::take(me.session(), me.now()).await?;
    let answer: PublicKeyCredential = passkeys::parse_answer(credential)?;
    let attempt = begin_attempt(me).await?;
    let verified = verify_for(me, me.owner_id(), ceremony, PasskeyPurpose::Sudo, &answer).await;
    if let Err(error) = verified {
        let refusal = SignInError::SudoCode(error.to_string());
        return match failed(me, attempt, "passkey", refusal).await? {
            SignInError::SessionEnded => Err(SignInError::SessionEnded),
            _ => Err(error.into()),
        };
    }
    open_sudo(me, "passkey").await
}
