//! The second factors' SQL, the only SQL for the tables they own (all tenant tables):
//! `totp_factors` (the sealed authenticator secret and its last used step), `passkeys` (the
//! WebAuthn credentials) and `backup_codes` (keyed digests of single-use codes).
//!
//! Owns: `totp_factors`, `passkeys`, `backup_codes`.

use sqlx::{types::Json, PgConnection};
use time::OffsetDateTime;
use webauthn_rs::prelude::Passkey;

use crate::platform::{
    db::TenantTx,
    ids::{OwnerId, PasskeyId},
    jobs::BoxFuture,
    portable::{field, FieldType::*, RecordKind, Withheld},
    server_parts::for_owner,
};

/// Whether the authenticator app is set up: None when not at all, else whether it is on.
pub async fn totp_enabled(tx: &mut TenantTx) -> Result<Option<bool>, sqlx::Error> {
    let row = sqlx::query_scalar!("SELECT enabled_at FROM totp_factors")
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(|enabled_at| enabled_at.is_some()))
}

/// Starts (or restarts) a setup with a sealed secret; false when an app is already on.
pub async fn start_totp(
    tx: &mut TenantTx,
    sealed_secret: &[u8],
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let owner_id = tx.owner_id().as_uuid();
    Ok(sqlx::query!(
        "INSERT INTO totp_factors (owner_id, sealed_secret, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (owner_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, \
         created_at = excluded.created_at, last_used_step = 0 \
         WHERE totp_factors.enabled_at IS NULL",
        owner_id,
        sealed_secret,
        now
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// The sealed secret and last used step of the app (the pending setup when `pending`), locked
/// until the transaction ends: two requests with the same code cannot both see the step unused.
pub async fn totp_for_update(
    tx: &mut TenantTx,
    pending: bool,
) -> Result<Option<(Vec<u8>, i64)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT sealed_secret, last_used_step FROM totp_factors \
         WHERE (enabled_at IS NULL) = $1 FOR UPDATE",
        pending
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| (row.sealed_secret, row.last_used_step)))
}

/// The sealed secret of the app and of a pending setup, if any (for re-sealing).
pub async fn sealed_totp(tx: &mut TenantTx) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar!("SELECT sealed_secret FROM totp_factors FOR UPDATE")
        .fetch_optional(&mut **tx)
        .await
}

/// Replaces the sealed secret with the same secret sealed again.
pub async fn reseal_totp(tx: &mut TenantTx, sealed_secret: &[u8]) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE totp_factors SET sealed_secret = $1", sealed_secret)
        .execute(&mut **tx)
        .await
        .map(drop)
}

pub async fn spend_totp_step(tx: &mut TenantTx, step: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE totp_factors SET last_used_step = $1", step)
        .execute(&mut **tx)
        .await
        .map(drop)
}

pub async fn enable_totp(tx: &mut TenantTx, now: OffsetDateTime) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE totp_factors SET enabled_at = $1", now)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Removes the app; whether it was on (a setup never confirmed was no factor).
pub async fn delete_totp(tx: &mut TenantTx) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        r#"DELETE FROM totp_factors RETURNING enabled_at IS NOT NULL AS "was_on!""#
    )
    .fetch_optional(&mut **tx)
    .await?
    .unwrap_or(false))
}

/// Passkeys as the Security page lists them: id, name, added, last used.
pub type PasskeyListing = (PasskeyId, String, OffsetDateTime, Option<OffsetDateTime>);

pub async fn passkey_listing(tx: &mut TenantTx) -> Result<Vec<PasskeyListing>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id: PasskeyId", name, created_at, last_used_at FROM passkeys
           ORDER BY created_at, id"#
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.id, row.name, row.created_at, row.last_used_at))
        .collect())
}

pub async fn passkeys(tx: &mut TenantTx) -> Result<Vec<(PasskeyId, Passkey)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id AS "id: PasskeyId", credential AS "credential: Json<Passkey>"
           FROM passkeys ORDER BY created_at"#
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.id, row.credential.0))
        .collect())
}

