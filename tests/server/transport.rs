//! The transport's own refusals (issue 11 finding 9): the cross-site check before any session
//! work, explicit limits on body size and time, form errors in a page's address shown only when
//! this server put them there, and analytics that count known pages only.

use std::{future::pending, time::Duration};

use app::{
    platform::{clock::SystemClock, db::MIGRATOR, regions::Regions, session::SessionRecords},
    privacy::service::analytics::PageRoutes,
};
use axum::{
    body::Body,
    http::{Request, StatusCode},
    routing, Router,
};
use base64::{engine::general_purpose::URL_SAFE, Engine as _};
use custodian::router::{self, RequestLimits};
use sqlx::{postgres::PgPoolOptions, PgPool};

use crate::support::{browser, browser::Browser, get, header, send, test_app};

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_cross_site_request_is_refused_before_any_session_work(owner: PgPool) {
    // A database that cannot be reached: any session lookup would fail with 503.
    let mut options = (*owner.connect_options()).clone();
    options = options.port(1);
    let dead = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy_with(options);
    let (state, _dir) = crate::support::state(
        dead.clone(),
        "http://127.0.0.1:3000",
        std::sync::Arc::new(SystemClock),
    );
    let app = router::build(state, SessionRecords::new(Regions::single(dead)));
    let request = Request::post("/api/account/name")
        .header("sec-fetch-site", "cross-site")
        .header("cookie", "custodian_session=AAAAAAAAAAAAAAAAAAAAAA")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("display_name=Mallory"))
        .unwrap();
    let (response, _) = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn bodies_and_answers_have_limits(owner: PgPool) {
    let w = test_app(owner).await;
    let app = browser::router(&w.state);
    let body = format!("email={}", "a".repeat(300 * 1024));
    let request = Request::post("/api/signin")
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", body.len())
        .body(Body::from(body))
        .unwrap();
    let (response, _) = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Without a length announced (a chunked body), it is refused once it grows too large.
    let chunks = futures::stream::iter((0..400).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 1024])));
    let request = Request::post("/api/signin")
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from_stream(chunks))
        .unwrap();
    let (response, _) = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let stuck = Router::new().route("/stuck", routing::get(pending::<&'static str>));
    let app = router::with_middleware(
        stuck,
        w.state.clone(),
        SessionRecords::new(w.state.regions.clone()),
        PageRoutes::new([]),
        RequestLimits {
            body_bytes: 1024,
            upload_bytes: 1024,
            timeout: Duration::from_millis(50),
        },
    );
    let (response, _) = send(&app, get("/stuck")).await;
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert!(!header(&response, "content-security-policy").is_empty());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_page_shows_only_the_form_errors_this_server_sent(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let app = browser::router(&w.state);
    let mut person = Browser::default();

    // A crafted link carrying a message of someone else's making is sent on without it.
    let forged = URL_SAFE.encode(r#"{"Page":"Your account is suspended. Call +1 555 0100."}"#);
    let (response, _) = person
        .page(
            &app,
            &format!("/signin?next=%2Faccount&__path=%2Fapi%2Fsignin&__err={forged}"),
        )
        .await;
    assert!(response.status().is_redirection(), "{response:?}");
    assert_eq!(header(&response, "location"), "/signin?next=%2Faccount");
    let (response, _) = person
        .page(&app, &format!("//evil.example?__path=x&__err={forged}"))
        .await;
    assert_eq!(header(&response, "location"), "/");

    // A real refusal comes back signed, and the page shows it.
    let (response, _) = person
        .post_from(
            &app,
            "/signin",
            "/api/signin",
            "email=ada%40example.com&password=not+it+at+all",
        )
        .await;
    let location = header(&response, "location").to_owned();
    assert!(location.contains("__errmac="), "{location}");
    let back = location.trim_start_matches("http://127.0.0.1:3000");
    let (response, html) = person.page(&app, back).await;
    assert_eq!(response.status(), StatusCode::OK, "{back}");
    assert!(html.contains("The email address or password is not right."));
    // Changing the signed message breaks the signature.
    let tampered = back.replace("__err=", "__err=AA");
    let (response, _) = person.page(&app, &tampered).await;
    assert!(response.status().is_redirection());

    // A page address that already carries an error (the Referer is the client's to choose) gets
    // no signature for it: only the server's own error is signed, once.
    let (response, _) = person
        .post_from(
            &app,
            &format!("/signin?__path=%2Fsignin&__err={forged}"),
            "/api/signin",
            "email=ada%40example.com&password=not+it+at+all",
        )
        .await;
    let location = header(&response, "location").to_owned();
    assert_eq!(location.matches("__err=").count(), 1, "{location}");
    assert!(!location.contains(&forged), "{location}");
    let back = location.trim_start_matches("http://127.0.0.1:3000");
    let (response, html) = person.page(&app, back).await;
    assert_eq!(response.status(), StatusCode::OK, "{back}");
    assert!(html.contains("The email address or password is not right."));
    assert!(!html.contains("Call +1 555 0100"));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn analytics_count_known_pages_only_and_unknown_policies_are_not_found(owner: PgPool) {
    let w = test_app(owner).await;
    let app = browser::router(&w.state);
    let mut person = Browser::default();
    person
        .post(&app, "/api/privacy/consent", "choice=accept&method=banner")
        .await;
    for (path, status) in [
        ("/nowhere", StatusCode::NOT_FOUND),
        ("/policies/made-up", StatusCode::NOT_FOUND),
        ("/policies/privacy/v/999", StatusCode::NOT_FOUND),
        ("/policies/made-up/history", StatusCode::NOT_FOUND),
        ("/policies/privacy", StatusCode::OK),
        ("/policies/cookies", StatusCode::OK),
    ] {
        let (response, _) = person.page(&app, path).await;
        assert_eq!(response.status(), status, "{path}");
    }
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT path, views FROM page_views ORDER BY path")
            .fetch_all(&w.owner)
            .await
            .unwrap();
    assert_eq!(rows, [("/policies/{document}".to_owned(), 2)]);
}
