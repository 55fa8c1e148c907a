//! Background jobs: a table of work (`jobs`) that any number of server processes run together.
//!
//! - A job is written in the transaction of the change that asks for it, so it exists only if
//!   that change commits (`enqueue`).
//! - A runner claims one due job at a time with `FOR UPDATE SKIP LOCKED` and a lease: two
//!   processes never take the same job, and a job whose process died is taken again once its
//!   lease runs out.
//! - A failed run is retried with exponential backoff, up to the kind's attempts; then the job
//!   is marked failed (a recurring job waits for its next period instead).
//! - Jobs run at least once, so every kind must be idempotent: running it twice does what
//!   running it once does.
//!
//! Owns: `jobs`.

use std::{future::Future, pin::Pin, sync::Arc};

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{
    clock::Clock, error::InfraError, keys::KeyEncryptionKey, mail::Mailer, region::Region,
};

/// A boxed future, as a job's or an area's function pointer returns it.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How long a claimed job is its runner's alone.
pub const LEASE: Duration = Duration::minutes(2);

/// What a job's code can reach.
#[derive(Clone)]
pub struct JobContext {
    /// Runs as the app role: row-level security applies to jobs too.
    pub pool: PgPool,
    pub clock: Arc<dyn Clock>,
    pub mailer: Mailer,
    /// The region whose database `pool` is.
    pub region: Region,
    /// The directory's database (routes), as the app role.
    pub directory: PgPool,
    /// Where the server keeps files (export archives), each region's in a folder of its own.
    pub data_dir: Arc<std::path::Path>,
    pub key_encryption_key: Arc<KeyEncryptionKey>,
    pub public_url: url::Url,
    /// Every region's pool: an account's purge also clears what it left in other regions
    /// (its memberships of other people's apps).
    pub regions: super::regions::Regions,
}

impl JobContext {
    /// The context of `region`'s jobs, on the server's state.
    pub fn of_region(
        state: &super::state::AppState,
        mailer: Mailer,
        region: Region,
    ) -> Result<Self, super::db::DbError> {
        Ok(Self {
            pool: state.regions.pool(region)?.clone(),
            clock: state.clock.clone(),
            mailer,
            region,
            directory: state.regions.directory().clone(),
            data_dir: state.data_dir.clone(),
            key_encryption_key: state.key_encryption_key.clone(),
            public_url: state.public_url.clone(),
            regions: state.regions.clone(),
        })
    }
}

/// One run of a job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: Uuid,
    pub kind: String,
    pub payload: Value,
    /// This run's number, from 1.
    pub attempt: i32,
    /// The runner holding the lease.
    pub holder: String,
}

/// Why a run failed; the job is tried again later.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl From<sqlx::Error> for JobError {
    fn from(error: sqlx::Error) -> Self {
        Self::Infra(error.into())
    }
}

impl From<super::db::DbError> for JobError {
    fn from(error: super::db::DbError) -> Self {
        Self::Infra(error.into())
    }
}

pub type RunFn = for<'a> fn(&'a JobContext, &'a Job) -> BoxFuture<'a, Result<(), JobError>>;

/// A kind of job, declared by the area that owns it.
pub struct JobKind {
    pub name: &'static str,
    pub run: RunFn,
    /// Tries before a one-off job is marked failed.
    pub max_attempts: i32,
    /// A recurring job runs again this long after each run.
    pub every: Option<Duration>,
}

impl JobKind {
    /// Whether a run that failed as `attempt` was the last one.
    pub fn gives_up_after(&self, attempt: i32) -> bool {
        self.every.is_none() && attempt >= self.max_attempts
    }
}

/// The wait before retrying after `attempt` failed runs: 30 s, doubling, at most about 8.5 h.
pub fn backoff(attempt: i32) -> Duration {
    Duration::seconds(30 * (1_i64 << attempt.clamp(0, 10)))
}

