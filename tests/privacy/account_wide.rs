//! What holds for a signed-in account on every device (promise P15): a GPC signal from one of
//! its browsers, and a restriction of processing, which stops the analytics and non-essential
//! mail, enforced by the database as well as the code.

use app::{
    data::rights::{
        answer::{self, Action, Answerer},
        model::Right,
        service as rights,
    },
    platform::{
        clock::Clock,
        db::MIGRATOR,
        ids::OwnerId,
        mail::{self, Mail},
    },
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{
    browser::{router, Browser},
    header, tenant_tx, test_app, TestApp,
};

const VIEWS: &str = "SELECT coalesce(sum(views), 0)::bigint FROM page_views";
const BANNER: &str = "cookie-banner-title";

async fn count(owner: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(owner).await.unwrap()
}

async fn ada(owner: &PgPool) -> OwnerId {
    sqlx::query_scalar("SELECT owner_id FROM accounts LIMIT 1")
        .fetch_one(owner)
        .await
        .unwrap()
}

/// Accepts every cookie category from `browser`.
async fn accept_all(browser: &mut Browser, app: &axum::Router) {
    let (response, _) = browser
        .post(
            app,
            "/api/privacy/consent",
            "choice=accept&method=banner&back=%2F",
        )
        .await;
    assert_eq!(header(&response, "location"), "/");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn gpc_from_one_browser_applies_to_the_account_on_every_device(owner: PgPool) {
    let w = test_app(owner.clone()).await;
    let app = router(&w.state);
    let mut laptop = Browser::default();
    laptop.join_as_ada(&app, &owner, false).await;
    let mut phone = Browser::default();
    phone.sign_in(&app, "ada@example.com", false).await;
    accept_all(&mut phone, &app).await;
    phone.page(&app, "/account").await;
    assert_eq!(count(&owner, VIEWS).await, 1, "counted before any GPC");

    laptop.gpc = true;
    laptop.page(&app, "/account").await;
    let records: i64 = count(
        &owner,
        "SELECT count(*) FROM consent_records WHERE method = 'gpc'",
    )
    .await;
    assert_eq!(records, 1, "recorded in the account's ledger");

    // The phone sends no GPC and opted in, yet is not counted, and says why.
    let (_, html) = phone.page(&app, "/privacy").await;
    assert_eq!(
        count(&owner, VIEWS).await,
        1,
        "the account's GPC holds on the phone"
    );
    assert!(
        html.contains("GPC applies to your account"),
        "the page says so"
    );
    // A third browser is not asked to opt back in.
    let mut tablet = Browser::default();
    tablet.sign_in(&app, "ada@example.com", false).await;
    let (_, html) = tablet.page(&app, "/account").await;
    assert!(!html.contains(BANNER), "no banner asking for consent");
    // Signed out, the tablet's browser is its own again.
    let (_, html) = Browser::default().page(&app, "/").await;
    assert!(html.contains(BANNER));

    // A year later, the account is asked again.
    w.clock.advance(time::Duration::days(366));
    let mut desktop = Browser::default();
    desktop.sign_in(&app, "ada@example.com", false).await;
    let (_, html) = desktop.page(&app, "/account").await;
    assert!(html.contains(BANNER));
}

async fn restrict_by_form(browser: &mut Browser, app: &axum::Router) {
    let body = "regime=gdpr&correction=on&correction_data=Invoices&correction_wrong=Lovelance&correction_should=Lovelace";
    let (response, _) = browser.post(app, "/api/data/rights/request", body).await;
    assert_eq!(header(&response, "location"), "/data?notice=request-made");
}

async fn complete(w: &TestApp, owner: OwnerId, id: Uuid) {
    let mut tx = tenant_tx(&w.state.pool, owner).await;
    let by = Answerer {
        key: &w.state.key_encryption_key,
        now: w.clock.now(),
        site: &w.state.public_url,
    };
    answer::act(
        &mut tx,
        &by,
        id,
        Right::Correction,
        Action::Complete { partly: None },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_open_correction_stops_analytics_and_product_news_until_it_closes(owner: PgPool) {
    let w = test_app(owner.clone()).await;
    let app = router(&w.state);
    let mut browser = Browser::default();
    browser.join_as_ada(&app, &owner, false).await;
    let ada = ada(&owner).await;
    accept_all(&mut browser, &app).await;
    rights::set_product_news(&w.as_owner(ada), true)
        .await
        .unwrap();

    restrict_by_form(&mut browser, &app).await;
    let before = count(&owner, VIEWS).await;
    let (_, html) = browser.page(&app, "/account").await;
    assert!(
        html.contains("Processing restricted since"),
        "the account page says so"
    );
    assert!(html.contains("because your correction request is open"));
    browser.page(&app, "/data").await;
    assert_eq!(
        count(&owner, VIEWS).await,
        before,
        "no analytics while restricted"
    );

    let mut tx = tenant_tx(&w.state.pool, ada).await;
    assert!(
        !rights::queue_product_news(&mut tx, "News", "Hello", w.clock.now())
            .await
            .unwrap()
    );
    // The database refuses it too, whatever the code forgets to ask.
    let direct = mail::enqueue_non_essential(
        &mut tx,
        Mail {
            account: ada,
            to: "ada@example.com",
            subject: "News",
            body: "x".to_owned(),
        },
        w.clock.now(),
    )
    .await
    .unwrap();
    assert!(!direct);
    let forced = sqlx::query(
        "INSERT INTO mail_outbox (id, account, recipient, subject, body, created_at, essential) \
         VALUES (gen_random_uuid(), $1, 'ada@example.com', 'News', '', now(), false)",
    )
    .bind(ada)
    .execute(&owner)
    .await;
    assert!(
        forced.is_err(),
        "the trigger refuses non-essential mail to a restricted account"
    );
    tx.commit().await.unwrap();

    let id: Uuid = sqlx::query_scalar("SELECT id FROM rights_requests")
        .fetch_one(&owner)
        .await
        .unwrap();
    complete(&w, ada, id).await;
    browser.page(&app, "/data").await;
    assert_eq!(
        count(&owner, VIEWS).await,
        before + 1,
        "counted again once it closed"
    );
    let mut tx = tenant_tx(&w.state.pool, ada).await;
    assert!(
        rights::queue_product_news(&mut tx, "News", "Hello", w.clock.now())
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let news = "SELECT count(*) FROM mail_outbox WHERE NOT essential";
    assert_eq!(count(&owner, news).await, 1);
}
