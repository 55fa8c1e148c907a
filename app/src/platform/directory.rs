//! The directory (promise P11): the one database every region shares, holding only what
//! routing needs. An address is known there only by a keyed hash, next to its tenant and region;
//! an invite only by its code's hash, next to the region that keeps it.
//!
//! An app is known there by its id, next to its owner and region, so that a request to the
//! app's own origin finds the database that holds it.
//!
//! Owns: `address_routes`, `invite_routes`, `app_routes`, `tenant_moves`, `move_requests`,
//! `erasures`.

use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};

use super::{
    db::DbError,
    ids::{AppId, OwnerId},
    keys::{Derived, KeyEncryptionKey},
    region::{Region, Tenant},
};

/// How long an unverified claim on an address holds against a new sign-up.
const UNVERIFIED_CLAIM: Duration = Duration::hours(72);

/// The directory's name for an address (already normalised): a keyed hash, so a copy of the
/// directory lists no address and cannot be searched without the key.
fn address_key(kek: &KeyEncryptionKey, address: &str) -> [u8; 32] {
    kek.mac(Derived::DirectoryAddresses, address.as_bytes())
}

fn region_of_row(region: &str) -> Result<Region, sqlx::Error> {
    Region::parse(region).ok_or_else(|| {
        sqlx::Error::Decode(format!("the directory names an unknown region {region:?}").into())
    })
}

/// The tenant an address belongs to, and its region; refused while the tenant is moving.
pub async fn route_of_address(
    directory: &PgPool,
    kek: &KeyEncryptionKey,
    address: &str,
) -> Result<Option<Tenant>, DbError> {
    let row = sqlx::query!(
        r#"SELECT r.tenant_id AS "tenant_id: OwnerId", r.region,
                  EXISTS (SELECT 1 FROM tenant_moves m WHERE m.tenant_id = r.tenant_id) AS "moving!"
           FROM address_routes r WHERE r.address_key = $1"#,
        &address_key(kek, address)[..]
    )
    .fetch_optional(directory)
    .await?;
    match row {
        Some(row) if row.moving => Err(DbError::TenantMoving),
        Some(row) => Ok(Some(Tenant::new(
            row.tenant_id,
            region_of_row(&row.region)?,
        ))),
        None => Ok(None),
    }
}

/// The region of a tenant that has an address; refused while the tenant is moving.
pub async fn region_of(directory: &PgPool, owner_id: OwnerId) -> Result<Option<Region>, DbError> {
    let row = sqlx::query!(
        r#"SELECT r.region,
                  EXISTS (SELECT 1 FROM tenant_moves m WHERE m.tenant_id = r.tenant_id) AS "moving!"
           FROM address_routes r WHERE r.tenant_id = $1"#,
        owner_id.as_uuid()
    )
    .fetch_optional(directory)
    .await?;
    match row {
        Some(row) if row.moving => Err(DbError::TenantMoving),
        Some(row) => Ok(Some(region_of_row(&row.region)?)),
        None => Ok(None),
    }
}

