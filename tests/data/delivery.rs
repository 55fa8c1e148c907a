//! Delivering an export over HTTP (promise P8): the owner in sudo mode only, with its length
//! and name, resumable with range requests, recorded once; and the same server functions the
//! page uses serve a script.

use app::{
    data::model::EXPORT_DOWNLOADED,
    platform::{clock::Clock, db::MIGRATOR, session::SUDO_WINDOW},
};
use axum::{body::Body, http::Request, http::StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use sqlx::PgPool;
use time::Duration;
use uuid::Uuid;

use crate::{
    archive_path, exported,
    support::{
        browser::{router, Browser, FIREFOX},
        test_app,
    },
    Worker,
};

async fn fetch(
    app: &axum::Router,
    browser: &Browser,
    path: &str,
    range: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(path)
        .header("user-agent", FIREFOX)
        .header("cookie", browser.cookie_header());
    if let Some(range) = range {
        request = request.header("range", range);
    }
    let response = tower::ServiceExt::oneshot(app.clone(), request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_owner_downloads_in_sudo_mode_and_can_resume(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let bob = w.sign_up_verified("bob@example.com").await;
    let id = exported(&w, ada).await;
    let bobs = exported(&w, bob).await;
    let app = router(&w.state);
    let mut browser = Browser::default();
    browser.sign_in(&app, "ada@example.com", false).await;
    let path = format!("/data/exports/{id}/archive");
    let archive = std::fs::read(archive_path(&w, ada, id)).unwrap();

    let (status, headers, body) = fetch(&app, &browser, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, archive);
    assert_eq!(
        headers["content-length"],
        archive.len().to_string().as_str()
    );
    assert_eq!(headers["content-type"], "application/zip");
    let today = w.clock.now().date();
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"custodian-export-{today}.zip\"").as_str()
    );
    assert_eq!(headers["cache-control"], "private, no-store");

    // A download resumed from byte 100 gets the rest, and is recorded as resumed.
    let (status, headers, body) = fetch(&app, &browser, &path, Some("bytes=100-")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(body, archive[100..]);
    assert!(headers["content-range"]
        .to_str()
        .unwrap()
        .starts_with("bytes 100-"));
    let downloads: Vec<String> = w
        .kinds(ada)
        .await
        .into_iter()
        .filter(|k| k.starts_with(EXPORT_DOWNLOADED.code))
        .collect();
    assert_eq!(
        downloads,
        vec![
            format!("{}:resumed at byte 100", EXPORT_DOWNLOADED.code),
            format!("{}:", EXPORT_DOWNLOADED.code)
        ]
    );

    // Another's export, an unknown one and a malformed id are all simply not found.
    for other in [
        format!("/data/exports/{bobs}/archive"),
        format!("/data/exports/{}/archive", Uuid::new_v4()),
        "/data/exports/not-an-id/archive".to_owned(),
    ] {
        let (status, _, body) = fetch(&app, &browser, &other, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
        assert!(!body.starts_with(b"PK"), "{other}");
    }

    // A link from another site starts no download, and records none.
    let request = Request::get(&path)
        .header("user-agent", FIREFOX)
        .header("sec-fetch-site", "cross-site")
        .header("cookie", browser.cookie_header())
        .body(Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        w.kinds(ada)
            .await
            .iter()
            .filter(|k| k.starts_with(EXPORT_DOWNLOADED.code))
            .count(),
        2
    );

    // Out of sudo mode: sent to confirm who it is first.
    w.clock.advance(SUDO_WINDOW + Duration::minutes(1));
    let (status, headers, body) = fetch(&app, &browser, &path, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers["location"],
        format!("/data?notice=confirm-to-download&download={id}").as_str()
    );
    assert!(body.is_empty());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_signed_out_visitor_gets_no_archive(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let id = exported(&w, ada).await;
    let app = router(&w.state);
    let (status, headers, body) = fetch(
        &app,
        &Browser::default(),
        &format!("/data/exports/{id}/archive"),
        None,
    )
    .await;
    assert!(status.is_redirection(), "{status}");
    assert!(headers["location"].to_str().unwrap().starts_with("/signin"));
    assert!(!body.starts_with(b"PK"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_script_with_a_session_starts_watches_and_fetches_an_export(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up_verified("ada@example.com").await;
    let app = router(&w.state);
    let mut script = Browser::default();
    script.sign_in(&app, "ada@example.com", false).await;

    let (response, body) = script.post_json(&app, "/api/data/export", "").await;
    assert_eq!(response.status(), StatusCode::OK, "{body}");
    let export: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(export["state"], "Queued");
    // Asking again while it runs answers with the same export.
    let (_, again) = script.post_json(&app, "/api/data/export", "").await;
    assert_eq!(
        serde_json::from_str::<Value>(&again).unwrap()["id"],
        export["id"]
    );

    let worker = Worker::new(&w);
    worker.run().await;
    let (_, body) = script.post_json(&app, "/api/data/overview", "").await;
    let overview: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(overview["exports"][0]["state"], "Ready");
    let path = format!("/data/exports/{}/archive", export["id"].as_str().unwrap());
    let (status, _, zip) = fetch(&app, &script, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(zip.starts_with(b"PK"));
    assert!(w
        .subjects_to("ada@example.com")
        .await
        .contains(&"Your data export is ready".to_owned()));
    let mail = worker.delivered();
    assert!(mail.contains("http://localhost:3000/data"));
    assert!(
        !mail.contains("/archive"),
        "no download link travels by mail"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_page_lists_exports_and_refuses_a_request_without_sudo(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up_verified("ada@example.com").await;
    let app = router(&w.state);
    let mut browser = Browser::default();
    browser.sign_in(&app, "ada@example.com", false).await;
    let (response, page) = browser.page(&app, "/data").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(page.contains("Export all my data"));
    assert!(page.contains("You have not exported your data yet."));

    w.clock.advance(SUDO_WINDOW + Duration::minutes(1));
    let (response, body) = browser.post_json(&app, "/api/data/export", "").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "{body}");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM data_exports")
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}
