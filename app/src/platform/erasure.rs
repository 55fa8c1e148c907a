//! The erasure ledger of account deletions (promise P8): one entry per purged tenant, written
//! before the purge and completed store by store, naming the tenant only by a keyed hash of its
//! id. It proves each purge (the signed deletion receipt is made from it) and is what a restored
//! backup replays, so it is kept twice: in the live database and in a file in the data
//! directory, outside every backup.
//!
//! Owns: `deletion_ledger`.

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt as _;
use uuid::Uuid;

use super::{
    db::TenantTx,
    ids::OwnerId,
    keys::{hex, Derived, KeyEncryptionKey},
    signed::{self, Unverified},
};

/// The name a deletion receipt's body is signed under.
pub const RECEIPT: &str = "deletion";

/// The keyed hash that names a tenant in the ledger: a restore can tell whether a tenant it
/// finds was purged, but the ledger alone names no one.
pub fn tenant_hash(key: &KeyEncryptionKey, owner_id: OwnerId) -> [u8; 32] {
    key.mac(Derived::ErasureLedger, owner_id.as_uuid().as_bytes())
}

/// One purge, as the ledger holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub id: Uuid,
    pub tenant_hash: Vec<u8>,
    pub region: String,
    pub requested_at: OffsetDateTime,
    pub grace_ends_at: OffsetDateTime,
    pub purged_at: Option<OffsetDateTime>,
    pub database_rows: String,
    pub data_key: String,
    pub mail_outbox: String,
    pub export_archives: String,
    pub files: String,
    pub rows_removed: Value,
    pub data_keys_destroyed: i32,
}

impl Entry {
    /// Whether the database's share is done (rows, data keys, outbox).
    pub fn rows_deleted(&self) -> bool {
        self.database_rows == "deleted"
    }

    /// Whether the files' share is done too.
    pub fn complete(&self) -> bool {
        self.rows_deleted() && self.files == "removed" && self.export_archives == "removed"
    }
}

const ENTRY_COLUMNS: &str = "id, tenant_hash, region, requested_at, grace_ends_at, purged_at, \
    database_rows, data_key, mail_outbox, export_archives, files, rows_removed, data_keys_destroyed";

/// The ledger entry of the transaction's tenant: the one written by an earlier run, or a new one
/// with every store pending.
pub async fn open_entry(
    tx: &mut TenantTx,
    key: &KeyEncryptionKey,
    requested_at: OffsetDateTime,
    grace_ends_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Entry, sqlx::Error> {
    let hash = tenant_hash(key, tx.owner_id());
    let region = tx.tenant().region.as_str();
    sqlx::query(
        "INSERT INTO deletion_ledger (id, tenant_hash, region, requested_at, grace_ends_at, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_hash) DO NOTHING",
    )
    .bind(Uuid::new_v4())
    .bind(hash.as_slice())
    .bind(region)
    .bind(requested_at)
    .bind(grace_ends_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query_as(&format!(
        "SELECT {ENTRY_COLUMNS} FROM deletion_ledger WHERE tenant_hash = $1"
    ))
    .bind(hash.as_slice())
    .fetch_one(&mut **tx)
    .await
}

/// The ledger entry of a tenant, if it was ever purged (or is being purged) here.
pub async fn entry_of(
    conn: &mut PgConnection,
    key: &KeyEncryptionKey,
    owner_id: OwnerId,
) -> Result<Option<Entry>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENTRY_COLUMNS} FROM deletion_ledger WHERE tenant_hash = $1"
    ))
    .bind(tenant_hash(key, owner_id).as_slice())
    .fetch_optional(conn)
    .await
}

/// Every entry of one database's ledger.
pub async fn entries(pool: &PgPool) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {ENTRY_COLUMNS} FROM deletion_ledger ORDER BY recorded_at"
    ))
    .fetch_all(pool)
    .await
}

/// Writes an entry (from the file ledger) into a database that lacks it: a restored backup
/// learns of the purges made after it was taken.
pub async fn insert_missing(conn: &mut PgConnection, line: &FileLine) -> Result<(), sqlx::Error> {
    // The line's hash is hexadecimal; anything else fails to decode and the restore stops.
    sqlx::query(
        "INSERT INTO deletion_ledger (id, tenant_hash, region, requested_at, grace_ends_at, \
         purged_at, database_rows, data_key, mail_outbox, export_archives, files, recorded_at) \
         VALUES ($1, decode($2, 'hex'), $3, $4, $5, $6, 'deleted', 'destroyed', 'erased', 'removed', 'removed', $6) \
         ON CONFLICT DO NOTHING",
    )
    .bind(line.id)
    .bind(&line.tenant_hash)
    .bind(&line.region)
    .bind(line.requested_at)
    .bind(line.grace_ends_at)
    .bind(line.purged_at)
    .execute(conn)
    .await
    .map(drop)
}

