//! Registering, renaming and removing passkeys. A registration is a ceremony of two requests:
//! the options for the browser, then its answer, which must come from the same person within
//! five minutes.

use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::{
    enrolment::{after_removal, first_backup_codes},
    factors::{require_verified, tell_owner, Change},
    passkeys::{self, Ceremony},
    MfaError,
};
use crate::{
    auth::service::{accounts, tokens::Undo},
    mfa::{
        model::{PASSKEY_ADDED, PASSKEY_NAME_MAX_CHARS, PASSKEY_REMOVED, PASSKEY_RENAMED},
        store,
    },
    platform::{
        context::{Reauthenticated, SignedIn, Sudo},
        ids::PasskeyId,
    },
};

fn normalize_name(raw: &str) -> Result<String, MfaError> {
    let name = raw.trim();
    let length = name.chars().count();
    if (1..=PASSKEY_NAME_MAX_CHARS).contains(&length) && !name.chars().any(char::is_control) {
        Ok(name.to_owned())
    } else {
        Err(MfaError::PasskeyName)
    }
}

/// Registration options for a new passkey, as the browser's JSON, with the ceremony saved in
/// the session.
pub async fn start_registration(
    me: &Reauthenticated,
    name: &str,
    this_device: bool,
) -> Result<String, MfaError> {
    let name = normalize_name(name)?;
    let webauthn = passkeys::relying_party(&me.state().public_url)?;
    let mut tx = me.begin_own().await?;
    require_verified(&mut tx).await?;
    let account = accounts::profile(&mut tx).await?;
    let existing = store::passkeys(&mut tx).await?;
    tx.commit().await?;
    let exclude = existing
        .iter()
        .map(|(_, key)| key.cred_id().clone())
        .collect::<Vec<_>>();
    // The user handle is the owner id: a discoverable passkey names its tenant when it signs in.
    let owner_id = me.owner_id();
    let (mut options, registration) = webauthn
        .start_passkey_registration(
            owner_id.as_uuid(),
            &account.email,
            &account.display_name,
            Some(exclude),
        )
        .map_err(|e| passkeys::refusal(&e))?;
    passkeys::ask_for_discoverable(&mut options, this_device);
    let ceremony = Ceremony::Register {
        owner_id,
        name,
        state: registration,
    };
    passkeys::save(me.session(), ceremony, me.now()).await?;
    serde_json::to_string(&options).map_err(|_| MfaError::PasskeysUnavailable)
}

/// Stores the passkey the browser made. Returns the backup codes when this is the account's
/// first second factor.
pub async fn finish_registration(
    me: &Reauthenticated,
    credential: &str,
) -> Result<Option<Vec<String>>, MfaError> {
    let now = me.now();
    let owner_id = me.owner_id();
    let Ceremony::Register {
        owner_id: started_by,
        name,
        state: registration,
    } = passkeys::take(me.session(), now).await?
    else {
        return Err(passkeys::prompt_ended());
    };
    if started_by != owner_id {
        return Err(passkeys::prompt_ended());
    }
    let answer: RegisterPublicKeyCredential = passkeys::parse_answer(credential)?;
    let webauthn = passkeys::relying_party(&me.state().public_url)?;
    let passkey = webauthn
        .finish_passkey_registration(&answer, &registration)
        .map_err(|e| passkeys::refusal(&e))?;
    let mut tx = me.begin_own().await?;
    require_verified(&mut tx).await?;
    let id = PasskeyId::random();
    if !store::insert_passkey(&mut tx, id, &name, &passkey, now).await? {
        return Err(MfaError::PasskeyPrompt(
            "This passkey is already registered to your account.",
        ));
    }
    me.audit(&mut tx, PASSKEY_ADDED, &name).await?;
    let codes = first_backup_codes(me, &mut tx).await?;
    let change = Change {
        subject: "A passkey was added to your account",
        what: &format!("A passkey named “{name}” was added"),
        undo: Undo::Passkey(id),
    };
    tell_owner(me.state(), &mut tx, change, me.client(), now).await?;
    tx.commit().await?;
    Ok(codes)
}

pub async fn rename(me: &SignedIn, id: PasskeyId, name: &str) -> Result<(), MfaError> {
    let name = normalize_name(name)?;
    let mut tx = me.begin_own().await?;
    if !store::rename_passkey(&mut tx, id, &name).await? {
        return Err(MfaError::NoSuchPasskey);
    }
    me.audit(&mut tx, PASSKEY_RENAMED, &name).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove(me: &Sudo, id: PasskeyId, understood: bool) -> Result<(), MfaError> {
    let mut tx = me.begin_own().await?;
    let name = store::delete_passkey(&mut tx, id)
        .await?
        .ok_or(MfaError::NoSuchPasskey)?;
    after_removal(me, &mut tx, understood, &format!("The passkey “{name}”")).await?;
    me.audit(&mut tx, PASSKEY_REMOVED, &name).await?;
    tx.commit().await?;
    Ok(())
}
