//! The export's jobs (promise P8): a worker killed mid-export still ends with exactly one
//! archive, several workers build it once, the last failure tells the person why and leaves
//! nothing behind, the sweep deletes archives after 7 days and every orphan file, and the
//! limits (one at a time, three a day) hold under concurrent requests.

use app::{
    data::{
        model::{ExportState, EXPORT_EXPIRED, EXPORT_FAILED, EXPORT_READY},
        service::{self, files, DataError},
    },
    platform::{clock::Clock, db::MIGRATOR, ids::OwnerId, jobs::LEASE, region::Region},
};
use sqlx::PgPool;
use time::Duration;
use uuid::Uuid;

use crate::{
    archive_path, exported, files_of,
    support::{seed_tenant, test_app, TestApp},
    Worker,
};

/// A tenant whose export takes a while: a security log of many events.
async fn tenant_with_a_long_log(w: &TestApp) -> OwnerId {
    let owner = w.sign_up_verified("ada@example.com").await;
    sqlx::query(
        "INSERT INTO audit_events (owner_id, seq, occurred_at, kind, detail, ip_prefix, user_agent, prev_hash, hash) \
         SELECT $1, 1000 + n, now(), 'seed', repeat('x', 200), '', '', \
                decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex') \
         FROM generate_series(1, 150000) AS n",
    )
    .bind(owner)
    .execute(&w.owner)
    .await
    .unwrap();
    owner
}

async fn state_of(w: &TestApp, owner: OwnerId, id: Uuid) -> ExportState {
    let overview = service::overview(&w.as_owner(owner)).await.unwrap();
    overview
        .exports
        .into_iter()
        .find(|row| row.id == id)
        .expect("the export is listed")
        .state
}