/// Routes `address` to `tenant`, replacing the tenant's previous address. False when another
/// tenant holds it, unless that one never verified it and claimed it over 72 hours ago.
/// Concurrent claims of one address: exactly one wins.
pub async fn claim_address(
    directory: &PgPool,
    kek: &KeyEncryptionKey,
    address: &str,
    tenant: Tenant,
    verified: bool,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let key = address_key(kek, address);
    let mut tx = directory.begin().await?;
    let holder = sqlx::query!(
        r#"SELECT tenant_id AS "tenant_id: OwnerId", verified, claimed_at FROM address_routes
           WHERE address_key = $1 FOR UPDATE"#,
        &key[..]
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(holder) = holder.filter(|h| h.tenant_id != tenant.owner_id) {
        if holder.verified || holder.claimed_at > now - UNVERIFIED_CLAIM {
            return Ok(false);
        }
        sqlx::query!(
            "DELETE FROM address_routes WHERE address_key = $1",
            &key[..]
        )
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query!(
        "DELETE FROM address_routes WHERE tenant_id = $1 AND address_key <> $2",
        tenant.owner_id.as_uuid(),
        &key[..]
    )
    .execute(&mut *tx)
    .await?;
    // A concurrent first claim of the same address makes this insert conflict; the WHERE keeps
    // the winner's row, and no row written means this claim lost.
    let written = sqlx::query!(
        "INSERT INTO address_routes (address_key, tenant_id, region, verified, claimed_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (address_key) DO UPDATE \
         SET verified = address_routes.verified OR excluded.verified \
         WHERE address_routes.tenant_id = excluded.tenant_id",
        &key[..],
        tenant.owner_id.as_uuid(),
        tenant.region.as_str(),
        verified,
        now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if written == 0 {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// The tenant proved it reads its address: the claim now holds for good.
pub async fn mark_verified(directory: &PgPool, owner_id: OwnerId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE address_routes SET verified = true WHERE tenant_id = $1",
        owner_id.as_uuid()
    )
    .execute(directory)
    .await?;
    Ok(())
}

/// Forgets a tenant's route: its account was not made after all, or is gone.
pub async fn release(directory: &PgPool, owner_id: OwnerId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM address_routes WHERE tenant_id = $1",
        owner_id.as_uuid()
    )
    .execute(directory)
    .await?;
    Ok(())
}

/// Records which region keeps the invite with `code`.
pub async fn route_invite(
    directory: &PgPool,
    code: &str,
    region: Region,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO invite_routes (code_sha256, region) \
         VALUES (sha256(convert_to($1, 'UTF8')), $2) ON CONFLICT (code_sha256) DO NOTHING",
        code,
        region.as_str()
    )
    .execute(directory)
    .await?;
    Ok(())
}

/// The region that keeps the invite with `code`: the default region for an invite the directory
/// does not know (made before regions, or not at all; that region then says which).
pub async fn invite_region(directory: &PgPool, code: &str) -> Result<Region, sqlx::Error> {
    let region = sqlx::query_scalar!(
        "SELECT region FROM invite_routes WHERE code_sha256 = sha256(convert_to($1, 'UTF8'))",
        code
    )
    .fetch_optional(directory)
    .await?;
    region.as_deref().map_or(Ok(Region::DEFAULT), region_of_row)
}

/// The tenant of an address, moving or not (an operator's command).
pub async fn tenant_of_address(
    directory: &PgPool,
    kek: &KeyEncryptionKey,
    address: &str,
) -> Result<Option<OwnerId>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT tenant_id AS "tenant_id: OwnerId" FROM address_routes WHERE address_key = $1"#,
        &address_key(kek, address)[..]
    )
    .fetch_optional(directory)
    .await
}

/// A move under way: where from, where to, and whether the route already names the target.
pub type MoveUnderWay = (Region, Region, bool);

/// The tenant's region, and its move if one is under way.
pub async fn route_and_move(
    directory: &PgPool,
    owner_id: OwnerId,
) -> Result<Option<(Region, Option<MoveUnderWay>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT r.region, m.from_region AS "from_region?", m.to_region AS "to_region?",
                  m.switched AS "switched?"
           FROM address_routes r LEFT JOIN tenant_moves m ON m.tenant_id = r.tenant_id
           WHERE r.tenant_id = $1"#,
        owner_id.as_uuid()
    )
    .fetch_optional(directory)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let under_way = match (row.from_region, row.to_region, row.switched) {
        (Some(from), Some(to), Some(switched)) => {
            Some((region_of_row(&from)?, region_of_row(&to)?, switched))
        }
        _ => None,
    };
    Ok(Some((region_of_row(&row.region)?, under_way)))
}

/// Records a move of `owner_id` from `from` to `to`: the tenant is frozen from now on.
pub async fn record_move(
    directory: &PgPool,
    owner_id: OwnerId,
    from: Region,
    to: Region,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO tenant_moves (tenant_id, from_region, to_region, started_at) \
         VALUES ($1, $2, $3, $4)",
        owner_id.as_uuid(),
        from.as_str(),
        to.as_str(),
        now
    )
    .execute(directory)
    .await?;
    Ok(())
}

/// Takes the lock that lets one run at a time work on the tenant's move; false when another
/// run holds it. Held by the connection's session: it goes when the connection closes, even
/// when the process dies.
pub async fn lock_move(conn: &mut PgConnection, owner_id: OwnerId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_lock(hashtextextended('tenant move ' || $1::text, 0)) AS "held!""#,
        owner_id.as_uuid().to_string()
    )
    .fetch_one(conn)
    .await
}

/// Routes an app to its owner's region.
pub async fn route_app(directory: &PgPool, app: AppId, tenant: Tenant) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO app_routes (app_id, tenant_id, region) VALUES ($1, $2, $3)")
        .bind(app)
        .bind(tenant.owner_id)
        .bind(tenant.region.as_str())
        .execute(directory)
        .await
        .map(drop)
}

