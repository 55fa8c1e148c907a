//! Checking a second factor: a code from the authenticator app, a backup code, a passkey's
//! answer. Every code is counted against the account's throttle before it is checked (a delay
//! that doubles), so concurrent guesses are all counted; a passkey cannot be guessed, so its
//! failures are logged but not counted. Signing in and re-authenticating build on these.

use time::OffsetDateTime;
use webauthn_rs::prelude::{
    AuthenticationResult, Passkey, PublicKeyCredential, Webauthn, WebauthnError,
};

use super::{backup_codes, passkeys, totp, MfaError};
use crate::{
    auth::service::throttle,
    mfa::{
        model::{PASSKEY_FAILED, SECOND_FACTOR_FAILED},
        store,
    },
    platform::{
        context::Visitor,
        crypto::{self, Purpose},
        db::TenantTx,
        region::Tenant,
    },
};

/// Logs a failed second-factor use in the account's security log.
pub async fn log_failure(
    visitor: &Visitor,
    tenant: Tenant,
    kind: crate::platform::area::EventKind,
    detail: &str,
) -> Result<(), MfaError> {
    let mut tx = visitor.begin(tenant).await?;
    visitor.audit(&mut tx, kind, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Counts a second-factor attempt of the account, committed before the answer is checked;
/// returns the account's consecutive attempts, this one included.
pub async fn count_account_attempt(visitor: &Visitor, tenant: Tenant) -> Result<i32, MfaError> {
    let mut tx = visitor.begin(tenant).await?;
    let counted = throttle::count_second_factor_attempt(&mut tx, visitor.now()).await?;
    tx.commit().await?;
    counted.map_err(MfaError::Throttled)
}

/// Checks a code against the authenticator app (enabled, or pending when `enrolling`) and marks
/// its time step used. Ok(false) when the code is wrong or replayed.
async fn accept_totp(
    visitor: &Visitor,
    tx: &mut TenantTx,
    code: &str,
    enrolling: bool,
    now: OffsetDateTime,
) -> Result<bool, MfaError> {
    let Some((sealed, last_used_step)) = store::totp_for_update(tx, enrolling).await? else {
        return if enrolling {
            Err(MfaError::NoTotpSetup)
        } else {
            Ok(false)
        };
    };
    let key = &visitor.state().key_encryption_key;
    let secret = crypto::open(tx, key, Purpose::TotpSecret, &sealed).await?;
    let Some(step) = totp::accepted_step(&secret, code, now.unix_timestamp(), last_used_step)
    else {
        return Ok(false);
    };
    store::spend_totp_step(tx, step).await?;
    Ok(true)
}

/// Checks a code from the authenticator app (the pending one when `enrolling`) under the
/// account's throttle, logging it when wrong. On success the code's step is spent and the
/// failures cleared in the returned transaction, which the caller finishes and commits.
pub async fn check_totp(
    visitor: &Visitor,
    tenant: Tenant,
    typed: &str,
    enrolling: bool,
) -> Result<TenantTx, MfaError> {
    let code = totp::normalize_code(typed).ok_or(MfaError::CodeMalformed)?;
    count_account_attempt(visitor, tenant).await?;
    verify_totp(visitor, tenant, &code, enrolling).await
}

/// Checks an already counted, well-formed code; see `check_totp`.
pub async fn verify_totp(
    visitor: &Visitor,
    tenant: Tenant,
    code: &str,
    enrolling: bool,
) -> Result<TenantTx, MfaError> {
    let mut tx = visitor.begin(tenant).await?;
    if !accept_totp(visitor, &mut tx, code, enrolling, visitor.now()).await? {
        drop(tx);
        let detail = if enrolling {
            "authenticator setup code"
        } else {
            "authenticator code"
        };
        log_failure(visitor, tenant, SECOND_FACTOR_FAILED, detail).await?;
        return Err(MfaError::CodeWrong);
    }
    throttle::clear_second_factor_failures(&mut tx).await?;
    Ok(tx)
}

/// Spends an already counted backup code of the transaction's account: the unused codes left,
/// or None when the code was wrong or used (the caller logs that, outside this transaction).
pub async fn spend_backup_code(
    visitor: &Visitor,
    tx: &mut TenantTx,
    code: &str,
) -> Result<Option<i64>, MfaError> {
    let key = &visitor.state().key_encryption_key;
    let now = visitor.now();
    let digests = crypto::keyed_digests(tx, key, Purpose::BackupCode, code.as_bytes(), now).await?;
    if !store::spend_backup_code(tx, &digests, now).await? {
        return Ok(None);
    }
    throttle::clear_second_factor_failures(tx).await?;
    let (_, unused) = store::backup_code_counts(tx).await?;
    Ok(Some(unused))
}

/// A backup code as typed, in the form it is stored.
pub fn normalize_backup_code(typed: &str) -> Option<String> {
    backup_codes::normalize(typed)
}

/// The passkeys of the account, to ask the browser for one of them.
pub async fn passkeys_of(visitor: &Visitor, tenant: Tenant) -> Result<Vec<Passkey>, MfaError> {
    let mut tx = visitor.begin(tenant).await?;
    let keys = store::passkeys(&mut tx).await?;
    tx.commit().await?;
    Ok(keys.into_iter().map(|(_, key)| key).collect())
}

/// Verifies a passkey answer against the tenant's stored passkey and stores its new counter and
/// backup state. A credential the account does not have is refused without logging anything
/// against the account: the user handle that named it is the answerer's to choose.
pub async fn verify_passkey(
    visitor: &Visitor,
    tenant: Tenant,
    answer: &PublicKeyCredential,
    verify: impl FnOnce(&Webauthn, &Passkey) -> Result<AuthenticationResult, WebauthnError>,
) -> Result<String, MfaError> {
    let webauthn = passkeys::relying_party(&visitor.state().public_url)?;
    let mut tx = visitor.begin(tenant).await?;
    let Some((id, name, mut passkey)) =
        store::passkey_for_update(&mut tx, answer.get_credential_id()).await?
    else {
        return Err(passkeys::unknown_passkey());
    };
    let result = match verify(&webauthn, &passkey) {
        Ok(result) => result,
        Err(error) => {
            drop(tx);
            log_failure(visitor, tenant, PASSKEY_FAILED, &name).await?;
            return Err(passkeys::refusal(&error));
        }
    };
    passkey.update_credential(&result);
    store::passkey_used(&mut tx, id, &passkey, visitor.now()).await?;
    throttle::clear_second_factor_failures(&mut tx).await?;
    tx.commit().await?;
    Ok(name)
}
