//! The rights requests' SQL, the only SQL for the tables they own: `rights_requests` and
//! `rights_items` (tenant tables: a request, and each right of it with its own status and
//! clock), and `marketing_preferences` (product news by mail, and an objection to it).
//!
//! Owns: `rights_requests`, `rights_items`, `marketing_preferences`.

use serde_json::Value;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::platform::{
    db::{self, TenantTx},
    ids::OwnerId,
    portable::{field, FieldType::*, RecordKind},
};

/// A request as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredRequest {
    pub id: Uuid,
    pub received_at: OffsetDateTime,
    pub regime: String,
    pub closed_at: Option<OffsetDateTime>,
    pub receipt: Option<Value>,
}

/// One right of a request as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredItem {
    pub request_id: Uuid,
    pub right_kind: String,
    pub subject: String,
    pub wrong: String,
    pub should_be: String,
    pub status: String,
    pub reason: String,
    pub confirm_by: Option<Date>,
    pub due_on: Date,
    pub extended_to: Option<Date>,
    pub extension_reason: String,
    pub closed_at: Option<OffsetDateTime>,
    pub lifted_at: Option<OffsetDateTime>,
}

impl StoredItem {
    /// The date it is due now: extended, or the first.
    pub fn due(&self) -> Date {
        self.extended_to.unwrap_or(self.due_on)
    }
}

const REQUEST_COLUMNS: &str = "id, received_at, regime, closed_at, receipt";
const ITEM_COLUMNS: &str = "request_id, right_kind, subject, wrong, should_be, status, reason, \
                            confirm_by, due_on, extended_to, extension_reason, closed_at, lifted_at";

/// A right to write with a new request.
pub struct NewItem<'a> {
    pub right: &'a str,
    pub subject: &'a str,
    pub wrong: &'a str,
    pub should_be: &'a str,
    pub status: &'a str,
    pub confirm_by: Option<Date>,
    pub due_on: Date,
    pub closed_at: Option<OffsetDateTime>,
}

/// Makes the tenant's requests wait for each other until the transaction ends (the daily
/// limit, and an operator's action on the same request, are decided one at a time).
pub async fn lock(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    let key = format!("rights:{}", tx.owner_id());
    db::lock_until_commit(tx, &key).await
}

pub async fn made_since(tx: &mut TenantTx, since: OffsetDateTime) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM rights_requests WHERE owner_id = $1 AND received_at > $2",
    )
    .bind(tx.owner_id())
    .bind(since)
    .fetch_one(&mut **tx)
    .await
}

pub async fn insert(
    tx: &mut TenantTx,
    id: Uuid,
    regime: &str,
    received_at: OffsetDateTime,
    items: &[NewItem<'_>],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO rights_requests (owner_id, id, received_at, regime) VALUES ($1, $2, $3, $4)",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(received_at)
    .bind(regime)
    .execute(&mut **tx)
    .await?;
    for item in items {
        sqlx::query(
            "INSERT INTO rights_items (owner_id, request_id, right_kind, subject, wrong, \
             should_be, status, confirm_by, due_on, closed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(tx.owner_id())
        .bind(id)
        .bind(item.right)
        .bind(item.subject)
        .bind(item.wrong)
        .bind(item.should_be)
        .bind(item.status)
        .bind(item.confirm_by)
        .bind(item.due_on)
        .bind(item.closed_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The tenant's newest requests, with all their rights.
pub async fn list(
    tx: &mut TenantTx,
    limit: i64,
) -> Result<Vec<(StoredRequest, Vec<StoredItem>)>, sqlx::Error> {
    let requests: Vec<StoredRequest> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM rights_requests WHERE owner_id = $1 \
         ORDER BY received_at DESC LIMIT $2"
    ))
    .bind(tx.owner_id())
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    let ids: Vec<Uuid> = requests.iter().map(|r| r.id).collect();
    let items: Vec<StoredItem> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM rights_items WHERE owner_id = $1 AND request_id = ANY($2) \
         ORDER BY right_kind"
    ))
    .bind(tx.owner_id())
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok(requests
        .into_iter()
        .map(|request| {
            let own = items
                .iter()
                .filter(|item| item.request_id == request.id)
                .cloned()
                .collect();
            (request, own)
        })
        .collect())
}

/// One request with its rights.
pub async fn one(
    tx: &mut TenantTx,
    id: Uuid,
) -> Result<Option<(StoredRequest, Vec<StoredItem>)>, sqlx::Error> {
    let request: Option<StoredRequest> = sqlx::query_as(&format!(
        "SELECT {REQUEST_COLUMNS} FROM rights_requests WHERE owner_id = $1 AND id = $2"
    ))
    .bind(tx.owner_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(request) = request else {
        return Ok(None);
    };
    let items = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM rights_items WHERE owner_id = $1 AND request_id = $2 \
         ORDER BY right_kind"
    ))
    .bind(tx.owner_id())
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Some((request, items)))
}

