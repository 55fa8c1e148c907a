//! The trash's end (promise P10: deleted apps are removed within 30 days): an app left in the
//! trash for `TRASH_DAYS` is deleted for good by a job, with its files and links, and its route
//! leaves the directory. Restoring the app calls the job off; a job that finds the app restored
//! (or already gone) does nothing, so running it twice is safe.

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::{
    apps::{model::APP_PURGED, store},
    platform::{
        audit,
        db::TenantTx,
        directory,
        ids::{AppId, OwnerId},
        jobs::{self, BoxFuture, Job, JobContext, JobError, JobKind},
        region::{Region, Tenant},
    },
};

fn key(app: AppId) -> String {
    format!("app-purge:{app}")
}

fn payload(tenant: Tenant, app: AppId) -> Value {
    // "owner" names the tenant as every job of a tenant does: its account's purge removes it.
    json!({ "owner": tenant.owner_id, "region": tenant.region.as_str(), "app": app })
}

fn parse(payload: &Value) -> Result<(Tenant, AppId), JobError> {
    let read = || -> Option<(Tenant, AppId)> {
        let owner: OwnerId = payload["owner"].as_str()?.parse().ok()?;
        let region = Region::parse(payload["region"].as_str()?)?;
        let app = payload["app"].as_str()?.parse().ok()?;
        Some((Tenant::new(owner, region), app))
    };
    read().ok_or_else(|| JobError::Failed("the app purge's payload is malformed".to_owned()))
}

/// Queues the app's purge for `purge_at`, in the caller's transaction.
pub async fn schedule(
    tx: &mut TenantTx,
    app: AppId,
    purge_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant();
    jobs::enqueue_at(tx, PURGE.name, payload(tenant, app), Some(&key(app)), purge_at, now).await
}

/// Queues the purge of every app in the tenant's trash again: after a move between regions,
/// the jobs queued in the old region's database do not follow the tenant.
pub async fn requeue_trashed(tx: &mut TenantTx, now: OffsetDateTime) -> Result<(), sqlx::Error> {
    for (app, purge_at) in store::trashed(tx).await? {
        schedule(tx, app, purge_at, now).await?;
    }
    Ok(())
}

/// Calls the app's purge off (it was restored).
pub async fn call_off(tx: &mut TenantTx, app: AppId) -> Result<(), sqlx::Error> {
    jobs::cancel_prefixed(tx, &key(app)).await.map(drop)
}

fn purge<'a>(context: &'a JobContext, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async move {
        let (tenant, app) = parse(&job.payload)?;
        let now = context.clock.now();
        let mut tx = TenantTx::begin_on(&context.pool, tenant).await?;
        let name = store::get(&mut tx, app).await?.map(|found| found.name);
        if store::purge_due(&mut tx, app, now).await? {
            let detail = name.unwrap_or_default();
            audit::record_unattributed(&mut tx, &context.key_encryption_key, APP_PURGED, &detail, now)
                .await
                .map_err(|error| JobError::Infra(error.into()))?;
            tx.commit().await?;
            directory::forget_app(&context.directory, app).await?;
        }
        Ok(())
    })
}

/// Deletes an app whose time in the trash is over.
pub const PURGE: JobKind = JobKind {
    name: "purge_trashed_app",
    run: purge,
    max_attempts: 10,
    every: None,
};
