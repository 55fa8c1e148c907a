//! Accounts and sessions against PostgreSQL (promises P2, P4, P12): sign-up with invites,
//! throttling, enumeration safety, single-use expiring links, session expiry on an injected
//! clock, id rotation, and exactly-once mail.

use app::{
    auth::{
        model::Region,
        service::{
            accounts::{self, SignUp},
            invites,
            tokens::TokenError,
            AuthError,
        },
    },
    platform::{
        audit,
        db::MIGRATOR,
        ids::OwnerId,
        jobs::Runner,
        mail::{self, Mailer, Stop},
        session::{authenticate, Authentication, SessionEnd},
    },
    signin::service::{password_step, recovery, SignInError},
};
use sqlx::PgPool;
use time::Duration;
use uuid::Uuid;

use crate::support::{tenant_tx, test_app, token_in, PASSWORD};

#[sqlx::test(migrator = "MIGRATOR")]
async fn sign_up_redeems_the_invite_once_and_records_the_region(owner: PgPool) {
    let w = test_app(owner).await;
    let invite = w.invite().await;
    let input = |email: &str| SignUp {
        email: email.to_owned(),
        display_name: "Ada".to_owned(),
        password: PASSWORD.to_owned(),
        region: Region::EuWest,
        invite: invite.clone(),
    };
    let ada = accounts::sign_up(&w.visitor(), input("ada@example.com"))
        .await
        .unwrap()
        .unwrap();
    let again = accounts::sign_up(&w.visitor(), input("bob@example.com")).await;
    assert!(
        matches!(again, Err(AuthError::Invite(m)) if m.contains("already been used")),
        "{again:?}"
    );
    // Nothing of the refused sign-up was written.
    let bob: Option<Uuid> =
        sqlx::query_scalar("SELECT account FROM email_directory WHERE email = 'bob@example.com'")
            .fetch_optional(&w.owner)
            .await
            .unwrap();
    assert_eq!(bob, None);
    let (region, used_by): (String, Option<OwnerId>) = sqlx::query_as(
        "SELECT t.region, i.used_by FROM tenants t, invites i WHERE t.owner_id = $1",
    )
    .bind(ada)
    .fetch_one(&w.owner)
    .await
    .unwrap();
    assert_eq!((region.as_str(), used_by), ("eu-west", Some(ada)));

    // A taken address is answered like a fresh one; no second account appears.
    let taken = accounts::sign_up(
        &w.visitor(),
        SignUp {
            invite: w.invite().await,
            ..input(" ADA@example.com ")
        },
    )
    .await;
    assert!(matches!(taken, Ok(None)), "{taken:?}");

    // The inviter's own log hears of it, without the newcomer's network or device.
    let invite_from_ada = invites::create(&w.owner, 7, Some(ada)).await.unwrap().code;
    accounts::sign_up(
        &w.visitor(),
        SignUp {
            invite: invite_from_ada,
            ..input("dora@example.com")
        },
    )
    .await
    .unwrap();
    let mut tx = tenant_tx(&w.state.pool, ada).await;
    let newest = audit::page(&mut tx, Some("invite_used"), None, 1)
        .await
        .unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].detail, "by dora@example.com");
    assert_eq!(
        (newest[0].ip_prefix.as_str(), newest[0].user_agent.as_str()),
        ("", "")
    );
    tx.commit().await.unwrap();
    assert_eq!(w.chain_break(ada).await, None);

    w.clock.advance(Duration::days(8));
    let expired = accounts::sign_up(
        &w.visitor(),
        SignUp {
            invite: w.invite().await,
            ..input("carol@example.com")
        },
    )
    .await;
    assert!(
        matches!(expired, Err(AuthError::Invite(m)) if m.contains("expired")),
        "{expired:?}"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn unknown_email_and_wrong_password_get_the_same_answer(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let unknown = w.sign_in("nobody@example.com", PASSWORD).await.unwrap_err();
    let wrong = w
        .sign_in("ada@example.com", "not the password at all")
        .await
        .unwrap_err();
    assert!(matches!(unknown, SignInError::BadCredentials));
    assert_eq!(unknown.to_string(), wrong.to_string());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn failures_throttle_after_five_and_lock_at_one_hundred(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    for _ in 0..5 {
        assert!(matches!(
            w.sign_in("ada@example.com", "wrong wrong wrong").await,
            Err(SignInError::BadCredentials)
        ));
    }
    // The sixth attempt must wait, even with the right password; it is told no more than a
    // wrong password is, and the owner hears of it by mail.
    assert!(matches!(
        w.sign_in("ada@example.com", PASSWORD).await,
        Err(SignInError::BadCredentials)
    ));
    let subjects = w.subjects_to("ada@example.com").await;
    assert!(
        subjects.contains(&"Failed sign-ins to your account".to_owned()),
        "{subjects:?}"
    );
    w.clock.advance(Duration::seconds(2));
    w.sign_in("ada@example.com", PASSWORD)
        .await
        .expect("the delay has passed");
    let failures: i32 =
        sqlx::query_scalar("SELECT failed_sign_ins FROM accounts WHERE owner_id = $1")
            .bind(ada)
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(failures, 0, "a success clears the count");

    sqlx::query("UPDATE accounts SET failed_sign_ins = 99, last_failed_sign_in_at = NULL WHERE owner_id = $1")
        .bind(ada)
        .execute(&w.owner)
        .await
        .unwrap();
    assert!(matches!(
        w.sign_in("ada@example.com", "wrong wrong wrong").await,
        Err(SignInError::BadCredentials)
    ));
    w.clock.advance(Duration::hours(1));
    assert!(matches!(
        w.sign_in("ada@example.com", PASSWORD).await,
        Err(SignInError::BadCredentials)
    ));
    assert!(w
        .subjects_to("ada@example.com")
        .await
        .contains(&"Your account is locked".to_owned()));

    // A reset unlocks.
    recovery::request_password_reset(&w.visitor(), "ada@example.com")
        .await
        .unwrap();
    let token = token_in(w.mail_to("ada@example.com").await.last().unwrap());
    let new_password = "plum orchard under quiet snow";
    w.reset(&token, new_password).await.unwrap();
    w.sign_in("ada@example.com", new_password)
        .await
        .expect("unlocked");
    let kinds = w.kinds(ada).await;
    assert!(
        kinds.contains(&"sign_in_failed:throttled".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"sign_in_failed:account locked".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"password_reset:all sessions ended".to_owned()),
        "{kinds:?}"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn reset_links_are_single_use_expire_and_end_every_session(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let signed_in = w.sign_in("ada@example.com", PASSWORD).await.unwrap();
    let w = &w;
    let request =
        || async move { recovery::request_password_reset(&w.visitor(), "ada@example.com").await };
    request().await.unwrap();
    // Unknown addresses get the same (silent) success and no mail.
    recovery::request_password_reset(&w.visitor(), "nobody@example.com")
        .await
        .unwrap();
    assert!(w.mail_to("nobody@example.com").await.is_empty());

    let token = token_in(w.mail_to("ada@example.com").await.last().unwrap());
    let new_password = "plum orchard under quiet snow";
    let reset = |token: String| async move { w.reset(&token, new_password).await };
    reset(token.clone()).await.unwrap();
    assert!(matches!(
        reset(token).await,
        Err(SignInError::Auth(AuthError::Token(TokenError::Used)))
    ));
    // The session from before the reset is gone.
    let old = w.reopen(signed_in.id());
    assert!(matches!(
        authenticate(&w.state, &old, true).await.unwrap(),
        Authentication::Ended(SessionEnd::Revoked)
    ));

    request().await.unwrap();
    let token = token_in(w.mail_to("ada@example.com").await.last().unwrap());
    w.clock.advance(Duration::minutes(31));
    assert!(matches!(
        reset(token).await,
        Err(SignInError::Auth(AuthError::Token(TokenError::Expired)))
    ));
    assert!(matches!(
        reset("garbage".to_owned()).await,
        Err(SignInError::Auth(AuthError::Token(TokenError::Invalid)))
    ));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn verification_links_are_single_use_and_expire(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let token = token_in(&w.mail_to("ada@example.com").await[0]);
    accounts::verify_email(&w.visitor(), &token).await.unwrap();
    assert!(matches!(
        accounts::verify_email(&w.visitor(), &token).await,
        Err(AuthError::Token(TokenError::Used))
    ));
    let verified: bool = sqlx::query_scalar(
        "SELECT email_verified_at IS NOT NULL FROM accounts WHERE owner_id = $1",
    )
    .bind(ada)
    .fetch_one(&w.owner)
    .await
    .unwrap();
    assert!(verified);

    w.sign_up("bob@example.com").await;
    let token = token_in(&w.mail_to("bob@example.com").await[0]);
    w.clock.advance(Duration::hours(25));
    assert!(matches!(
        accounts::verify_email(&w.visitor(), &token).await,
        Err(AuthError::Token(TokenError::Expired))
    ));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sessions_rotate_at_sign_in_and_end_when_idle_or_too_old(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    // A session id planted before sign-in is not the one signed in.
    let session = w.session();
    session.insert("planted", true).await.unwrap();
    session.save().await.unwrap();
    let planted = session.id();
    password_step::sign_in(&w.visitor_on(&session), "ada@example.com", PASSWORD, false)
        .await
        .unwrap();
    assert_ne!(session.id(), planted);
    let reload = |id| w.reopen(id);
    assert!(matches!(
        authenticate(&w.state, &reload(planted), true)
            .await
            .unwrap(),
        Authentication::Ended(SessionEnd::Revoked)
    ));

    // Activity within 30 minutes keeps it; 30 idle minutes end it.
    // (the session layer saves what authenticate records, as it does after each request)
    w.clock.advance(Duration::minutes(20));
    let active = reload(session.id());
    assert!(matches!(
        authenticate(&w.state, &active, true).await.unwrap(),
        Authentication::SignedIn(_)
    ));
    active.save().await.unwrap();
    w.clock.advance(Duration::minutes(29));
    let active = reload(session.id());
    assert!(matches!(
        authenticate(&w.state, &active, true).await.unwrap(),
        Authentication::SignedIn(_)
    ));
    active.save().await.unwrap();
    w.clock.advance(Duration::minutes(30));
    assert!(matches!(
        authenticate(&w.state, &reload(session.id()), true)
            .await
            .unwrap(),
        Authentication::Ended(SessionEnd::Idle)
    ));
    let listed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM account_sessions WHERE owner_id = $1")
            .bind(ada)
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(listed, 0, "an ended session leaves the list");

    // Remembered: no idle limit, but 30 days at most.
    let remembered = w.session();
    password_step::sign_in(
        &w.visitor_on(&remembered),
        "ada@example.com",
        PASSWORD,
        true,
    )
    .await
    .unwrap();
    w.clock.advance(Duration::days(2));
    assert!(matches!(
        authenticate(&w.state, &reload(remembered.id()), true)
            .await
            .unwrap(),
        Authentication::SignedIn(_)
    ));
    w.clock.advance(Duration::days(28));
    assert!(matches!(
        authenticate(&w.state, &reload(remembered.id()), true)
            .await
            .unwrap(),
        Authentication::Ended(SessionEnd::Expired)
    ));

    // Not remembered, kept active every 20 minutes: ends at 12 hours.
    let busy = w.sign_in("ada@example.com", PASSWORD).await.unwrap();
    let mut outcome = None;
    for _ in 0..40 {
        w.clock.advance(Duration::minutes(20));
        let current = reload(busy.id());
        match authenticate(&w.state, &current, true).await.unwrap() {
            Authentication::SignedIn(_) => current.save().await.unwrap(),
            Authentication::Ended(reason) => {
                outcome = Some(reason);
                break;
            }
            Authentication::Anonymous => unreachable!(),
        }
    }
    assert_eq!(outcome, Some(SessionEnd::Expired));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn mail_survives_a_crash_between_sending_and_recording_without_duplicates(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::Directory(dir.path().to_owned());
    let files = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".eml"))
            .collect::<Vec<_>>()
    };

    let runner = Runner::new(w.job_context(mailer), app::server::jobs());

    // Sent, then the process dies before recording it (its job is never finished).
    let job = runner.claim().await.unwrap().unwrap();
    let id = job.payload["message"].as_str().unwrap().parse().unwrap();
    mail::deliver(runner.context(), id, Stop::AfterSending)
        .await
        .unwrap();
    assert_eq!(files().len(), 1);
    // Another process finds it leased and leaves it alone.
    let other = Runner::new(runner.context().clone(), app::server::jobs());
    assert_eq!(other.run_due().await.unwrap(), 0);
    // Once the lease runs out it is delivered again, to the same file.
    w.clock.advance(Duration::minutes(3));
    assert_eq!(other.run_due().await.unwrap(), 1);
    assert_eq!(files().len(), 1, "delivered exactly once: {:?}", files());
    let eml = std::fs::read_to_string(dir.path().join(&files()[0])).unwrap();
    assert!(eml.contains("To: ada@example.com") && eml.contains("verify-email?token="));
    let (sent, body): (bool, Option<String>) =
        sqlx::query_as("SELECT sent_at IS NOT NULL, body FROM mail_outbox")
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert!(sent);
    assert_eq!(body, None, "the link is erased once delivered");
    assert_eq!(other.run_due().await.unwrap(), 0);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn mail_is_written_only_when_its_action_commits(owner: PgPool) {
    let w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let invite = w.invite().await;
    // Refused sign-up (address taken): its verification mail must not exist.
    let refused = accounts::sign_up(
        &w.visitor(),
        SignUp {
            email: "ada@example.com".to_owned(),
            display_name: "Imposter".to_owned(),
            password: PASSWORD.to_owned(),
            region: Region::UsEast,
            invite,
        },
    )
    .await;
    // Answered like a fresh sign-up, yet no account and no verification mail: the owner is
    // told instead.
    assert!(matches!(refused, Ok(None)), "{refused:?}");
    assert_eq!(
        w.subjects_to("ada@example.com").await,
        [
            "Verify your email address",
            "Someone tried to sign up with your address"
        ]
    );
    // A sign-up refused for its invite writes no mail at all.
    let used = w.invite().await;
    sqlx::query("UPDATE invites SET used_at = now() WHERE used_at IS NULL")
        .execute(&w.owner)
        .await
        .unwrap();
    let refused = accounts::sign_up(
        &w.visitor(),
        SignUp {
            email: "newcomer@example.com".to_owned(),
            display_name: "Newcomer".to_owned(),
            password: PASSWORD.to_owned(),
            region: Region::UsEast,
            invite: used,
        },
    )
    .await;
    assert!(matches!(refused, Err(AuthError::Invite(_))), "{refused:?}");
    assert!(w.mail_to("newcomer@example.com").await.is_empty());
}
