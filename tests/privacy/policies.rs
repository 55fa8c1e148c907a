//! Versioned policies (promise P7) against PostgreSQL and the real router: a material change
//! asks for review and mails everyone, and the cookie policy lists every cookie the server sets.

use std::collections::BTreeSet;

use app::{
    auth::service::accounts,
    platform::db::MIGRATOR,
    privacy::{
        service::policies::{self, Recipient},
        store::policies::NewVersion,
    },
};
use axum::http::StatusCode;
use sqlx::PgPool;

use crate::support::{
    browser::{site, Browser},
    header,
};

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_material_change_asks_for_review_until_acknowledged_and_mails_everyone(owner: PgPool) {
    let (app, state, _dir) = site(&owner).await;
    let mut ada = Browser::default();
    ada.join_as_ada(&app, &owner, false).await;
    let (_, html) = ada.page(&app, "/account").await;
    assert!(
        !html.contains("I have reviewed"),
        "nothing to review at sign-up"
    );

    let public_url = url::Url::parse("http://127.0.0.1:3000").unwrap();
    let recipients: Vec<Recipient> = accounts::directory(&owner)
        .await
        .unwrap()
        .into_iter()
        .map(|(email, account)| Recipient { account, email })
        .collect();
    let version = policies::publish(
        &owner,
        &NewVersion {
            document: "terms",
            published_at: state.clock.now() + time::Duration::seconds(1),
            material: true,
            summary: "You can now export your apps.",
            body: "# Terms of service\n\nNew terms.",
        },
        &recipients,
        &public_url,
    )
    .await
    .unwrap();
    assert_eq!(version, 2);
    let mail: Vec<String> =
        sqlx::query_scalar("SELECT subject FROM mail_outbox WHERE recipient = 'ada@example.com'")
            .fetch_all(&owner)
            .await
            .unwrap();
    assert!(
        mail.iter().any(|s| s == "We changed our Terms of service"),
        "{mail:?}"
    );

    let (_, html) = ada.page(&app, "/account").await;
    assert!(html.contains("I have reviewed the Terms of service"));
    let (response, _) = ada
        .post(
            &app,
            "/api/policies/acknowledge",
            "document=terms&version=2&back=%2Faccount",
        )
        .await;
    assert_eq!(header(&response, "location"), "/account");
    let (_, html) = ada.page(&app, "/account").await;
    assert!(!html.contains("I have reviewed the Terms of service"));
    let (response, _) = ada
        .post(
            &app,
            "/api/policies/acknowledge",
            "document=terms&version=99&back=%2Faccount",
        )
        .await;
    assert!(header(&response, "location").contains("__err="));

    // Earlier versions stay readable.
    let (response, html) = ada.page(&app, "/policies/terms/v/1").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(html.contains("This is an earlier version"));
    let (_, html) = ada.page(&app, "/policies/terms/history").await;
    assert!(html.contains("Version 2 of") && html.contains("Version 1 of"));
    let (_, html) = ada.page(&app, "/policies/nonsense").await;
    assert!(html.contains("Policy not found"));
}

/// Every cookie any route sets is listed in the cookie policy in force.
#[sqlx::test(migrator = "MIGRATOR")]
async fn every_cookie_the_server_sets_is_in_the_cookie_policy(owner: PgPool) {
    let (app, state, _dir) = site(&owner).await;
    let mut browser = Browser {
        gpc: true,
        ..Browser::default()
    };
    let mut seen = BTreeSet::new();
    for path in [
        "/",
        "/privacy",
        "/signin",
        "/signup",
        "/policies/cookies",
        "/nowhere",
    ] {
        browser.page(&app, path).await;
    }
    browser
        .post(
            &app,
            "/api/privacy/consent",
            "choice=accept&method=banner&back=%2F",
        )
        .await;
    browser
        .post(&app, "/api/privacy/theme", "theme=light&back=%2F")
        .await;
    browser.join_as_ada(&app, &owner, true).await;
    for path in ["/account", "/security", "/security/sessions", "/privacy"] {
        browser.page(&app, path).await;
    }
    browser.post(&app, "/api/signout", "").await;
    seen.extend(browser.seen.iter().cloned());
    assert!(
        seen.len() >= 3,
        "the walk set the session, consent and theme cookies: {seen:?}"
    );

    let mut conn = state.pool.acquire().await.unwrap();
    let version = policies::current_version(&mut conn, "cookies")
        .await
        .unwrap();
    let policy: String = sqlx::query_scalar(
        "SELECT body FROM policy_versions WHERE document = 'cookies' AND version = $1",
    )
    .bind(version)
    .fetch_one(&owner)
    .await
    .unwrap();
    let listed = policies::listed_cookie_names(&policy);
    for name in &seen {
        assert!(
            listed.contains(name),
            "{name} is set but not in the cookie policy {listed:?}"
        );
    }
}
