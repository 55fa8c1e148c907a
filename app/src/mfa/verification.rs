//! Using codes as second factors: the second step of sign-in with an authenticator code or a
//! backup code, and re-authentication with a code. Passkeys are answered in `passkey_answers`,
//! which shares the pending sign-in's counting from here.
//!
//! Every code is counted before it is checked, against the account (a delay that doubles) and
//! against the pending sign-in (ten tries, then the sign-in ends; at five the owner is told that
//! someone knows the password), so concurrent guesses are all counted.

use time::OffsetDateTime;
use tower_sessions::Session;
use uuid::Uuid;

use super::{
    api::SecondStep,
    backup_codes,
    service::{account_email, usable_factors, MfaError},
    totp,
};
use crate::{
    auth::{
        accounts::AuthError,
        session::{self, CurrentUser, PendingSignIn},
        signin, sudo,
        throttle::{self, SECOND_STEP_MAIL_AT, SECOND_STEP_TRIES},
    },
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

/// The sign-in waiting for its second step, if it has not run out.
pub(super) async fn pending_sign_in(
    state: &AppState,
    session: &Session,
) -> Result<PendingSignIn, MfaError> {
    let pending = session::read_pending(session)
        .await
        .ok_or(MfaError::SecondStepExpired)?;
    if !pending.is_current(state.clock.now()) {
        session::clear_pending(session).await?;
        return Err(MfaError::SecondStepExpired);
    }
    Ok(pending)
}

pub async fn second_step(state: &AppState, session: &Session) -> Result<SecondStep, MfaError> {
    let pending = pending_sign_in(state, session).await?;
    usable_factors(state, pending.owner_id).await
}

/// One answer to the second step of a pending sign-in, counted before it is checked.
pub(super) struct Answer<'a> {
    state: &'a AppState,
    session: &'a Session,
    client: &'a ClientInfo,
    pub(super) pending: PendingSignIn,
    /// The pending sign-in's wrong answers so far, this one included.
    failures: i32,
}

impl<'a> Answer<'a> {
    /// Counts an answer of the session's pending sign-in; the sign-in ends when it had its
    /// tries.
    pub(super) async fn count(
        state: &'a AppState,
        session: &'a Session,
        client: &'a ClientInfo,
    ) -> Result<Self, MfaError> {
        let pending = pending_sign_in(state, session).await?;
        let mut tx = TenantTx::begin(&state.pool, pending.owner_id).await?;
        let counted = throttle::count_second_step(&mut tx, pending.id).await?;
        tx.commit().await?;
        let answer = Self {
            state,
            session,
            client,
            pending,
            failures: counted.unwrap_or(SECOND_STEP_TRIES),
        };
        if counted.is_none() {
            answer.end_pending().await?;
            return Err(MfaError::SecondStepExhausted);
        }
        Ok(answer)
    }

    /// Counts a code against the account's throttle too; a throttled account refuses it
    /// unchecked. Returns the account's consecutive attempts, this one included.
    async fn count_for_account(&self) -> Result<i32, MfaError> {
        match count_account_attempt(self.state, self.pending.owner_id).await {
            Err(throttled @ MfaError::Throttled(_)) => Err(self.refuse(None, throttled).await),
            counted => counted,
        }
    }

    /// The error for a wrong answer. When the account's consecutive wrong codes (`account`,
    /// counted over any number of sign-ins) reach SECOND_STEP_MAIL_AT, the owner hears that their
    /// password is known; at SECOND_STEP_TRIES answers the pending sign-in ends.
    pub(super) async fn refuse(&self, account: Option<i32>, refusal: MfaError) -> MfaError {
        let outcome = async {
            if account == Some(SECOND_STEP_MAIL_AT) {
                self.tell_owner().await?;
            }
            if self.failures >= SECOND_STEP_TRIES {
                self.end_pending().await?;
                return Ok(MfaError::SecondStepExhausted);
            }
            Ok(refusal)
        };
        outcome.await.unwrap_or_else(|failure: MfaError| failure)
    }

