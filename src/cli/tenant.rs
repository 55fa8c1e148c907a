//! `custodian tenant move`: moves one tenant's data to another region (promise P11).
//!
//! The steps, each safe to repeat, so that a move killed at any point is finished by running
//! the command again and the tenant is never served from both regions, nor from neither:
//!
//! 1. Record the move in the directory: from here the tenant is frozen (its address answers
//!    sign-in and resets as an unknown one, mailed links wait), and its sessions are ended.
//! 2. Clear whatever an earlier, interrupted run left in the target, then copy every table of
//!    the tenant, one transaction per table, data keys re-wrapped with the target's key.
//! 3. Verify each table's row count and checksum in both regions, and all of them once more
//!    before the switch; on a mismatch the copy is removed and the move abandoned, leaving the
//!    tenant wholly in the source.
//! 4. Switch the directory's route (and the tenant's invites' routes) to the target: the move
//!    is now decided.
//! 5. Purge the source exactly as account erasure does (its data keys go with it) and write the
//!    erasure ledger's entry.
//! 6. In the target: queue the tenant's unsent mail, record the move in its security log, mail
//!    the signed move receipt, then end the move, which unfreezes the tenant in its new region.
//!
//! One run at a time per tenant (a lock held by the run's directory connection).

use app::{
    account::model::REGION_MOVED,
    auth::service::{accounts, invites},
    platform::{
        audit,
        clock::{Clock, SystemClock},
        config::Settings,
        db::TenantTx,
        directory,
        ids::OwnerId,
        keys::KeyEncryptionKey,
        mail::{self, Mail},
        region::{Region, Tenant},
        regions::{database_identity, Regions},
        session::listing,
        signed,
        tenant_copy::{self, TableDigest},
    },
};
use serde_json::json;
use sqlx::PgPool;

use super::{app_regions, key_encryption_key, migrated_owner_pools, CliError, OwnerPools};

/// Which tenant to move: by address or by id (as a move request names it).
pub enum Whom {
    Email(String),
    Tenant(OwnerId),
}

/// Where a run stops: at the end, or (to show that an interrupted move is finished by running
/// the command again) right after a step, as if the process had been killed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAfter {
    Copy,
    Switch,
    End,
}

/// A move under way, as the directory records it.
struct Move {
    from: Tenant,
    to: Tenant,
    switched: bool,
}

pub async fn move_tenant(settings: &Settings, whom: Whom, to: Region) -> Result<(), CliError> {
    move_tenant_until(settings, whom, to, StopAfter::End).await
}

/// `move_tenant`, stopping after `stop`.
pub async fn move_tenant_until(
    settings: &Settings,
    whom: Whom,
    to: Region,
    stop: StopAfter,
) -> Result<(), CliError> {
    let kek = key_encryption_key(settings)?;
    let owners = migrated_owner_pools(settings).await?;
    let regions = app_regions(settings, &owners, &kek).await?;
    let outcome = run(&owners, &regions, &kek, whom, to, stop).await;
    owners.close().await;
    regions.close().await;
    let Some(moved) = outcome? else {
        return Ok(());
    };
    println!(
        "Moved {} from {} to {}: every table copied and verified, the source purged.",
        moved.from.owner_id,
        moved.from.region.label(),
        moved.to.region.label()
    );
    Ok(())
}

/// The migration role copies and erases (with every statement naming the tenant: that role is
/// not held by row-level security); the app role writes the target's log and mail.
async fn run(
    owners: &OwnerPools,
    regions: &Regions,
    kek: &KeyEncryptionKey,
    whom: Whom,
    to: Region,
    stop: StopAfter,
) -> Result<Option<Move>, CliError> {
    let owner_id = find(owners, kek, whom).await?;
    // One run at a time: a second run would otherwise erase what the first copies.
    let mut lock = owners.directory.acquire().await?.detach();
    if !directory::lock_move(&mut lock, owner_id).await? {
        return Err(CliError::MoveRunning);
    }
    let outcome = run_locked(owners, regions, kek, owner_id, to, stop).await;
    // Closing the connection ends its session, and the lock with it.
    if let Err(error) = sqlx::Connection::close(lock).await {
        tracing::warn!(%error, "could not close the move's lock connection");
    }
    outcome
}