/// Queues a job in the caller's transaction. With a `dedupe_key`, a second job with the same
/// key is not queued while the first is pending.
pub async fn enqueue(
    conn: &mut PgConnection,
    kind: &str,
    payload: Value,
    dedupe_key: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    enqueue_at(conn, kind, payload, dedupe_key, now, now).await
}

/// `enqueue`, for a job that is not to run before `run_at`.
pub async fn enqueue_at(
    conn: &mut PgConnection,
    kind: &str,
    payload: Value,
    dedupe_key: Option<&str>,
    run_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, dedupe_key, run_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(Uuid::new_v4())
    .bind(kind)
    .bind(payload)
    .bind(dedupe_key)
    .bind(run_at)
    .bind(now)
    .execute(conn)
    .await
    .map(drop)
}

/// Removes the pending jobs whose dedupe key starts with `prefix` (work that was called off).
pub async fn cancel_prefixed(conn: &mut PgConnection, prefix: &str) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM jobs WHERE starts_with(dedupe_key, $1) AND locked_until IS NULL")
            .bind(prefix)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Whether a job queued with `dedupe_key` is still to run (pending, running or retrying), as
/// opposed to done, given up on, or never queued.
pub async fn is_pending(conn: &mut PgConnection, dedupe_key: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE dedupe_key = $1 AND failed_at IS NULL)",
    )
    .bind(dedupe_key)
    .fetch_one(conn)
    .await
}

