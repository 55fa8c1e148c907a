//! The router with its middleware, driven in-process: headers (P13, P14), CSRF refusal, 404,
//! health, and session cookie flags (P4).

use std::sync::Arc;

use app::{
    platform::{clock::SystemClock, db::MIGRATOR, regions::Regions, session::SessionRecords},
    privacy::service::analytics::PageRoutes,
};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    routing::post,
    Router,
};
use custodian::{
    middleware::content_security_policy,
    router::{self, RequestLimits},
};
use sqlx::{postgres::PgPoolOptions, PgPool};
use tower_sessions::{ExpiredDeletion, Session};

use crate::support::{app_pool, get, header, send};

/// The whole site on `pool`, as the server builds it.
fn site_at(pool: PgPool, public_url: &str) -> (Router, tempfile::TempDir) {
    let (state, dir) = crate::support::state(pool.clone(), public_url, Arc::new(SystemClock));
    (
        router::build(state, SessionRecords::new(Regions::single(pool))),
        dir,
    )
}

async fn site(owner: &PgPool) -> (Router, tempfile::TempDir) {
    site_at(app_pool(owner, 4).await, "http://127.0.0.1:3000")
}

/// The nonce attribute of every <script> tag in a page.
fn script_nonces(html: &str) -> Vec<String> {
    html.split("<script")
        .skip(1)
        .map(|tag| {
            let tag = &tag[..tag.find('>').unwrap()];
            tag.split("nonce=\"")
                .nth(1)
                .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
                .unwrap_or_default()
        })
        .collect()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn pages_carry_the_security_headers_and_a_matching_nonce(owner: PgPool) {
    let (app, _dir) = site(&owner).await;
    let (response, html) = send(&app, get("/")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(html.contains("Your account, security and privacy center"));

    let csp = header(&response, "content-security-policy");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    assert!(nonce.len() >= 22, "nonce too short: {nonce}");
    assert_eq!(
        csp,
        content_security_policy(nonce, "http://*.apps.localhost:3000")
    );
    let nonces = script_nonces(&html);
    assert!(
        nonces.len() >= 2,
        "expected the hydration and service worker scripts: {html}"
    );
    assert!(
        nonces.iter().all(|n| n == nonce),
        "script nonces {nonces:?} differ from {nonce}"
    );

    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    assert_eq!(header(&response, "referrer-policy"), "same-origin");
    assert_eq!(
        header(&response, "cross-origin-opener-policy"),
        "same-origin"
    );
    assert!(header(&response, "permissions-policy").contains("camera=()"));
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert!(!header(&response, "x-request-id").is_empty());
    assert_eq!(
        header(&response, "strict-transport-security"),
        "",
        "HSTS only over https"
    );

    let (second, _) = send(&app, get("/")).await;
    assert_ne!(
        header(&second, "content-security-policy"),
        csp,
        "the nonce must change per response"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn https_sites_send_hsts(owner: PgPool) {
    let (app, _dir) = site_at(app_pool(&owner, 2).await, "https://custodian.example");
    let (response, _) = send(&app, get("/healthz")).await;
    assert!(header(&response, "strict-transport-security").starts_with("max-age="));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn unknown_paths_get_the_404_page(owner: PgPool) {
    let (app, _dir) = site(&owner).await;
    let (response, html) = send(&app, get("/no/such/page")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(html.contains("Page not found"));
    assert!(!header(&response, "content-security-policy").is_empty());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn responses_are_compressed_when_asked(owner: PgPool) {
    let (app, _dir) = site(&owner).await;
    let request = Request::get("/")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let (response, _) = send(&app, request).await;
    assert_eq!(header(&response, "content-encoding"), "gzip");
}

fn server_function_call(headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::post("/api/service-status")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn cross_site_state_changes_are_refused(owner: PgPool) {
    let (app, _dir) = site(&owner).await;
    for headers in [
        vec![
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
    ] {
        let (response, _) = send(&app, server_function_call(&headers)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
    }
    let (response, body) = send(
        &app,
        server_function_call(&[("sec-fetch-site", "same-origin")]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK, "{body}");
    assert!(body.contains("\"database_reachable\":true"), "{body}");
    assert_eq!(header(&response, "cache-control"), "no-store");
    let (response, _) = send(
        &app,
        server_function_call(&[("origin", "http://127.0.0.1:3000")]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn healthz_follows_the_database(owner: PgPool) {
    let (app, _dir) = site(&owner).await;
    let (response, body) = send(&app, get("/healthz")).await;
    assert_eq!((response.status(), body.as_str()), (StatusCode::OK, "ok"));

    let mut options = (*owner.connect_options()).clone();
    options = options.port(1);
    let dead = PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(500))
        .connect_lazy_with(options);
    let (app, _dir) = site_at(dead, "http://127.0.0.1:3000");
    let (response, _) = send(&app, get("/healthz")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

async fn session_cookie(owner: &PgPool, public_url: &str) -> String {
    let pool = app_pool(owner, 2).await;
    let touch = Router::new().route(
        "/touch",
        post(|session: Session| async move {
            session.insert("seen", true).await.unwrap();
        }),
    );
    let (state, _dir) = crate::support::state(pool.clone(), public_url, Arc::new(SystemClock));
    let app = router::with_middleware(
        touch,
        state,
        SessionRecords::new(Regions::single(pool)),
        PageRoutes::new([]),
        RequestLimits::default(),
    );
    let request = Request::post("/touch")
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .unwrap();
    let (response, _) = send(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    header(&response, "set-cookie").to_owned()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn session_cookies_are_http_only_lax_and_host_bound_over_https(owner: PgPool) {
    let cookie = session_cookie(&owner, "https://custodian.example").await;
    assert!(cookie.starts_with("__Host-custodian_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain="), "{cookie}");

    let cookie = session_cookie(&owner, "http://127.0.0.1:3000").await;
    assert!(cookie.starts_with("custodian_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn expired_sessions_are_deleted_by_the_app_role(owner: PgPool) {
    for (id, expiry) in [
        ("old", "now() - interval '1 minute'"),
        ("live", "now() + interval '1 hour'"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO tower_sessions.session (id, data, expiry_date) VALUES ($1, '\\x00', {expiry})"
        ))
        .bind(id)
        .execute(&owner)
        .await
        .unwrap();
    }
    let store = SessionRecords::new(Regions::single(app_pool(&owner, 1).await));
    store.delete_expired().await.unwrap();
    let left: Vec<String> = sqlx::query_scalar("SELECT id FROM tower_sessions.session")
        .fetch_all(&owner)
        .await
        .unwrap();
    assert_eq!(left, vec!["live".to_owned()]);
}
