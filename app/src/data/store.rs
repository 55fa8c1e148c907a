//! The Your data area's SQL, the only SQL for the table it owns: `data_exports` (a tenant
//! table: each export's state, progress and outcome).
//!
//! Owns: `data_exports`.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::platform::{
    db::{self, TenantTx},
    ids::OwnerId,
    jobs::BoxFuture,
    portable::{field, FieldType::*, RecordKind, Withheld},
    server_parts::for_owner,
};

/// An export as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredExport {
    pub id: Uuid,
    pub state: String,
    pub stage: String,
    pub files_done: i32,
    pub files_total: i32,
    pub records_written: i64,
    pub requested_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub expires_at: Option<OffsetDateTime>,
    pub size_bytes: Option<i64>,
    pub failure: Option<String>,
}

const COLUMNS: &str = "id, state, stage, files_done, files_total, records_written, requested_at, \
                       finished_at, expires_at, size_bytes, failure";

/// Makes the tenant's export requests wait for each other until the transaction ends, so the
/// daily limit is counted by one request at a time.
pub async fn lock_requests(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    let key = format!("data_exports:{}", tx.owner_id());
    db::lock_until_commit(tx, &key).await
}

/// The export being built or waiting to be, if any.
pub async fn active(tx: &mut TenantTx) -> Result<Option<StoredExport>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM data_exports WHERE owner_id = $1 AND state IN ('queued', 'building')"
    ))
    .bind(tx.owner_id())
    .fetch_optional(&mut **tx)
    .await
}

/// When each export that did not fail was asked for, since `since`, oldest first.
pub async fn counted_since(
    tx: &mut TenantTx,
    since: OffsetDateTime,
) -> Result<Vec<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT requested_at FROM data_exports \
         WHERE owner_id = $1 AND requested_at > $2 AND state <> 'failed' ORDER BY requested_at",
    )
    .bind(tx.owner_id())
    .bind(since)
    .fetch_all(&mut **tx)
    .await
}

pub async fn insert(tx: &mut TenantTx, id: Uuid, now: OffsetDateTime) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO data_exports (owner_id, id, requested_at) VALUES ($1, $2, $3)")
        .bind(tx.owner_id())
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// The tenant's exports, newest first.
pub async fn list(tx: &mut TenantTx, limit: i64) -> Result<Vec<StoredExport>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM data_exports WHERE owner_id = $1 \
         ORDER BY requested_at DESC, id LIMIT $2"
    ))
    .bind(tx.owner_id())
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

