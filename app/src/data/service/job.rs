//! The export's jobs. `BUILD` writes one export's archive: marked building, written to a part
//! file from one snapshot while its progress is reported and its lease renewed, renamed, then
//! marked ready with a mail, in one transaction. Run again (after a crash, a lost lease or a
//! failure) it starts over and still leaves exactly one archive; after its last try it marks
//! the export failed with the reason and mails the person. `SWEEP` deletes archives past their
//! 7 days and every file no live export owns (an export still being built keeps its parts).

use std::{path::Path, time::Duration as StdDuration};

use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use tokio::sync::watch;
use uuid::Uuid;

use super::{
    archive::{self, ArchiveError, Contents, Progress, Summary},
    files,
};
use crate::{
    auth::store::accounts,
    data::{
        model::{human_size, ExportState, EXPORT_EXPIRED, EXPORT_FAILED, EXPORT_READY, KEEP_DAYS},
        rights::answer::{self, Answerer},
        store::{self, Finished},
    },
    platform::{
        area::EventKind,
        audit,
        db::{DbError, TenantTx},
        error::InfraError,
        ids::OwnerId,
        jobs::{self, renew_lease, BoxFuture, Job, JobContext, JobError, JobKind},
        mail::{self, Mail},
        portable::Signing,
        region::{Region, Tenant},
    },
};

/// How often a build writes its progress and renews its lease.
const REPORT_EVERY: StdDuration = StdDuration::from_secs(1);

pub const BUILD: JobKind = JobKind {
    name: "build_export",
    run: build,
    max_attempts: 3,
    every: None,
};

pub const SWEEP: JobKind = JobKind {
    name: "sweep_exports",
    run: sweep,
    max_attempts: 3,
    every: Some(Duration::hours(1)),
};

/// Why an export whose job is gone (given up on after an error its last try could not record,
/// or left behind by a move between regions) ended.
pub const INTERRUPTED: &str = "The export was interrupted; ask for a new one.";

/// The build job's key: one job per export.
pub fn key(id: Uuid) -> String {
    format!("export:{id}")
}

/// What a build job is told: whose export, in which region.
pub fn payload(tenant: Tenant, id: Uuid) -> Value {
    json!({ "owner": tenant.owner_id, "region": tenant.region.as_str(), "export": id })
}

fn parse(payload: &Value) -> Option<(Tenant, Uuid)> {
    let owner: OwnerId = payload["owner"].as_str()?.parse().ok()?;
    let region = Region::parse(payload["region"].as_str()?)?;
    let id = payload["export"].as_str()?.parse().ok()?;
    Some((Tenant::new(owner, region), id))
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error(transparent)]
    Infra(#[from] InfraError),
    #[error("another runner took the job over")]
    LeaseLost,
    #[error("the access rights it answers could not be closed: {0}")]
    Rights(String),
}

impl From<sqlx::Error> for BuildError {
    fn from(error: sqlx::Error) -> Self {
        Self::Infra(error.into())
    }
}

impl From<DbError> for BuildError {
    fn from(error: DbError) -> Self {
        Self::Infra(error.into())
    }
}

impl BuildError {
    pub fn for_person(&self) -> &'static str {
        match self {
            Self::Archive(error) => error.for_person(),
            Self::Infra(_) | Self::LeaseLost | Self::Rights(_) => "The server could not finish it.",
        }
    }
}

fn build<'a>(context: &'a JobContext, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async move {
        let (tenant, id) = parse(&job.payload)
            .ok_or_else(|| JobError::Failed("the job names no export".to_owned()))?;
        let root = files::region_root(&context.data_dir, tenant.region);
        match run_build(context, job, tenant, id, &root).await {
            Ok(()) => Ok(()),
            // Another runner has the job now: its outcome is the export's.
            Err(BuildError::LeaseLost) => Err(JobError::Failed(BuildError::LeaseLost.to_string())),
            Err(error) if BUILD.gives_up_after(job.attempt) => {
                tracing::warn!(export = %id, %error, "an export failed for good");
                give_up(context, tenant, id, &root, error.for_person())
                    .await
                    .map_err(|error| JobError::Failed(error.to_string()))?;
                Ok(())
            }
            Err(error) => Err(JobError::Failed(error.to_string())),
        }
    })
}

