//! Backups that cannot bring a deleted account back (promise P8): encrypted with the server's
//! key, pruned after BACKUP_RETENTION_DAYS, and restored only after the erasure ledger is
//! replayed; a backup made by another key, or damaged, restores nothing.

use std::path::PathBuf;

use app::{
    data::service::deletion,
    platform::{
        backup,
        clock::Clock,
        config::Settings,
        db::MIGRATOR,
        keys::{self, KeyEncryptionKey},
    },
};
use custodian::cli::{self, CliError};

use sqlx::{Connection as _, PgConnection, PgPool};
use time::Duration;

use crate::{
    deletion::{rows_of, traces},
    support::{test_app, TestApp},
    Worker,
};

const ADA: &str = "ada@example.com";

/// What an operator has after `backup create` on the test's server: its settings, the server's
/// key, the backups folder and the files written now.
struct Backup {
    settings: Settings,
    key: KeyEncryptionKey,
    folder: PathBuf,
    files: Vec<PathBuf>,
}

async fn backed_up(w: &TestApp) -> Backup {
    let settings = w.operator_settings(&[]);
    let key = keys::load_or_create(&w.key_file()).unwrap();
    let folder = backup::folder(&w.state.data_dir);
    let files = cli::backup::create_at(&settings, &key, &folder, w.clock.now())
        .await
        .unwrap();
    Backup {
        settings,
        key,
        folder,
        files,
    }
}

/// The URL of another database on the test's server, for this test only.
fn sibling(_: &TestApp, suffix: &str) -> String {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "postgres://postgres@127.0.0.1:5432/restore_{}_{suffix}",
        &unique[..12]
    )
}

async fn drop_database(w: &TestApp, url: &str) {
    let name = url.rsplit('/').next().unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(&w.owner)
        .await
        .unwrap();
}

async fn exists(w: &TestApp, url: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(url.rsplit('/').next().unwrap())
        .fetch_one(&w.owner)
        .await
        .unwrap()
}