pub async fn extend(
    tx: &mut TenantTx,
    id: Uuid,
    right: &str,
    to: Date,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE rights_items SET extended_to = $4, extension_reason = $5, extended_at = $6, \
         status = 'in_progress' \
         WHERE owner_id = $1 AND request_id = $2 AND right_kind = $3 AND closed_at IS NULL",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(right)
    .bind(to)
    .bind(reason)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Closes a right as done, partly done or refused.
pub async fn close(
    tx: &mut TenantTx,
    id: Uuid,
    right: &str,
    status: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE rights_items SET status = $4, reason = $5, closed_at = $6 \
         WHERE owner_id = $1 AND request_id = $2 AND right_kind = $3 AND closed_at IS NULL",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(right)
    .bind(status)
    .bind(reason)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Closes the request, with its signed receipt.
pub async fn close_request(
    tx: &mut TenantTx,
    id: Uuid,
    receipt: &Value,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE rights_requests SET closed_at = $3, receipt = $4 \
         WHERE owner_id = $1 AND id = $2 AND closed_at IS NULL",
    )
    .bind(tx.owner_id())
    .bind(id)
    .bind(now)
    .bind(receipt)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Open access rights received before `before`: an export made since answers them.
pub async fn open_access(
    tx: &mut TenantTx,
    before: OffsetDateTime,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT i.request_id FROM rights_items i JOIN rights_requests r \
         ON r.owner_id = i.owner_id AND r.id = i.request_id \
         WHERE i.owner_id = $1 AND i.right_kind = 'access' AND i.closed_at IS NULL \
         AND r.received_at <= $2",
    )
    .bind(tx.owner_id())
    .bind(before)
    .fetch_all(&mut **tx)
    .await
}

/// Lifts a granted restriction; false when there was none to lift.
pub async fn lift(tx: &mut TenantTx, now: OffsetDateTime) -> Result<bool, sqlx::Error> {
    let lifted = sqlx::query(
        "UPDATE rights_items SET lifted_at = $2 WHERE owner_id = $1 AND right_kind = 'restriction' \
         AND status = 'done' AND lifted_at IS NULL",
    )
    .bind(tx.owner_id())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(lifted.rows_affected() > 0)
}

/// Whether a restriction the person asked for is open or in force.
pub async fn restriction_asked(tx: &mut TenantTx) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM rights_items WHERE owner_id = $1 \
         AND right_kind = 'restriction' AND status IN ('received', 'in_progress', 'done') \
         AND lifted_at IS NULL)",
    )
    .bind(tx.owner_id())
    .fetch_one(&mut **tx)
    .await
}

/// Whether the person gets product news by mail.
pub async fn product_news(tx: &mut TenantTx) -> Result<bool, sqlx::Error> {
    let wanted: Option<bool> = sqlx::query_scalar(
        "SELECT product_news AND objected_at IS NULL FROM marketing_preferences WHERE owner_id = $1",
    )
    .bind(tx.owner_id())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(wanted.unwrap_or(false))
}

/// Turns product news on or off; an objection turns it off and is remembered (until the
/// person turns it on again themselves).
pub async fn set_product_news(
    tx: &mut TenantTx,
    wanted: bool,
    objection: bool,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO marketing_preferences (owner_id, product_news, changed_at, objected_at) \
         VALUES ($1, $2, $3, CASE WHEN $4 THEN $3 END) \
         ON CONFLICT (owner_id) DO UPDATE SET product_news = $2, changed_at = $3, \
         objected_at = CASE WHEN $4 THEN $3 WHEN $2 THEN NULL \
                            ELSE marketing_preferences.objected_at END",
    )
    .bind(tx.owner_id())
    .bind(wanted)
    .bind(now)
    .bind(objection)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// A right as the operator lists it, with whose it is and when it was received.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OperatorRow {
    pub owner_id: OwnerId,
    pub received_at: OffsetDateTime,
    #[sqlx(flatten)]
    pub item: StoredItem,
}

/// Lets the operator's transaction (the tables' owner) through row-level security to every
/// tenant's rows, until it ends.
async fn across_tenants(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('custodian.cross_tenant', 'on', true)")
        .execute(conn)
        .await
        .map(drop)
}

/// Every right of the database, soonest due first, optionally only the open ones past their
/// due date, in an operator's transaction.
pub async fn all_for_operator(
    conn: &mut PgConnection,
    overdue_on: Option<Date>,
) -> Result<Vec<OperatorRow>, sqlx::Error> {
    across_tenants(conn).await?;
    sqlx::query_as(
        "SELECT i.owner_id, r.received_at, i.request_id, i.right_kind, i.subject, i.wrong, \
         i.should_be, i.status, i.reason, i.confirm_by, i.due_on, i.extended_to, \
         i.extension_reason, i.closed_at, i.lifted_at \
         FROM rights_items i JOIN rights_requests r ON r.owner_id = i.owner_id AND r.id = i.request_id \
         WHERE $1::date IS NULL OR (i.closed_at IS NULL AND coalesce(i.extended_to, i.due_on) < $1) \
         ORDER BY coalesce(i.extended_to, i.due_on), r.received_at",
    )
    .bind(overdue_on)
    .fetch_all(&mut *conn)
    .await
}

