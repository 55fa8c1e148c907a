//! The security log's storage (promise P5): events appended per tenant, each carrying a MAC
//! (keyed by the server, so only it can extend the chain) of its contents and of the one before
//! it, so that an edited or deleted row breaks the chain. The head is checkpointed and signed
//! every `CHECKPOINT_EVERY` events or `CHECKPOINT_AFTER`, so a log cut short after a checkpoint
//! is caught too. The app role may only read and insert.
//!
//! Owns: `audit_events`, `audit_checkpoints`, `audit_cuts`, `maintenance_done` (one-time upgrades
//! done).

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use thiserror::Error;
use time::{Duration, OffsetDateTime};

use super::{
    area::EventKind,
    client::ClientInfo,
    db::TenantTx,
    ids::OwnerId,
    keys::{Derived, KeyEncryptionKey},
};

/// A checkpoint is signed after this many events since the last one…
pub const CHECKPOINT_EVERY: i64 = 20;
/// …or with the first event this long after it.
pub const CHECKPOINT_AFTER: Duration = Duration::hours(1);

const GENESIS: [u8; 32] = [0; 32];

#[derive(Debug, Error)]
pub enum AuditError {
    #[error("the security log could not be written or read: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the security log's database could not be reached: {0}")]
    Unreachable(#[from] super::db::DbError),
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
    /// A checkpoint's signature is not the server's, or the chain no longer has the head it
    /// signed.
    Checkpoint { seq: i64 },
    /// The log ends before the newest checkpoint: events were cut off its end.
    Truncated { checkpoint: i64, last: i64 },
}

/// How a chain's links are computed.
#[derive(Clone, Copy)]
enum Hashing<'a> {
    /// HMAC-SHA256 under a key derived from the key-encryption key: only the server can
    /// extend or rewrite the chain.
    Keyed(&'a KeyEncryptionKey),
    /// Plain SHA-256, as logs were written before they were keyed; anyone can recompute it.
    /// Read only to upgrade those logs.
    Legacy,
}

impl Hashing<'_> {
    fn event(
        self,
        prev_hash: &[u8],
        seq: i64,
        occurred_at: OffsetDateTime,
        fields: [&str; 4],
    ) -> [u8; 32] {
        let mut parts: Vec<&[u8]> = Vec::with_capacity(11);
        let seq = seq.to_be_bytes();
        let at = occurred_at.unix_timestamp_nanos().to_be_bytes();
        // Length-prefixed fields, so that moving text between fields changes the hash.
        let lengths = fields.map(|field| (field.len() as u64).to_be_bytes());
        parts.extend([prev_hash, &seq[..], &at[..]]);
        for (field, length) in fields.iter().zip(&lengths) {
            parts.extend([&length[..], field.as_bytes()]);
        }
        match self {
            Self::Keyed(kek) => {
                let mut mac =
                    <Hmac<Sha256> as Mac>::new_from_slice(&kek.derive(Derived::AuditChainMac))
                        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
                parts.iter().for_each(|part| mac.update(part));
                mac.finalize().into_bytes().into()
            }
            Self::Legacy => {
                let mut digest = <Sha256 as Digest>::new();
                parts.iter().for_each(|part| digest.update(part));
                digest.finalize().into()
            }
        }
    }

    /// Where `events` (a tenant's log, in order) first fails to chain; None when intact.
    fn chain_break(self, events: &[StoredEvent]) -> Option<ChainBreak> {
        self.chain_break_after(0, &GENESIS, events)
    }

    /// Like `chain_break`, for a log whose events up to `start_seq` (with hash `start_hash`)
    /// were cut.
    fn chain_break_after(
        self,
        start_seq: i64,
        start_hash: &[u8],
        events: &[StoredEvent],
    ) -> Option<ChainBreak> {
        let mut expected_prev = start_hash.to_vec();
        for (index, event) in events.iter().enumerate() {
            if event.seq != start_seq + index as i64 + 1 || event.prev_hash != expected_prev {
                return Some(ChainBreak::Gap { seq: event.seq });
            }
            let fields = [
                event.kind.as_str(),
                &event.detail,
                &event.ip_prefix,
                &event.user_agent,
            ];
            if event.hash != self.event(&event.prev_hash, event.seq, event.occurred_at, fields) {
                return Some(ChainBreak::Altered { seq: event.seq });
            }
            expected_prev = event.hash.clone();
        }
        None
    }
}

