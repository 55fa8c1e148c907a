//! The job runner: several runners share the work without doing any of it twice, a job whose
//! runner died is taken again after its lease, failures are retried with backoff and then given
//! up, recurring jobs come back, and a job exists only if the change that queued it commits.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use app::platform::{
    clock::Clock,
    db::MIGRATOR,
    jobs::{self, backoff, BoxFuture, Job, JobContext, JobError, JobKind, Runner, LEASE},
    mail::Mailer,
};
use serde_json::json;
use sqlx::PgPool;
use time::Duration;
use uuid::Uuid;

use crate::support::{test_app, TestApp};

/// How many times each job ran, per test kind.
type Runs = Mutex<HashMap<String, u32>>;

static COUNTED: Mutex<Option<Arc<Runs>>> = Mutex::new(None);

fn runs() -> Arc<Runs> {
    COUNTED
        .lock()
        .unwrap()
        .get_or_insert_with(|| Arc::new(Mutex::new(HashMap::new())))
        .clone()
}

/// Counts its run under the payload's "name", slowly enough that runners overlap.
fn count<'a>(_: &'a JobContext, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async move {
        let name = job.payload["name"].as_str().unwrap_or_default().to_owned();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        *runs().lock().unwrap().entry(name).or_default() += 1;
        Ok(())
    })
}

fn fail<'a>(_: &'a JobContext, _: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async { Err(JobError::Failed("the far side is down".to_owned())) })
}

static COUNT: JobKind = JobKind {
    name: "test_count",
    run: count,
    max_attempts: 3,
    every: None,
};

static FAIL: JobKind = JobKind {
    name: "test_fail",
    run: fail,
    max_attempts: 3,
    every: None,
};

static EVERY_MINUTE: JobKind = JobKind {
    name: "test_every_minute",
    run: count,
    max_attempts: 3,
    every: Some(Duration::minutes(1)),
};

fn runner(w: &TestApp, kinds: Vec<&'static JobKind>) -> Runner {
    let dir = std::env::temp_dir();
    Runner::new(w.job_context(Mailer::Directory(dir)), kinds)
}

async fn queue(w: &TestApp, kind: &str, name: &str) {
    let mut conn = w.state.pool.acquire().await.unwrap();
    jobs::enqueue(
        &mut conn,
        kind,
        json!({ "name": name }),
        None,
        w.clock.now(),
    )
    .await
    .unwrap();
}

