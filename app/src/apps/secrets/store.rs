//! The sealed secrets of the tenant's apps and how often each was used, per hour. The sealed
//! value is read by `sealed` (egress) and `all_sealed` (the publish check, re-sealing) only,
//! never by what builds a page.
//!
//! Owns: `app_secrets`, `app_secret_uses`.

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::platform::{
    db::TenantTx,
    ids::{AppId, OwnerId},
};

/// A secret as its page lists it (the sealed value stays in the database).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedSecret {
    pub name: String,
    pub hosts: Vec<String>,
    pub placement: String,
    pub placement_name: String,
    pub hint: String,
    pub created_at: OffsetDateTime,
    pub rotated_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub uses_last_day: i64,
    pub kind: String,
    pub access_expires_at: Option<OffsetDateTime>,
    pub revocable: bool,
}

/// A secret as egress uses it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SealedSecret {
    pub hosts: Vec<String>,
    pub placement: String,
    pub placement_name: String,
    pub sealed_value: Vec<u8>,
    pub kind: String,
    /// A connection's refresh token and client secret, sealed together.
    pub sealed_grant: Option<Vec<u8>>,
    pub access_expires_at: Option<OffsetDateTime>,
    pub token_url: Option<String>,
    pub revocation_url: Option<String>,
    pub client_id: Option<String>,
}

/// Whether reading a secret holds its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    None,
    Row,
}

/// What makes a new secret a connection.
pub struct NewConnection<'a> {
    pub sealed_grant: &'a [u8],
    pub access_expires_at: Option<OffsetDateTime>,
    pub token_url: &'a str,
    pub revocation_url: Option<&'a str>,
    pub client_id: &'a str,
}

/// What a new secret is.
pub struct NewSecret<'a> {
    pub name: &'a str,
    pub hosts: &'a [String],
    pub placement: &'a str,
    pub placement_name: &'a str,
    pub sealed_value: &'a [u8],
    pub hint: &'a str,
    pub connection: Option<NewConnection<'a>>,
}

/// How many secrets `app` has.
pub async fn count(tx: &mut TenantTx, app: AppId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM app_secrets WHERE owner_id = $1 AND app_id = $2")
        .bind(tx.owner_id())
        .bind(app)
        .fetch_one(&mut **tx)
        .await
}

/// Adds a secret; false when the app already has one of that name.
pub async fn insert(
    tx: &mut TenantTx,
    app: AppId,
    secret: &NewSecret<'_>,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let added = sqlx::query(
        "INSERT INTO app_secrets (owner_id, app_id, name, hosts, placement, placement_name, \
         sealed_value, hint, created_at, rotated_at, kind, sealed_grant, access_expires_at, \
         token_url, revocation_url, client_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT DO NOTHING",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(secret.name)
    .bind(secret.hosts)
    .bind(secret.placement)
    .bind(secret.placement_name)
    .bind(secret.sealed_value)
    .bind(secret.hint)
    .bind(now)
    .bind(if secret.connection.is_some() { "connection" } else { "key" })
    .bind(secret.connection.as_ref().map(|c| c.sealed_grant))
    .bind(secret.connection.as_ref().and_then(|c| c.access_expires_at))
    .bind(secret.connection.as_ref().map(|c| c.token_url))
    .bind(secret.connection.as_ref().and_then(|c| c.revocation_url))
    .bind(secret.connection.as_ref().map(|c| c.client_id))
    .execute(&mut **tx)
    .await?;
    Ok(added.rows_affected() == 1)
}

