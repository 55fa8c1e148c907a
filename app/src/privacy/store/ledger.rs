//! SQL of the consent ledger: `consent_records` (an account's), `anonymous_consents` (a
//! browser's, keyed by its random consent id) and `consent_links` (which browsers an account
//! signed in on).

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::platform::{
    db::TenantTx,
    ids::{ConsentRecordId, OwnerId},
};

/// A record to insert: the categories granted and denied, how, and from which browser.
pub struct NewRecord<'a> {
    pub granted: &'a [&'static str],
    pub denied: &'a [&'static str],
    pub method: &'static str,
    pub gpc: bool,
    pub recorded_at: OffsetDateTime,
    pub user_agent: &'a str,
}

/// Whose ledger a record goes to.
#[derive(Debug, Clone, Copy)]
pub enum Ledger {
    Account(OwnerId),
    Browser(Uuid),
}

/// Inserts one record answering the cookie policy in force, and returns that policy's version;
/// None when it was a GPC record this ledger already had for the version.
pub async fn insert(
    conn: &mut PgConnection,
    ledger: Ledger,
    record: &NewRecord<'_>,
) -> Result<Option<i32>, sqlx::Error> {
    let id = ConsentRecordId::random().as_uuid();
    let granted: Vec<String> = record.granted.iter().map(|c| (*c).to_owned()).collect();
    let denied: Vec<String> = record.denied.iter().map(|c| (*c).to_owned()).collect();
    match ledger {
        Ledger::Account(owner_id) => {
            sqlx::query_scalar!(
                "INSERT INTO consent_records \
                 (owner_id, id, granted, denied, policy_version, method, gpc, recorded_at, user_agent) \
                 SELECT $1, $2, $3, $4, coalesce(max(version), 1), $5, $6, $7, $8 \
                 FROM policy_versions WHERE document = 'cookies' \
                 ON CONFLICT DO NOTHING RETURNING policy_version",
                owner_id.as_uuid(),
                id,
                &granted,
                &denied,
                record.method,
                record.gpc,
                record.recorded_at,
                record.user_agent
            )
            .fetch_optional(conn)
            .await
        }
        Ledger::Browser(consent_id) => {
            sqlx::query_scalar!(
                "INSERT INTO anonymous_consents \
                 (consent_id, id, granted, denied, policy_version, method, gpc, recorded_at, user_agent) \
                 SELECT $1, $2, $3, $4, coalesce(max(version), 1), $5, $6, $7, $8 \
                 FROM policy_versions WHERE document = 'cookies' \
                 ON CONFLICT DO NOTHING RETURNING policy_version",
                consent_id,
                id,
                &granted,
                &denied,
                record.method,
                record.gpc,
                record.recorded_at,
                record.user_agent
            )
            .fetch_optional(conn)
            .await
        }
    }
}

/// Links the browser `consent_id` to the transaction's account.
pub async fn link(
    tx: &mut TenantTx,
    consent_id: Uuid,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let owner_id = tx.owner_id().as_uuid();
    sqlx::query!(
        "INSERT INTO consent_links (owner_id, consent_id, linked_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
        owner_id,
        consent_id,
        now
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// The categories granted by a browser's latest record, and whether it sent GPC.
pub async fn latest_of_browser(
    tx: &mut TenantTx,
    consent_id: Uuid,
) -> Result<Option<(Vec<String>, bool)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT granted, gpc FROM anonymous_consents WHERE consent_id = $1 \
         ORDER BY recorded_at DESC LIMIT 1",
        consent_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| (row.granted, row.gpc)))
}

/// The account's newest GPC record since `since`, and whether its newest record of all denies
/// sale or sharing: what applies to the account on every device.
pub async fn account_signals(
    tx: &mut TenantTx,
    since: OffsetDateTime,
) -> Result<(Option<OffsetDateTime>, bool), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT max(recorded_at) FROM consent_records \
                 WHERE owner_id = $1 AND method = 'gpc' AND recorded_at >= $2), \
                coalesce((SELECT 'sale_share' = ANY(denied) FROM consent_records \
                          WHERE owner_id = $1 ORDER BY recorded_at DESC LIMIT 1), false)",
    )
    .bind(tx.owner_id())
    .bind(since)
    .fetch_one(&mut **tx)
    .await
}