/// The owner of a request, found across tenants, in an operator's transaction.
pub async fn owner_of(conn: &mut PgConnection, id: Uuid) -> Result<Option<OwnerId>, sqlx::Error> {
    across_tenants(conn).await?;
    sqlx::query_scalar("SELECT owner_id FROM rights_requests WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
}

/// The accounts that asked for product news and did not object since, in an operator's
/// transaction; the database decides, when queuing, which of them may get it now.
pub async fn news_recipients(conn: &mut PgConnection) -> Result<Vec<OwnerId>, sqlx::Error> {
    across_tenants(conn).await?;
    sqlx::query_scalar(
        "SELECT owner_id FROM marketing_preferences WHERE product_news AND objected_at IS NULL",
    )
    .fetch_all(&mut *conn)
    .await
}

/// Every right of every tenant, for the public report: (right, year, status, days to answer).
pub async fn report(
    conn: &mut PgConnection,
) -> Result<Vec<(String, i32, String, Option<i32>)>, sqlx::Error> {
    sqlx::query_as("SELECT right_kind, year, status, days FROM custodian_rights_report()")
        .fetch_all(conn)
        .await
}

pub const REQUEST_RECORDS: RecordKind = RecordKind {
    file: "data/rights_requests.json",
    title: "Rights requests",
    about: "The requests you made about your rights, and their closure receipts.",
    tables: &["rights_requests"],
    from: "FROM rights_requests WHERE owner_id = $1",
    order_by: "received_at",
    fields: &[
        field("id", "id::text", Text, "The request."),
        field("received_at", "received_at", Time, "When it was received."),
        field("regime", "regime", Text, "The law it is answered under."),
        field("closed_at", "closed_at", OptionalTime, "When its last right was closed."),
        field("receipt", "receipt::text", OptionalText, "The signed closure receipt (JSON)."),
    ],
    documents: None,
};

pub const RIGHT_RECORDS: RecordKind = RecordKind {
    file: "data/rights.json",
    title: "Rights asked for",
    about: "Each right of each request, with its status and due dates.",
    tables: &["rights_items"],
    from: "FROM rights_items WHERE owner_id = $1",
    order_by: "request_id, right_kind",
    fields: &[
        field("request_id", "request_id::text", Text, "The request."),
        field("right", "right_kind", Text, "The right."),
        field("subject", "subject", Text, "Which data, or the purpose objected to."),
        field("wrong", "wrong", Text, "What is wrong (a correction)."),
        field("should_be", "should_be", Text, "What it should be (a correction)."),
        field("status", "status", Text, "Where it is."),
        field("reason", "reason", Text, "Why it was refused or only partly done."),
        field("due_on", "due_on::text", Text, "The first due date."),
        field("extended_to", "extended_to::text", OptionalText, "The due date after an extension."),
        field("closed_at", "closed_at", OptionalTime, "When it was closed."),
        field("lifted_at", "lifted_at", OptionalTime, "When you lifted a restriction."),
    ],
    documents: None,
};

pub const MARKETING_RECORDS: RecordKind = RecordKind {
    file: "data/marketing.json",
    title: "Product news by mail",
    about: "Whether you get product news, and when you objected to it.",
    tables: &["marketing_preferences"],
    from: "FROM marketing_preferences WHERE owner_id = $1",
    order_by: "changed_at",
    fields: &[
        field("product_news", "product_news", Boolean, "Product news is on."),
        field("changed_at", "changed_at", Time, "When it was last changed."),
        field("objected_at", "objected_at", OptionalTime, "When you objected to direct marketing."),
    ],
    documents: None,
};

/// What account deletion removes of these tables (run with the Your data area's own).
pub const ERASE: &[&str] = &[
    "DELETE FROM rights_items WHERE owner_id = $1",
    "DELETE FROM rights_requests WHERE owner_id = $1",
    "DELETE FROM marketing_preferences WHERE owner_id = $1",
];

/// One row in each of these tables, for the isolation tests.
pub const SEED: &[&str] = &[
    "INSERT INTO rights_requests (owner_id, id, received_at, regime) VALUES ($1, $1, now(), 'gdpr')",
    "INSERT INTO rights_items (owner_id, request_id, right_kind, status, due_on) \
     VALUES ($1, $1, 'access', 'received', current_date + 30)",
    "INSERT INTO marketing_preferences (owner_id, product_news, changed_at) VALUES ($1, false, now())",
];
