//! The trash: an app stays restorable for 14 days with its links paused, then a job deletes it
//! for good (rows, files, links and its directory route); account deletion takes apps too.

use app::{
    apps::{
        model::{LinkExpiry, APP_PURGED, APP_RESTORED, APP_TRASHED},
        service::{self, links, AppsError},
    },
    platform::{db::MIGRATOR, ids::OwnerId},
};
use sqlx::PgPool;
use time::Duration;

use crate::{
    events, rows, starter_app,
    support::{test_app, TestApp},
    ADA,
};

async fn run_jobs(w: &TestApp) {
    let mail = tempfile::tempdir().unwrap();
    let runner = app::platform::jobs::Runner::new(
        w.job_context(app::platform::mail::Mailer::Directory(
            mail.path().to_owned(),
        )),
        app::server::jobs(),
    );
    runner.run_due().await.unwrap();
}

async fn routes_of(w: &TestApp, owner: OwnerId) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM app_routes WHERE tenant_id = $1")
        .bind(owner)
        .fetch_one(&w.owner)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_trashed_app_is_restorable_until_its_purge_then_gone_for_good(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    let me = w.as_owner(ada);
    let kept = starter_app(&w, ada).await;
    let app = starter_app(&w, ada).await;
    let link = links::create(&me, app, "Shared", LinkExpiry::Never, None)
        .await
        .unwrap();
    let token = link.url.rsplit('/').next().unwrap().to_owned();

    let purge_on = service::trash(&me, app).await.unwrap();
    assert!(!purge_on.is_empty());
    assert!(matches!(
        links::open(&w.visitor(), app, &token, None).await,
        Err(AppsError::LinkGone)
    ));
    assert!(matches!(
        service::trash(&me, app).await,
        Err(AppsError::Trashed)
    ));
    service::restore(&me, app).await.unwrap();
    assert!(
        links::open(&w.visitor(), app, &token, None).await.is_ok(),
        "restored as it was"
    );
    w.clock.advance(Duration::days(15));
    run_jobs(&w).await;
    assert_eq!(
        rows(&w, "apps", ada).await,
        2,
        "a restored app's purge was called off"
    );

    service::trash(&me, app).await.unwrap();
    w.clock.advance(Duration::days(14) - Duration::minutes(1));
    run_jobs(&w).await;
    assert_eq!(rows(&w, "apps", ada).await, 2, "not before its day");
    w.clock.advance(Duration::minutes(1));
    run_jobs(&w).await;
    assert_eq!(rows(&w, "apps", ada).await, 1);
    assert_eq!(
        rows(&w, "app_files", ada).await,
        3,
        "only the kept app's files"
    );
    assert_eq!(rows(&w, "app_share_links", ada).await, 0);
    assert_eq!(routes_of(&w, ada).await, 1);
    assert!(matches!(
        service::detail(&me, app).await,
        Err(AppsError::NoSuchApp)
    ));
    assert!(service::detail(&me, kept).await.is_ok());
    assert_eq!(events(&w, ada, APP_TRASHED).await, 2);
    assert_eq!(events(&w, ada, APP_RESTORED).await, 1);
    assert_eq!(events(&w, ada, APP_PURGED).await, 1);
    assert!(w.chain_break(ada).await.is_none());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn erasing_an_account_takes_its_apps_and_their_routes(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up(ADA).await;
    starter_app(&w, ada).await;
    assert_eq!(routes_of(&w, ada).await, 1);
    let removed: serde_json::Value =
        sqlx::query_scalar("SELECT custodian_erase_tenant_everywhere($1, '{}', NULL)")
            .bind(ada)
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(removed["public.app_routes"], 1);
    assert_eq!(removed["public.app_files"], 3);
    for table in ["apps", "app_files", "app_share_links"] {
        assert_eq!(rows(&w, table, ada).await, 0, "{table}");
    }
    assert_eq!(routes_of(&w, ada).await, 0);
}