async fn run_build(
    context: &JobContext,
    job: &Job,
    tenant: Tenant,
    id: Uuid,
    root: &Path,
) -> Result<(), BuildError> {
    let signing = Signing::new(&context.key_encryption_key, &context.public_url);
    let contents = Contents::everything(tenant, signing);
    let mut tx = TenantTx::begin_on(&context.pool, tenant).await?;
    let wanted = store::start_building(&mut tx, id, contents.files_total()).await?;
    tx.commit().await?;
    if !wanted {
        // Deleted meanwhile, or finished by an earlier run whose job outlived it.
        return settle(context, tenant, id, root).await;
    }
    let part = files::part(root, tenant.owner_id, id, job.attempt);
    let summary = write(context, job, &contents, id, &part).await?;
    publish(context, tenant, id, root, &part, &summary).await
}

/// Leaves on disk what the export's row says it has: its archive while it is ready, nothing
/// otherwise.
async fn settle(
    context: &JobContext,
    tenant: Tenant,
    id: Uuid,
    root: &Path,
) -> Result<(), BuildError> {
    let mut tx = TenantTx::begin_on(&context.pool, tenant).await?;
    let state = store::get(&mut tx, id).await?.map(|stored| stored.state);
    tx.commit().await?;
    if state.as_deref() == Some("ready") {
        files::remove_parts(root, tenant.owner_id, id).await;
    } else {
        files::remove_export(root, tenant.owner_id, id).await;
    }
    Ok(())
}

/// Writes this attempt's part file from one snapshot, reporting progress meanwhile; the part
/// is removed when the attempt fails.
async fn write(
    context: &JobContext,
    job: &Job,
    contents: &Contents<'_>,
    id: Uuid,
    part: &Path,
) -> Result<Summary, BuildError> {
    let tenant = Tenant::new(contents.owner, contents.region);
    let (progress, watched) = watch::channel(Progress::default());
    let writing = async {
        if let Some(folder) = part.parent() {
            tokio::fs::create_dir_all(folder)
                .await
                .map_err(ArchiveError::from)?;
        }
        write_snapshot(&context.pool, contents, part, &progress).await
    };
    let result = tokio::select! {
        result = writing => result,
        lost = report(context, job, tenant, id, watched) => Err(lost),
    };
    if result.is_err() {
        files::remove_file(part).await;
    }
    result
}

/// Writes the archive of `contents` to `out` from one snapshot of the tenant's rows, on its
/// region's pool: the one way an archive is made, by the job and by the operator's command.
pub async fn write_snapshot(
    pool: &sqlx::PgPool,
    contents: &Contents<'_>,
    out: &Path,
    progress: &watch::Sender<Progress>,
) -> Result<Summary, BuildError> {
    let tenant = Tenant::new(contents.owner, contents.region);
    let mut snapshot = TenantTx::begin_snapshot(pool, tenant).await?;
    let summary = archive::write(&mut snapshot, contents, out, progress).await?;
    snapshot.commit().await?;
    Ok(summary)
}

/// Writes the progress to the export's row and renews the job's lease, every second, until the
/// lease is lost (it never returns otherwise).
async fn report(
    context: &JobContext,
    job: &Job,
    tenant: Tenant,
    id: Uuid,
    mut watched: watch::Receiver<Progress>,
) -> BuildError {
    loop {
        tokio::time::sleep(REPORT_EVERY).await;
        let now = context.clock.now();
        match renew_lease(&context.pool, job, now).await {
            Ok(true) => {}
            Ok(false) => return BuildError::LeaseLost,
            Err(error) => tracing::warn!(%error, "could not renew an export's lease"),
        }
        let seen = watched.borrow_and_update().clone();
        let recorded = async {
            let mut tx = TenantTx::begin_on(&context.pool, tenant).await?;
            store::record_progress(&mut tx, id, seen.stage, seen.files_done, seen.records).await?;
            tx.commit().await?;
            Ok::<_, InfraError>(())
        };
        if let Err(error) = recorded.await {
            tracing::warn!(%error, "could not record an export's progress");
        }
    }
}

