//! The second step of a sign-in: after a right password, an account with a second factor waits
//! (for at most SECOND_STEP_MINUTES) for a code, a backup code or a passkey.
//!
//! Every answer is counted before it is checked, against the pending sign-in (SECOND_STEP_TRIES,
//! then the sign-in ends; at SECOND_STEP_MAIL_AT consecutive wrong codes the owner is told that
//! someone knows the password) and, for codes, against the account's throttle; so concurrent
//! guesses are all counted.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tower_sessions::Session;
use uuid::Uuid;

use super::{session::start_session, SignInError};
use crate::{
    mfa::{
        model::{UsableFactors, SECOND_FACTOR_FAILED},
        service::{check, factors, totp, MfaError},
    },
    platform::{
        clock::to_minute,
        context::Visitor,
        db::TenantTx,
        region::Tenant,
        mail::{self, Mail},
    },
    signin::{
        model::{BACKUP_CODE_USED, SECOND_STEP_MAIL_AT, SECOND_STEP_MINUTES, SECOND_STEP_TRIES},
        store,
    },
};

const PENDING_KEY: &str = "pending_sign_in";
pub const SECOND_STEP_WINDOW: Duration = Duration::minutes(SECOND_STEP_MINUTES);

/// A sign-in whose password was right and whose second factor is still to come. The session is
/// not signed in while it holds only this.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingSignIn {
    /// The account (and its region) whose password was right.
    pub tenant: Tenant,
    /// The row in pending_sign_ins that counts this sign-in's second-step failures.
    pub id: Uuid,
    pub remember: bool,
    pub password_accepted_at: i64,
}

impl PendingSignIn {
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        now.unix_timestamp() < self.password_accepted_at + SECOND_STEP_WINDOW.whole_seconds()
    }
}

pub async fn read_pending(session: &Session) -> Result<Option<PendingSignIn>, SignInError> {
    Ok(session.get::<PendingSignIn>(PENDING_KEY).await?)
}

pub async fn write_pending(session: &Session, pending: &PendingSignIn) -> Result<(), SignInError> {
    Ok(session.insert(PENDING_KEY, pending).await?)
}

pub async fn clear_pending(session: &Session) -> Result<(), SignInError> {
    session.remove_value(PENDING_KEY).await?;
    Ok(())
}

/// Starts the wait for the second step in the account's transaction.
pub async fn start_pending(
    tx: &mut TenantTx,
    pending: &PendingSignIn,
    now: OffsetDateTime,
) -> Result<(), SignInError> {
    // Pending sign-ins that ran out are dropped here, so none outlives the next sign-in.
    store::start_pending(tx, pending.id, now, now - SECOND_STEP_WINDOW).await?;
    Ok(())
}

/// The sign-in waiting for its second step, if it has not run out.
pub async fn pending_sign_in(visitor: &Visitor) -> Result<PendingSignIn, SignInError> {
    let session = visitor.session();
    let pending = read_pending(session)
        .await?
        .ok_or(SignInError::SecondStepExpired)?;
    if !pending.is_current(visitor.now()) {
        clear_pending(session).await?;
        return Err(SignInError::SecondStepExpired);
    }
    Ok(pending)
}

/// The factors the half-finished sign-in of this session can use.
pub async fn options(visitor: &Visitor) -> Result<UsableFactors, SignInError> {
    let pending = pending_sign_in(visitor).await?;
    let mut tx = visitor.begin(pending.tenant).await?;
    let usable = factors::usable(&mut tx).await?;
    tx.commit().await?;
    Ok(usable)
}

/// One answer to the second step of a pending sign-in, counted before it is checked.
pub(super) struct Answer<'a> {
    visitor: &'a Visitor,
    pub(super) pending: PendingSignIn,
    /// The pending sign-in's wrong answers so far, this one included.
    failures: i32,
}

impl<'a> Answer<'a> {
    /// Counts an answer of the session's pending sign-in; the sign-in ends when it had its
    /// tries.
    pub(super) async fn count(visitor: &'a Visitor) -> Result<Self, SignInError> {
        let pending = pending_sign_in(visitor).await?;
        let mut tx = visitor.begin(pending.tenant).await?;
        let counted = store::count_answer(&mut tx, pending.id, SECOND_STEP_TRIES).await?;
        tx.commit().await?;
        let answer = Self {
            visitor,
            pending,
            failures: counted.unwrap_or(SECOND_STEP_TRIES),
        };
        if counted.is_none() {
            answer.end_pending().await?;
            return Err(SignInError::SecondStepExhausted);
        }
        Ok(answer)
    }

    /// Counts a code against the account's throttle too; a throttled account refuses it
    /// unchecked. Returns the account's consecutive attempts, this one included.
    async fn count_for_account(&self) -> Result<i32, SignInError> {
        match check::count_account_attempt(self.visitor, self.pending.tenant).await {
            Err(throttled @ MfaError::Throttled(_)) => {
                Err(self.refuse(None, throttled.into()).await)
            }
            counted => Ok(counted?),
        }
    }

