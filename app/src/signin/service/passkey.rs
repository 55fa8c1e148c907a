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
        directory,
        ids::OwnerId,
        region::Tenant,
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
            let tenant = match purpose {
                PasskeyPurpose::SecondFactor => pending_sign_in(visitor).await?.tenant,
                _ => session::read(visitor.session())
                    .await
                    .map(|record| record.tenant())
                    .ok_or(SignInError::SessionEnded)?,
            };
            let keys = check::passkeys_of(visitor, tenant).await?;
            if keys.is_empty() {
                return Err(MfaError::PasskeyPrompt("Your account has no passkey.").into());
            }
            let (options, state) = webauthn
                .start_passkey_authentication(&keys)
                .map_err(|e| passkeys::refusal(&e))?;
            (
                serde_json::to_string(&options),
                Ceremony::Verify {
                    tenant,
                    purpose,
                    state,
                },
            )
        }
    };
    passkeys::save(visitor.session(), ceremony, visitor.now()).await?;
    options.map_err(|_| MfaError::PasskeysUnavailable.into())
}

/// Verifies an answer to a prompt that asked `tenant` for one of their passkeys, for
/// `purpose`.
async fn verify_for(
    visitor: &Visitor,
    tenant: Tenant,
    ceremony: Ceremony,
    purpose: PasskeyPurpose,
    answer: &PublicKeyCredential,
) -> Result<(), MfaError> {
    let Ceremony::Verify {
        tenant: asked,
        purpose: asked_for,
        state: authentication,
    } = ceremony
    else {
        return Err(passkeys::prompt_ended());
    };
    if asked != tenant || asked_for != purpose {
        return Err(passkeys::prompt_ended());
    }
    check::verify_passkey(visitor, tenant, answer, |webauthn, _| {
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
) -> Result<Tenant, MfaError> {
    let webauthn = passkeys::relying_party(&visitor.state().public_url)?;
    let (user_handle, _) = webauthn
        .identify_discoverable_authentication(answer)
        .map_err(|e| passkeys::refusal(&e))?;
    let owner_id = OwnerId::from_uuid(user_handle);
    // The directory says which region holds the account; an unknown handle is a passkey
    // nobody here has.
    let region = directory::region_of(visitor.state().regions.directory(), owner_id)
        .await
        .map_err(crate::platform::error::InfraError::from)?
        .ok_or_else(passkeys::unknown_passkey)?;
    let tenant = Tenant::new(owner_id, region);
    check::verify_passkey(visitor, tenant, answer, |webauthn, passkey| {
        webauthn.finish_discoverable_authentication_v2(answer, discoverable, passkey)
    })
    .await?;
    Ok(tenant)
}

/// Signs in with a passkey: alone, or as the second step after a password.
pub async fn sign_in(
    visitor: &Visitor,
    purpose: PasskeyPurpose,
    credential: &str,
) -> Result<(), SignInError> {
    let ceremony = passkeys::take(visitor.session(), visitor.now()).await?;
    let answer: PublicKeyCredential = passkeys::parse_answer(credential)?;
    let (tenant, remember, method) = match (purpose, ceremony) {
        (
            PasskeyPurpose::SignIn,
            Ceremony::SignIn {
                state: discoverable,
            },
        ) => {
            let tenant = discoverable_sign_in(visitor, discoverable, &answer).await?;
            (tenant, false, "passkey")
        }
        (PasskeyPurpose::SecondFactor, ceremony) => {
            let step = Answer::count(visitor).await?;
            let tenant = step.pending.tenant;
            if let Err(error) = verify_for(visitor, tenant, ceremony, purpose, &answer).await {
                return Err(step.refuse(None, error.into()).await);
            }
            let mut tx = visitor.begin(tenant).await?;
            step.accepted(&mut tx).await?;
            tx.commit().await?;
            (tenant, step.pending.remember, "password + passkey")
        }
        _ => return Err(passkeys::prompt_ended().into()),
    };
    start_session(visitor, tenant, remember, method).await?;
    Ok(())
}

/// Re-authentication with a passkey.
pub async fn sudo(me: &SignedIn, credential: &str) -> Result<(), SignInError> {
    let ceremony = passkeys::take(me.session(), me.now()).await?;
    let answer: PublicKeyCredential = passkeys::parse_answer(credential)?;
    let attempt = begin_attempt(me).await?;
    let verified = verify_for(me, me.tenant(), ceremony, PasskeyPurpose::Sudo, &answer).await;
    if let Err(error) = verified {
        let refusal = SignInError::SudoCode(error.to_string());
        return match failed(me, attempt, "passkey", refusal).await? {
            SignInError::SessionEnded => Err(SignInError::SessionEnded),
            _ => Err(error.into()),
        };
    }
    open_sudo(me, "passkey").await
}