    async fn tell_owner(&self) -> Result<(), MfaError> {
        let (state, client, owner_id) = (self.state, self.client, self.pending.owner_id);
        let now = state.clock.now();
        let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
        let email = account_email(&mut tx).await?;
        mail::enqueue(
            &mut tx,
            Mail {
                account: owner_id,
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
    pub(super) async fn accepted(&self, tx: &mut TenantTx) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM pending_sign_ins WHERE id = $1")
            .bind(self.pending.id)
            .execute(&mut **tx)
            .await
            .map(drop)
    }

    /// Ends a pending sign-in that used its tries.
    async fn end_pending(&self) -> Result<(), MfaError> {
        let mut tx = TenantTx::begin(&self.state.pool, self.pending.owner_id).await?;
        self.accepted(&mut tx).await?;
        tx.commit().await?;
        session::clear_pending(self.session).await?;
        Ok(())
    }
}

/// Logs a failed second-factor use.
pub(super) async fn log_failure(
    state: &AppState,
    owner_id: Uuid,
    kind: &str,
    detail: &str,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        kind,
        detail,
        client,
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
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

/// Counts a second-factor attempt of the account, committed before the answer is checked;
/// returns the account's consecutive attempts, this one included.
async fn count_account_attempt(state: &AppState, owner_id: Uuid) -> Result<i32, MfaError> {
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let counted = throttle::count_second_factor_attempt(&mut tx, state.clock.now()).await?;
    tx.commit().await?;
    counted.map_err(MfaError::Throttled)
}

/// Checks a code from the authenticator app (the pending one when `enrolling`) under the
/// account's throttle, logging it when wrong. On success the code's step is spent and the
/// failures cleared in the returned transaction, which the caller finishes and commits.
pub(super) async fn check_totp(
    state: &AppState,
    owner_id: Uuid,
    typed: &str,
    enrolling: bool,
    client: &ClientInfo,
) -> Result<TenantTx, MfaError> {
    let code = totp::normalize_code(typed).ok_or(MfaError::CodeMalformed)?;
    count_account_attempt(state, owner_id).await?;
    verify_totp(state, owner_id, &code, enrolling, client).await
}

/// Checks an already counted code; see `check_totp`.
async fn verify_totp(
    state: &AppState,
    owner_id: Uuid,
    code: &str,
    enrolling: bool,
    client: &ClientInfo,
) -> Result<TenantTx, MfaError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    if !accept_totp(state, &mut tx, code, enrolling, now).await? {
        drop(tx);
        let detail = if enrolling {
            "authenticator setup code"
        } else {
            "authenticator code"
        };
        log_failure(state, owner_id, "second_factor_failed", detail, client).await?;
        return Err(MfaError::CodeWrong);
    }
    throttle::clear_second_factor_failures(&mut tx).await?;
    Ok(tx)
}

pub async fn totp_sign_in(
    state: &AppState,
    session: &Session,
    typed: &str,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    let answer = Answer::count(state, session, client).await?;
    let Some(code) = totp::normalize_code(typed) else {
        return Err(answer.refuse(None, MfaError::CodeMalformed).await);
    };
    let account = answer.count_for_account().await?;
    let owner_id = answer.pending.owner_id;
    let mut tx = match verify_totp(state, owner_id, &code, false, client).await {
        Ok(tx) => tx,
        Err(wrong @ MfaError::CodeWrong) => return Err(answer.refuse(Some(account), wrong).await),
        Err(other) => return Err(other),
    };
    answer.accepted(&mut tx).await?;
    tx.commit().await?;
    signin::start_session(
        state,
        session,
        owner_id,
        answer.pending.remember,
        "password + authenticator app",
        client,
    )
    .await?;
    Ok(())
}

/// Re-authentication with a code. A throttled account refuses the code unchecked, without
/// spending one of the session's tries (so whoever keeps the account throttled cannot end the
/// owner's session).
pub async fn totp_sudo(
    state: &AppState,
    session: &Session,
    user: &CurrentUser,
    typed: &str,
    client: &ClientInfo,
) -> Result<(), MfaError> {
    // The sudo form names its field differently from the sign-in step's.
    let refusal = |error: MfaError| AuthError::SudoCode(error.to_string());
    let code = totp::normalize_code(typed).ok_or_else(|| refusal(MfaError::CodeMalformed))?;
    count_account_attempt(state, user.owner_id())
        .await
        .map_err(|error| match error {
            MfaError::Throttled(_) => MfaError::Auth(refusal(error)),
            other => other,
        })?;
    let attempt = sudo::begin_attempt(state, user, client).await?;
    match verify_totp(state, user.owner_id(), &code, false, client).await {
        Ok(tx) => tx.commit().await?,
        Err(wrong @ MfaError::CodeWrong) => {
            let detail = "authenticator code";
            return Err(
                sudo::failed(state, user, attempt, detail, refusal(wrong), client)
                    .await?
                    .into(),
            );
        }
        Err(other) => return Err(other),
    }
    sudo::open_sudo(state, session, user, "authenticator app", client).await?;
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
    let answer = Answer::count(state, session, client).await?;
    let Some(code) = backup_codes::normalize(typed) else {
        return Err(answer.refuse(None, MfaError::BackupCodeMalformed).await);
    };
    let account = answer.count_for_account().await?;
    let owner_id = answer.pending.owner_id;
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
    let digests = crypto::keyed_digests(
        &mut tx,
        &state.key_encryption_key,
        Purpose::BackupCode,
        code.as_bytes(),
        now,
    )
    .await?;
    let spent = sqlx::query(
        "UPDATE backup_codes SET used_at = $2 WHERE code_digest = ANY($1) AND used_at IS NULL",
    )
    .bind(&digests[..])
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if spent == 0 {
        drop(tx);
        log_failure(
            state,
            owner_id,
            "second_factor_failed",
            "backup code",
            client,
        )
        .await?;
        return Err(answer
            .refuse(Some(account), MfaError::BackupCodeWrong)
            .await);
    }
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM backup_codes WHERE used_at IS NULL")
        .fetch_one(&mut *tx)
        .await?;
    throttle::clear_second_factor_failures(&mut tx).await?;
    answer.accepted(&mut tx).await?;
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
        &state.key_encryption_key,
        "backup_code_used",
        &format!("{left} left"),
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    signin::start_session(
        state,
        session,
        owner_id,
        answer.pending.remember,
        "password + backup code",
        client,
    )
    .await?;
    Ok(())
}