async fn pending(w: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE failed_at IS NULL")
        .fetch_one(&w.owner)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn two_runners_share_forty_jobs_and_run_each_once(owner: PgPool) {
    let w = test_app(owner).await;
    let prefix = Uuid::new_v4().to_string();
    for n in 0..40 {
        queue(&w, COUNT.name, &format!("{prefix}-{n}")).await;
    }
    let (a, b) = (runner(&w, vec![&COUNT]), runner(&w, vec![&COUNT]));
    let (ran_a, ran_b) = tokio::join!(a.run_due(), b.run_due());
    let (ran_a, ran_b) = (ran_a.unwrap(), ran_b.unwrap());
    assert_eq!(ran_a + ran_b, 40);
    assert!(
        ran_a > 0 && ran_b > 0,
        "both runners worked: {ran_a} + {ran_b}"
    );
    {
        let runs = runs();
        let runs = runs.lock().unwrap();
        for n in 0..40 {
            assert_eq!(runs.get(&format!("{prefix}-{n}")), Some(&1), "job {n}");
        }
    }
    assert_eq!(pending(&w).await, 0, "a done job is gone");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_job_whose_runner_died_is_taken_again_after_its_lease(owner: PgPool) {
    let w = test_app(owner).await;
    let name = Uuid::new_v4().to_string();
    queue(&w, COUNT.name, &name).await;
    let crashed = runner(&w, vec![&COUNT]);
    let claimed = crashed.claim().await.unwrap().expect("a due job");
    assert_eq!(claimed.attempt, 1);
    // The crashed runner never finishes it; another leaves it alone while the lease holds.
    let other = runner(&w, vec![&COUNT]);
    assert_eq!(other.run_due().await.unwrap(), 0);
    w.clock.advance(LEASE + Duration::seconds(1));
    let retaken = other.claim().await.unwrap().expect("taken again");
    assert_eq!((retaken.id, retaken.attempt), (claimed.id, 2));
    // A late finish by the first runner does not touch the job the other now holds.
    crashed.execute(&claimed).await.unwrap();
    assert_eq!(pending(&w).await, 1);
    other.execute(&retaken).await.unwrap();
    assert_eq!(pending(&w).await, 0);
    // Run at least once: here twice, which is why every kind must be idempotent.
    assert_eq!(runs().lock().unwrap().get(&name), Some(&2));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn failures_are_retried_with_growing_waits_then_given_up(owner: PgPool) {
    let w = test_app(owner).await;
    queue(&w, FAIL.name, "doomed").await;
    let runner = runner(&w, vec![&FAIL]);
    for attempt in 1..FAIL.max_attempts {
        assert_eq!(runner.run_due().await.unwrap(), 1, "attempt {attempt} runs");
        // Not before its backoff is over.
        w.clock.advance(backoff(attempt) - Duration::seconds(1));
        assert_eq!(
            runner.run_due().await.unwrap(),
            0,
            "attempt {attempt} waits"
        );
        w.clock.advance(Duration::seconds(1));
    }
    assert_eq!(runner.run_due().await.unwrap(), 1, "the last attempt");
    let (attempts, failed, error): (i32, bool, Option<String>) = sqlx::query_as(
        "SELECT attempts, failed_at IS NOT NULL, last_error FROM jobs WHERE kind = $1",
    )
    .bind(FAIL.name)
    .fetch_one(&w.owner)
    .await
    .unwrap();
    assert_eq!(attempts, FAIL.max_attempts);
    assert!(failed, "given up after its attempts");
    assert_eq!(error.as_deref(), Some("the far side is down"));
    w.clock.advance(Duration::days(1));
    assert_eq!(
        runner.run_due().await.unwrap(),
        0,
        "a failed job stays failed"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_recurring_job_is_scheduled_once_and_comes_back(owner: PgPool) {
    let w = test_app(owner).await;
    let (a, b) = (
        runner(&w, vec![&EVERY_MINUTE]),
        runner(&w, vec![&EVERY_MINUTE]),
    );
    a.schedule_recurring().await.unwrap();
    b.schedule_recurring().await.unwrap();
    assert_eq!(
        pending(&w).await,
        1,
        "one pending job for any number of runners"
    );
    assert_eq!(a.run_due().await.unwrap(), 1);
    assert_eq!(b.run_due().await.unwrap(), 0, "not due again yet");
    w.clock.advance(Duration::minutes(1));
    assert_eq!(b.run_due().await.unwrap(), 1, "due again a period later");
    assert_eq!(pending(&w).await, 1, "still scheduled");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_job_exists_only_if_its_change_commits_and_a_key_is_queued_once(owner: PgPool) {
    let w = test_app(owner).await;
    let mut tx = w.state.pool.begin().await.unwrap();
    jobs::enqueue(&mut tx, COUNT.name, json!({}), None, w.clock.now())
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(pending(&w).await, 0);
    let mut conn = w.state.pool.acquire().await.unwrap();
    for _ in 0..3 {
        jobs::enqueue(
            &mut conn,
            COUNT.name,
            json!({}),
            Some("once"),
            w.clock.now(),
        )
        .await
        .unwrap();
    }
    assert_eq!(pending(&w).await, 1);
    // A runner that does not know a kind leaves it to one that does.
    assert_eq!(runner(&w, vec![&FAIL]).run_due().await.unwrap(), 0);
    assert_eq!(pending(&w).await, 1);
}