fn data_page(context: &JobContext) -> String {
    format!("{}/data", context.public_url.as_str().trim_end_matches('/'))
}

/// What the person is told of an export's outcome: in the security log and by mail.
struct Told<'a> {
    event: EventKind,
    detail: &'a str,
    subject: &'a str,
    body: String,
}

/// Records the outcome in the tenant's log and mails it to the account's address, in `tx`.
async fn tell(
    context: &JobContext,
    tx: &mut TenantTx,
    told: Told<'_>,
    now: OffsetDateTime,
) -> Result<(), InfraError> {
    audit::record_unattributed(tx, &context.key_encryption_key, told.event, told.detail, now)
        .await?;
    let account = accounts::account(tx).await?;
    let mail = Mail {
        account: tx.owner_id(),
        to: &account.email,
        subject: told.subject,
        body: told.body,
    };
    mail::enqueue(tx, mail, now).await?;
    Ok(())
}

/// Names the archive and marks the export ready, records it and mails the person, in one
/// transaction that holds the export's row: two runs never both publish, and an export deleted
/// meanwhile keeps nothing.
async fn publish(
    context: &JobContext,
    tenant: Tenant,
    id: Uuid,
    root: &Path,
    part: &Path,
    summary: &Summary,
) -> Result<(), BuildError> {
    let now = context.clock.now();
    let expires_at = now + Duration::days(KEEP_DAYS);
    let mut tx = TenantTx::begin_on(&context.pool, tenant).await?;
    if !store::hold_building(&mut tx, id).await? {
        tx.commit().await?;
        files::remove_file(part).await;
        return settle(context, tenant, id, root).await;
    }
    if let Err(error) = tokio::fs::rename(part, files::archive(root, tenant.owner_id, id)).await {
        files::remove_file(part).await;
        return Err(ArchiveError::from(error).into());
    }
    let done = Finished {
        at: now,
        expires_at,
        size_bytes: summary.size_bytes,
        manifest_sha256: &summary.manifest_sha256,
        records: summary.records,
    };
    store::finish(&mut tx, id, &done).await?;
    let detail = format!(
        "{} records, {}, manifest SHA-256 {}",
        summary.records,
        human_size(summary.size_bytes),
        &summary.manifest_sha256[..16.min(summary.manifest_sha256.len())]
    );
    let body = format!(
        "The copy of your Custodian data you asked for is ready ({}). Sign in and download it from {}.\n\nIt is kept until {} and then deleted. If you did not ask for it, change your password and delete the export on that page.",
        human_size(summary.size_bytes),
        data_page(context),
        crate::platform::clock::to_minute(expires_at),
    );
    let told = Told {
        event: EXPORT_READY,
        detail: &detail,
        subject: "Your data export is ready",
        body,
    };
    tell(context, &mut tx, told, now).await?;
    let answerer = Answerer {
        key: &context.key_encryption_key,
        now,
        site: &context.public_url,
    };
    if let Some(export) = store::get(&mut tx, id).await? {
        answer::answer_access(&mut tx, &answerer, export.requested_at)
            .await
            .map_err(|e| BuildError::Rights(e.to_string()))?;
    }
    // A commit that fails leaves the row building with the archive named: the next run writes
    // it again.
    tx.commit().await?;
    // Attempts before this one may have left their part files (a crash).
    files::remove_parts(root, tenant.owner_id, id).await;
    Ok(())
}