fn checkpoint_signer(kek: &KeyEncryptionKey) -> SigningKey {
    SigningKey::from_bytes(&kek.derive(Derived::AuditCheckpointSigning))
}

/// What a checkpoint signs: the tenant, the head's position and hash, and when.
fn checkpoint_message(
    owner_id: OwnerId,
    seq: i64,
    hash: &[u8],
    signed_at: OffsetDateTime,
) -> Vec<u8> {
    signed_message(
        b"custodian audit checkpoint v1",
        owner_id,
        seq,
        hash,
        signed_at,
    )
}

/// What a cut signs: as a checkpoint, under its own label, so neither passes for the other.
fn cut_message(owner_id: OwnerId, seq: i64, hash: &[u8], cut_at: OffsetDateTime) -> Vec<u8> {
    signed_message(b"custodian audit cut v1", owner_id, seq, hash, cut_at)
}

fn signed_message(
    label: &[u8],
    owner_id: OwnerId,
    seq: i64,
    hash: &[u8],
    signed_at: OffsetDateTime,
) -> Vec<u8> {
    let mut message = label.to_vec();
    message.extend_from_slice(owner_id.as_uuid().as_bytes());
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(hash);
    // Microseconds: what PostgreSQL keeps of a time.
    message.extend_from_slice(&(signed_at.unix_timestamp_nanos() / 1_000).to_be_bytes());
    message
}

/// Appends an event to the tenant's log inside the caller's transaction, so the event commits
/// or rolls back with the change it records.
pub async fn record(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    kind: EventKind,
    detail: &str,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<(), AuditError> {
    append(
        tx,
        kek,
        kind.code,
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
    kek: &KeyEncryptionKey,
    kind: EventKind,
    detail: &str,
    now: OffsetDateTime,
) -> Result<(), AuditError> {
    append(tx, kek, kind.code, detail, "", "", now).await
}

async fn append(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    kind: &str,
    detail: &str,
    ip_prefix: &str,
    user_agent: &str,
    now: OffsetDateTime,
) -> Result<(), AuditError> {
    let owner_id = tx.owner_id();
    let conn: &mut PgConnection = tx;
    // One writer per tenant at a time, so that sequence numbers and the chain stay linear.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(custodian_current_owner()::text, 1))",
    )
    .execute(&mut *conn)
    .await?;
    // A log cut to nothing by the retention schedule goes on from the cut.
    let last: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "(SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1) UNION ALL \
         (SELECT seq, hash FROM audit_cuts ORDER BY seq DESC LIMIT 1) ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_vec()),
    };
    let hash =
        Hashing::Keyed(kek).event(&prev_hash, seq, now, [kind, detail, ip_prefix, user_agent]);
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
    let last_checkpoint: Option<(i64, OffsetDateTime)> =
        sqlx::query_as("SELECT seq, signed_at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let due = last_checkpoint.is_none_or(|(at_seq, signed_at)| {
        seq - at_seq >= CHECKPOINT_EVERY || now - signed_at >= CHECKPOINT_AFTER
    });
    if due {
        checkpoint(conn, kek, owner_id, seq, &hash, now).await?;
    }
    Ok(())
}