fn count(kinds: &[String], code: &str) -> usize {
    kinds
        .iter()
        .filter(|k| k.starts_with(&format!("{code}:")))
        .count()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_worker_killed_mid_export_leaves_exactly_one_archive(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = tenant_with_a_long_log(&w).await;
    let id = service::request(&w.as_owner(ada)).await.unwrap().id;

    // The first worker claims the job and is killed while it writes.
    let first = Worker::with_kinds(&w, vec![&service::job::BUILD]);
    let job = first
        .runner
        .claim()
        .await
        .unwrap()
        .expect("the build is due");
    let running = tokio::spawn(async move {
        let runner = first.runner;
        runner.execute(&job).await
    });
    let writing = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while !files_of(&w, ada).iter().any(|f| f.ends_with(".part")) {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(writing.is_ok(), "the build never started writing");
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    assert_eq!(state_of(&w, ada, id).await, ExportState::Building);

    // Another worker takes the job once the lease runs out, and finishes it.
    w.clock.advance(LEASE + Duration::seconds(1));
    Worker::new(&w).run().await;
    assert_eq!(files_of(&w, ada), vec![format!("{id}.zip")]);
    assert_eq!(state_of(&w, ada, id).await, ExportState::Ready);
    assert_eq!(count(&w.kinds(ada).await, EXPORT_READY.code), 1);
    assert_eq!(
        w.subjects_to("ada@example.com")
            .await
            .iter()
            .filter(|s| *s == "Your data export is ready")
            .count(),
        1
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn workers_running_together_build_an_export_once(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let id = service::request(&w.as_owner(ada)).await.unwrap().id;
    let (a, b) = (Worker::new(&w), Worker::new(&w));
    tokio::join!(a.run(), b.run());
    assert_eq!(files_of(&w, ada), vec![format!("{id}.zip")]);
    assert_eq!(count(&w.kinds(ada).await, EXPORT_READY.code), 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn after_its_last_try_a_failed_export_says_why_mails_and_leaves_nothing(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    // The archive cannot be written: a file stands where the account's folder should be.
    let folder = files::owner_dir(&files::root(&w.state, Region::DEFAULT), ada);
    std::fs::create_dir_all(folder.parent().unwrap()).unwrap();
    std::fs::write(&folder, b"not a folder").unwrap();
    let id = service::request(&w.as_owner(ada)).await.unwrap().id;
    let worker = Worker::new(&w);
    for _ in 0..3 {
        worker.run().await;
        w.clock.advance(Duration::hours(10));
    }
    let overview = service::overview(&w.as_owner(ada)).await.unwrap();
    let export = &overview.exports[0];
    assert_eq!(export.id, id);
    assert_eq!(export.state, ExportState::Failed);
    assert_eq!(
        export.failure.as_deref(),
        Some("The server could not write the archive.")
    );
    assert_eq!(count(&w.kinds(ada).await, EXPORT_FAILED.code), 1);
    assert!(w
        .subjects_to("ada@example.com")
        .await
        .contains(&"Your data export failed".to_owned()));
    std::fs::remove_file(&folder).unwrap();
    assert!(files_of(&w, ada).is_empty());
    // A failure does not count toward the daily limit; the next try works.
    std::fs::remove_dir_all(folder.parent().unwrap()).ok();
    let next = exported(&w, ada).await;
    assert!(archive_path(&w, ada, next).exists());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_sweep_deletes_archives_after_seven_days_and_every_orphan(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let id = exported(&w, ada).await;
    let root = files::root(&w.state, Region::DEFAULT);
    // Left by a crash: an attempt's part file of this export, and an export no row names.
    let stale_part = files::part(&root, ada, id, 9);
    let orphan = files::archive(&root, ada, Uuid::new_v4());
    std::fs::write(&stale_part, b"half").unwrap();
    std::fs::write(&orphan, b"whose?").unwrap();
    // An erased account's folder.
    let gone = OwnerId::random();
    std::fs::create_dir_all(files::owner_dir(&root, gone)).unwrap();
    std::fs::write(files::archive(&root, gone, Uuid::new_v4()), b"old").unwrap();

    let sweep = || async {
        let worker = Worker::new(&w);
        worker.runner.schedule_recurring().await.unwrap();
        worker.run().await;
    };
    w.clock.advance(Duration::days(6));
    sweep().await;
    assert_eq!(files_of(&w, ada), vec![format!("{id}.zip")]);
    assert!(!files::owner_dir(&root, gone).exists());
    assert_eq!(state_of(&w, ada, id).await, ExportState::Ready);

    w.clock.advance(Duration::days(1));
    sweep().await;
    assert!(files_of(&w, ada).is_empty());
    assert_eq!(state_of(&w, ada, id).await, ExportState::Expired);
    assert_eq!(count(&w.kinds(ada).await, EXPORT_EXPIRED.code), 1);
    let download = service::download(&w.as_owner(ada), id, Some("")).await;
    assert!(matches!(download, Err(DataError::NotReady(_))));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn one_export_at_a_time_even_when_requests_race(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let requests = (0..12).map(|_| {
        let me = w.as_owner(ada);
        async move { service::request(&me).await.unwrap().id }
    });
    let ids: std::collections::BTreeSet<Uuid> = futures::future::join_all(requests)
        .await
        .into_iter()
        .collect();
    assert_eq!(ids.len(), 1, "every request shows the one export");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM data_exports WHERE owner_id = $1")
        .bind(ada)
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn three_exports_a_day_and_the_page_says_when_the_next_may_start(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let bob = OwnerId::random();
    seed_tenant(&w.owner, bob).await;
    let first_at = w.clock.now();
    for _ in 0..3 {
        exported(&w, ada).await;
        w.clock.advance(Duration::hours(1));
    }
    let refused = service::request(&w.as_owner(ada)).await;
    let opens = app::platform::clock::to_minute(first_at + Duration::days(1));
    match refused {
        Err(DataError::DailyLimit(at)) => assert_eq!(at, opens),
        other => panic!("expected the daily limit, got {other:?}"),
    }
    let overview = service::overview(&w.as_owner(ada)).await.unwrap();
    assert_eq!(overview.next_allowed.as_deref(), Some(opens.as_str()));
    // Another account's limit is its own.
    assert!(service::request(&w.as_owner(bob)).await.is_ok());

    w.clock.advance(Duration::hours(21) + Duration::minutes(1));
    assert!(service::request(&w.as_owner(ada)).await.is_ok());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_deleted_export_loses_its_archive_at_once_and_a_foreign_one_is_not_found(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let bob = w.sign_up_verified("bob@example.com").await;
    let id = exported(&w, ada).await;
    assert!(matches!(
        service::delete(&w.as_owner(bob), id).await,
        Err(DataError::NoSuchExport)
    ));
    assert!(archive_path(&w, ada, id).exists());
    service::delete(&w.as_owner(ada), id).await.unwrap();
    assert!(files_of(&w, ada).is_empty());
    assert_eq!(state_of(&w, ada, id).await, ExportState::Deleted);

    // Deleted while it is being built: the job stops and keeps nothing.
    let building = service::request(&w.as_owner(ada)).await.unwrap().id;
    service::delete(&w.as_owner(ada), building).await.unwrap();
    Worker::new(&w).run().await;
    assert!(files_of(&w, ada).is_empty());
    assert_eq!(state_of(&w, ada, building).await, ExportState::Deleted);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_build_run_again_after_it_published_keeps_the_archive(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let id = exported(&w, ada).await;
    let archive = std::fs::read(archive_path(&w, ada, id)).unwrap();
    // The process died after publishing, before its job was done: the job runs again.
    let mut conn = w.state.pool.acquire().await.unwrap();
    app::platform::jobs::enqueue(
        &mut conn,
        service::job::BUILD.name,
        service::job::payload(app::platform::region::Tenant::new(ada, Region::DEFAULT), id),
        Some(&service::job::key(id)),
        w.clock.now(),
    )
    .await
    .unwrap();
    drop(conn);
    Worker::new(&w).run().await;
    assert_eq!(files_of(&w, ada), vec![format!("{id}.zip")]);
    assert_eq!(std::fs::read(archive_path(&w, ada, id)).unwrap(), archive);
    assert_eq!(state_of(&w, ada, id).await, ExportState::Ready);
    assert_eq!(count(&w.kinds(ada).await, EXPORT_READY.code), 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_export_whose_job_is_gone_ends_as_interrupted_and_blocks_nothing(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let id = service::request(&w.as_owner(ada)).await.unwrap().id;
    // Its job gave up after an error its last try could not record (or a move left it behind).
    sqlx::query("UPDATE jobs SET failed_at = now() WHERE dedupe_key = $1")
        .bind(service::job::key(id))
        .execute(&w.owner)
        .await
        .unwrap();
    // The attempt that died left its part file; the sweep ends the export and removes it.
    let root = files::root(&w.state, Region::DEFAULT);
    std::fs::create_dir_all(files::owner_dir(&root, ada)).unwrap();
    std::fs::write(files::part(&root, ada, id, 3), b"half").unwrap();
    let worker = Worker::new(&w);
    worker.runner.schedule_recurring().await.unwrap();
    worker.run().await;
    assert!(files_of(&w, ada).is_empty());
    let overview = service::overview(&w.as_owner(ada)).await.unwrap();
    assert_eq!(overview.exports[0].state, ExportState::Failed);
    assert!(!overview.building(), "the page stops waiting");
    assert_eq!(count(&w.kinds(ada).await, EXPORT_FAILED.code), 1);
    let next = service::request(&w.as_owner(ada)).await.unwrap();
    assert_ne!(next.id, id);
}
