//! Factors are never added silently and recovery can undo them (issue 11 finding 7): every
//! addition, removal and regeneration is mailed with a "this wasn't me" link; the reset can
//! remove every passkey and authenticator app; adding a method needs a re-authentication made
//! for it; the pending authenticator secret is shown only in the setup answer.

use app::{
    account::service as account,
    auth::service::{tokens::TokenError, AuthError},
    mfa::service::{enrolment, factors, passkey_enrolment, MfaError},
    platform::{db::MIGRATOR, session},
    signin::service::{
        password_step,
        recovery::{self, Reset},
        second_step, SignInError,
    },
};
use axum::http::StatusCode;
use sqlx::PgPool;

use crate::support::{browser, browser::Browser, header, test_app, PASSWORD};

fn link_in(body: &str, path: &str) -> String {
    let start = body
        .find(&format!("{path}?token="))
        .expect("a link in the mail");
    body[start..].split_whitespace().next().unwrap().to_owned()
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_change_of_the_second_factors_is_mailed_with_a_way_back(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, _, _) = w.with_totp("ada@example.com").await;
    enrolment::regenerate_backup_codes(&w.as_owner(ada))
        .await
        .unwrap();
    enrolment::turn_off_totp(&w.as_owner(ada), true)
        .await
        .unwrap();
    let subjects = w.subjects_to("ada@example.com").await;
    for expected in [
        "An authenticator app was added to your account",
        "New backup codes were created for your account",
        "Two-step sign-in is off",
    ] {
        assert!(
            subjects.contains(&expected.to_owned()),
            "{expected}: {subjects:?}"
        );
    }
    let bodies = w.mail_to("ada@example.com").await;
    let with_link = bodies
        .iter()
        .filter(|b| b.contains("/not-me?token="))
        .count();
    assert_eq!(with_link, 3, "each of the three mails has its way back");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn this_wasnt_me_ends_every_session_and_a_reset_can_remove_every_factor(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, phone, _) = w.with_totp("ada@example.com").await;
    // Two devices are signed in: the owner's, and one that added the factor.
    for _ in 0..2 {
        let (session, _) = w.password_step("ada@example.com").await;
        second_step::totp_sign_in(&w.visitor_on(&session), &w.code(&phone, 0))
            .await
            .unwrap();
        w.clock.advance(time::Duration::seconds(30));
    }
    let app = browser::router(&w.state);
    let mail = w.mail_to("ada@example.com").await;
    let not_me = link_in(
        mail.iter()
            .find(|b| b.contains("An authenticator app was turned on"))
            .unwrap(),
        "/not-me",
    );
    let token = not_me.split("token=").nth(1).unwrap().to_owned();

    // Opening the link only shows a button; nothing changes on GET.
    let mut owner_browser = Browser::default();
    let (response, html) = owner_browser
        .page(&app, &format!("/not-me?token={token}"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(html.contains("Sign out everywhere and secure my account"));
    let listed = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM account_sessions")
            .fetch_one(&w.owner)
            .await
            .unwrap()
    };
    assert_eq!(listed().await, 2);

    let (response, _) = owner_browser
        .post(&app, "/api/not-me", &format!("token={token}"))
        .await;
    let location = header(&response, "location").to_owned();
    assert!(location.starts_with("/reset-password?token="), "{location}");
    assert!(location.ends_with("&after=not-me"), "{location}");
    assert_eq!(listed().await, 0, "every session ended");
    let (response, _) = owner_browser
        .post(&app, "/api/not-me", &format!("token={token}"))
        .await;
    assert!(
        header(&response, "location").contains("__err="),
        "the link works once"
    );

    // The reset page offers to remove the factors, ticked after "this wasn't me".
    let (_, html) = owner_browser.page(&app, &location).await;
    assert!(html.contains("Also remove all passkeys and authenticator apps"));
    assert!(html.contains("checked"), "ticked after this wasn't me");
    let reset = location
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let password = "plum+orchard+under+quiet+snow";
    let (response, _) = owner_browser
        .post(
            &app,
            "/api/reset-password",
            &format!("token={reset}&password={password}&confirm={password}&remove_factors=on"),
        )
        .await;
    assert_eq!(
        header(&response, "location"),
        "/signin?notice=password-reset"
    );
    let factors = factors::of(&w.as_owner(ada)).await.unwrap();
    assert!(!factors.any());
    assert_eq!(factors.backup_codes_left, None);
    assert!(w.kinds(ada).await.contains(
        &"password_reset:all sessions ended, passkeys and authenticator app removed".to_owned()
    ));
    assert!(w
        .kinds(ada)
        .await
        .contains(&"not_me:authenticator app removed, 2 sessions ended".to_owned()));
    // Signing in now needs the password alone, and the old password no longer works.
    let outcome = password_step::sign_in(
        &w.visitor(),
        "ada@example.com",
        "plum orchard under quiet snow",
        false,
    )
    .await
    .unwrap();
    assert!(matches!(outcome, password_step::SignInOutcome::SignedIn(_)));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn adding_a_sign_in_method_needs_a_reauthentication_made_for_it(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up_verified("ada@example.com").await;
    let app = browser::router(&w.state);
    let mut person = Browser::default();
    person.sign_in(&app, "ada@example.com", false).await;

    // Fresh from signing in, sensitive changes are open, but not adding a sign-in method.
    for (path, body) in [
        ("/api/mfa/totp-start", ""),
        ("/api/mfa/passkey-register", "name=Laptop&this_device=false"),
        ("/api/mfa/backup-codes", ""),
    ] {
        let (response, text) = person.post_json(&app, path, body).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}: {text}");
        assert!(text.contains("SudoRequired"), "{path}: {text}");
    }
    person
        .post(
            &app,
            "/api/sudo",
            &format!("sudo_password={}", PASSWORD.replace(' ', "+")),
        )
        .await;
    let (response, setup) = person.post_json(&app, "/api/mfa/totp-start", "").await;
    assert_eq!(response.status(), StatusCode::OK, "{setup}");
    let (response, _) = person
        .post_json(
            &app,
            "/api/mfa/passkey-register",
            "name=Laptop&this_device=false",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // The secret is in the setup's answer only: the factors listing says "pending", no more.
    let secret = setup
        .split("\"secret_text\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the setup answer carries the secret");
    assert!(secret.len() >= 16, "{setup}");
    let (_, listing) = person.post_json(&app, "/api/mfa/factors", "").await;
    assert!(listing.contains("Pending"), "{listing}");
    assert!(!listing.contains(secret), "{listing}");
    assert!(!listing.contains("otpauth"), "{listing}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_plain_reset_link_cannot_strip_the_second_factor(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, _, _) = w.with_totp("ada@example.com").await;
    recovery::request_password_reset(&w.visitor(), "ada@example.com")
        .await
        .unwrap();
    let mail = w.mail_to("ada@example.com").await;
    let token = link_in(mail.last().unwrap(), "/reset-password")
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned();
    let password = "plum orchard under quiet snow";
    let reset = |remove_factors| {
        let (w, token) = (&w, token.clone());
        async move {
            let visitor = w.visitor();
            recovery::reset_password(
                &visitor,
                Reset {
                    token: &token,
                    new_password: password,
                    confirm: password,
                    remove_factors,
                },
            )
            .await
        }
    };
    // Whoever reads the mailbox alone does not get past the second factor.
    let refused = reset(true).await;
    assert!(
        matches!(refused, Err(SignInError::FactorRemovalNeedsNotMe)),
        "{refused:?}"
    );
    assert!(factors::of(&w.as_owner(ada)).await.unwrap().any());
    reset(false).await.unwrap();
    assert!(factors::of(&w.as_owner(ada)).await.unwrap().any());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn this_wasnt_me_undoes_its_change_even_after_the_password_changed_and_only_for_days(
    owner: PgPool,
) {
    let w = test_app(owner).await;
    let (ada, phone, _) = w.with_totp("ada@example.com").await;
    let mail = w.mail_to("ada@example.com").await;
    let not_me = |body: &String| {
        link_in(body, "/not-me")
            .split("token=")
            .nth(1)
            .unwrap()
            .to_owned()
    };
    let token = not_me(
        mail.iter()
            .find(|b| b.contains("An authenticator app was turned on"))
            .unwrap(),
    );
    // Whoever turned it on also changes the password; the owner's way back still works.
    let (session, _) = w.password_step("ada@example.com").await;
    second_step::totp_sign_in(&w.visitor_on(&session), &w.code(&phone, 0))
        .await
        .unwrap();
    let intruder = w.signed_in(&w.reopen(session.id())).await.sudo().unwrap();
    let theirs = "a password only the intruder knows";
    account::change_password(&intruder, PASSWORD, theirs, theirs)
        .await
        .unwrap();
    recovery::not_me(&w.visitor(), &token).await.unwrap();
    assert_eq!(
        factors::of(&w.as_owner(ada)).await.unwrap().totp,
        app::mfa::model::TotpState::Off,
        "the authenticator app it reported is gone"
    );
    assert!(matches!(
        session::authenticate(&w.state, &w.reopen(session.id()), true)
            .await
            .unwrap(),
        session::Authentication::Ended(_)
    ));

    // A link works for three days.
    let (bob, _, _) = w.with_totp("bob@example.com").await;
    let late = not_me(w.mail_to("bob@example.com").await.last().unwrap());
    w.clock.advance(time::Duration::days(3));
    let expired = recovery::not_me(&w.visitor(), &late).await;
    assert!(
        matches!(
            expired,
            Err(SignInError::Auth(AuthError::Token(TokenError::Expired)))
        ),
        "{expired:?}"
    );
    assert!(factors::of(&w.as_owner(bob)).await.unwrap().any());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_unverified_account_cannot_get_a_sign_in_method(owner: PgPool) {
    let w = test_app(owner).await;
    // Someone signs up with another person's address: they cannot add a passkey or an app that
    // would outlive the real owner's reset.
    let squatter = w.sign_up("ada@example.com").await;
    let refused = enrolment::start_totp(&w.as_owner(squatter)).await;
    assert!(matches!(refused, Err(MfaError::Unverified)), "{refused:?}");
    let refused = passkey_enrolment::start_registration(&w.as_owner(squatter), "Key", false).await;
    assert!(matches!(refused, Err(MfaError::Unverified)), "{refused:?}");
}
