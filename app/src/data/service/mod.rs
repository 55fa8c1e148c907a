//! Exports (promise P8): asking for one (sudo, one at a time, at most three a day), watching it,
//! downloading it (sudo) and deleting it. The archive itself is built by a job (`job`).

pub mod archive;
pub mod deletion;
pub mod files;
pub mod job;
pub mod purge;
pub mod sink;
pub mod viewer;

use thiserror::Error;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{
    data::{
        model::{
            human_size, DataOverview, ExportRow, ExportState, EXPORTS_PER_DAY, EXPORT_DELETED,
            EXPORT_DOWNLOADED, EXPORT_FAILED, EXPORT_REQUESTED,
        },
        store::{self, StoredExport},
    },
    platform::{
        clock::to_minute,
        context::{SignedIn, Sudo},
        db::TenantTx,
        error::{infra_conversions, InfraError},
        jobs,
    },
    ui::FormError,
};

/// Exports the page lists.
const LISTED: i64 = 10;

#[derive(Debug, Error)]
pub enum DataError {
    #[error("You have made {EXPORTS_PER_DAY} exports in the last 24 hours. The next one can start at {0}.")]
    DailyLimit(String),
    #[error("That export does not exist or is not yours.")]
    NoSuchExport,
    #[error("That export is still being built; it downloads once it is ready.")]
    Building,
    #[error("That export can no longer be downloaded: {0}.")]
    NotReady(&'static str),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(DataError);

impl From<DataError> for FormError {
    fn from(error: DataError) -> Self {
        match error {
            DataError::Infra(infra) => infra.into(),
            refusal => FormError::Page(refusal.to_string()),
        }
    }
}

fn row(stored: StoredExport, now: OffsetDateTime) -> ExportRow {
    let expired = stored.expires_at.is_some_and(|at| at <= now);
    ExportRow {
        id: stored.id,
        state: ExportState::parse(&stored.state, expired),
        stage: stored.stage,
        files_done: stored.files_done,
        files_total: stored.files_total,
        records: stored.records_written,
        requested: to_minute(stored.requested_at),
        finished: stored.finished_at.map(to_minute),
        expires: stored.expires_at.map(to_minute),
        size: stored.size_bytes.map(human_size),
        failure: stored.failure,
    }
}

/// When the daily limit lets the next export start, if it is reached now.
fn next_allowed(counted: &[OffsetDateTime]) -> Option<OffsetDateTime> {
    let reached = counted.len() as i64 >= EXPORTS_PER_DAY;
    let window_start = counted.len().saturating_sub(EXPORTS_PER_DAY as usize);
    reached.then(|| counted[window_start] + Duration::days(1))
}

/// Fails the export still marked as under way whose job is gone, so that it neither blocks the
/// next request nor keeps the page waiting.
async fn settle_interrupted(me: &SignedIn, tx: &mut TenantTx) -> Result<(), DataError> {
    let Some(active) = store::active(tx).await? else {
        return Ok(());
    };
    if !jobs::is_pending(tx, &job::key(active.id)).await?
        && store::fail(tx, active.id, me.now(), job::INTERRUPTED).await?
    {
        me.audit(tx, EXPORT_FAILED, job::INTERRUPTED).await?;
    }
    Ok(())
}

/// The person's exports and whether another may start.
pub async fn overview(me: &SignedIn) -> Result<DataOverview, DataError> {
    let now = me.now();
    let mut tx = me.begin_own().await?;
    settle_interrupted(me, &mut tx).await?;
    let exports = store::list(&mut tx, LISTED).await?;
    let counted = store::counted_since(&mut tx, now - Duration::days(1)).await?;
    tx.commit().await?;
    Ok(DataOverview {
        exports: exports.into_iter().map(|e| row(e, now)).collect(),
        next_allowed: next_allowed(&counted).map(to_minute),
    })
}

/// Starts an export, or returns the one already under way.
pub async fn request(me: &Sudo) -> Result<ExportRow, DataError> {
    let now = me.now();
    let mut tx = me.begin_own().await?;
    store::lock_requests(&mut tx).await?;
    settle_interrupted(me, &mut tx).await?;
    if let Some(running) = store::active(&mut tx).await? {
        tx.commit().await?;
        return Ok(row(running, now));
    }
    let counted = store::counted_since(&mut tx, now - Duration::days(1)).await?;
    if let Some(at) = next_allowed(&counted) {
        return Err(DataError::DailyLimit(to_minute(at)));
    }
    let id = Uuid::new_v4();
    store::insert(&mut tx, id, now).await?;
    jobs::enqueue(
        &mut tx,
        job::BUILD.name,
        job::payload(me.tenant(), id),
        Some(&job::key(id)),
        now,
    )
    .await?;
    me.audit(&mut tx, EXPORT_REQUESTED, "").await?;
    let created = store::get(&mut tx, id).await?.ok_or(DataError::NoSuchExport)?;
    tx.commit().await?;
    Ok(row(created, now))
}

/// Deletes an export: its archive at once, and its job if it has not finished.
pub async fn delete(me: &Sudo, id: Uuid) -> Result<(), DataError> {
    let mut tx = me.begin_own().await?;
    let before = store::mark_deleted(&mut tx, id)
        .await?
        .ok_or(DataError::NoSuchExport)?;
    if before != "deleted" {
        me.audit(&mut tx, EXPORT_DELETED, "").await?;
    }
    tx.commit().await?;
    // After the commit: a job still building sees the row deleted and removes what it wrote;
    // a file this misses (a crash right here) is the sweep's.
    files::remove_export(&files::root(me.state(), me.tenant().region), me.owner_id(), id).await;
    Ok(())
}

/// A ready archive: where it lies and the day it was made (its file name says it).
pub struct Archive {
    pub path: std::path::PathBuf,
    pub made_on: time::Date,
}

/// The archive to send, when it is ready and the person may have it; records the download with
/// `recorded_as` as its detail (None: nothing is sent, nothing recorded).
pub async fn download(
    me: &Sudo,
    id: Uuid,
    recorded_as: Option<&str>,
) -> Result<Archive, DataError> {
    let now = me.now();
    let mut tx = me.begin_own().await?;
    let stored = store::get(&mut tx, id).await?.ok_or(DataError::NoSuchExport)?;
    let made_on = stored.finished_at.unwrap_or(stored.requested_at).date();
    let state = row(stored, now).state;
    match state {
        ExportState::Ready => {}
        ExportState::Queued | ExportState::Building => return Err(DataError::Building),
        ExportState::Expired => return Err(DataError::NotReady("it expired and was deleted")),
        ExportState::Deleted => return Err(DataError::NotReady("it was deleted")),
        ExportState::Failed => return Err(DataError::NotReady("it failed")),
    }
    let path = files::archive(&files::root(me.state(), me.tenant().region), me.owner_id(), id);
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Err(DataError::NotReady("it is no longer on the server"));
    }
    if let Some(detail) = recorded_as {
        me.audit(&mut tx, EXPORT_DOWNLOADED, detail).await?;
    }
    tx.commit().await?;
    Ok(Archive { path, made_on })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_opens_a_day_after_the_oldest_export_in_the_window() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let hours = |h| t0 + Duration::hours(h);
        assert_eq!(next_allowed(&[hours(1), hours(2)]), None);
        assert_eq!(
            next_allowed(&[hours(1), hours(2), hours(3)]),
            Some(hours(25))
        );
    }
}
