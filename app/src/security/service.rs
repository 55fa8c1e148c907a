//! Sessions and the security log, read and changed inside the signed-in tenant's transaction.
//! Ending a session needs the sudo window.

use thiserror::Error;

use crate::{
    platform::{
        area::EventKind,
        audit,
        client::describe_user_agent,
        clock::to_minute,
        context::{SignedIn, Sudo},
        crypto,
        error::{infra_conversions, InfraError},
        ids::AccountSessionId,
        session::listing,
    },
    security::model::{
        DataKeyStatus, EventRow, LogPage, SessionRow, DATA_KEY_ROTATED, LOG_PAGE_SIZE,
        OTHER_SESSIONS_ENDED,
    },
    signin::{model::SESSION_REVOKED, service::session::end_sessions},
    ui::FormError,
};

#[derive(Debug, Error)]
pub enum SecurityError {
    #[error("That session has already ended.")]
    NoSuchSession,
    #[error("To end this session, sign out instead.")]
    ThisSession,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(SecurityError);

impl From<SecurityError> for FormError {
    fn from(error: SecurityError) -> Self {
        match error {
            SecurityError::Infra(infra) => infra.into(),
            refusal => FormError::Page(refusal.to_string()),
        }
    }
}

/// The account's live sessions, this one first, then the most recently active.
pub async fn sessions(me: &SignedIn) -> Result<Vec<SessionRow>, SecurityError> {
    let this = me.user().account_session();
    let mut tx = me.begin_own().await?;
    let rows = listing::live(&mut tx, me.now(), this).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|row| SessionRow {
            id: row.id,
            device: describe_user_agent(&row.user_agent),
            network: row.ip_prefix,
            created: to_minute(row.created_at),
            last_active: to_minute(row.last_seen_at),
            remembered: row.remember,
            this_device: row.id == this,
        })
        .collect())
}

pub async fn revoke(me: &Sudo, id: AccountSessionId) -> Result<(), SecurityError> {
    if id == me.user().account_session() {
        return Err(SecurityError::ThisSession);
    }
    let mut tx = me.begin_own().await?;
    let device = listing::user_agent_of(&mut tx, id)
        .await?
        .ok_or(SecurityError::NoSuchSession)?;
    listing::delete(&mut tx, id).await?;
    me.audit(&mut tx, SESSION_REVOKED, &describe_user_agent(&device))
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn revoke_others(me: &Sudo) -> Result<(), SecurityError> {
    let mut tx = me.begin_own().await?;
    let ended = end_sessions(&mut tx, Some(me.user().account_session())).await?;
    me.audit(
        &mut tx,
        OTHER_SESSIONS_ENDED,
        &format!("{ended} sessions ended"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One page of the log, newest first, optionally of one kind.
pub async fn log_page(
    me: &SignedIn,
    kind: Option<EventKind>,
    before: Option<i64>,
) -> Result<LogPage, SecurityError> {
    let mut tx = me.begin_own().await?;
    let code = kind.map(|kind| kind.code);
    let mut events = audit::page(&mut tx, code, before, LOG_PAGE_SIZE + 1).await?;
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

/// The account's newest data key (made at sign-up, or now for an account older than keys).
pub async fn data_key(me: &SignedIn) -> Result<DataKeyStatus, SecurityError> {
    let mut tx = me.begin_own().await?;
    let newest = match crypto::newest_key(&mut tx).await? {
        Some(newest) => newest,
        None => {
            crypto::create_data_key(&mut tx, &me.state().key_encryption_key, me.now()).await?;
            (1, me.now())
        }
    };
    tx.commit().await?;
    Ok(DataKeyStatus {
        version: newest.0,
        created: to_minute(newest.1),
    })
}

/// Rotates the account's data key: every sealed value is sealed again with a new one, with its
/// security-log event, in one transaction.
pub async fn rotate_data_key(me: &Sudo) -> Result<i32, SecurityError> {
    let mut tx = me.begin_own().await?;
    let (version, resealed) =
        crate::server::rotate_data_key(&mut tx, &me.state().key_encryption_key, me.now()).await?;
    let detail = format!("now version {version}; {resealed} sealed value(s) sealed again");
    me.audit(&mut tx, DATA_KEY_ROTATED, &detail).await?;
    tx.commit().await?;
    Ok(version)
}
