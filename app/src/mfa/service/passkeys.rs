//! WebAuthn passkeys with webauthn-rs: the relying party built from the public URL, and the
//! state of a ceremony in progress, kept in the server-side session for five minutes and usable
//! once.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tower_sessions::{Expiry, Session};
use url::Url;
use webauthn_rs::prelude::{
    AuthenticatorAttachment, CreationChallengeResponse, DiscoverableAuthentication,
    PasskeyAuthentication, PasskeyRegistration, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::MfaError;
use crate::{
    mfa::model::PasskeyPurpose,
    platform::{ids::OwnerId, region::Tenant, session},
};

pub const CEREMONY_LIFETIME: Duration = Duration::minutes(5);
const CEREMONY_KEY: &str = "passkey_ceremony";

/// The relying party: its id is the public URL's host, and only that origin is accepted.
pub fn relying_party(public_url: &Url) -> Result<Webauthn, MfaError> {
    let rp_id = public_url.host_str().ok_or(MfaError::PasskeysUnavailable)?;
    WebauthnBuilder::new(rp_id, public_url)
        .and_then(|builder| {
            builder
                .rp_name("Custodian")
                .timeout(CEREMONY_LIFETIME.unsigned_abs())
                .build()
        })
        .map_err(|error| {
            tracing::error!(%error, "the public URL cannot serve as a WebAuthn relying party");
            MfaError::PasskeysUnavailable
        })
}

/// Registration options that ask for a discoverable credential (so it can sign in alone) and,
/// when `this_device`, for the device's own authenticator (Face ID, Touch ID, Windows Hello,
/// Android biometrics).
pub fn ask_for_discoverable(options: &mut CreationChallengeResponse, this_device: bool) {
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
        if this_device {
            selection.authenticator_attachment = Some(AuthenticatorAttachment::Platform);
        }
    }
}

/// A ceremony the browser is answering.
#[derive(Serialize, Deserialize)]
pub enum Ceremony {
    Register {
        owner_id: OwnerId,
        name: String,
        state: PasskeyRegistration,
    },
    SignIn {
        state: DiscoverableAuthentication,
    },
    Verify {
        tenant: Tenant,
        purpose: PasskeyPurpose,
        state: PasskeyAuthentication,
    },
}

#[derive(Serialize, Deserialize)]
struct Stored {
    ceremony: Ceremony,
    started_at: i64,
}

pub async fn save(
    session: &Session,
    ceremony: Ceremony,
    now: OffsetDateTime,
) -> Result<(), MfaError> {
    let stored = Stored {
        ceremony,
        started_at: now.unix_timestamp(),
    };
    if session::read(session).await.is_none() {
        // A visitor who is not signed in: the record is worth keeping only as long as the prompt.
        session.set_expiry(Some(Expiry::OnInactivity(CEREMONY_LIFETIME)));
    }
    session.insert(CEREMONY_KEY, stored).await?;
    Ok(())
}

/// No ceremony in progress fits the answer (never started, already answered, or another one).
/// The answer for a credential no account here has.
pub fn unknown_passkey() -> MfaError {
    MfaError::PasskeyPrompt(
        "This passkey is not registered to an account here. Use another one or your password.",
    )
}

pub fn prompt_ended() -> MfaError {
    MfaError::PasskeyPrompt("The passkey prompt has ended. Start again.")
}

/// Removes the ceremony from the session (each challenge is answered once) and returns it
/// when it is younger than five minutes.
pub async fn take(session: &Session, now: OffsetDateTime) -> Result<Ceremony, MfaError> {
    let stored: Option<Stored> = session.remove(CEREMONY_KEY).await?;
    let stored = stored.ok_or_else(prompt_ended)?;
    if now.unix_timestamp() - stored.started_at >= CEREMONY_LIFETIME.whole_seconds() {
        return Err(MfaError::PasskeyPrompt(
            "The passkey prompt timed out after 5 minutes. Start again.",
        ));
    }
    Ok(stored.ceremony)
}

/// The browser's JSON answer to a prompt.
pub fn parse_answer<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, MfaError> {
    serde_json::from_str(json).map_err(|error| {
        tracing::info!(%error, "a malformed passkey answer");
        MfaError::PasskeyPrompt("The browser's passkey answer was malformed. Try again.")
    })
}

/// What a person should read when the browser's answer does not verify.
pub fn refusal(error: &WebauthnError) -> MfaError {
    tracing::info!(%error, "a passkey answer was refused");
    MfaError::PasskeyPrompt(match error {
        WebauthnError::InvalidRPOrigin | WebauthnError::InvalidRPIDHash => {
            "This passkey was made for another site."
        }
        WebauthnError::CredentialPossibleCompromise => {
            "This passkey's counter went backwards, which can mean it was copied. It was not accepted."
        }
        WebauthnError::UserNotVerified => {
            "The passkey did not check that it is you (PIN, fingerprint or face). Try again."
        }
        _ => "The passkey's answer could not be verified. Try again.",
    })
}