/// The rows the directory let go of, added to the entry.
pub async fn record_routes_forgotten(
    pool: &PgPool,
    id: Uuid,
    removed: &Value,
) -> Result<(), sqlx::Error> {
    // A repeated step finds nothing left: the first count stays.
    sqlx::query("UPDATE deletion_ledger SET rows_removed = $2 || rows_removed WHERE id = $1")
        .bind(id)
        .bind(removed)
        .execute(pool)
        .await
        .map(drop)
}

/// Deletes every row of the transaction's tenant in its region (its deletion must be due) and
/// completes the entry's database share in the same transaction. `buckets` are the tenant's
/// rate-limit buckets; `keep_job` the purge's own job, removed when it finishes.
pub async fn purge_rows(
    tx: &mut TenantTx,
    entry: &Entry,
    buckets: &[String],
    keep_job: Uuid,
    now: OffsetDateTime,
) -> Result<Entry, sqlx::Error> {
    let removed: Value = sqlx::query_scalar("SELECT custodian_purge_tenant($1, $2, $3)")
        .bind(now)
        .bind(buckets)
        .bind(keep_job)
        .fetch_one(&mut **tx)
        .await?;
    let data_keys = removed
        .get("public.data_keys")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    sqlx::query_as(&format!(
        "UPDATE deletion_ledger SET purged_at = $2, database_rows = 'deleted', \
         data_key = 'destroyed', mail_outbox = 'erased', rows_removed = $3 || rows_removed, \
         data_keys_destroyed = $4 WHERE id = $1 AND database_rows = 'pending' \
         RETURNING {ENTRY_COLUMNS}"
    ))
    .bind(entry.id)
    .bind(now)
    .bind(&removed)
    .bind(i32::try_from(data_keys).unwrap_or(i32::MAX))
    .fetch_one(&mut **tx)
    .await
}

/// The tenant's archives and files are gone from the data directory.
pub async fn record_files_removed(pool: &PgPool, id: Uuid) -> Result<Entry, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE deletion_ledger SET export_archives = 'removed', files = 'removed' \
         WHERE id = $1 RETURNING {ENTRY_COLUMNS}"
    ))
    .bind(id)
    .fetch_one(pool)
    .await
}

/// The code hashes of the invites the transaction's tenant made or used.
pub async fn invite_codes(tx: &mut TenantTx) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT custodian_invite_codes_of_current()")
        .fetch_one(&mut **tx)
        .await
}

/// Removes the directory's rows of a tenant: its address's route (the address is free to sign
/// up again), its invites' routes, move requests and move erasures. Returns them per table.
pub async fn forget_routes(
    directory: &PgPool,
    owner_id: OwnerId,
    codes: &[Vec<u8>],
) -> Result<Value, sqlx::Error> {
    sqlx::query_scalar("SELECT custodian_forget_routes($1, $2)")
        .bind(owner_id.as_uuid())
        .bind(codes)
        .fetch_one(directory)
        .await
}

/// On a database the migration role reaches (a restored backup): removes every row of a tenant
/// without asking whether its deletion was due.
pub async fn erase_everywhere(
    owner: &mut PgConnection,
    owner_id: OwnerId,
    buckets: &[String],
) -> Result<Value, sqlx::Error> {
    sqlx::query_scalar("SELECT custodian_erase_tenant_everywhere($1, $2, NULL)")
        .bind(owner_id.as_uuid())
        .bind(buckets)
        .fetch_one(owner)
        .await
}

/// Every tenant id a database names, in any table that can (for a restore to check against
/// the ledger).
pub async fn tenant_ids_named(owner: &mut PgConnection) -> Result<Vec<OwnerId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT owner_id FROM tenants UNION SELECT tenant_id FROM address_routes \
         UNION SELECT account FROM mail_outbox UNION SELECT account FROM email_directory \
         UNION SELECT invited_by FROM invites WHERE invited_by IS NOT NULL \
         UNION SELECT used_by FROM invites WHERE used_by IS NOT NULL \
         UNION SELECT member_id FROM app_members WHERE member_id IS NOT NULL",
    )
    .fetch_all(owner)
    .await
}

/// A tenant's deletion schedule as a database holds it: (tenant, region, requested, due).
pub type Schedule = (
    OwnerId,
    String,
    Option<OffsetDateTime>,
    Option<OffsetDateTime>,
);