/// Replaces a secret's value; false when it does not exist.
pub async fn replace_value(
    tx: &mut TenantTx,
    app: AppId,
    name: &str,
    sealed_value: &[u8],
    hint: &str,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE app_secrets SET sealed_value = $4, hint = $5, rotated_at = $6 \
         WHERE owner_id = $1 AND app_id = $2 AND name = $3",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(name)
    .bind(sealed_value)
    .bind(hint)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Changes where a secret may be sent; false when it does not exist.
pub async fn set_hosts(
    tx: &mut TenantTx,
    app: AppId,
    name: &str,
    hosts: &[String],
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query(
        "UPDATE app_secrets SET hosts = $4 WHERE owner_id = $1 AND app_id = $2 AND name = $3",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(name)
    .bind(hosts)
    .execute(&mut **tx)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Deletes a secret of `kind` (its sealed values with it); false when there is none.
pub async fn delete(
    tx: &mut TenantTx,
    app: AppId,
    name: &str,
    kind: &str,
) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query(
        "DELETE FROM app_secrets WHERE owner_id = $1 AND app_id = $2 AND name = $3 AND kind = $4",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(name)
    .bind(kind)
    .execute(&mut **tx)
    .await?;
    Ok(deleted.rows_affected() == 1)
}

/// The secrets of `app`, by name, with their uses over the day before `now`.
pub async fn list(
    tx: &mut TenantTx,
    app: AppId,
    now: OffsetDateTime,
) -> Result<Vec<ListedSecret>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.name, s.hosts, s.placement, s.placement_name, s.hint, s.created_at, \
         s.rotated_at, s.last_used_at, \
         coalesce((SELECT sum(u.uses) FROM app_secret_uses u \
                   WHERE u.owner_id = s.owner_id AND u.app_id = s.app_id AND u.name = s.name \
                     AND u.hour > $3 - interval '1 day'), 0)::bigint AS uses_last_day, \
         s.kind, s.access_expires_at, s.revocation_url IS NOT NULL AS revocable \
         FROM app_secrets s WHERE s.owner_id = $1 AND s.app_id = $2 ORDER BY s.name",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(now)
    .fetch_all(&mut **tx)
    .await
}

/// The names of another tenant's app's secrets, for one of its collaborators (the transaction's
/// tenant); nothing for anyone else.
pub async fn names_for_member(
    conn: &mut PgConnection,
    owner: OwnerId,
    app: AppId,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT custodian_app_secret_names($1, $2)")
        .bind(owner)
        .bind(app)
        .fetch_all(conn)
        .await
}

/// One secret with its sealed values, for egress; `Lock::Row` holds its row until the
/// transaction ends (refreshing a connection's token, disconnecting), so that two of those
/// never run at once.
pub async fn sealed(
    tx: &mut TenantTx,
    app: AppId,
    name: &str,
    lock: Lock,
) -> Result<Option<SealedSecret>, sqlx::Error> {
    let query = match lock {
        Lock::None => {
            "SELECT hosts, placement, placement_name, sealed_value, kind, sealed_grant, \
             access_expires_at, token_url, revocation_url, client_id FROM app_secrets \
             WHERE owner_id = $1 AND app_id = $2 AND name = $3"
        }
        Lock::Row => {
            "SELECT hosts, placement, placement_name, sealed_value, kind, sealed_grant, \
             access_expires_at, token_url, revocation_url, client_id FROM app_secrets \
             WHERE owner_id = $1 AND app_id = $2 AND name = $3 FOR UPDATE"
        }
    };
    sqlx::query_as(query)
    .bind(tx.owner_id())
    .bind(app)
    .bind(name)
    .fetch_optional(&mut **tx)
    .await
}

/// A connection's new tokens, from its service: the access token, and the grant when the
/// service issued a new refresh token.
pub async fn refreshed(
    tx: &mut TenantTx,
    app: AppId,
    name: &str,
    sealed_value: &[u8],
    hint: &str,
    sealed_grant: &[u8],
    access_expires_at: Option<OffsetDateTime>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE app_secrets SET sealed_value = $4, hint = $5, sealed_grant = $6, \
         access_expires_at = $7 WHERE owner_id = $1 AND app_id = $2 AND name = $3",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(name)
    .bind(sealed_value)
    .bind(hint)
    .bind(sealed_grant)
    .bind(access_expires_at)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// A sealed column of a secret: its value, or a connection's grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    Value,
    Grant,
}

/// Every sealed `column` of the tenant's secrets that holds something, with its app and name
/// (the publish check, re-sealing).
pub async fn all_sealed(
    tx: &mut TenantTx,
    column: Sealed,
) -> Result<Vec<(AppId, String, Vec<u8>)>, sqlx::Error> {
    let query = match column {
        Sealed::Value => {
            "SELECT app_id, name, sealed_value FROM app_secrets WHERE owner_id = $1 \
             ORDER BY app_id, name"
        }
        Sealed::Grant => {
            "SELECT app_id, name, sealed_grant FROM app_secrets \
             WHERE owner_id = $1 AND sealed_grant IS NOT NULL ORDER BY app_id, name"
        }
    };
    sqlx::query_as(query)
        .bind(tx.owner_id())
        .fetch_all(&mut **tx)
        .await
}

/// Replaces a sealed `column` with the same content sealed again (a data-key rotation: not a
/// new value, so its dates stay), only while it is still `was`: what was replaced meanwhile is
/// never overwritten by the old one. False when it changed.
pub async fn reseal(
    tx: &mut TenantTx,
    column: Sealed,
    app: AppId,
    name: &str,
    was: &[u8],
    resealed: &[u8],
) -> Result<bool, sqlx::Error> {
    let query = match column {
        Sealed::Value => {
            "UPDATE app_secrets SET sealed_value = $5 \
             WHERE owner_id = $1 AND app_id = $2 AND name = $3 AND sealed_value = $4"
        }
        Sealed::Grant => {
            "UPDATE app_secrets SET sealed_grant = $5 \
             WHERE owner_id = $1 AND app_id = $2 AND name = $3 AND sealed_grant = $4"
        }
    };
    let changed = sqlx::query(query)
        .bind(tx.owner_id())
        .bind(app)
        .bind(name)
        .bind(was)
        .bind(resealed)
        .execute(&mut **tx)
        .await?;
    Ok(changed.rows_affected() == 1)
}

/// Counts one use of a secret in the hour `hour` and notes when it was last used; true for the
/// hour's first use (the one the security log records).
pub async fn count_use(
    tx: &mut TenantTx,
    app: AppId,
    name: &str,
    hour: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE app_secrets SET last_used_at = $4 WHERE owner_id = $1 AND app_id = $2 AND name = $3",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(name)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query_scalar(
        "INSERT INTO app_secret_uses (owner_id, app_id, name, hour, uses) \
         VALUES ($1, $2, $3, $4, 1) \
         ON CONFLICT (owner_id, app_id, name, hour) \
         DO UPDATE SET uses = app_secret_uses.uses + 1 \
         RETURNING uses = 1",
    )
    .bind(tx.owner_id())
    .bind(app)
    .bind(name)
    .bind(hour)
    .fetch_one(&mut **tx)
    .await
}
