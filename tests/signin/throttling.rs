//! Throttles that hold under concurrency (issue 11 findings 3, 4 and 6): attempts are counted
//! before they are checked, re-authentication shares the sign-in throttle, a pending sign-in
//! and a session have a bounded number of tries, hashing waits are bounded, and anonymous
//! endpoints that cost work are limited per address and network.

use app::{
    platform::{
        client::ClientInfo,
        db::MIGRATOR,
        hashing::HashingSlots,
        ids::OwnerId,
        rate_limit::{Action, RateLimitError},
        session::{self, Authentication},
    },
    signin::{
        model::{REAUTH_TRIES, SECOND_STEP_TRIES},
        service::{password_step, recovery, second_step, sudo, SignInError},
    },
};
use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use futures::future::join_all;
use sqlx::PgPool;
use time::Duration;

use crate::support::{browser, browser::Browser, header, send, test_app, TestApp, PASSWORD};

async fn events(w: &TestApp, owner_id: OwnerId, entry: &str) -> usize {
    w.kinds(owner_id)
        .await
        .iter()
        .filter(|kind| *kind == entry)
        .count()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn fifty_concurrent_wrong_passwords_are_all_counted_and_few_are_checked(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let attempts = (0..50).map(|i| {
        let w = &w;
        async move {
            let session = w.session();
            password_step::sign_in(
                &w.visitor_on(&session),
                "ada@example.com",
                &format!("guess number {i} of many"),
                false,
            )
            .await
        }
    });
    for outcome in join_all(attempts).await {
        assert!(
            matches!(outcome, Err(SignInError::BadCredentials)),
            "{outcome:?}"
        );
    }
    // Only the attempts the throttle let through were checked; the rest were refused unseen.
    let failures: i32 =
        sqlx::query_scalar("SELECT failed_sign_ins FROM accounts WHERE owner_id = $1")
            .bind(ada)
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(failures, 5);
    assert_eq!(events(&w, ada, "sign_in_failed:wrong password").await, 5);
    assert_eq!(events(&w, ada, "sign_in_failed:throttled").await, 45);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn fifty_concurrent_wrong_codes_end_the_pending_sign_in_and_tell_the_owner(owner: PgPool) {
    let w = test_app(owner).await;
    let (eve, phone, _) = w.with_totp("eve@example.com").await;
    let (session, _) = w.password_step("eve@example.com").await;
    let right = w.code(&phone, 0);
    let wrong = if right == "111111" {
        "222222"
    } else {
        "111111"
    };
    let visitor = w.visitor_on(&session);
    let guesses = (0..50).map(|_| second_step::totp_sign_in(&visitor, wrong));
    let outcomes = join_all(guesses).await;
    assert!(outcomes.iter().all(Result::is_err));
    let checked = events(&w, eve, "second_factor_failed:authenticator code").await;
    assert!(checked <= 5, "{checked} codes were checked");
    let exhausted = outcomes
        .iter()
        .filter(|o| matches!(o, Err(SignInError::SecondStepExhausted)))
        .count();
    assert!(exhausted >= 50 - SECOND_STEP_TRIES as usize, "{outcomes:?}");

    // The pending sign-in is over: even the right code no longer signs in.
    let late = second_step::totp_sign_in(&w.visitor_on(&session), &right).await;
    assert!(late.is_err(), "{late:?}");
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM pending_sign_ins")
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert_eq!(pending, 0);
    // The password is known: the owner is told, once.
    let told = w
        .subjects_to("eve@example.com")
        .await
        .iter()
        .filter(|s| *s == "Someone knows your password")
        .count();
    assert_eq!(told, 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sudo_shares_the_sign_in_throttle_and_ten_failures_end_the_session(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let session = w.sign_in("ada@example.com", PASSWORD).await.unwrap();
    for attempt in 1..=REAUTH_TRIES {
        let me = w.signed_in(&session).await;
        let refused = sudo::grant_sudo(&me, "not my password").await.unwrap_err();
        if attempt < REAUTH_TRIES {
            assert!(
                matches!(
                    refused,
                    SignInError::SudoPasswordWrong | SignInError::SudoThrottled(_)
                ),
                "attempt {attempt}: {refused:?}"
            );
        } else {
            assert!(matches!(refused, SignInError::SessionEnded), "{refused:?}");
        }
        if attempt == 5 {
            // The account's sign-in throttle counted the sudo failures: a sign-in with the
            // right password must wait now.
            let other = w.session();
            let throttled =
                password_step::sign_in(&w.visitor_on(&other), "ada@example.com", PASSWORD, false)
                    .await;
            assert!(matches!(throttled, Err(SignInError::BadCredentials)));
        }
        // Past the throttle's delay, within the idle limit.
        w.clock.advance(Duration::minutes(1));
    }
    assert!(matches!(
        session::authenticate(&w.state, &w.reopen(session.id()), true)
            .await
            .unwrap(),
        Authentication::Ended(_)
    ));
    assert!(w
        .subjects_to("ada@example.com")
        .await
        .contains(&"A session of your account was signed out".to_owned()));
    assert!(w
        .kinds(ada)
        .await
        .contains(&"session_revoked:too many failed confirmations".to_owned()));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn concurrent_sudo_guesses_are_all_counted(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let session = w.sign_in("ada@example.com", PASSWORD).await.unwrap();
    let me = w.signed_in(&session).await;
    let guesses = (0..30).map(|i| {
        let me = &me;
        async move { sudo::grant_sudo(me, &format!("guess {i}")).await }
    });
    let outcomes = join_all(guesses).await;
    assert!(outcomes.iter().all(Result::is_err));
    // The account's throttle let the first five through to be checked; the rest were refused
    // unchecked, and those spend none of the session's tries: it goes on.
    assert_eq!(events(&w, ada, "sudo_failed:wrong password").await, 5);
    let throttled = outcomes
        .iter()
        .filter(|o| matches!(o, Err(SignInError::SudoThrottled(_))))
        .count();
    assert_eq!(throttled, 25);
    w.user(&w.reopen(session.id())).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_current_password_of_a_password_change_is_throttled_like_sudo(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let app = browser::router(&w.state);
    let mut person = Browser::default();
    person.sign_in(&app, "ada@example.com", false).await;
    let change = |current: &str| {
        format!(
            "current_password={}&password=plum+orchard+under+quiet+snow&confirm=plum+orchard+under+quiet+snow",
            current.replace(' ', "+")
        )
    };
    for _ in 0..5 {
        let (_, body) = person
            .post_json(&app, "/api/account/password", &change("not it at all"))
            .await;
        assert!(body.contains("The current password is not right"), "{body}");
    }
    // Even the right password waits now, and says so next to the field.
    let (response, body) = person
        .post_json(&app, "/api/account/password", &change(PASSWORD))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Too many attempts"), "{body}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_busy_server_answers_503_with_retry_after_instead_of_queueing(owner: PgPool) {
    let mut w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    w.state.hashing = HashingSlots::new(1, std::time::Duration::ZERO);
    let app = browser::router(&w.state);
    // The only slot is taken by work that waits for the test.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let hold = w.state.hashing.run(move || wait.recv().is_ok());
    let request = async {
        let mut person = Browser::default();
        let answer = person
            .post_json(
                &app,
                "/api/signin",
                &format!(
                    "email=ada%40example.com&password={}",
                    PASSWORD.replace(' ', "+")
                ),
            )
            .await;
        let _ = release.send(());
        answer
    };
    let (held, (response, _)) = tokio::join!(hold, request);
    assert_eq!(held, Ok(true));
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&response, "retry-after"), "5");
    // The attempt was never checked, so it counts for nothing.
    let failures: i32 = sqlx::query_scalar("SELECT failed_sign_ins FROM accounts")
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert_eq!(failures, 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_anonymous_endpoint_that_costs_work_is_limited(owner: PgPool) {
    let mut w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    w.state.limits.per_address = 1;
    let app = browser::router(&w.state);
    let endpoints = [
        ("/api/signin", "email=ada%40example.com&password=x"),
        ("/api/sudo", "sudo_password=x"),
        ("/api/mfa/verify-code", "code=123456"),
        ("/api/mfa/verify-backup-code", "backup_code=ABCDE-FGHJK"),
        ("/api/mfa/sudo-code", "sudo_code=123456"),
        ("/api/forgot-password", "email=ada%40example.com"),
        ("/api/reset-password", "token=x&password=x&confirm=x"),
        ("/api/not-me", "token=x"),
        ("/api/privacy/consent", "choice=accept&method=banner"),
        ("/api/privacy/verify-receipt", "receipt=%7B%7D"),
    ];
    for (path, body) in endpoints {
        let mut person = Browser::default();
        // Within the minute, each kind allows its share; afterwards, the same answer for all.
        let mut refused = None;
        for _ in 0..9 {
            let (response, text) = person.post_json(&app, path, body).await;
            if text.contains("Too many attempts from your network") {
                refused = Some(response.status());
                break;
            }
        }
        assert_eq!(refused, Some(StatusCode::UNPROCESSABLE_ENTITY), "{path}");
        w.clock.advance(Duration::minutes(1));
    }
    for (path, body) in [
        ("/api/password-strength", "password=x&email=&display_name="),
        ("/api/mfa/passkey-challenge", "purpose=SignIn"),
        (
            "/api/mfa/passkey-answer",
            "purpose=SignIn&credential=%7B%7D",
        ),
    ] {
        let mut person = Browser::default();
        let mut refused = false;
        for _ in 0..9 {
            let (_, text) = person.post_json(&app, path, body).await;
            refused |= text.contains("Too many attempts from your network");
        }
        assert!(refused, "{path}");
        w.clock.advance(Duration::minutes(1));
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn cookieless_requests_cannot_add_rows_without_bound(owner: PgPool) {
    let mut w = test_app(owner).await;
    w.state.limits.per_address = 3;
    let app = browser::router(&w.state);
    for _ in 0..40 {
        let request = Request::get("/")
            .header("accept", "text/html")
            .header("sec-gpc", "1")
            .body(Body::empty())
            .unwrap();
        let (response, _) = send(&app, request).await;
        assert_eq!(response.status(), StatusCode::OK);
        let request = Request::post("/api/mfa/passkey-challenge")
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("purpose=SignIn"))
            .unwrap();
        send(&app, request).await;
    }
    let count = |sql: &'static str| {
        let owner = w.owner.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&owner)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT count(*) FROM anonymous_consents").await, 3);
    assert_eq!(
        count("SELECT count(*) FROM tower_sessions.session").await,
        6
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_recipient_gets_a_few_links_an_hour_at_most(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    for _ in 0..12 {
        recovery::request_password_reset(&w.visitor(), "ada@example.com")
            .await
            .unwrap();
    }
    let resets = w
        .subjects_to("ada@example.com")
        .await
        .iter()
        .filter(|s| *s == "Reset your password")
        .count();
    assert_eq!(
        resets,
        app::platform::rate_limit::MAILS_PER_RECIPIENT_PER_HOUR as usize
    );
    w.clock.advance(Duration::hours(1));
    recovery::request_password_reset(&w.visitor(), "ada@example.com")
        .await
        .unwrap();
    assert_eq!(
        w.subjects_to("ada@example.com")
            .await
            .iter()
            .filter(|s| *s == "Reset your password")
            .count(),
        resets + 1
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_strength_meter_waits_its_turn_off_the_request_threads(owner: PgPool) {
    let mut w = test_app(owner).await;
    w.state.hashing = HashingSlots::new(1, std::time::Duration::ZERO);
    let app = browser::router(&w.state);
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let hold = w.state.hashing.run(move || wait.recv().is_ok());
    let request = async {
        let answer = Browser::default()
            .post_json(
                &app,
                "/api/password-strength",
                "password=correct+horse+battery+staple&email=&display_name=",
            )
            .await;
        let _ = release.send(());
        answer
    };
    let (_, (response, _)) = tokio::join!(hold, request);
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Inputs beyond any real password, address or name are not weighed at all.
    let long = "x".repeat(10_000);
    let (response, body) = Browser::default()
        .post_json(
            &app,
            "/api/password-strength",
            &format!("password={long}&email={long}&display_name={long}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body.contains("Use at most 256 characters"), "{body}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_owner_hears_of_wrong_codes_spread_over_several_sign_ins(owner: PgPool) {
    let w = test_app(owner).await;
    let (_, phone, _) = w.with_totp("eve@example.com").await;
    let right = w.code(&phone, 0);
    let wrong = if right == "111111" {
        "222222"
    } else {
        "111111"
    };
    // Three wrong codes per sign-in, never five in one: the account still counts them all.
    for _ in 0..3 {
        let (session, _) = w.password_step("eve@example.com").await;
        for _ in 0..3 {
            let _ = second_step::totp_sign_in(&w.visitor_on(&session), wrong).await;
            w.clock.advance(Duration::seconds(40));
        }
    }
    let told = w
        .subjects_to("eve@example.com")
        .await
        .iter()
        .filter(|s| *s == "Someone knows your password")
        .count();
    assert_eq!(told, 1);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_address_and_network_gets_its_limit_of_attempts_per_minute(owner: PgPool) {
    let mut w = test_app(owner).await;
    w.state.limits.per_address = 3;
    let from = |ip: &str| ClientInfo {
        ip: ip.parse().unwrap(),
        ..w.client.clone()
    };
    let check = |client: ClientInfo| {
        let state = w.state.clone();
        async move { state.check_rate(Action::Authenticate, &client).await }
    };
    for _ in 0..3 {
        check(w.client.clone()).await.unwrap();
    }
    let refused = check(w.client.clone()).await;
    assert!(
        matches!(refused, Err(RateLimitError::Exceeded)),
        "{refused:?}"
    );
    // Another network is counted apart.
    check(from("198.51.100.9")).await.unwrap();
    // Other addresses of the same /24 share its looser limit (four times one address's).
    let mut allowed = 0;
    for host in 20..40 {
        if check(from(&format!("203.0.113.{host}"))).await.is_ok() {
            allowed += 1;
        }
    }
    assert_eq!(
        allowed,
        12 - 4,
        "the network had already seen four attempts"
    );
    // An IPv6 host holds a whole /64, which counts as one client: rotating through it does not
    // escape the limit.
    let mut allowed = 0;
    for host in 1..40 {
        if check(from(&format!("2001:db8:1:2::{host:x}")))
            .await
            .is_ok()
        {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 3);
    // Once a network is over its limit, its further clients are refused without a row each.
    let rows = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM rate_limits")
            .fetch_one(&w.owner)
            .await
            .unwrap()
    };
    let before = rows().await;
    for host in 100..140 {
        assert!(check(from(&format!("203.0.113.{host}"))).await.is_err());
    }
    assert_eq!(rows().await, before);
    // The next minute starts afresh.
    w.clock.advance(Duration::minutes(1));
    check(w.client.clone()).await.unwrap();
}