/// The categories the account's newest record grants.
pub async fn latest_of_account(tx: &mut TenantTx) -> Result<Option<Vec<String>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT granted FROM consent_records WHERE owner_id = $1 ORDER BY recorded_at DESC LIMIT 1",
    )
    .bind(tx.owner_id())
    .fetch_optional(&mut **tx)
    .await
}

/// A browser's record as it moves from one region's database to another's.
pub struct BrowserRecord {
    pub id: Uuid,
    pub granted: Vec<String>,
    pub denied: Vec<String>,
    pub policy_version: i32,
    pub method: String,
    pub gpc: bool,
    pub recorded_at: OffsetDateTime,
    pub user_agent: String,
}

/// Every record of the browser `consent_id` (the transaction must be acting for it).
pub async fn browser_records(
    conn: &mut PgConnection,
    consent_id: Uuid,
) -> Result<Vec<BrowserRecord>, sqlx::Error> {
    sqlx::query_as!(
        BrowserRecord,
        "SELECT id, granted, denied, policy_version, method, gpc, recorded_at, user_agent          FROM anonymous_consents WHERE consent_id = $1 ORDER BY recorded_at",
        consent_id
    )
    .fetch_all(conn)
    .await
}

/// Writes a record of the browser `consent_id` that was kept in the region `from`; a record
/// already brought over stays as it is.
pub async fn insert_moved(
    tx: &mut TenantTx,
    consent_id: Uuid,
    record: &BrowserRecord,
    from: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO anonymous_consents \
         (consent_id, id, granted, denied, policy_version, method, gpc, recorded_at, user_agent, \
          moved_from) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
        consent_id,
        record.id,
        &record.granted,
        &record.denied,
        record.policy_version,
        record.method,
        record.gpc,
        record.recorded_at,
        record.user_agent,
        from
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Removes the records `ids` of the browser the transaction acts for (once they live in another
/// region): the one deletion the append-only ledger allows.
pub async fn remove_moved_browser_records(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT custodian_remove_moved_browser_records($1)", ids)
        .execute(conn)
        .await
        .map(drop)
}

/// A record as the history and the receipts read it.
pub struct LedgerRecord {
    pub id: ConsentRecordId,
    /// "account:<owner id>" or "browser:<consent id>".
    pub subject: String,
    pub granted: Vec<String>,
    pub denied: Vec<String>,
    pub policy_version: i32,
    pub method: String,
    pub gpc: bool,
    pub recorded_at: OffsetDateTime,
    /// The region a browser's record was kept in before it moved to its account's.
    pub moved_from: Option<String>,
}

/// The newest records that row-level security lets this transaction see; `only` narrows to one.
pub async fn visible(
    conn: &mut PgConnection,
    only: Option<ConsentRecordId>,
) -> Result<Vec<LedgerRecord>, sqlx::Error> {
    sqlx::query_as!(
        LedgerRecord,
        r#"SELECT id AS "id!: ConsentRecordId", subject AS "subject!", granted AS "granted!",
                  denied AS "denied!", policy_version AS "policy_version!", method AS "method!",
                  gpc AS "gpc!", recorded_at AS "recorded_at!", moved_from
           FROM (SELECT id, 'account:' || owner_id::text AS subject, granted, denied,
                        policy_version, method, gpc, recorded_at, NULL::text AS moved_from
                 FROM consent_records
                 UNION ALL
                 SELECT id, 'browser:' || consent_id::text, granted, denied, policy_version,
                        method, gpc, recorded_at, moved_from FROM anonymous_consents) AS ledger
           WHERE $1::uuid IS NULL OR id = $1
           ORDER BY recorded_at DESC, id LIMIT 200"#,
        only.map(ConsentRecordId::as_uuid)
    )
    .fetch_all(conn)
    .await
}