async fn run_locked(
    owners: &OwnerPools,
    regions: &Regions,
    kek: &KeyEncryptionKey,
    owner_id: OwnerId,
    to: Region,
    stop: StopAfter,
) -> Result<Option<Move>, CliError> {
    let the_move = begin(&owners.directory, regions, owner_id, to).await?;
    let source = owners.region(the_move.from.region)?;
    let target = owners.region(the_move.to.region)?;
    if database_identity(source).await? == database_identity(target).await? {
        directory::end_move(&owners.directory, owner_id).await?;
        return Err(CliError::SameDatabase);
    }
    if !the_move.switched {
        end_sessions(regions, the_move.from).await?;
        erase(target, the_move.to).await?;
        let copied = async {
            copy_and_verify(source, target, kek, &the_move).await?;
            // Once more, all tables, just before the switch: a write that reached the source
            // during the copy (a request already under way) fails the move rather than be lost.
            verify(source, target, owner_id).await
        };
        if let Err(failure) = copied.await {
            erase(target, the_move.to).await?;
            directory::end_move(&owners.directory, owner_id).await?;
            return Err(failure);
        }
        if stop == StopAfter::Copy {
            return Ok(None);
        }
        let invites = invites::code_hashes_of(target, owner_id).await?;
        directory::switch_route(&owners.directory, the_move.to, &invites).await?;
        if stop == StopAfter::Switch {
            return Ok(None);
        }
    }
    let data_keys = {
        let mut conn = source.acquire().await?;
        tenant_copy::digest(&mut conn, "public.data_keys", owner_id)
            .await?
            .rows
    };
    erase(source, the_move.from).await?;
    directory::record_erasure(
        &owners.directory,
        owner_id,
        the_move.from.region,
        i32::try_from(data_keys).unwrap_or(i32::MAX),
        SystemClock.now(),
    )
    .await?;
    // Only now, with the source purged, is the receipt true.
    welcome(regions, kek, &the_move).await?;
    directory::drop_move_request(&owners.directory, owner_id).await?;
    directory::end_move(&owners.directory, owner_id).await?;
    Ok(Some(the_move))
}

async fn find(
    owners: &OwnerPools,
    kek: &KeyEncryptionKey,
    whom: Whom,
) -> Result<OwnerId, CliError> {
    match whom {
        Whom::Tenant(owner_id) => Ok(owner_id),
        Whom::Email(email) => {
            let email = email.trim().to_lowercase();
            directory::tenant_of_address(&owners.directory, kek, &email)
                .await?
                .ok_or(CliError::NoSuchAccount(email))
        }
    }
}

/// Prints the moves people asked for, for an operator to approve with `tenant move`.
pub async fn list_requests(settings: &Settings) -> Result<(), CliError> {
    let owners = migrated_owner_pools(settings).await?;
    let requests = directory::move_requests(&owners.directory).await;
    owners.close().await;
    let requests = requests?;
    if requests.is_empty() {
        println!("No move requests.");
    }
    for (tenant, to, requested_at) in requests {
        println!(
            "{tenant} asks to move to {} (since {}): custodian tenant move --tenant {tenant} --to {}",
            to.label(),
            app::platform::clock::to_minute(requested_at),
            to.as_str()
        );
    }
    Ok(())
}

/// Whether the tenant's deletion is scheduled: its purge runs in its region, so it is not moved.
async fn scheduled_for_deletion(regions: &Regions, tenant: Tenant) -> Result<bool, CliError> {
    let mut tx = TenantTx::begin(regions, tenant).await?;
    let scheduled = tx.lock_deletion_schedule().await?.is_some();
    tx.commit().await?;
    Ok(scheduled)
}

/// The move of `owner_id` to `to`: the one under way, or a new one recorded now.
async fn begin(
    directory: &PgPool,
    regions: &Regions,
    owner_id: OwnerId,
    to: Region,
) -> Result<Move, CliError> {
    let route = directory::route_and_move(directory, owner_id).await?;
    let Some((region, under_way)) = route else {
        return Err(CliError::NoSuchAccount(owner_id.to_string()));
    };
    if let Some((from, target, switched)) = under_way {
        if target != to {
            return Err(CliError::MoveUnderWay(target.label()));
        }
        return Ok(Move {
            from: Tenant::new(owner_id, from),
            to: Tenant::new(owner_id, target),
            switched,
        });
    }
    if region == to {
        return Err(CliError::AlreadyInRegion(to.label()));
    }
    if scheduled_for_deletion(regions, Tenant::new(owner_id, region)).await? {
        return Err(CliError::DeletionScheduled);
    }
    directory::record_move(directory, owner_id, region, to, SystemClock.now()).await?;
    Ok(Move {
        from: Tenant::new(owner_id, region),
        to: Tenant::new(owner_id, to),
        switched: false,
    })
}

