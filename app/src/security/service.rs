//! Sessions and the security log, read and changed inside the signed-in tenant's transaction.

use thiserror::Error;
use uuid::Uuid;

use super::api::{EventRow, LogPage, SessionRow};
use crate::{
    auth::{
        accounts,
        session::{self, CurrentUser},
    },
    platform::{
        audit::{self, AuditError},
        client::{describe_user_agent, ClientInfo},
        clock::to_minute,
        db::{DbError, TenantTx},
        state::AppState,
    },
    ui::form::FormError,
};

const LOG_PAGE_SIZE: i64 = 25;

#[derive(Debug, Error)]
pub enum SecurityError {
    #[error("That session has already ended.")]
    NoSuchSession,
    #[error("To end this session, sign out instead.")]
    ThisSession,
    #[error("the security store failed: {0}")]
    Database(#[from] DbError),
    #[error("the security log failed: {0}")]
    Audit(#[from] AuditError),
}

impl From<sqlx::Error> for SecurityError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error.into())
    }
}

impl From<SecurityError> for FormError {
    fn from(error: SecurityError) -> Self {
        match error {
            SecurityError::Database(_) | SecurityError::Audit(_) => {
                tracing::error!(%error, "security operation failed");
                FormError::Failed
            }
            other => FormError::Page(other.to_string()),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ListedSession {
    id: Uuid,
    created_at: time::OffsetDateTime,
    last_seen_at: time::OffsetDateTime,
    remember: bool,
    user_agent: String,
    ip_prefix: String,
}

/// The account's live sessions, this one first, then the most recently active.
pub async fn sessions(
    state: &AppState,
    user: &CurrentUser,
) -> Result<Vec<SessionRow>, SecurityError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
    let rows: Vec<ListedSession> = sqlx::query_as(
        "SELECT id, created_at, last_seen_at, remember, user_agent, ip_prefix FROM account_sessions \
         WHERE expires_at > $1 AND (remember OR last_seen_at > $2) \
         ORDER BY (id = $3) DESC, last_seen_at DESC",
    )
    .bind(now)
    .bind(now - session::IDLE_TIMEOUT)
    .bind(user.signed_in.account_session)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionRow {
            id: row.id.to_string(),
            device: describe_user_agent(&row.user_agent),
            network: row.ip_prefix,
            created: to_minute(row.created_at),
            last_active: to_minute(row.last_seen_at),
            remembered: row.remember,
            this_device: row.id == user.signed_in.account_session,
        })
        .collect())
}

pub async fn revoke(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    client: &ClientInfo,
) -> Result<(), SecurityError> {
    let id = Uuid::try_parse(id).map_err(|_| SecurityError::NoSuchSession)?;
    if id == user.signed_in.account_session {
        return Err(SecurityError::ThisSession);
    }
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
    let device: Option<String> =
        sqlx::query_scalar("SELECT user_agent FROM account_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let device = device.ok_or(SecurityError::NoSuchSession)?;
    session::delete_listed(&mut tx, id).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "session_revoked",
        &describe_user_agent(&device),
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn revoke_others(
    state: &AppState,
    user: &CurrentUser,
    client: &ClientInfo,
) -> Result<(), SecurityError> {
    let now = state.clock.now();
    let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
    let ended = accounts::end_sessions(&mut tx, Some(user.signed_in.account_session)).await?;
    audit::record(
        &mut tx,
        &state.key_encryption_key,
        "other_sessions_ended",
        &format!("{ended} sessions ended"),
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn log_page(
    state: &AppState,
    user: &CurrentUser,
    kind: Option<&str>,
    before: Option<i64>,
) -> Result<LogPage, SecurityError> {
    let mut tx = TenantTx::begin(&state.pool, user.owner_id()).await?;
    let mut events = audit::page(&mut tx, kind, before, LOG_PAGE_SIZE + 1).await?;
    tx.commit().await?;
    let older = (events.len() as i64 > LOG_PAGE_SIZE).then(|| {
        events.truncate(LOG_PAGE_SIZE as usize);
        events.last().map_or(0, |e| e.seq)
    });
    Ok(LogPage {
        events: events
            .into_iter()
            .map(|e| EventRow {
                seq: e.seq,
                when: to_minute(e.occurred_at),
                kind: e.kind,
                detail: e.detail,
                network: e.ip_prefix,
                device: describe_user_agent(&e.user_agent),
            })
            .collect(),
        older,
    })
}
