//! An account scheduled for deletion (promise P8) signs in to one page: every other page leads
//! there, and every server function and plain route but the few that cancel or sign out is
//! refused. Walked over every route the app declares.

use app::{
    data::model::{DELETION_PAGE, REACHABLE_WHILE_SCHEDULED},
    platform::{db::MIGRATOR, session::SUDO_WINDOW},
};
use axum::http::StatusCode;
use sqlx::PgPool;
use time::Duration;

use crate::support::{
    browser::{router, Browser},
    header, test_app,
};

/// A concrete address for each page the app declares (parameters filled in).
fn every_page() -> Vec<String> {
    app::AREAS
        .iter()
        .flat_map(|area| area.pages)
        .map(|page| {
            page.path
                .replace(":document", "privacy")
                .replace(":version", "1")
                .replace(":token", "x")
        })
        .collect()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_scheduled_account_reaches_only_the_page_that_cancels(owner: PgPool) {
    let w = test_app(owner.clone()).await;
    let app = router(&w.state);
    let mut browser = Browser::default();
    browser.join_as_ada(&app, &owner, false).await;

    // Past the sudo window, the request is refused until the person proves who they are.
    w.clock.advance(SUDO_WINDOW + Duration::seconds(1));
    let (response, body) = browser
        .post_json(
            &app,
            "/api/data/deletion/request",
            "email=ada%40example.com",
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("SudoRequired"), "{body}");
    assert!(browser.is_signed_in(&app).await, "nothing was scheduled");
    browser.sign_in(&app, "ada@example.com", false).await;

    let (response, _) = browser
        .post(
            &app,
            "/api/data/deletion/request",
            "email=someone%40example.com",
        )
        .await;
    assert_ne!(header(&response, "location"), "", "{response:?}");
    assert!(
        browser.is_signed_in(&app).await,
        "a wrong address deletes nothing"
    );

    let (response, _) = browser
        .post(
            &app,
            "/api/data/deletion/request",
            "email=ada%40example.com",
        )
        .await;
    assert!(header(&response, "location").starts_with("/deletion-scheduled?on="));
    assert!(!browser.is_signed_in(&app).await, "this session ended too");
    let (response, body) = browser
        .page(&app, "/deletion-scheduled?on=2026-12-14")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body.contains("2026-12-14"));

    // Signing in still works, for one purpose: it leads to the one page.
    let landing = browser.sign_in(&app, "ada@example.com", false).await;
    assert_eq!(landing, DELETION_PAGE);
    for path in every_page() {
        let (response, _) = browser.page(&app, &path).await;
        if REACHABLE_WHILE_SCHEDULED.contains(&path.as_str()) {
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        } else {
            assert!(
                response.status().is_redirection(),
                "{path}: {}",
                response.status()
            );
            assert_eq!(header(&response, "location"), DELETION_PAGE, "{path}");
        }
    }
    let mut refused = 0;
    for (path, _) in leptos::server_fn::axum::server_fn_paths() {
        if REACHABLE_WHILE_SCHEDULED.contains(&path) {
            continue;
        }
        let (response, body) = browser.post_json(&app, path, "{}").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(body.contains("scheduled for deletion"), "{path}: {body}");
        refused += 1;
    }
    assert!(refused > 30, "every server function was walked ({refused})");
    let (response, _) = browser
        .page(
            &app,
            "/data/exports/00000000-0000-4000-8000-000000000000/archive",
        )
        .await;
    assert_eq!(
        header(&response, "location"),
        DELETION_PAGE,
        "plain routes too"
    );

    let (response, body) = browser.page(&app, DELETION_PAGE).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        body.contains("Cancel deletion") && body.contains("Sign out"),
        "{body}"
    );

    let (response, _) = browser.post(&app, "/api/data/deletion/cancel", "").await;
    assert_eq!(
        header(&response, "location"),
        "/data?notice=deletion-cancelled"
    );
    let (response, _) = browser.page(&app, "/account").await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the account is as it was"
    );
}