/// Extends a long job's lease while it runs; false when the lease was lost (another runner
/// took the job after it ran out), and the run must stop.
pub async fn renew_lease(
    pool: &PgPool,
    job: &Job,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let renewed = sqlx::query(
        "UPDATE jobs SET locked_until = $3 WHERE id = $1 AND locked_by = $2 AND attempts = $4",
    )
    .bind(job.id)
    .bind(&job.holder)
    .bind(now + LEASE)
    .bind(job.attempt)
    .execute(pool)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

/// Runs the jobs of the kinds it knows.
pub struct Runner {
    context: JobContext,
    kinds: Vec<&'static JobKind>,
    /// Names this process in the jobs it holds.
    worker: String,
}

impl Runner {
    pub fn new(context: JobContext, kinds: impl IntoIterator<Item = &'static JobKind>) -> Self {
        Self {
            context,
            kinds: kinds.into_iter().collect(),
            worker: Uuid::new_v4().to_string(),
        }
    }

    pub fn context(&self) -> &JobContext {
        &self.context
    }

    fn kind(&self, name: &str) -> Option<&'static JobKind> {
        self.kinds.iter().copied().find(|kind| kind.name == name)
    }

    fn now(&self) -> OffsetDateTime {
        self.context.clock.now()
    }

    /// Makes sure every recurring kind has its pending job (one per kind, whatever the number
    /// of processes).
    pub async fn schedule_recurring(&self) -> Result<(), InfraError> {
        let mut conn = self.context.pool.acquire().await?;
        for kind in self.kinds.iter().filter(|kind| kind.every.is_some()) {
            let key = format!("every:{}", kind.name);
            enqueue(&mut conn, kind.name, Value::Null, Some(&key), self.now()).await?;
        }
        Ok(())
    }

    /// Claims the next due job of a known kind, leased to this runner.
    pub async fn claim(&self) -> Result<Option<Job>, InfraError> {
        let names: Vec<&str> = self.kinds.iter().map(|kind| kind.name).collect();
        let now = self.now();
        let claimed: Option<(Uuid, String, Value, i32)> = sqlx::query_as(
            "UPDATE jobs SET locked_until = $1, locked_by = $2, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs \
                         WHERE failed_at IS NULL AND run_at <= $3 AND kind = ANY($4) \
                           AND (locked_until IS NULL OR locked_until <= $3) \
                         ORDER BY run_at FOR UPDATE SKIP LOCKED LIMIT 1) \
             RETURNING id, kind, payload, attempts",
        )
        .bind(now + LEASE)
        .bind(&self.worker)
        .bind(now)
        .bind(&names)
        .fetch_optional(&self.context.pool)
        .await?;
        Ok(claimed.map(|(id, kind, payload, attempt)| Job {
            id,
            kind,
            payload,
            attempt,
            holder: self.worker.clone(),
        }))
    }

    /// Runs a claimed job and records the outcome, unless the lease was lost meanwhile.
    pub async fn execute(&self, job: &Job) -> Result<(), InfraError> {
        let Some(kind) = self.kind(&job.kind) else {
            return Ok(());
        };
        match (kind.run)(&self.context, job).await {
            Ok(()) => self.succeeded(kind, job).await,
            Err(error) => {
                tracing::warn!(job = %job.id, kind = kind.name, attempt = job.attempt, %error, "job failed");
                self.failed(kind, job, &error).await
            }
        }
    }

    async fn succeeded(&self, kind: &JobKind, job: &Job) -> Result<(), InfraError> {
        let query = match kind.every {
            Some(every) => sqlx::query(
                "UPDATE jobs SET locked_until = NULL, locked_by = NULL, attempts = 0, \
                 last_error = NULL, run_at = $3 WHERE id = $1 AND locked_by = $2",
            )
            .bind(job.id)
            .bind(&self.worker)
            .bind(self.now() + every),
            None => sqlx::query("DELETE FROM jobs WHERE id = $1 AND locked_by = $2")
                .bind(job.id)
                .bind(&self.worker),
        };
        query.execute(&self.context.pool).await?;
        Ok(())
    }

    async fn failed(&self, kind: &JobKind, job: &Job, error: &JobError) -> Result<(), InfraError> {
        let now = self.now();
        let (run_at, attempts) = match kind.every {
            // A recurring job that keeps failing waits for its next period, counted afresh.
            Some(every) if job.attempt >= kind.max_attempts => (now + every, 0),
            _ => (now + backoff(job.attempt), job.attempt),
        };
        sqlx::query(
            "UPDATE jobs SET locked_until = NULL, locked_by = NULL, last_error = $3, \
             run_at = $4, attempts = $5, failed_at = CASE WHEN $6 THEN $7 END \
             WHERE id = $1 AND locked_by = $2",
        )
        .bind(job.id)
        .bind(&self.worker)
        .bind(error.to_string())
        .bind(run_at)
        .bind(attempts)
        .bind(kind.gives_up_after(job.attempt))
        .bind(now)
        .execute(&self.context.pool)
        .await?;
        Ok(())
    }

    /// Runs every due job, one at a time; returns how many ran.
    pub async fn run_due(&self) -> Result<usize, InfraError> {
        let mut ran = 0;
        while let Some(job) = self.claim().await? {
            self.execute(&job).await?;
            ran += 1;
        }
        Ok(ran)
    }

    /// Runs due jobs every `poll` for as long as the process lives.
    pub async fn run_forever(self, poll: std::time::Duration) {
        if let Err(error) = self.schedule_recurring().await {
            tracing::warn!(%error, "could not schedule the recurring jobs");
        }
        let mut tick = tokio::time::interval(poll);
        loop {
            tick.tick().await;
            if let Err(error) = self.run_due().await {
                tracing::warn!(%error, "a round of jobs failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_a_cap() {
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(2), Duration::seconds(120));
        assert!(backoff(3) > backoff(2));
        assert_eq!(backoff(10), backoff(30));
    }

    #[test]
    fn only_one_off_jobs_give_up() {
        fn run<'a>(_: &'a JobContext, _: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
            Box::pin(async { Ok(()) })
        }
        let once = JobKind {
            name: "once",
            run,
            max_attempts: 3,
            every: None,
        };
        assert!(!once.gives_up_after(2));
        assert!(once.gives_up_after(3));
        let recurring = JobKind {
            every: Some(Duration::minutes(5)),
            ..once
        };
        assert!(!recurring.gives_up_after(30));
    }
}
