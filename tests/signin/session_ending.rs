//! Sessions that really end (promise P4, issue 11 finding 1): the listing row is the authority,
//! a save never brings a deleted record back, signing in while signed in signs the old session
//! out, and a remembered device stays remembered.

use app::{
    auth::service::password::NewPassword,
    platform::{
        db::MIGRATOR,
        session::{self, Authentication},
    },
    security,
};
use futures::future::join_all;
use sqlx::PgPool;
use time::Duration;
use uuid::Uuid;

use crate::support::{browser, browser::Browser, header, test_app, token_in, PASSWORD};

async fn records_named(owner: &PgPool, store_id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM tower_sessions.session WHERE id = $1")
        .bind(store_id)
        .fetch_one(owner)
        .await
        .unwrap()
}

async fn listing_of(owner: &PgPool, store_id: &str) -> Option<Uuid> {
    sqlx::query_scalar("SELECT id FROM account_sessions WHERE store_id = $1")
        .bind(store_id)
        .fetch_optional(owner)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_request_in_flight_when_its_session_ends_cannot_bring_it_back(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let victim = w.sign_in("ada@example.com", PASSWORD).await.unwrap();
    let other = w.sign_in("ada@example.com", PASSWORD).await.unwrap();
    w.clock.advance(Duration::minutes(2));

    // A request of the victim's session is under way: it has read the record and recorded
    // activity, so the session layer will save it when the request ends.
    let in_flight = w.reopen(victim.id());
    let Authentication::SignedIn(user) = session::authenticate(&w.state, &in_flight, true)
        .await
        .unwrap()
    else {
        panic!("the session is not signed in");
    };
    assert!(in_flight.is_modified());

    // Meanwhile the session is ended from the other device.
    let ender = w.signed_in(&other).await.sudo().unwrap();
    security::service::revoke(&ender, user.account_session())
        .await
        .unwrap();

    // The in-flight request finishes and its session is saved: nothing comes back.
    in_flight.save().await.unwrap();
    let store_id = victim.id().unwrap().to_string();
    assert_eq!(records_named(&w.owner, &store_id).await, 0);
    assert!(matches!(
        session::authenticate(&w.state, &w.reopen(victim.id()), true)
            .await
            .unwrap(),
        Authentication::Ended(_)
    ));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_record_its_listing_does_not_name_signs_nobody_in(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let session = w.sign_in("ada@example.com", PASSWORD).await.unwrap();
    // Someone with write access to the store copies the record under another id (of the same
    // region: its lowest byte is US-East's tag); the listing still names the original, so the
    // copy is worthless and is cleared.
    sqlx::query(
        "INSERT INTO tower_sessions.session (id, data, expiry_date) \
         SELECT 'AQAAAAAAAAAAAAAAAAAAAA', data, expiry_date FROM tower_sessions.session WHERE id = $1",
    )
    .bind(session.id().unwrap().to_string())
    .execute(&w.owner)
    .await
    .unwrap();
    let copy = w.reopen(Some("AQAAAAAAAAAAAAAAAAAAAA".parse().unwrap()));
    assert!(matches!(
        session::authenticate(&w.state, &copy, true).await.unwrap(),
        Authentication::Ended(_)
    ));
    assert_eq!(records_named(&w.owner, "AQAAAAAAAAAAAAAAAAAAAA").await, 0);
    // The original goes on working.
    w.user(&w.reopen(session.id())).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn many_requests_in_flight_and_a_revocation_leave_nothing_working(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let app = browser::router(&w.state);
    let mut victim = Browser::default();
    victim.sign_in(&app, "ada@example.com", true).await;
    let mut other = Browser::default();
    other.sign_in(&app, "ada@example.com", false).await;
    let victim_id = victim.session_id().unwrap();
    let listing = listing_of(&w.owner, &victim_id).await.unwrap();
    // Every request below writes the session back (activity is due).
    w.clock.advance(Duration::minutes(2));

    let mut requests: Vec<_> = (0..24)
        .map(|_| {
            let (app, mut browser) = (app.clone(), victim.clone());
            tokio::spawn(async move { browser.page(&app, "/security").await.0.status() })
        })
        .collect();
    let (app_for_revoke, mut revoker) = (app.clone(), other.clone());
    requests.insert(
        12,
        tokio::spawn(async move {
            let (response, _) = revoker
                .post(
                    &app_for_revoke,
                    "/api/security/revoke",
                    &format!("id={listing}"),
                )
                .await;
            response.status()
        }),
    );
    for status in join_all(requests).await {
        assert!(!status.unwrap().is_server_error());
    }

    assert_eq!(records_named(&w.owner, &victim_id).await, 0);
    assert_eq!(listing_of(&w.owner, &victim_id).await, None);
    assert!(!victim.is_signed_in(&app).await);
    assert!(other.is_signed_in(&app).await);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn signing_in_again_while_signed_in_signs_the_old_session_out(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    // Eve's account asks for a second step: her sign-in leaves the session waiting for it.
    w.with_totp("eve@example.com").await;
    let app = browser::router(&w.state);
    let mut victim = Browser::default();
    victim.sign_in(&app, "ada@example.com", true).await;

    // A thief with a copy of Ada's cookie signs in to an account of their own.
    let mut thief = victim.clone();
    let next = thief.sign_in(&app, "eve@example.com", false).await;
    assert!(next.starts_with("/signin/verify"), "{next}");
    let cycled = thief.session_id().unwrap();
    assert_ne!(Some(&cycled), victim.session_id().as_ref());

    // The cycled session is nobody's signed-in session, and Ada's old one has ended.
    assert!(!thief.is_signed_in(&app).await);
    assert!(!victim.is_signed_in(&app).await);
    let listed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_sessions s JOIN accounts a USING (owner_id) \
         WHERE a.email = 'ada@example.com'",
    )
    .fetch_one(&w.owner)
    .await
    .unwrap();
    assert_eq!(listed, 0);
    let kinds = w.kinds(ada).await;
    assert!(
        kinds.contains(&"sign_out:signed in again".to_owned()),
        "{kinds:?}"
    );
}

/// Signs Ada in on a fresh browser, then re-authenticates it (a rotation); returns the browser
/// as it was before the rotation and as it is after.
async fn signed_in_and_rotated(app: &axum::Router) -> (Browser, Browser) {
    let mut browser = Browser::default();
    browser.sign_in(app, "ada@example.com", true).await;
    let before = browser.clone();
    let (response, _) = browser
        .post(
            app,
            "/api/sudo",
            &format!("sudo_password={}", PASSWORD.replace(' ', "+")),
        )
        .await;
    assert!(response.status().is_redirection(), "{response:?}");
    assert_ne!(
        browser.session_id(),
        before.session_id(),
        "sudo rotates the id"
    );
    (before, browser)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_way_of_ending_a_session_ends_it_for_old_and_current_cookies(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let app = browser::router(&w.state);
    let new_password = "plum orchard under quiet snow".replace(' ', "+");

    for path in ["revoke", "everywhere else", "password change", "reset"] {
        let (mut old, mut current) = signed_in_and_rotated(&app).await;
        assert!(!old.is_signed_in(&app).await, "{path}: the pre-rotation id");
        let store_id = current.session_id().unwrap();
        let mut other = Browser::default();
        other.sign_in(&app, "ada@example.com", false).await;
        match path {
            "revoke" => {
                let listing = listing_of(&w.owner, &store_id).await.unwrap();
                other
                    .post(&app, "/api/security/revoke", &format!("id={listing}"))
                    .await;
            }
            "everywhere else" => {
                other.post(&app, "/api/security/revoke-others", "").await;
            }
            "password change" => {
                let body = format!(
                    "current_password={}&password={new_password}&confirm={new_password}",
                    PASSWORD.replace(' ', "+")
                );
                let (response, _) = other.post(&app, "/api/account/password", &body).await;
                assert_eq!(
                    header(&response, "location"),
                    "/account?notice=password-changed"
                );
            }
            _ => {
                other
                    .post(&app, "/api/forgot-password", "email=ada%40example.com")
                    .await;
                let mail = w.mail_to("ada@example.com").await;
                let token = token_in(mail.last().unwrap());
                let body = format!("token={token}&password={new_password}&confirm={new_password}");
                let (response, _) = Browser::default()
                    .post(&app, "/api/reset-password", &body)
                    .await;
                assert_eq!(
                    header(&response, "location"),
                    "/signin?notice=password-reset"
                );
            }
        }
        assert!(!old.is_signed_in(&app).await, "{path}: old cookie");
        assert!(!current.is_signed_in(&app).await, "{path}: current cookie");
        assert_eq!(records_named(&w.owner, &store_id).await, 0, "{path}");
        if matches!(path, "password change" | "reset") {
            // Back to the password the helpers sign in with, for the next round.
            let hash = NewPassword::check(PASSWORD, &[])
                .unwrap()
                .hash(&w.state.hashing)
                .await
                .unwrap();
            sqlx::query("UPDATE accounts SET password_hash = $1")
                .bind(hash)
                .execute(&w.owner)
                .await
                .unwrap();
        }
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_remembered_device_keeps_its_cookie_lifetime_whenever_the_session_is_saved(
    owner: PgPool,
) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let app = browser::router(&w.state);
    let mut browser = Browser::default();
    let body = format!(
        "email=ada%40example.com&password={}&remember=on",
        PASSWORD.replace(' ', "+")
    );
    let (response, _) = browser.post(&app, "/api/signin", &body).await;
    assert!(header(&response, "set-cookie").contains("Max-Age="));

    // The first activity write a minute later saves the session again…
    w.clock.advance(Duration::minutes(2));
    let (response, _) = browser.page(&app, "/account").await;
    let cookie = header(&response, "set-cookie");
    assert!(cookie.starts_with("custodian_session="), "{cookie}");
    assert!(
        cookie.contains("Max-Age="),
        "re-issued as a browser-session cookie: {cookie}"
    );

    // …and so does a re-authentication, under a new id.
    let (response, _) = browser
        .post(
            &app,
            "/api/sudo",
            &format!("sudo_password={}", PASSWORD.replace(' ', "+")),
        )
        .await;
    let cookie = header(&response, "set-cookie");
    assert!(cookie.contains("Max-Age="), "{cookie}");

    // A session not remembered stays a browser-session cookie.
    let mut plain = Browser::default();
    plain.sign_in(&app, "ada@example.com", false).await;
    w.clock.advance(Duration::minutes(2));
    let (response, _) = plain.page(&app, "/account").await;
    assert!(!header(&response, "set-cookie").contains("Max-Age="));
}
