//! The directory (promise P11): the one database every region shares, holding only what
//! routing needs. An address is known there only by a keyed hash, next to its tenant and region;
//! an invite only by its code's hash, next to the region that keeps it.
//!
//! Owns: `address_routes`, `invite_routes`.

use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use super::{
    ids::OwnerId,
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

/// The tenant an address belongs to, and its region.
pub async fn route_of_address(
    directory: &PgPool,
    kek: &KeyEncryptionKey,
    address: &str,
) -> Result<Option<Tenant>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT tenant_id AS "tenant_id: OwnerId", region FROM address_routes
           WHERE address_key = $1"#,
        &address_key(kek, address)[..]
    )
    .fetch_optional(directory)
    .await?;
    row.map(|row| Ok(Tenant::new(row.tenant_id, region_of_row(&row.region)?)))
        .transpose()
}

/// The region of a tenant that has an address.
pub async fn region_of(
    directory: &PgPool,
    owner_id: OwnerId,
) -> Result<Option<Region>, sqlx::Error> {
    let region = sqlx::query_scalar!(
        "SELECT region FROM address_routes WHERE tenant_id = $1",
        owner_id.as_uuid()
    )
    .fetch_optional(directory)
    .await?;
    region.as_deref().map(region_of_row).transpose()
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