    /// The error for a wrong answer. When the account's consecutive wrong codes (`account`,
    /// counted over any number of sign-ins) reach SECOND_STEP_MAIL_AT, the owner hears that their
    /// password is known; at SECOND_STEP_TRIES answers the pending sign-in ends.
    pub(super) async fn refuse(&self, account: Option<i32>, refusal: SignInError) -> SignInError {
        let outcome = async {
            if account == Some(SECOND_STEP_MAIL_AT) {
                self.tell_owner().await?;
            }
            if self.failures >= SECOND_STEP_TRIES {
                self.end_pending().await?;
                return Ok(SignInError::SecondStepExhausted);
            }
            Ok(refusal)
        };
        outcome.await.unwrap_or_else(|failure: SignInError| failure)
    }

    async fn tell_owner(&self) -> Result<(), SignInError> {
        let (visitor, tenant) = (self.visitor, self.pending.tenant);
        let client = visitor.client();
        let now = visitor.now();
        let mut tx = visitor.begin(tenant).await?;
        let email = crate::auth::service::accounts::profile(&mut tx)
            .await?
            .email;
        mail::enqueue(
            &mut tx,
            Mail {
                account: tenant.owner_id,
                to: &email,
                subject: "Someone knows your password",
                body: format!(
                    "At {} someone signed in to your Custodian account with the right password, then typed {SECOND_STEP_MAIL_AT} wrong codes in a row at the second step, from {} ({}).\n\nYour second factor stopped them. If this was not you, change your password now: whoever tried knows it.",
                    to_minute(now),
                    client.device(),
                    client.ip_prefix(),
                ),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The answer was right: the pending sign-in ends with the caller's transaction.
    pub(super) async fn accepted(&self, tx: &mut TenantTx) -> Result<(), SignInError> {
        Ok(store::end_pending(tx, self.pending.id).await?)
    }

    /// Ends a pending sign-in that used its tries.
    async fn end_pending(&self) -> Result<(), SignInError> {
        let mut tx = self.visitor.begin(self.pending.tenant).await?;
        self.accepted(&mut tx).await?;
        tx.commit().await?;
        clear_pending(self.visitor.session()).await
    }
}

pub async fn totp_sign_in(visitor: &Visitor, typed: &str) -> Result<(), SignInError> {
    let answer = Answer::count(visitor).await?;
    let Some(code) = totp::normalize_code(typed) else {
        return Err(answer.refuse(None, MfaError::CodeMalformed.into()).await);
    };
    let account = answer.count_for_account().await?;
    let tenant = answer.pending.tenant;
    let mut tx = match check::verify_totp(visitor, tenant, &code, false).await {
        Ok(tx) => tx,
        Err(wrong @ MfaError::CodeWrong) => {
            return Err(answer.refuse(Some(account), wrong.into()).await)
        }
        Err(other) => return Err(other.into()),
    };
    answer.accepted(&mut tx).await?;
    tx.commit().await?;
    let method = "password + authenticator app";
    start_session(visitor, tenant, answer.pending.remember, method).await?;
    Ok(())
}

/// Signs in with a backup code (for the person who lost their device); the code is spent and
/// the account's address is told.
pub async fn backup_code_sign_in(visitor: &Visitor, typed: &str) -> Result<(), SignInError> {
    let answer = Answer::count(visitor).await?;
    let Some(code) = check::normalize_backup_code(typed) else {
        return Err(answer
            .refuse(None, MfaError::BackupCodeMalformed.into())
            .await);
    };
    let account = answer.count_for_account().await?;
    let tenant = answer.pending.tenant;
    let now = visitor.now();
    let client = visitor.client();
    let mut tx = visitor.begin(tenant).await?;
    let Some(left) = check::spend_backup_code(visitor, &mut tx, &code).await? else {
        drop(tx);
        check::log_failure(visitor, tenant, SECOND_FACTOR_FAILED, "backup code").await?;
        return Err(answer
            .refuse(Some(account), MfaError::BackupCodeWrong.into())
            .await);
    };
    answer.accepted(&mut tx).await?;
    let email = crate::auth::service::accounts::profile(&mut tx)
        .await?
        .email;
    mail::enqueue(
        &mut tx,
        Mail {
            account: tenant.owner_id,
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
    visitor
        .audit(&mut tx, BACKUP_CODE_USED, &format!("{left} left"))
        .await?;
    tx.commit().await?;
    let method = "password + backup code";
    start_session(visitor, tenant, answer.pending.remember, method).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{ids::OwnerId, region::Region};

    #[test]
    fn the_second_step_waits_five_minutes() {
        let start = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let pending = PendingSignIn {
            tenant: Tenant::new(OwnerId::from_uuid(Uuid::nil()), Region::DEFAULT),
            id: Uuid::nil(),
            remember: true,
            password_accepted_at: start.unix_timestamp(),
        };
        assert!(pending.is_current(start + Duration::seconds(299)));
        assert!(!pending.is_current(start + Duration::minutes(5)));
    }
}