/// The passkey with this credential id, locked until the transaction ends.
pub async fn passkey_for_update(
    tx: &mut TenantTx,
    credential_id: &[u8],
) -> Result<Option<(PasskeyId, String, Passkey)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id AS "id: PasskeyId", name, credential AS "credential: Json<Passkey>"
           FROM passkeys WHERE credential_id = $1 FOR UPDATE"#,
        credential_id
    )
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| (row.id, row.name, row.credential.0)))
}

/// Stores a passkey's new counter and backup state after a use.
pub async fn passkey_used(
    tx: &mut TenantTx,
    id: PasskeyId,
    passkey: &Passkey,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE passkeys SET credential = $2, last_used_at = $3 WHERE id = $1",
        id.as_uuid(),
        Json(passkey) as _,
        now
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// Adds a passkey; false when the account has this credential already.
pub async fn insert_passkey(
    tx: &mut TenantTx,
    id: PasskeyId,
    name: &str,
    passkey: &Passkey,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let owner_id = tx.owner_id().as_uuid();
    Ok(sqlx::query!(
        "INSERT INTO passkeys (owner_id, id, credential_id, name, credential, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner_id, credential_id) DO NOTHING",
        owner_id,
        id.as_uuid(),
        passkey.cred_id().as_slice(),
        name,
        Json(passkey) as _,
        now
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Renames a passkey; false when there is no such passkey.
pub async fn rename_passkey(
    tx: &mut TenantTx,
    id: PasskeyId,
    name: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "UPDATE passkeys SET name = $2 WHERE id = $1",
        id.as_uuid(),
        name
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Removes a passkey and returns its name; None when there is no such passkey.
pub async fn delete_passkey(
    tx: &mut TenantTx,
    id: PasskeyId,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "DELETE FROM passkeys WHERE id = $1 RETURNING name",
        id.as_uuid()
    )
    .fetch_optional(&mut **tx)
    .await
}

/// How many backup codes the account has, and how many are unused.
pub async fn backup_code_counts(tx: &mut TenantTx) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) AS "total!", count(*) FILTER (WHERE used_at IS NULL) AS "unused!"
           FROM backup_codes"#
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.total, row.unused))
}

/// Replaces the account's backup codes with the digests given.
pub async fn replace_backup_codes(
    tx: &mut TenantTx,
    digests: &[Vec<u8>],
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM backup_codes")
        .execute(&mut **tx)
        .await?;
    let owner_id = tx.owner_id().as_uuid();
    for digest in digests {
        sqlx::query!(
            "INSERT INTO backup_codes (owner_id, code_digest, created_at) VALUES ($1, $2, $3)",
            owner_id,
            digest,
            now
        )
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Spends the unused code whose digest is one of `digests`; whether one was.
pub async fn spend_backup_code(
    tx: &mut TenantTx,
    digests: &[Vec<u8>],
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "UPDATE backup_codes SET used_at = $2 WHERE code_digest = ANY($1) AND used_at IS NULL",
        digests,
        now
    )
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0)
}

/// Removes every backup code.
pub async fn delete_backup_codes(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM backup_codes")
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// Backup codes belong to a second factor: with none left, they go too.
pub async fn delete_orphaned_backup_codes(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM backup_codes WHERE NOT EXISTS (SELECT 1 FROM passkeys) \
         AND NOT EXISTS (SELECT 1 FROM totp_factors WHERE enabled_at IS NOT NULL)"
    )
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// The passkeys, the app (when on) and the unused backup codes the account has.
pub async fn usable(tx: &mut TenantTx) -> Result<(bool, bool, bool), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT EXISTS (SELECT 1 FROM passkeys) AS "passkey!",
           EXISTS (SELECT 1 FROM totp_factors WHERE enabled_at IS NOT NULL) AS "totp!",
           EXISTS (SELECT 1 FROM backup_codes WHERE used_at IS NULL) AS "backup_code!""#
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.passkey, row.totp, row.backup_code))
}