/// Ends every session of the tenant (as the app role, so row-level security keeps it to this
/// tenant): a frozen tenant is signed in nowhere.
async fn end_sessions(regions: &Regions, tenant: Tenant) -> Result<(), CliError> {
    let mut tx = TenantTx::begin(regions, tenant).await?;
    listing::delete_all(&mut tx, None).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes every row of the tenant from one region's database (as account erasure does).
async fn erase(owner: &PgPool, tenant: Tenant) -> Result<(), CliError> {
    let mut tx = TenantTx::begin_on(owner, tenant).await?;
    app::server::erase(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

async fn copy_and_verify(
    source: &PgPool,
    target: &PgPool,
    kek: &KeyEncryptionKey,
    the_move: &Move,
) -> Result<(), CliError> {
    let owner_id = the_move.from.owner_id;
    for table in tenant_copy::tables_of_a_tenant(source).await? {
        let mut tx = TenantTx::begin_on(target, the_move.to).await?;
        if tenant_copy::is_data_keys(&table) {
            tenant_copy::rewrap_data_keys(source, &mut tx, kek, the_move.from, the_move.to)
                .await
                .map_err(app::platform::error::InfraError::from)?;
        } else {
            tenant_copy::copy_table(source, &mut tx, &table, owner_id).await?;
        }
        tx.commit().await?;
        verify_table(source, target, &table, owner_id).await?;
    }
    // Verified as copied; the tenant's own row now names where it lives.
    let mut tx = TenantTx::begin_on(target, the_move.to).await?;
    tx.record_region().await?;
    tx.commit().await?;
    Ok(())
}

/// Every table of the tenant, counted and summed in both regions.
async fn verify(source: &PgPool, target: &PgPool, owner_id: OwnerId) -> Result<(), CliError> {
    for table in tenant_copy::tables_of_a_tenant(source).await? {
        verify_table(source, target, &table, owner_id).await?;
    }
    Ok(())
}

async fn verify_table(
    source: &PgPool,
    target: &PgPool,
    table: &str,
    owner_id: OwnerId,
) -> Result<(), CliError> {
    let (mut from, mut to) = (source.acquire().await?, target.acquire().await?);
    let expected = tenant_copy::digest(&mut from, table, owner_id).await?;
    let copied = tenant_copy::digest(&mut to, table, owner_id).await?;
    // The tenant's own row names its region, which the copy changes on purpose.
    if expected.rows != copied.rows
        || (expected.checksum != copied.checksum && !tenant_copy::names_region(table))
    {
        return Err(CliError::MoveMismatch(describe(&expected, &copied)));
    }
    Ok(())
}

fn describe(expected: &TableDigest, copied: &TableDigest) -> String {
    format!(
        "{}: {} rows in the source, {} in the target",
        expected.table, expected.rows, copied.rows
    )
}

/// In the target, before the switch: the unsent mail goes out from there, the security log
/// says what happened, and the person gets a signed receipt of the move.
async fn welcome(
    regions: &Regions,
    kek: &KeyEncryptionKey,
    the_move: &Move,
) -> Result<(), CliError> {
    let now = SystemClock.now();
    let (from, to) = (the_move.from.region.label(), the_move.to.region.label());
    let mut tx = TenantTx::begin(regions, the_move.to).await?;
    mail::requeue_unsent(&mut tx, the_move.to.owner_id, now).await?;
    app::apps::service::purge::requeue_trashed(&mut tx, now).await?;
    audit::record_unattributed(
        &mut tx,
        kek,
        REGION_MOVED,
        &format!("from {from} to {to}"),
        now,
    )
    .await?;
    let receipt = signed::sign(
        kek,
        "move",
        json!({
            "kind": "Custodian region move receipt v1",
            "account": the_move.to.owner_id.to_string(),
            "from": the_move.from.region.as_str(),
            "to": the_move.to.region.as_str(),
            "sourcePurged": true,
            "movedAt": now.unix_timestamp(),
        }),
    );
    let email = accounts::profile(&mut tx).await?.email;
    let body = format!(
        "Your Custodian data now lives in {to}. Every record was copied from {from}, checked \
         table by table, and then deleted from {from}, with the keys that sealed it there.\n\n\
         Your signed move receipt:\n\n{}\n",
        serde_json::to_string_pretty(&receipt).map_err(app::platform::error::InfraError::from)?
    );
    mail::enqueue(
        &mut tx,
        Mail {
            account: the_move.to.owner_id,
            to: &email,
            subject: "Your data moved to another region",
            body,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
