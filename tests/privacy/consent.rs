//! Consent and GPC (promise P6) against PostgreSQL and the real router: the append-only ledger,
//! a browser's records linked to the account, GPC, and refused consent input.

use app::{
    platform::db::{self, MIGRATOR},
    privacy::{
        model::Choices,
        service::{
            ledger::{self, Entry, Method, Subject},
            policies,
        },
        store::{
            ledger::{self as store, Ledger, NewRecord},
            policies::NewVersion,
        },
    },
    signin::service::password_step,
};
use axum::http::StatusCode;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{
    browser::{site, Browser, FIREFOX},
    header, refusal, tenant_tx, test_app, TestApp, PASSWORD,
};

fn banner_choice(choices: Choices, now: time::OffsetDateTime) -> Entry<'static> {
    Entry {
        choices,
        gpc: false,
        method: Method::Banner,
        user_agent: FIREFOX,
        now,
    }
}

/// Records a banner choice for a browser that is not signed in.
async fn choose_in_browser(w: &TestApp, browser: Uuid, choices: Choices) {
    let entry = banner_choice(choices, w.state.clock.now());
    ledger::append(&w.visitor(), Subject::Browser(browser), &entry)
        .await
        .unwrap()
        .expect("a banner choice is always recorded");
}

async fn count(owner: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(owner).await.unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_ledger_is_append_only_for_the_app_role(owner: PgPool) {
    let w = test_app(owner.clone()).await;
    let ada = w.sign_up("ada@example.com").await;
    let browser = Uuid::new_v4();
    choose_in_browser(&w, browser, Choices::ACCEPT_ALL).await;

    for table in ["consent_records", "anonymous_consents"] {
        for statement in [
            format!("UPDATE {table} SET granted = '{{}}'"),
            format!("DELETE FROM {table}"),
        ] {
            let refused = if table == "consent_records" {
                let mut tx = tenant_tx(&w.state.pool, ada).await;
                refusal(&mut tx, &statement).await
            } else {
                let mut tx = db::begin_for_browser(&w.state.pool, browser).await.unwrap();
                refusal(&mut tx, &statement).await
            };
            assert_eq!(refused.as_deref(), Some("42501"), "{statement}");
        }
    }
    // Another browser cannot read this one's records, nor write under its id.
    let stranger = Uuid::new_v4();
    let mut tx = db::begin_for_browser(&w.state.pool, stranger)
        .await
        .unwrap();
    let visible: i64 = sqlx::query_scalar("SELECT count(*) FROM anonymous_consents")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(visible, 0);
    let forged = store::insert(
        &mut tx,
        Ledger::Browser(browser),
        &NewRecord {
            granted: &["essential", "functional", "analytics", "sale_share"],
            denied: &[],
            method: Method::Banner.as_str(),
            gpc: false,
            recorded_at: w.state.clock.now(),
            user_agent: FIREFOX,
        },
    )
    .await;
    assert!(forged.is_err(), "wrote a record under another browser's id");
    assert_eq!(
        count(&owner, "SELECT count(*) FROM anonymous_consents").await,
        1
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_browsers_records_are_linked_at_sign_up_and_sign_in(owner: PgPool) {
    let mut w = test_app(owner.clone()).await;
    let first_browser = Uuid::new_v4();
    choose_in_browser(&w, first_browser, Choices::REJECT_ALL).await;
    w.client.consent_id = Some(first_browser);
    let ada = w.sign_up("ada@example.com").await;

    let records = ledger::visible_records(&w.visitor_as(Some(ada), None), None)
        .await
        .unwrap();
    let methods: Vec<&str> = records.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods.len(), 2, "{methods:?}");
    assert!(methods.contains(&"banner") && methods.contains(&"signup"));
    let signup = records.iter().find(|r| r.method == "signup").unwrap();
    assert!(
        signup.denied.contains(&"functional".to_owned()),
        "sign-up carries the browser's choice"
    );

    // Another browser's record joins the history when Ada signs in there.
    let second_browser = Uuid::new_v4();
    choose_in_browser(&w, second_browser, Choices::ACCEPT_ALL).await;
    w.client.consent_id = Some(second_browser);
    password_step::sign_in(
        &w.visitor_on(&w.session()),
        "ada@example.com",
        PASSWORD,
        false,
    )
    .await
    .unwrap();
    let records = ledger::visible_records(&w.visitor_as(Some(ada), None), None)
        .await
        .unwrap();
    assert_eq!(records.len(), 3);
    assert!(records
        .iter()
        .any(|r| r.subject == format!("browser:{second_browser}")));

    // Someone else sees none of it.
    w.client.consent_id = None;
    let bo = w.sign_up("bo@example.com").await;
    let theirs = ledger::visible_records(&w.visitor_as(Some(bo), None), None)
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1, "only Bo's own sign-up record");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn gpc_is_honored_recorded_once_per_version_and_wins_over_an_opt_in(owner: PgPool) {
    let (app, state, _dir) = site(&owner).await;
    let mut browser = Browser {
        gpc: true,
        ..Browser::default()
    };

    // Default: a first visit with GPC gets a consent id and one GPC record.
    let (response, html) = browser.page(&app, "/privacy").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(browser.has("custodian_consent"), "a subject for the record");
    assert!(html.contains("Your browser sends GPC: honored."));
    let gpc_records = "SELECT count(*) FROM anonymous_consents WHERE method = 'gpc'";
    assert_eq!(count(&owner, gpc_records).await, 1);
    let (granted, denied): (Vec<String>, Vec<String>) =
        sqlx::query_as("SELECT granted, denied FROM anonymous_consents")
            .fetch_one(&owner)
            .await
            .unwrap();
    assert_eq!(granted, ["essential"]);
    assert!(denied.contains(&"analytics".to_owned()) && denied.contains(&"sale_share".to_owned()));

    // Once per subject and version: more visits add nothing...
    browser.page(&app, "/").await;
    browser.page(&app, "/privacy").await;
    assert_eq!(count(&owner, gpc_records).await, 1);
    // ...until the cookie policy has a new version.
    let file_url = url::Url::parse("http://127.0.0.1:3000").unwrap();
    policies::publish(
        &owner,
        &NewVersion {
            document: "cookies",
            published_at: state.clock.now(),
            material: false,
            summary: "Clearer wording.",
            body: "# Cookie policy\n\nNew text.",
        },
        &[],
        &file_url,
    )
    .await
    .unwrap();
    browser.page(&app, "/").await;
    assert_eq!(count(&owner, gpc_records).await, 2);

    // An explicit opt-in to everything: GPC still wins for sale/share and analytics.
    let (response, _) = browser
        .post(
            &app,
            "/api/privacy/consent",
            "choice=accept&method=banner&back=%2Fprivacy",
        )
        .await;
    assert_eq!(header(&response, "location"), "/privacy");
    let views = "SELECT coalesce(sum(views), 0)::bigint FROM page_views";
    let (_, html) = browser.page(&app, "/privacy").await;
    assert!(
        html.contains("GPC wins"),
        "the page says GPC overrides the opt-in"
    );
    assert_eq!(count(&owner, views).await, 0, "no analytics with GPC");

    // Without GPC the same choice counts the visit, per path and day only.
    browser.gpc = false;
    browser.page(&app, "/privacy").await;
    assert_eq!(count(&owner, views).await, 1);
    let path: String = sqlx::query_scalar("SELECT path FROM page_views")
        .fetch_one(&owner)
        .await
        .unwrap();
    assert_eq!(path, "/privacy");
    // A browser that rejected analytics is not counted.
    let mut other = Browser::default();
    other
        .post(
            &app,
            "/api/privacy/consent",
            "choice=reject&method=banner&back=%2F",
        )
        .await;
    other.page(&app, "/privacy").await;
    assert_eq!(count(&owner, views).await, 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bad_consent_input_is_refused_and_never_recorded(owner: PgPool) {
    let (app, _state, _dir) = site(&owner).await;
    let mut browser = Browser::default();
    for body in [
        "choice=maybe&method=banner",
        "choice=accept&method=gpc",
        "choice=accept&method=signup",
        "method=banner",
    ] {
        let (response, _) = browser.post(&app, "/api/privacy/consent", body).await;
        assert_ne!(
            response.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{body}"
        );
        let location = header(&response, "location");
        assert!(
            location.contains("__err=") || response.status().is_client_error(),
            "{body}: {response:?}"
        );
    }
    assert_eq!(
        count(&owner, "SELECT count(*) FROM anonymous_consents").await,
        0
    );

    // A forged consent cookie is ignored: the banner shows and its id is never used.
    let forged = format!("{}.1.111.AAAAAAAAAAAAAAAAAAAAAA", Uuid::new_v4());
    browser.jar = vec![("custodian_consent".to_owned(), forged.clone())];
    let (response, html) = browser.page(&app, "/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        html.contains("Cookies on Custodian"),
        "the banner asks again"
    );
    browser
        .post(
            &app,
            "/api/privacy/consent",
            "choice=accept&method=banner&back=%2F",
        )
        .await;
    let forged_id = forged.split('.').next().unwrap();
    let used: i64 =
        sqlx::query_scalar("SELECT count(*) FROM anonymous_consents WHERE consent_id::text = $1")
            .bind(forged_id)
            .fetch_one(&owner)
            .await
            .unwrap();
    assert_eq!(used, 0);
    assert_eq!(
        count(&owner, "SELECT count(*) FROM anonymous_consents").await,
        1
    );

    // An unknown category is never recorded: only the known switches are read.
    let mut curious = Browser::default();
    curious
        .post(
            &app,
            "/api/privacy/consent",
            "choice=custom&method=settings&functional=on&marketing=on&back=%2F",
        )
        .await;
    let (granted, denied): (Vec<String>, Vec<String>) =
        sqlx::query_as("SELECT granted, denied FROM anonymous_consents WHERE method = 'settings'")
            .fetch_one(&owner)
            .await
            .unwrap();
    assert_eq!(granted, ["essential", "functional", "sale_share"]);
    assert_eq!(denied, ["analytics"]);

    // Theme: no cookie without functional consent, and an unknown theme is refused.
    let mut rejecting = Browser::default();
    rejecting
        .post(
            &app,
            "/api/privacy/consent",
            "choice=reject&method=banner&back=%2F",
        )
        .await;
    let (response, _) = rejecting
        .post(&app, "/api/privacy/theme", "theme=dark&back=%2F")
        .await;
    assert_eq!(header(&response, "location"), "/?theme=dark");
    assert!(!rejecting.has("custodian_theme"));
    let (_, html) = rejecting.page(&app, "/?theme=dark").await;
    assert!(
        html.contains(r#"class="dark""#),
        "the page still shows the theme"
    );
    let (response, _) = rejecting
        .post(&app, "/api/privacy/theme", "theme=purple&back=%2F")
        .await;
    assert!(header(&response, "location").contains("__err="));
    let (_, _) = browser
        .post(&app, "/api/privacy/theme", "theme=dark&back=%2F")
        .await;
    assert!(
        browser.has("custodian_theme"),
        "accepted: the theme is kept"
    );
    let (_, html) = browser.page(&app, "/").await;
    assert!(html.contains(r#"class="dark""#));
    // Withdrawing functional consent removes it at once.
    browser
        .post(
            &app,
            "/api/privacy/consent",
            "choice=reject&method=settings&back=%2F",
        )
        .await;
    assert!(!browser.has("custodian_theme"));
}