/// How many second factors are on: the app and each passkey.
pub async fn factor_count(tx: &mut TenantTx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT (SELECT count(*) FROM totp_factors WHERE enabled_at IS NOT NULL)
           + (SELECT count(*) FROM passkeys) AS "factors!""#
    )
    .fetch_one(&mut **tx)
    .await
}

/// Deletes every second factor of the tenant and its backup codes.
pub fn erase(tx: &mut TenantTx) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let owner_id = tx.owner_id();
        for_owner(tx, owner_id, &[
            "DELETE FROM passkeys WHERE owner_id = $1",
            "DELETE FROM totp_factors WHERE owner_id = $1",
            "DELETE FROM backup_codes WHERE owner_id = $1",
        ])
        .await
    })
}

/// One row of `owner` in each table above.
pub fn seed(conn: &mut PgConnection, owner: OwnerId) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        for_owner(conn, owner, &[
            "INSERT INTO totp_factors (owner_id, sealed_secret, created_at) VALUES ($1, decode(repeat('00', 32), 'hex'), now())",
            "INSERT INTO backup_codes (owner_id, code_digest, created_at) VALUES ($1, decode(repeat('00', 32), 'hex'), now())",
            "INSERT INTO passkeys (owner_id, id, credential_id, name, credential, created_at) \
             VALUES ($1, gen_random_uuid(), decode(repeat('00', 32), 'hex'), 'Seed', '{}', now())",
        ])
        .await
    })
}

/// The second factors in an export (promise P8): metadata only, never a secret.
pub const EXPORTS: &[RecordKind] = &[
    RecordKind {
        file: "security/authenticator_app.json",
        title: "Authenticator app",
        about: "Whether an authenticator app (TOTP) is set up, and since when. Its secret is never exported.",
        tables: &["totp_factors"],
        from: "FROM totp_factors WHERE owner_id = $1",
        order_by: "created_at",
        fields: &[
            field("created_at", "created_at", Time, "When the setup began."),
            field("enabled_at", "enabled_at", OptionalTime, "When it was turned on (null: set-up not finished)."),
        ],
        documents: None,
    },
    RecordKind {
        file: "security/backup_codes.json",
        title: "Backup codes",
        about: "How many single-use backup codes you have and have used. The codes are never exported.",
        tables: &["backup_codes"],
        from: "FROM backup_codes WHERE owner_id = $1 GROUP BY owner_id",
        order_by: "min(created_at)",
        fields: &[
            field("created_at", "min(created_at)", Time, "When this set of codes was made."),
            field("codes", "count(*)", Integer, "Codes in the set."),
            field("used", "count(used_at)", Integer, "Codes already used."),
            field("last_used_at", "max(used_at)", OptionalTime, "When a code was last used."),
        ],
        documents: None,
    },
    RecordKind {
        file: "security/passkeys.json",
        title: "Passkeys",
        about: "Your passkeys by name and date. Their public keys and credential ids are not exported.",
        tables: &["passkeys"],
        from: "FROM passkeys WHERE owner_id = $1",
        order_by: "created_at",
        fields: &[
            field("name", "name", Text, "The name you gave it."),
            field("created_at", "created_at", Time, "When it was added."),
            field("last_used_at", "last_used_at", OptionalTime, "When it was last used (null: never)."),
        ],
        documents: None,
    },
];

pub const WITHHELD: &[Withheld] = &[
    Withheld {
        table: "totp_factors",
        what: "Authenticator app secret and last used step",
        reason: "A secret: with it anyone could make your codes.",
    },
    Withheld {
        table: "backup_codes",
        what: "Backup code digests",
        reason: "Secrets: digests of codes that still sign you in.",
    },
    Withheld {
        table: "passkeys",
        what: "Passkey credentials (public key, credential id, counters)",
        reason: "Authenticator internals, useless outside this site; your device keeps the passkey itself.",
    },
];