/// After the last try: the export is failed with the reason, the person is told, and nothing of
/// it stays on disk.
async fn give_up(
    context: &JobContext,
    tenant: Tenant,
    id: Uuid,
    root: &Path,
    reason: &str,
) -> Result<(), BuildError> {
    let now = context.clock.now();
    let mut tx = TenantTx::begin_on(&context.pool, tenant).await?;
    if !store::fail(&mut tx, id, now, reason).await? {
        // Published (or deleted) by another run after all: its files are as its row says.
        tx.commit().await?;
        return settle(context, tenant, id, root).await;
    }
    {
        let body = format!(
            "The export of your Custodian data could not be built: {reason}\n\nNothing of it was kept. You can ask for a new one at {}.",
            data_page(context)
        );
        let told = Told {
            event: EXPORT_FAILED,
            detail: reason,
            subject: "Your data export failed",
            body,
        };
        tell(context, &mut tx, told, now).await?;
    }
    tx.commit().await?;
    files::remove_export(root, tenant.owner_id, id).await;
    Ok(())
}

/// Fails an export whose job is gone (its last try could not record its failure).
async fn interrupted(context: &JobContext, tx: &mut TenantTx, id: Uuid) -> Result<(), JobError> {
    let now = context.clock.now();
    if store::fail(tx, id, now, INTERRUPTED).await? {
        audit::record_unattributed(tx, &context.key_encryption_key, EXPORT_FAILED, INTERRUPTED, now)
            .await
            .map_err(InfraError::from)?;
    }
    Ok(())
}

fn sweep<'a>(context: &'a JobContext, _: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async move {
        let root = files::region_root(&context.data_dir, context.region);
        let Ok(mut owners) = tokio::fs::read_dir(&root).await else {
            return Ok(());
        };
        while let Some(entry) = owners
            .next_entry()
            .await
            .map_err(|e| JobError::Failed(e.to_string()))?
        {
            let name = entry.file_name();
            let Ok(owner) = name.to_string_lossy().parse::<OwnerId>() else {
                continue;
            };
            // One account's folder that cannot be swept does not stop the others'.
            if let Err(error) = sweep_owner(context, &root, Tenant::new(owner, context.region)).await {
                tracing::warn!(%error, "could not sweep an account's exports");
            }
        }
        Ok(())
    })
}

/// Deletes the owner's files that no live export owns: archives past their expiry (recorded in
/// the log), files of deleted, failed or unknown exports, and stale partial attempts.
async fn sweep_owner(context: &JobContext, root: &Path, tenant: Tenant) -> Result<(), JobError> {
    let dir = files::owner_dir(root, tenant.owner_id);
    let now = context.clock.now();
    let mut entries = tokio::fs::read_dir(&dir)
        .await
        .map_err(|e| JobError::Failed(e.to_string()))?;
    let mut tx = TenantTx::begin_on(&context.pool, tenant).await?;
    let mut kept = 0;
    while let Ok(Some(entry)) = entries.next_entry().await {
        let Some((id, complete)) = files::export_of(&entry.file_name().to_string_lossy()) else {
            continue;
        };
        let state = store::get(&mut tx, id).await?.map(|stored| {
            let expired = stored.expires_at.is_some_and(|at| at <= now);
            ExportState::parse(&stored.state, expired)
        });
        let keep = match state {
            Some(ExportState::Queued | ExportState::Building) => {
                if jobs::is_pending(&mut tx, &key(id)).await? {
                    true
                } else {
                    interrupted(context, &mut tx, id).await?;
                    false
                }
            }
            Some(ExportState::Ready) => complete,
            Some(ExportState::Expired) if complete => {
                audit::record_unattributed(&mut tx, &context.key_encryption_key, EXPORT_EXPIRED, "", now)
                    .await
                    .map_err(InfraError::from)?;
                false
            }
            _ => false,
        };
        if keep {
            kept += 1;
        } else {
            files::remove_file(&entry.path()).await;
        }
    }
    let building = store::active(&mut tx).await?.is_some();
    tx.commit().await?;
    if kept == 0 && !building {
        // Only when empty; a file written meanwhile keeps it.
        let _ = tokio::fs::remove_dir(&dir).await;
    }
    Ok(())
}