pub async fn get(tx: &mut TenantTx, id: Uuid) -> Result<Option<StoredExport>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM data_exports WHERE owner_id = $1 AND id = $2"
    ))
    .bind(tx.owner_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// Marks the export as building (again, after a crash); false when it is no longer wanted.
pub async fn start_building(
    tx: &mut TenantTx,
    id: Uuid,
    files_total: i32,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE data_exports SET state = 'building', stage = 'Starting', files_done = 0, \
         files_total = $3, records_written = 0 \
         WHERE owner_id = $1 AND id = $2 AND state IN ('queued', 'building')",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(files_total)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn record_progress(
    tx: &mut TenantTx,
    id: Uuid,
    stage: &str,
    files_done: i32,
    records: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE data_exports SET stage = $3, files_done = $4, records_written = $5 \
         WHERE owner_id = $1 AND id = $2 AND state = 'building'",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(stage)
    .bind(files_done)
    .bind(records)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// What a finished archive is.
pub struct Finished<'a> {
    pub at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub size_bytes: i64,
    pub manifest_sha256: &'a str,
    pub records: i64,
}

/// Holds the export's row until the transaction ends, if it is still being built.
pub async fn hold_building(tx: &mut TenantTx, id: Uuid) -> Result<bool, sqlx::Error> {
    let held: Option<i32> = sqlx::query_scalar(
        "SELECT 1 FROM data_exports WHERE owner_id = $1 AND id = $2 AND state = 'building' FOR UPDATE",
    )
    .bind(tx.owner_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(held.is_some())
}

/// Marks the export ready (its row held by `hold_building`).
pub async fn finish(tx: &mut TenantTx, id: Uuid, done: &Finished<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE data_exports SET state = 'ready', stage = 'Ready', files_done = files_total, \
         finished_at = $3, expires_at = $4, size_bytes = $5, manifest_sha256 = $6, records_written = $7 \
         WHERE owner_id = $1 AND id = $2 AND state = 'building'",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(done.at)
    .bind(done.expires_at)
    .bind(done.size_bytes)
    .bind(done.manifest_sha256)
    .bind(done.records)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Marks the export failed with a reason; false when it was no longer building.
pub async fn fail(
    tx: &mut TenantTx,
    id: Uuid,
    at: OffsetDateTime,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE data_exports SET state = 'failed', stage = 'Failed', finished_at = $3, failure = $4 \
         WHERE owner_id = $1 AND id = $2 AND state IN ('queued', 'building')",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(at)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Marks the export deleted (its file goes with it); returns the state it had, None when there
/// is no such export of this tenant (or it failed: it has nothing to delete).
pub async fn mark_deleted(tx: &mut TenantTx, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE data_exports AS e SET state = 'deleted', stage = 'Deleted' \
         FROM (SELECT id, state FROM data_exports WHERE owner_id = $1 AND id = $2 \
               AND state IN ('queued', 'building', 'ready', 'deleted') FOR UPDATE) AS before \
         WHERE e.owner_id = $1 AND e.id = before.id RETURNING before.state",
    )
    .bind(tx.owner_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// The moment the transaction's snapshot was taken.
pub async fn snapshot_time(conn: &mut PgConnection) -> Result<OffsetDateTime, sqlx::Error> {
    sqlx::query_scalar("SELECT now()").fetch_one(conn).await
}

pub fn erase(tx: &mut TenantTx) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let owner_id = tx.owner_id();
        for_owner(tx, owner_id, &["DELETE FROM data_exports WHERE owner_id = $1"]).await?;
        for_owner(tx, owner_id, super::rights::store::ERASE).await
    })
}

pub fn seed(conn: &mut PgConnection, owner: OwnerId) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        for_owner(conn, owner, &[
            "INSERT INTO data_exports (owner_id, id, state, requested_at) \
             VALUES ($1, gen_random_uuid(), 'failed', now())",
        ])
        .await?;
        for_owner(conn, owner, super::rights::store::SEED).await
    })
}

/// The exports themselves, in an export: its history of earlier ones.
pub const EXPORTS: &[RecordKind] = &[
    EXPORT_RECORDS,
    super::rights::store::REQUEST_RECORDS,
    super::rights::store::RIGHT_RECORDS,
    super::rights::store::MARKETING_RECORDS,
];

const EXPORT_RECORDS: RecordKind = RecordKind {
    file: "data/exports.json",
    title: "Exports",
    about: "Your earlier exports of your data (this one included, as it was when the snapshot was taken).",
    tables: &["data_exports"],
    from: "FROM data_exports WHERE owner_id = $1",
    order_by: "requested_at, id",
    fields: &[
        field("id", "id::text", Text, "The export's id."),
        field("state", "state", Text, "queued, building, ready, deleted or failed."),
        field("requested_at", "requested_at", Time, "When you asked for it."),
        field("finished_at", "finished_at", OptionalTime, "When it was ready or failed."),
        field("expires_at", "expires_at", OptionalTime, "When its archive is deleted."),
        field("size_bytes", "size_bytes", OptionalInteger, "The archive's size in bytes."),
        field("manifest_sha256", "manifest_sha256", OptionalText, "The SHA-256 of its manifest.json."),
        field("failure", "failure", OptionalText, "Why it failed."),
    ],
    documents: None,
};

pub const WITHHELD: &[Withheld] = &[];
