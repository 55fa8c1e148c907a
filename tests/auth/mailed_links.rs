//! Mailed links (issue 11 finding 9): outstanding verification, reset and address-change links
//! stop working after a password change, a reset or an address change; links and the mail
//! folder name no owner and are readable by the server alone; an unverified address is held for
//! 72 hours only.

use std::os::unix::fs::PermissionsExt;

use app::{
    account::service as account,
    auth::{
        model::Region,
        service::{
            accounts::{self, SignUp},
            tokens::TokenError,
            AuthError,
        },
    },
    platform::{db::MIGRATOR, ids::OwnerId, jobs::Runner, mail::Mailer},
    signin::service::{
        recovery::{self, Reset},
        SignInError,
    },
};
use sqlx::PgPool;
use time::Duration;

use crate::support::{test_app, TestApp, PASSWORD};

/// The token of the newest mail to `to` whose subject is `subject`.
async fn token_in(w: &TestApp, to: &str, subject: &str) -> String {
    let body: String = sqlx::query_scalar(
        "SELECT body FROM mail_outbox WHERE recipient = $1 AND subject = $2 \
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(to)
    .bind(subject)
    .fetch_one(&w.owner)
    .await
    .unwrap();
    crate::support::token_in(&body)
}

/// Mails a verification, a reset and an address-change link to Ada.
async fn outstanding_links(w: &TestApp, ada: OwnerId) -> [String; 3] {
    // Later than every link before, so the newest mail of each kind is this round's.
    w.clock.advance(Duration::minutes(1));
    account::resend_verification(&w.as_owner(ada))
        .await
        .unwrap();
    recovery::request_password_reset(&w.visitor(), "ada@example.com")
        .await
        .unwrap();
    account::request_email_change(&w.as_owner(ada), "ada2@example.com")
        .await
        .unwrap();
    [
        token_in(w, "ada@example.com", "Verify your email address").await,
        token_in(w, "ada@example.com", "Reset your password").await,
        token_in(w, "ada2@example.com", "Confirm your new email address").await,
    ]
}

async fn all_refused(w: &TestApp, [verify, reset, change]: [String; 3]) {
    let verified = accounts::verify_email(&w.visitor(), &verify).await;
    assert!(
        matches!(verified, Err(AuthError::Token(TokenError::Invalid))),
        "{verified:?}"
    );
    let new_password = "a brand new sentence of words";
    let reset = recovery::reset_password(
        &w.visitor(),
        Reset {
            token: &reset,
            new_password,
            confirm: new_password,
            remove_factors: false,
        },
    )
    .await;
    assert!(
        matches!(
            reset,
            Err(SignInError::Auth(AuthError::Token(TokenError::Invalid)))
        ),
        "{reset:?}"
    );
    let changed = account::confirm_email_change(&w.visitor(), &change).await;
    assert!(changed.is_err(), "{changed:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_password_change_a_reset_and_an_address_change_void_every_outstanding_link(
    owner: PgPool,
) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;

    let links = outstanding_links(&w, ada).await;
    let new_password = "plum orchard under quiet snow";
    account::change_password(
        &w.signed_in_as("ada@example.com").await.sudo().unwrap(),
        PASSWORD,
        new_password,
        new_password,
    )
    .await
    .unwrap();
    all_refused(&w, links).await;

    let links = outstanding_links(&w, ada).await;
    w.clock.advance(Duration::minutes(1));
    recovery::request_password_reset(&w.visitor(), "ada@example.com")
        .await
        .unwrap();
    let reset = token_in(&w, "ada@example.com", "Reset your password").await;
    recovery::reset_password(
        &w.visitor(),
        Reset {
            token: &reset,
            new_password: PASSWORD,
            confirm: PASSWORD,
            remove_factors: false,
        },
    )
    .await
    .unwrap();
    all_refused(&w, links).await;

    w.clock.advance(Duration::hours(2));
    let links = outstanding_links(&w, ada).await;
    w.clock.advance(Duration::minutes(1));
    account::request_email_change(&w.as_owner(ada), "ada3@example.com")
        .await
        .unwrap();
    let change = token_in(&w, "ada3@example.com", "Confirm your new email address").await;
    account::confirm_email_change(&w.visitor(), &change)
        .await
        .unwrap();
    all_refused(&w, links).await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn links_name_no_owner_and_delivered_mail_is_private(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let token = token_in(&w, "ada@example.com", "Verify your email address").await;
    assert!(
        !token.contains(&ada.as_uuid().simple().to_string()),
        "{token}"
    );
    assert!(!token.contains(&ada.to_string()), "{token}");

    let dir = tempfile::tempdir().unwrap();
    let mailer = Mailer::Directory(dir.path().to_owned());
    let runner = Runner::new(w.job_context(mailer), app::server::jobs());
    runner.run_due().await.unwrap();
    let delivered: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(delivered.len(), 1);
    let mode = std::fs::metadata(&delivered[0])
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn an_unverified_address_is_held_for_seventy_two_hours_only(owner: PgPool) {
    let w = test_app(owner).await;
    // Someone signs up with an address that is not theirs and never verifies it.
    let squatter = w.sign_up("ada@example.com").await;
    let sign_up = |invite: String| SignUp {
        email: "ada@example.com".to_owned(),
        display_name: "Ada".to_owned(),
        password: PASSWORD.to_owned(),
        region: Region::EuWest,
        invite,
    };
    let early = accounts::sign_up(&w.visitor(), sign_up(w.invite().await))
        .await
        .unwrap();
    assert_eq!(early, None, "within 72 hours the address is taken");
    w.clock.advance(Duration::hours(73));
    let ada = accounts::sign_up(&w.visitor(), sign_up(w.invite().await))
        .await
        .unwrap()
        .expect("after 72 hours the real owner gets the address");
    let holder: OwnerId =
        sqlx::query_scalar("SELECT account FROM email_directory WHERE email = 'ada@example.com'")
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(holder, ada);
    assert_ne!(holder, squatter);

    // A verified address is never taken over.
    let token = token_in(&w, "ada@example.com", "Verify your email address").await;
    accounts::verify_email(&w.visitor(), &token).await.unwrap();
    w.clock.advance(Duration::days(3));
    let later = accounts::sign_up(&w.visitor(), sign_up(w.invite().await))
        .await
        .unwrap();
    assert_eq!(later, None);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_old_address_can_cancel_an_address_change_and_changes_are_limited(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    // Signed in: the session "this wasn't me" ends.
    let _signed_in = w.signed_in_as("ada@example.com").await;
    account::request_email_change(&w.as_owner(ada), "ada2@example.com")
        .await
        .unwrap();
    let confirm = token_in(&w, "ada2@example.com", "Confirm your new email address").await;
    let cancel = token_in(&w, "ada@example.com", "Your email address is being changed").await;
    recovery::not_me(&w.visitor(), &cancel).await.unwrap();
    // The change is cancelled and every session ended.
    assert!(account::confirm_email_change(&w.visitor(), &confirm)
        .await
        .is_err());
    let listed: i64 = sqlx::query_scalar("SELECT count(*) FROM account_sessions")
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert_eq!(listed, 0);
    assert!(w
        .kinds(ada)
        .await
        .contains(&"not_me:address change cancelled, 1 sessions ended".to_owned()));

    // An account asks for at most five changes an hour, whatever the addresses.
    for n in 0..4 {
        account::request_email_change(&w.as_owner(ada), &format!("x{n}@example.com"))
            .await
            .unwrap();
    }
    let refused = account::request_email_change(&w.as_owner(ada), "x9@example.com").await;
    assert!(
        matches!(refused, Err(account::AccountError::TooManyMails)),
        "{refused:?}"
    );
}
