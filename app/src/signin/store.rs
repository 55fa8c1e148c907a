//! The sign-in area's SQL, the only SQL for the tables it owns (both tenant tables):
//! `pending_sign_ins` (sign-ins waiting for their second step, with their wrong answers) and
//! `known_devices` (a digest of each device and network an account signed in from).
//!
//! Owns: `pending_sign_ins`, `known_devices`.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::platform::{
    db::TenantTx,
    ids::OwnerId,
    jobs::BoxFuture,
    portable::{field, FieldType::*, RecordKind, Withheld},
    server_parts::for_owner,
};

/// Drops the pending sign-ins that ran out (created at or before `expired`) and adds one.
pub async fn start_pending(
    tx: &mut TenantTx,
    id: Uuid,
    now: OffsetDateTime,
    expired: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM pending_sign_ins WHERE created_at <= $1",
        expired
    )
    .execute(&mut **tx)
    .await?;
    let owner_id = tx.owner_id().as_uuid();
    sqlx::query!(
        "INSERT INTO pending_sign_ins (owner_id, id, created_at) VALUES ($1, $2, $3)",
        owner_id,
        id,
        now
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Counts a wrong-or-not answer of a pending sign-in; None when it is gone or has used its
/// `tries` (it then ends). Some(failures) includes this one.
pub async fn count_answer(
    tx: &mut TenantTx,
    id: Uuid,
    tries: i32,
) -> Result<Option<i32>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE pending_sign_ins SET failures = failures + 1 WHERE id = $1 AND failures < $2 \
         RETURNING failures",
        id,
        tries
    )
    .fetch_optional(&mut **tx)
    .await
}

pub async fn end_pending(tx: &mut TenantTx, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM pending_sign_ins WHERE id = $1", id)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Ends every sign-in of the tenant that waits for its second step.
pub async fn end_all_pending(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM pending_sign_ins")
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Remembers a device; whether it is new, and whether the account knew any device before.
pub async fn remember_device(
    tx: &mut TenantTx,
    fingerprint: &[u8],
    now: OffsetDateTime,
) -> Result<(bool, bool), sqlx::Error> {
    let known_before =
        sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM known_devices) AS "known!""#)
            .fetch_one(&mut **tx)
            .await?;
    let owner_id = tx.owner_id().as_uuid();
    let new_device = sqlx::query!(
        "INSERT INTO known_devices (owner_id, fingerprint, first_seen_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
        owner_id,
        fingerprint,
        now
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    Ok((new_device, known_before))
}

/// Deletes the tenant's rows from both tables.
pub fn erase(tx: &mut TenantTx) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let owner_id = tx.owner_id();
        for_owner(tx, owner_id, &[
            "DELETE FROM pending_sign_ins WHERE owner_id = $1",
            "DELETE FROM known_devices WHERE owner_id = $1",
        ])
        .await
    })
}

/// One row of `owner` in each table.
pub fn seed(conn: &mut PgConnection, owner: OwnerId) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        for_owner(conn, owner, &[
            "INSERT INTO known_devices (owner_id, fingerprint, first_seen_at) VALUES ($1, decode(repeat('00', 32), 'hex'), now())",
            "INSERT INTO pending_sign_ins (owner_id, id, created_at) VALUES ($1, gen_random_uuid(), now())",
        ])
        .await
    })
}

/// The sign-in area's share of an export (promise P8).
pub const EXPORTS: &[RecordKind] = &[RecordKind {
    file: "account/known_devices.json",
    title: "Known devices",
    about: "The devices and networks you signed in from, as a keyed digest (a new one gets a mail).",
    tables: &["known_devices"],
    from: "FROM known_devices WHERE owner_id = $1",
    order_by: "first_seen_at",
    fields: &[
        field("fingerprint", "encode(fingerprint, 'hex')", Text, "A keyed digest of the device and network: it names neither."),
        field("first_seen_at", "first_seen_at", Time, "When you first signed in from it."),
    ],
    documents: None,
}];

pub const WITHHELD: &[Withheld] = &[Withheld {
    table: "pending_sign_ins",
    what: "Sign-ins waiting for their second step",
    reason: "Kept for minutes while a sign-in is under way, with no content beyond a count of wrong answers.",
}];