/// The owner of an app and its region; refused while the owner is moving.
pub async fn route_of_app(directory: &PgPool, app: AppId) -> Result<Option<Tenant>, DbError> {
    let row: Option<(OwnerId, String, bool)> = sqlx::query_as(
        "SELECT r.tenant_id, r.region, \
                EXISTS (SELECT 1 FROM tenant_moves m WHERE m.tenant_id = r.tenant_id) \
         FROM app_routes r WHERE r.app_id = $1",
    )
    .bind(app)
    .fetch_optional(directory)
    .await?;
    match row {
        Some((_, _, true)) => Err(DbError::TenantMoving),
        Some((owner, region, false)) => Ok(Some(Tenant::new(owner, region_of_row(&region)?))),
        None => Ok(None),
    }
}

/// Forgets an app's route (its purge).
pub async fn forget_app(directory: &PgPool, app: AppId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM app_routes WHERE app_id = $1")
        .bind(app)
        .execute(directory)
        .await
        .map(drop)
}

/// Routes the tenant and the invites it made (by their codes' hashes) to its new region, and
/// marks its move as decided, all together.
pub async fn switch_route(
    directory: &PgPool,
    to: Tenant,
    invite_hashes: &[Vec<u8>],
) -> Result<(), sqlx::Error> {
    let mut tx = directory.begin().await?;
    sqlx::query!(
        "UPDATE invite_routes SET region = $2 WHERE code_sha256 = ANY ($1)",
        invite_hashes,
        to.region.as_str()
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE address_routes SET region = $2 WHERE tenant_id = $1",
        to.owner_id.as_uuid(),
        to.region.as_str()
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE app_routes SET region = $2 WHERE tenant_id = $1")
        .bind(to.owner_id)
        .bind(to.region.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "UPDATE tenant_moves SET switched = true WHERE tenant_id = $1",
        to.owner_id.as_uuid()
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Ends the tenant's move (done or abandoned): it is no longer frozen.
pub async fn end_move(directory: &PgPool, owner_id: OwnerId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM tenant_moves WHERE tenant_id = $1",
        owner_id.as_uuid()
    )
    .execute(directory)
    .await?;
    Ok(())
}

/// Records a person's request to move to `to` (a newer request replaces an older one).
pub async fn request_move(
    directory: &PgPool,
    owner_id: OwnerId,
    to: Region,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO move_requests (tenant_id, to_region, requested_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO UPDATE SET to_region = excluded.to_region, \
         requested_at = excluded.requested_at",
        owner_id.as_uuid(),
        to.as_str(),
        now
    )
    .execute(directory)
    .await?;
    Ok(())
}

/// The tenant's pending move request: where to, and when it was asked for.
pub async fn move_request(
    directory: &PgPool,
    owner_id: OwnerId,
) -> Result<Option<(Region, OffsetDateTime)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT to_region, requested_at FROM move_requests WHERE tenant_id = $1",
        owner_id.as_uuid()
    )
    .fetch_optional(directory)
    .await?;
    row.map(|row| Ok((region_of_row(&row.to_region)?, row.requested_at)))
        .transpose()
}

/// Every pending move request, oldest first (an operator's command).
pub async fn move_requests(
    directory: &PgPool,
) -> Result<Vec<(OwnerId, Region, OffsetDateTime)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT tenant_id AS "tenant_id: OwnerId", to_region, requested_at
           FROM move_requests ORDER BY requested_at"#
    )
    .fetch_all(directory)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok((
                row.tenant_id,
                region_of_row(&row.to_region)?,
                row.requested_at,
            ))
        })
        .collect()
}

/// The request is settled (the move was made).
pub async fn drop_move_request(directory: &PgPool, owner_id: OwnerId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM move_requests WHERE tenant_id = $1",
        owner_id.as_uuid()
    )
    .execute(directory)
    .await?;
    Ok(())
}

/// Writes the erasure ledger's entry: everything of the tenant left `region`, with this many
/// data keys (so what was sealed there cannot be opened from a backup's copy of the keys table
/// once the key-encryption key's region key is gone either).
pub async fn record_erasure(
    directory: &PgPool,
    owner_id: OwnerId,
    region: Region,
    data_keys_destroyed: i32,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO erasures (tenant_id, region, reason, data_keys_destroyed, erased_at) \
         VALUES ($1, $2, 'moved', $3, $4)",
        owner_id.as_uuid(),
        region.as_str(),
        data_keys_destroyed,
        now
    )
    .execute(directory)
    .await?;
    Ok(())
}
