//! Turning the authenticator app on and off, and backup codes. Each change, its security-log
//! event and a mail to the owner (with a "this wasn't me" link) commit together: no factor is
//! ever added or removed silently. Adding needs a re-authentication made for it
//! (`Reauthenticated`), removing one within the sudo window (`Sudo`).

use time::OffsetDateTime;

use super::{
    backup_codes,
    check::check_totp,
    factors::{factor_count, require_verified, tell_owner, Change},
    totp, MfaError,
};
use crate::{
    auth::service::{
        accounts,
        tokens::{self, Undo},
    },
    mfa::{
        model::{
            TotpSetup, BACKUP_CODES_CREATED, BACKUP_CODE_SET_SIZE, TOTP_DISABLED, TOTP_ENABLED,
            TOTP_SETUP_STARTED,
        },
        store,
    },
    platform::{
        clock::to_minute,
        context::{Reauthenticated, SignedIn, Sudo},
        crypto::{self, CryptoError, Purpose},
        db::TenantTx,
        jobs::BoxFuture,
        keys::KeyEncryptionKey,
        mail::{self, Mail},
    },
};

/// Starts (or restarts) the authenticator-app setup with a fresh secret, and returns what the
/// person copies into their app. This answer is the only place the secret is ever shown.
pub async fn start_totp(me: &Reauthenticated) -> Result<TotpSetup, MfaError> {
    let now = me.now();
    let mut tx = me.begin_own().await?;
    require_verified(&mut tx).await?;
    let secret = totp::new_secret();
    let key = &me.state().key_encryption_key;
    let sealed = crypto::seal(&mut tx, key, Purpose::TotpSecret, &secret, now).await?;
    // An app already on stays on until it is turned off; this only replaces a pending setup.
    if !store::start_totp(&mut tx, &sealed, now).await? {
        return Err(MfaError::TotpAlreadyOn);
    }
    me.audit(&mut tx, TOTP_SETUP_STARTED, "").await?;
    let email = accounts::profile(&mut tx).await?.email;
    let enrolment = totp::enrolment(&secret, &email).ok_or(MfaError::NoTotpSetup)?;
    tx.commit().await?;
    Ok(TotpSetup {
        secret_text: enrolment.secret_text,
        uri: enrolment.uri,
        qr_svg: enrolment.qr_svg,
    })
}

/// Creates a set of backup codes when the account has none; returns it to be shown once.
pub(super) async fn first_backup_codes(
    me: &SignedIn,
    tx: &mut TenantTx,
) -> Result<Option<Vec<String>>, MfaError> {
    let (total, _) = store::backup_code_counts(tx).await?;
    if total > 0 {
        return Ok(None);
    }
    Ok(Some(replace_backup_codes(me, tx).await?))
}

async fn replace_backup_codes(me: &SignedIn, tx: &mut TenantTx) -> Result<Vec<String>, MfaError> {
    let now = me.now();
    let key = &me.state().key_encryption_key;
    let codes = backup_codes::new_set();
    let mut digests = Vec::with_capacity(codes.len());
    for code in &codes {
        let stored = code.stored.as_bytes();
        digests.push(crypto::keyed_digest(tx, key, Purpose::BackupCode, stored, now).await?);
    }
    store::replace_backup_codes(tx, &digests, now).await?;
    me.audit(
        tx,
        BACKUP_CODES_CREATED,
        &format!("{BACKUP_CODE_SET_SIZE} codes"),
    )
    .await?;
    Ok(codes.into_iter().map(|code| code.shown).collect())
}

/// Turns the authenticator app on with its first correct code. Returns the backup codes when
/// this is the account's first second factor.
pub async fn confirm_totp(
    me: &Reauthenticated,
    code: &str,
) -> Result<Option<Vec<String>>, MfaError> {
    let mut tx = check_totp(me, me.tenant(), code, true).await?;
    store::enable_totp(&mut tx, me.now()).await?;
    me.audit(&mut tx, TOTP_ENABLED, "").await?;
    let codes = first_backup_codes(me, &mut tx).await?;
    let change = Change {
        subject: "An authenticator app was added to your account",
        what: "An authenticator app was turned on for two-step sign-in",
        undo: Undo::Totp,
    };
    tell_owner(me.state(), &mut tx, change, me.client(), me.now()).await?;
    tx.commit().await?;
    Ok(codes)
}

/// After a factor was removed: when none is left, the backup codes go too and the mail says so.
/// Refused unless `understood` when this removes the last one.
pub(super) async fn after_removal(
    me: &Sudo,
    tx: &mut TenantTx,
    understood: bool,
    what: &str,
) -> Result<(), MfaError> {
    let now = me.now();
    if factor_count(tx).await? > 0 {
        let change = Change {
            subject: "A sign-in method was removed from your account",
            what: &format!("{what} was removed"),
            undo: Undo::SignOutOnly,
        };
        return tell_owner(me.state(), tx, change, me.client(), now).await;
    }
    if !understood {
        return Err(MfaError::LastFactorNotConfirmed);
    }
    store::delete_backup_codes(tx).await?;
    let email = accounts::profile(tx).await?.email;
    let not_me = tokens::not_me_link(me.state(), tx, Undo::SignOutOnly, now).await?;
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

pub async fn turn_off_totp(me: &Sudo, understood: bool) -> Result<(), MfaError> {
    let mut tx = me.begin_own().await?;
    // A setup never confirmed was no factor: dropping it changes nothing else.
    if store::delete_totp(&mut tx).await? {
        after_removal(me, &mut tx, understood, "The authenticator app").await?;
        me.audit(&mut tx, TOTP_DISABLED, "").await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A new set of backup codes; the old set stops working.
pub async fn regenerate_backup_codes(me: &Reauthenticated) -> Result<Vec<String>, MfaError> {
    let mut tx = me.begin_own().await?;
    if factor_count(&mut tx).await? == 0 {
        return Err(MfaError::NoSecondFactor);
    }
    let codes = replace_backup_codes(me, &mut tx).await?;
    let change = Change {
        subject: "New backup codes were created for your account",
        what: "A new set of backup codes was created (the old codes stopped working)",
        undo: Undo::BackupCodes,
    };
    tell_owner(me.state(), &mut tx, change, me.client(), me.now()).await?;
    tx.commit().await?;
    Ok(codes)
}

/// The authenticator secret sealed again with the newest data key (after a rotation).
pub fn reseal<'a>(
    tx: &'a mut TenantTx,
    key: &'a KeyEncryptionKey,
    now: OffsetDateTime,
) -> BoxFuture<'a, Result<usize, CryptoError>> {
    Box::pin(async move {
        let Some(sealed) = store::sealed_totp(tx).await? else {
            return Ok(0);
        };
        match crypto::reseal(tx, key, Purpose::TotpSecret, &sealed, now).await? {
            Some(resealed) => {
                store::reseal_totp(tx, &resealed).await?;
                Ok(1)
            }
            None => Ok(0),
        }
    })
}