/// Every tenant's deletion schedule in a database the migration role reaches (the live one, read
/// before a restore replaces it, so that requests and cancellations made since the backup hold).
pub async fn schedules(owner: &PgPool) -> Result<Vec<Schedule>, sqlx::Error> {
    sqlx::query_as("SELECT owner_id, region, deletion_requested_at, deletion_due_at FROM tenants")
        .fetch_all(owner)
        .await
}

/// A line of the file ledger: what a restore needs, and nothing personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileLine {
    pub id: Uuid,
    pub tenant_hash: String,
    pub region: String,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub grace_ends_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub purged_at: OffsetDateTime,
}

impl FileLine {
    pub fn of(entry: &Entry) -> Option<Self> {
        Some(Self {
            id: entry.id,
            tenant_hash: hex(&entry.tenant_hash),
            region: entry.region.clone(),
            requested_at: entry.requested_at,
            grace_ends_at: entry.grace_ends_at,
            purged_at: entry.purged_at?,
        })
    }
}

/// The file ledger in the data directory.
pub fn file_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("erasures").join("ledger.jsonl")
}

/// Appends an entry to the file ledger, unless it is there already. A line cut short by a crash
/// is ended first, so it cannot swallow this one.
pub async fn append_to_file(data_dir: &Path, line: &FileLine) -> std::io::Result<()> {
    let path = file_path(data_dir);
    let known = match tokio::fs::read_to_string(&path).await {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(error),
    };
    if known.contains(&line.id.to_string()) {
        return Ok(());
    }
    if let Some(folder) = path.parent() {
        tokio::fs::create_dir_all(folder).await?;
    }
    let mut text = if known.is_empty() || known.ends_with('\n') {
        String::new()
    } else {
        "\n".to_owned()
    };
    text.push_str(&serde_json::to_string(line).map_err(std::io::Error::other)?);
    text.push('\n');
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .await?;
    file.write_all(text.as_bytes()).await?;
    file.sync_all().await
}

/// Every line of the file ledger (none when there is no file yet). A damaged line is an error:
/// a restore that cannot read the whole ledger must not go on.
pub async fn read_file(data_dir: &Path) -> std::io::Result<Vec<FileLine>> {
    let text = match tokio::fs::read_to_string(file_path(data_dir)).await {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("line {} of the erasure ledger file is damaged", n + 1),
                )
            })
        })
        .collect()
}

/// The signed deletion receipt of a completed purge.
pub fn receipt(key: &KeyEncryptionKey, entry: &Entry) -> Value {
    let rfc3339 = super::clock::rfc3339;
    let rows: BTreeMap<String, i64> = entry
        .rows_removed
        .as_object()
        .map(|tables| {
            tables
                .iter()
                .filter_map(|(table, n)| Some((table.clone(), n.as_i64()?)))
                .collect()
        })
        .unwrap_or_default();
    signed::sign(
        key,
        RECEIPT,
        json!({
            "tenantHash": hex(&entry.tenant_hash),
            "region": entry.region,
            "requested": rfc3339(entry.requested_at),
            "graceEnd": rfc3339(entry.grace_ends_at),
            "purged": entry.purged_at.map(rfc3339),
            "rowsRemoved": rows,
            "dataKeyDestroyed": entry.data_key == "destroyed",
            "dataKeysDestroyed": entry.data_keys_destroyed,
            "ledgerEntry": entry.id,
        }),
    )
}

/// A deletion receipt this server signed, as the verify page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDeletion {
    pub ledger_entry: String,
    pub requested: String,
    pub purged: String,
    pub rows_removed: i64,
    pub data_key_destroyed: bool,
}

/// Checks a deletion receipt: signed by this server and unchanged.
pub fn verify_receipt(
    key: &KeyEncryptionKey,
    document: &Value,
) -> Result<VerifiedDeletion, Unverified> {
    let body = signed::verify(key, document, RECEIPT)?;
    let text = |name: &str| body[name].as_str().unwrap_or_default().to_owned();
    let minute =
        |name: &str| super::clock::rfc3339_to_minute(body[name].as_str().unwrap_or_default());
    Ok(VerifiedDeletion {
        ledger_entry: text("ledgerEntry"),
        requested: minute("requested"),
        purged: minute("purged"),
        rows_removed: body["rowsRemoved"]
            .as_object()
            .map(|tables| tables.values().filter_map(Value::as_i64).sum())
            .unwrap_or(0),
        data_key_destroyed: body["dataKeyDestroyed"].as_bool() == Some(true),
    })
}
