//! SQL of the versioned policies: `policy_versions` (not a tenant table: every version of every
//! document) and `policy_acknowledgments` (which versions a person has seen).

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use time::OffsetDateTime;

use crate::platform::db::TenantTx;

/// One version to insert.
pub struct NewVersion<'a> {
    pub document: &'a str,
    pub published_at: OffsetDateTime,
    pub material: bool,
    pub summary: &'a str,
    pub body: &'a str,
}

/// Inserts `version` of a document unless it is there already (the bundled versions).
pub async fn insert_if_missing(
    owner: &PgPool,
    version: i32,
    new: &NewVersion<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO policy_versions (document, version, published_at, material, summary, body) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        new.document,
        version,
        new.published_at,
        new.material,
        new.summary,
        new.body
    )
    .execute(owner)
    .await
    .map(drop)
}

/// Inserts the next version of a document and returns its number; one publisher at a time per
/// document, so version numbers never collide.
pub async fn insert_next(
    tx: &mut Transaction<'static, Postgres>,
    new: &NewVersion<'_>,
) -> Result<i32, sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtext('policy:' || $1))",
        new.document
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query_scalar!(
        "INSERT INTO policy_versions (document, version, published_at, material, summary, body) \
         SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5 FROM policy_versions \
         WHERE document = $1 RETURNING version",
        new.document,
        new.published_at,
        new.material,
        new.summary,
        new.body
    )
    .fetch_one(&mut **tx)
    .await
}

/// The newest version of `document`, if it has any.
pub async fn latest_version(
    conn: &mut PgConnection,
    document: &str,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT max(version) FROM policy_versions WHERE document = $1",
        document
    )
    .fetch_one(conn)
    .await
}

pub struct VersionRow {
    pub version: i32,
    pub published_at: OffsetDateTime,
    pub material: bool,
    pub summary: String,
    pub body: String,
}

pub async fn version(
    conn: &mut PgConnection,
    document: &str,
    version: i32,
) -> Result<Option<VersionRow>, sqlx::Error> {
    sqlx::query_as!(
        VersionRow,
        "SELECT version, published_at, material, summary, body FROM policy_versions \
         WHERE document = $1 AND version = $2",
        document,
        version
    )
    .fetch_optional(conn)
    .await
}

/// Every version of `document`, newest first, without their text.
pub async fn versions(
    pool: &PgPool,
    document: &str,
) -> Result<Vec<(i32, OffsetDateTime, bool, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT version, published_at, material, summary FROM policy_versions \
         WHERE document = $1 ORDER BY version DESC",
        document
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.version, row.published_at, row.material, row.summary))
        .collect())
}

/// The newest material change of each document published after `since` that the transaction's
/// person has not acknowledged.
pub async fn unacknowledged_material(
    tx: &mut TenantTx,
    since: OffsetDateTime,
) -> Result<Vec<(String, i32, OffsetDateTime, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT v.document, v.version, v.published_at, v.summary FROM policy_versions v \
         WHERE v.material \
           AND v.version = (SELECT max(w.version) FROM policy_versions w \
                            WHERE w.document = v.document AND w.material) \
           AND v.published_at > $1 \
           AND NOT EXISTS (SELECT 1 FROM policy_acknowledgments a \
                           WHERE a.document = v.document AND a.version >= v.version) \
         ORDER BY v.document",
        since
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.document, row.version, row.published_at, row.summary))
        .collect())
}

/// Records that the person saw `version` of `document`. None when no such version exists;
/// Some(false) when it was recorded before.
pub async fn acknowledge(
    tx: &mut TenantTx,
    document: &str,
    version: i32,
    now: OffsetDateTime,
) -> Result<Option<bool>, sqlx::Error> {
    let owner_id = tx.owner_id().as_uuid();
    let inserted = sqlx::query!(
        "INSERT INTO policy_acknowledgments (owner_id, document, version, acknowledged_at) \
         SELECT $1, document, version, $4 FROM policy_versions WHERE document = $2 AND version = $3 \
         ON CONFLICT DO NOTHING",
        owner_id,
        document,
        version,
        now
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM policy_versions WHERE document = $1 AND version = $2)
           AS "exists!""#,
        document,
        version
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(exists.then_some(inserted == 1))
}

/// Records that the person has seen every version in force (sign-up).
pub async fn acknowledge_current(
    tx: &mut TenantTx,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let owner_id = tx.owner_id().as_uuid();
    sqlx::query!(
        "INSERT INTO policy_acknowledgments (owner_id, document, version, acknowledged_at) \
         SELECT DISTINCT ON (document) $1::uuid, document, version, $2::timestamptz \
         FROM policy_versions ORDER BY document, version DESC",
        owner_id,
        now
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}
