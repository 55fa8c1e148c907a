//! Signing in through the real router and server functions: protected pages redirect with the
//! reason, sudo mode runs out after ten minutes and rotates the id, idle sessions end.

use std::sync::Arc;

use app::{
    auth::service::invites,
    platform::{clock::ManualClock, db::MIGRATOR, regions::Regions, session::SessionRecords},
};
use axum::{
    body::Body,
    http::{Request, StatusCode},
    Router,
};
use custodian::router;
use sqlx::PgPool;
use time::Duration;

use crate::support::{app_pool, get, header, send};

const PASSWORD: &str = "violet kettle drums at midnight";

fn form_post(path: &str, body: &str, cookie: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header("accept", "text/html")
        .header("referer", "http://127.0.0.1:3000/account")
        .header("cookie", cookie)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn with_cookie(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap()
}

fn cookie_of(response: &axum::http::Response<Body>) -> String {
    header(response, "set-cookie")
        .split(';')
        .next()
        .unwrap_or("")
        .to_owned()
}

async fn site(owner: &PgPool, clock: &ManualClock) -> (Router, tempfile::TempDir) {
    let pool = app_pool(owner, 4).await;
    let (state, dir) = crate::support::state(
        pool.clone(),
        "http://127.0.0.1:3000",
        Arc::new(clock.clone()),
    );
    (
        router::build(state, SessionRecords::new(Regions::single(pool))),
        dir,
    )
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sign_in_sudo_and_expiry_through_the_router(owner: PgPool) {
    let clock = ManualClock::starting_now();
    let (app, _dir) = site(&owner, &clock).await;
    let code = invites::create(&owner, 7, None).await.unwrap().code;

    // A protected page sends a stranger to sign in, remembering where they were going.
    let (response, _) = send(&app, get("/account?tab=x")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        header(&response, "location"),
        "/signin?next=%2Faccount%3Ftab%3Dx"
    );

    let body = format!(
        "email=ada%40example.com&display_name=Ada&password={}&region=eu-west&invite={code}",
        PASSWORD.replace(' ', "+")
    );
    let (response, _) = send(&app, form_post("/api/signup", &body, "")).await;
    assert_eq!(header(&response, "location"), "/signin?notice=signed-up");

    // Wrong password: back to the form with the message, no session.
    let (response, _) = send(
        &app,
        form_post(
            "/api/signin",
            "email=ada%40example.com&password=nope+nope+nope",
            "",
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(
        header(&response, "location").contains("__err="),
        "{response:?}"
    );

    let body = format!(
        "email=ada%40example.com&password={}&next=%2Fsecurity",
        PASSWORD.replace(' ', "+")
    );
    let (response, _) = send(&app, form_post("/api/signin", &body, "")).await;
    assert_eq!(header(&response, "location"), "/security");
    let cookie = cookie_of(&response);
    assert!(cookie.starts_with("custodian_session="), "{cookie}");

    let (response, html) = send(&app, with_cookie("/security", &cookie)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(html.contains("Signed in"), "the log lists the sign-in");

    // Sudo: fresh from sign-in, a sensitive change goes through…
    let (response, _) = send(&app, form_post("/api/security/revoke-others", "", &cookie)).await;
    assert_eq!(
        header(&response, "location"),
        "/security/sessions?notice=others-ended"
    );
    // …but not a change of the address the account is recovered by, which asks again.
    let (response, _) = send(
        &app,
        form_post("/api/account/email", "email=ada2%40example.com", &cookie),
    )
    .await;
    assert!(header(&response, "location").contains("__err="));
    // Eleven minutes on, everything sensitive asks for the password again.
    clock.advance(Duration::minutes(11));
    let (response, _) = send(&app, form_post("/api/security/revoke-others", "", &cookie)).await;
    let location = header(&response, "location").to_owned();
    assert!(location.contains("__err="), "{location}");
    let (response, _) = send(
        &app,
        form_post(
            "/api/sudo",
            &format!("sudo_password={}", PASSWORD.replace(' ', "+")),
            &cookie,
        ),
    )
    .await;
    let cookie = {
        let rotated = cookie_of(&response);
        assert!(!rotated.is_empty(), "sudo rotates the session id");
        rotated
    };
    let (response, _) = send(
        &app,
        form_post("/api/account/email", "email=ada3%40example.com", &cookie),
    )
    .await;
    assert_eq!(
        header(&response, "location"),
        "/account?notice=email-link-sent"
    );

    // Thirty idle minutes later the page sends them to sign in, saying why.
    clock.advance(Duration::minutes(31));
    let (response, _) = send(&app, with_cookie("/account", &cookie)).await;
    assert_eq!(
        header(&response, "location"),
        "/signin?next=%2Faccount&reason=idle"
    );
    // And the revoked cookie stays worthless.
    let (response, _) = send(&app, with_cookie("/account", &cookie)).await;
    assert_eq!(
        header(&response, "location"),
        "/signin?next=%2Faccount&reason=ended"
    );
}