/// Signs the head of a tenant's chain (event `seq`, whose hash is `hash`).
async fn checkpoint(
    conn: &mut PgConnection,
    kek: &KeyEncryptionKey,
    owner_id: OwnerId,
    seq: i64,
    hash: &[u8],
    now: OffsetDateTime,
) -> Result<(), AuditError> {
    let signature = checkpoint_signer(kek).sign(&checkpoint_message(owner_id, seq, hash, now));
    sqlx::query(
        "INSERT INTO audit_checkpoints (owner_id, seq, hash, signed_at, signature) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(owner_id)
    .bind(seq)
    .bind(hash)
    .bind(now)
    .bind(signature.to_bytes().as_slice())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const REKEYED: &str = "audit chains keyed";

/// One-time upgrade, run by the server with the migration role (the app role may not rewrite
/// the log): each log written before the chain was keyed, in plain SHA-256 that anyone can
/// recompute, is verified as such, rewritten keyed and checkpointed. A log that verifies neither
/// way is left as it is, for `custodian audit verify` to report. Returns how many logs were
/// rewritten; several servers starting at once do it once.
pub async fn rekey_legacy_chains(
    owner: &PgPool,
    kek: &KeyEncryptionKey,
    now: OffsetDateTime,
) -> Result<u64, AuditError> {
    let mut tx = owner.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(REKEYED)
        .execute(&mut *tx)
        .await?;
    let done: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM maintenance_done WHERE name = $1)")
            .bind(REKEYED)
            .fetch_one(&mut *tx)
            .await?;
    if done {
        return Ok(0);
    }
    // The address directory is read too: row-level security hides `tenants` from an owner role
    // that is not superuser, and the directory is the one list of tenants it does not hide.
    let logs: Vec<OwnerId> = sqlx::query_scalar(
        "SELECT account FROM email_directory UNION SELECT owner_id FROM tenants",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut rewritten = 0;
    for owner_id in logs {
        // Each log in its tenant's context, so forced row-level security lets it through.
        sqlx::query("SELECT set_config('app.owner_id', $1, true)")
            .bind(owner_id.to_string())
            .execute(&mut *tx)
            .await?;
        let mut events: Vec<StoredEvent> = sqlx::query_as(
            "SELECT seq, occurred_at, kind, detail, ip_prefix, user_agent, prev_hash, hash \
             FROM audit_events WHERE owner_id = $1 ORDER BY seq",
        )
        .bind(owner_id)
        .fetch_all(&mut *tx)
        .await?;
        let legacy = !events.is_empty()
            && Hashing::Keyed(kek).chain_break(&events).is_some()
            && Hashing::Legacy.chain_break(&events).is_none();
        if !legacy {
            continue;
        }
        let mut prev_hash = GENESIS.to_vec();
        for event in &mut events {
            let fields = [
                event.kind.as_str(),
                &event.detail,
                &event.ip_prefix,
                &event.user_agent,
            ];
            let hash = Hashing::Keyed(kek).event(&prev_hash, event.seq, event.occurred_at, fields);
            sqlx::query(
                "UPDATE audit_events SET prev_hash = $3, hash = $4 WHERE owner_id = $1 AND seq = $2",
            )
            .bind(owner_id)
            .bind(event.seq)
            .bind(&prev_hash)
            .bind(hash.as_slice())
            .execute(&mut *tx)
            .await?;
            prev_hash = hash.to_vec();
        }
        let head = events.len() as i64;
        checkpoint(&mut tx, kek, owner_id, head, &prev_hash, now).await?;
        rewritten += 1;
    }
    sqlx::query("INSERT INTO maintenance_done (name, done_at) VALUES ($1, $2)")
        .bind(REKEYED)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if rewritten > 0 {
        tracing::info!(
            logs = rewritten,
            "security logs rewritten with the keyed chain"
        );
    }
    Ok(rewritten)
}

/// What a verified chain holds.
#[derive(Debug, PartialEq, Eq)]
pub struct ChainSummary {
    pub events: i64,
    pub checkpoints: i64,
}

/// Recomputes the tenant's whole chain and checks every checkpoint; Ok(None) when both are
/// intact.
pub async fn verify_chain(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
) -> Result<Option<ChainBreak>, AuditError> {
    verify(tx, kek).await.map(Result::err)
}

/// Like `verify_chain`, with the counts of an intact chain.
pub async fn verify(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
) -> Result<Result<ChainSummary, ChainBreak>, AuditError> {
    let owner_id = tx.owner_id();
    let conn: &mut PgConnection = tx;
    let events: Vec<StoredEvent> = sqlx::query_as(
        "SELECT seq, occurred_at, kind, detail, ip_prefix, user_agent, prev_hash, hash \
         FROM audit_events ORDER BY seq",
    )
    .fetch_all(&mut *conn)
    .await?;
    let cut: Option<(i64, Vec<u8>, OffsetDateTime, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, hash, cut_at, signature FROM audit_cuts ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let (start_seq, start_hash) = match &cut {
        Some((seq, hash, cut_at, signature)) => {
            if !genuine(kek, &cut_message(owner_id, *seq, hash, *cut_at), signature) {
                return Ok(Err(ChainBreak::Checkpoint { seq: *seq }));
            }
            (*seq, hash.clone())
        }
        None => (0, GENESIS.to_vec()),
    };
    if let Some(chain_break) =
        Hashing::Keyed(kek).chain_break_after(start_seq, &start_hash, &events)
    {
        return Ok(Err(chain_break));
    }
    let checkpoints: Vec<(i64, Vec<u8>, OffsetDateTime, Vec<u8>)> = sqlx::query_as(
        "SELECT seq, hash, signed_at, signature FROM audit_checkpoints ORDER BY seq",
    )
    .fetch_all(&mut *conn)
    .await?;
    let last = events.last().map_or(start_seq, |e| e.seq);
    for (seq, hash, signed_at, signature) in &checkpoints {
        if !genuine(
            kek,
            &checkpoint_message(owner_id, *seq, hash, *signed_at),
            signature,
        ) {
            return Ok(Err(ChainBreak::Checkpoint { seq: *seq }));
        }
        match usize::try_from(*seq - start_seq - 1)
            .ok()
            .and_then(|i| events.get(i))
        {
            Some(event) if event.hash == *hash => {}
            Some(_) => return Ok(Err(ChainBreak::Checkpoint { seq: *seq })),
            None => {
                return Ok(Err(ChainBreak::Truncated {
                    checkpoint: *seq,
                    last,
                }))
            }
        }
    }
    Ok(Ok(ChainSummary {
        events: last,
        checkpoints: checkpoints.len() as i64,
    }))
}

/// Whether `signature` is the server's checkpoint signature over `message`.
fn genuine(kek: &KeyEncryptionKey, message: &[u8], signature: &[u8]) -> bool {
    Signature::from_slice(signature).is_ok_and(|signature| {
        checkpoint_signer(kek)
            .verifying_key()
            .verify(message, &signature)
            .is_ok()
    })
}

/// The retention schedule's cut (promise P16): in every log of the region's database, the
/// events older than `days` (by the database's clock, which refuses fewer days than the
/// schedule) are removed, after a signed record of the chain's head at the cut, from which the
/// rest still verifies. A log that does not verify is left whole, for `custodian audit verify`
/// to report: a cut must not cover up what was changed. Returns how many logs were cut.
pub async fn cut_before(
    pool: &PgPool,
    kek: &KeyEncryptionKey,
    region: super::region::Region,
    days: i32,
    now: OffsetDateTime,
) -> Result<u64, AuditError> {
    let heads: Vec<(OwnerId, i64, Vec<u8>)> =
        sqlx::query_as("SELECT owner_id, seq, hash FROM custodian_audit_cut_heads($1)")
            .bind(days)
            .fetch_all(pool)
            .await?;
    let mut cut = 0;
    for (owner_id, seq, hash) in heads {
        let tenant = super::region::Tenant::new(owner_id, region);
        match cut_one(pool, kek, tenant, (seq, &hash), days, now).await {
            Ok(done) => cut += u64::from(done),
            Err(error) => tracing::warn!(%error, "could not cut a security log"),
        }
    }
    Ok(cut)
}

async fn cut_one(
    pool: &PgPool,
    kek: &KeyEncryptionKey,
    tenant: super::region::Tenant,
    (seq, hash): (i64, &[u8]),
    days: i32,
    now: OffsetDateTime,
) -> Result<bool, AuditError> {
    let mut tx = TenantTx::begin_on(pool, tenant).await?;
    if let Some(chain_break) = verify_chain(&mut tx, kek).await? {
        tracing::warn!(
            ?chain_break,
            "a security log that does not verify is not cut"
        );
        return Ok(false);
    }
    let signature = checkpoint_signer(kek).sign(&cut_message(tenant.owner_id, seq, hash, now));
    let done: bool = sqlx::query_scalar("SELECT custodian_audit_cut($1, $2, $3, $4, $5, $6)")
        .bind(tenant.owner_id)
        .bind(seq)
        .bind(hash)
        .bind(days)
        .bind(now)
        .bind(signature.to_bytes().as_slice())
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done)
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