async fn pool_of(url: &str) -> PgPool {
    PgPool::connect(url).await.unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_backup_restored_after_a_purge_holds_no_trace_of_the_account(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified(ADA).await;
    let bob = w.sign_up_verified("bob@example.com").await;
    let Backup {
        settings,
        key,
        folder,
        files,
    } = backed_up(&w).await;
    assert_eq!(files.len(), 1, "one database here");
    let written = std::fs::read(&files[0]).unwrap();
    assert!(
        !written.windows(ADA.len()).any(|w| w == ADA.as_bytes()),
        "the backup is encrypted"
    );

    deletion::request(&w.as_owner(ada), ADA).await.unwrap();
    w.clock.advance(Duration::days(14));
    Worker::new(&w).run().await;
    assert!(rows_of(&w.owner, ada).await.is_empty());

    // Without the ledger, the backup would bring Ada back: what the replay prevents.
    let control = sibling(&w, "control");
    cli::backup::restore_into(&key, &files[0], &control, &[], &[])
        .await
        .unwrap();
    let restored = pool_of(&control).await;
    assert!(!rows_of(&restored, ada).await.is_empty());
    restored.close().await;
    drop_database(&w, &control).await;

    let copy = sibling(&w, "copy");
    cli::backup::restore(&settings, &files[0], Some(&copy))
        .await
        .unwrap();
    let restored = pool_of(&copy).await;
    assert_eq!(rows_of(&restored, ada).await, Vec::<String>::new());
    assert_eq!(
        traces(&restored, &[ada.to_string(), ADA.to_owned()]).await,
        Vec::<String>::new()
    );
    assert!(
        !rows_of(&restored, bob).await.is_empty(),
        "everyone else is back"
    );
    let ledger: i64 = sqlx::query_scalar("SELECT count(*) FROM deletion_ledger")
        .fetch_one(&restored)
        .await
        .unwrap();
    assert_eq!(ledger, 1, "the restored database knows of the purge");
    restored.close().await;
    let temporary: bool =
        sqlx::query_scalar("SELECT has_database_privilege('custodian_app', $1, 'TEMPORARY')")
            .bind(copy.rsplit('/').next().unwrap())
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert!(
        !temporary,
        "the app role makes no temporary tables in a restored database either"
    );

    // A damaged file or another server's key restores nothing and leaves the target as it was.
    let mut damaged = written.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x55;
    let damaged_file = folder.join("damaged.backup");
    std::fs::write(&damaged_file, &damaged).unwrap();
    let refused = cli::backup::restore(&settings, &damaged_file, Some(&copy)).await;
    assert!(matches!(refused, Err(CliError::Backup(_))), "{refused:?}");
    let other_key = keys::from_setting("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
    let foreign = cli::backup::restore_into(&other_key, &files[0], &copy, &[], &[]).await;
    let message = foreign.unwrap_err().to_string();
    assert!(message.contains("another server"), "{message}");
    assert!(
        !exists(&w, &format!("{copy}_restoring")).await,
        "nothing half-restored"
    );
    assert!(exists(&w, &copy).await);
    let kept = pool_of(&copy).await;
    assert!(
        !rows_of(&kept, bob).await.is_empty(),
        "the target is untouched"
    );
    kept.close().await;
    drop_database(&w, &copy).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn prune_deletes_backups_older_than_the_retention(owner: PgPool) {
    let w = test_app(owner).await;
    let Backup {
        settings,
        key,
        folder,
        ..
    } = backed_up(&w).await;
    let now = w.clock.now();
    let old = cli::backup::create_at(&settings, &key, &folder, now - Duration::days(15))
        .await
        .unwrap();
    let recent = cli::backup::create_at(&settings, &key, &folder, now - Duration::days(13))
        .await
        .unwrap();
    std::fs::write(folder.join("notes.backup"), "not a backup").unwrap();
    let removed = backup::prune(&folder, now, Duration::days(14))
        .await
        .unwrap();
    assert_eq!(removed, old);
    assert!(recent[0].exists());
    assert!(
        folder.join("notes.backup").exists(),
        "what is not a backup stays"
    );
}

#[test]
fn the_server_refuses_a_grace_period_and_retention_over_thirty_days() {
    let with = |grace: &str, keep: &str| {
        Settings::from_args([
            "custodian",
            "--deletion-grace-days",
            grace,
            "--backup-retention-days",
            keep,
        ])
        .map(|settings| settings.retention().is_ok())
        .unwrap_or(false)
    };
    assert!(with("14", "14"));
    assert!(with("16", "14"));
    assert!(!with("17", "14"), "31 days in all");
    assert!(!with("31", "1"), "a grace period over 30 days");
    assert!(!with("0", "14"), "no grace period at all");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_file_ledger_alone_purges_a_restored_database_again(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified(ADA).await;
    let Backup { key, files, .. } = backed_up(&w).await;
    deletion::request(&w.as_owner(ada), ADA).await.unwrap();
    w.clock.advance(Duration::days(14));
    Worker::new(&w).run().await;
    // Only the file ledger is left to say Ada was purged.
    let lines = app::platform::erasure::read_file(&w.state.data_dir)
        .await
        .unwrap();
    let fresh = sibling(&w, "fresh");
    cli::backup::restore_into(&key, &files[0], &fresh, &lines, &[])
        .await
        .unwrap();
    let mut conn = PgConnection::connect(&fresh).await.unwrap();
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants WHERE owner_id = $1")
        .bind(ada.as_uuid())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(tenants, 0);
    conn.close().await.unwrap();
    drop_database(&w, &fresh).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn requests_and_cancellations_made_since_the_backup_hold_after_a_restore(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified(ADA).await;
    let bob = w.sign_up_verified("bob@example.com").await;
    deletion::request(&w.as_owner(ada), ADA).await.unwrap();
    let Backup { key, files, .. } = backed_up(&w).await;
    // Since the backup: Ada cancelled, Bob asked.
    deletion::cancel(&w.as_owner(ada)).await.unwrap();
    let bobs_due = deletion::request(&w.as_owner(bob), "bob@example.com")
        .await
        .unwrap();
    let live = app::platform::erasure::schedules(&w.owner).await.unwrap();
    let copy = sibling(&w, "since");
    cli::backup::restore_into(&key, &files[0], &copy, &[], &live)
        .await
        .unwrap();
    let restored = pool_of(&copy).await;
    let due_of = |owner_id: app::platform::ids::OwnerId| {
        let restored = restored.clone();
        async move {
            sqlx::query_scalar::<_, Option<time::OffsetDateTime>>(
                "SELECT deletion_due_at FROM tenants WHERE owner_id = $1",
            )
            .bind(owner_id.as_uuid())
            .fetch_one(&restored)
            .await
            .unwrap()
        }
    };
    assert_eq!(due_of(ada).await, None, "the cancellation holds");
    assert_eq!(due_of(bob).await, Some(bobs_due), "the request holds");
    let jobs: Vec<String> = sqlx::query_scalar(
        "SELECT dedupe_key FROM jobs WHERE dedupe_key LIKE 'deletion:%' ORDER BY dedupe_key",
    )
    .fetch_all(&restored)
    .await
    .unwrap();
    assert!(
        jobs.iter().all(|key| key.contains(&bob.to_string())),
        "{jobs:?}"
    );
    assert!(jobs.iter().any(|key| key.ends_with(":purge")), "{jobs:?}");
    restored.close().await;
    drop_database(&w, &copy).await;
}
