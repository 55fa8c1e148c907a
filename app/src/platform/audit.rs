//! The security log's storage (promise P5): events appended per tenant, each carrying the hash
//! of the one before it, so that an edited or deleted row breaks the chain. The app role may
//! only read and insert.

use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use thiserror::Error;
use time::OffsetDateTime;

use super::{client::ClientInfo, db::TenantTx};

const GENESIS: [u8; 32] = [0; 32];

#[derive(Debug, Error)]
pub enum AuditError {
    #[error("the security log could not be written or read: {0}")]
    Database(#[from] sqlx::Error),
}

/// One event as stored. `detail` is a short, secret-free explanation (e.g. "wrong password").
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub seq: i64,
    pub occurred_at: OffsetDateTime,
    pub kind: String,
    pub detail: String,
    pub ip_prefix: String,
    pub user_agent: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// Where a tenant's chain first fails to verify.
#[derive(Debug, PartialEq, Eq)]
pub enum ChainBreak {
    /// A row's hash does not match its contents (edited).
    Altered { seq: i64 },
    /// A row does not follow the one before it (deleted or reordered).
    Gap { seq: i64 },
}

fn event_hash(
    prev_hash: &[u8],
    seq: i64,
    occurred_at: OffsetDateTime,
    fields: [&str; 4],
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(seq.to_be_bytes());
    hasher.update(occurred_at.unix_timestamp_nanos().to_be_bytes());
    for field in fields {
        // Length-prefixed, so that moving text between fields changes the hash.
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.finalize().into()
}

/// Appends an event to the tenant's log inside the caller's transaction, so the event commits
/// or rolls back with the change it records.
pub async fn record(
    tx: &mut TenantTx,
    kind: &str,
    detail: &str,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<(), AuditError> {
    append(
        tx,
        kind,
        detail,
        &client.ip_prefix(),
        &client.user_agent,
        now,
    )
    .await
}

/// An event caused by someone else (another tenant's person), whose network and device are not
/// this tenant's to see.
pub async fn record_unattributed(
    tx: &mut TenantTx,
    kind: &str,
    detail: &str,
    now: OffsetDateTime,
) -> Result<(), AuditError> {
    append(tx, kind, detail, "", "", now).await
}

async fn append(
    tx: &mut TenantTx,
    kind: &str,
    detail: &str,
    ip_prefix: &str,
    user_agent: &str,
    now: OffsetDateTime,
) -> Result<(), AuditError> {
    let conn: &mut PgConnection = tx;
    // One writer per tenant at a time, so that sequence numbers and the chain stay linear.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(custodian_current_owner()::text, 1))",
    )
    .execute(&mut *conn)
    .await?;
    let last: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_vec()),
    };
    let hash = event_hash(&prev_hash, seq, now, [kind, detail, ip_prefix, user_agent]);
    sqlx::query(
        "INSERT INTO audit_events \
         (owner_id, seq, occurred_at, kind, detail, ip_prefix, user_agent, prev_hash, hash) \
         VALUES (custodian_current_owner(), $1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(seq)
    .bind(now)
    .bind(kind)
    .bind(detail)
    .bind(ip_prefix)
    .bind(user_agent)
    .bind(&prev_hash)
    .bind(hash.as_slice())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Recomputes the tenant's whole chain; Ok(None) when it is intact.
pub async fn verify_chain(tx: &mut TenantTx) -> Result<Option<ChainBreak>, AuditError> {
    let conn: &mut PgConnection = tx;
    let events: Vec<StoredEvent> = sqlx::query_as(
        "SELECT seq, occurred_at, kind, detail, ip_prefix, user_agent, prev_hash, hash \
         FROM audit_events ORDER BY seq",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut expected_prev = GENESIS.to_vec();
    for (index, event) in events.iter().enumerate() {
        if event.seq != index as i64 + 1 || event.prev_hash != expected_prev {
            return Ok(Some(ChainBreak::Gap { seq: event.seq }));
        }
        let hash = event_hash(
            &event.prev_hash,
            event.seq,
            event.occurred_at,
            [
                &event.kind,
                &event.detail,
                &event.ip_prefix,
                &event.user_agent,
            ],
        );
        if event.hash != hash {
            return Ok(Some(ChainBreak::Altered { seq: event.seq }));
        }
        expected_prev = event.hash.clone();
    }
    Ok(None)
}

/// One page of the log, newest first, optionally of one kind.
pub async fn page(
    tx: &mut TenantTx,
    kind: Option<&str>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredEvent>, AuditError> {
    let conn: &mut PgConnection = tx;
    Ok(sqlx::query_as(
        "SELECT seq, occurred_at, kind, detail, ip_prefix, user_agent, prev_hash, hash \
         FROM audit_events WHERE ($1::text IS NULL OR kind = $1) \
         AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3",
    )
    .bind(kind)
    .bind(before_seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}
