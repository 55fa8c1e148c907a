//! No enumeration (issue 11 finding 5): sign-up checks the invite first and answers a taken
//! address as a fresh one; throttled and locked sign-ins answer like a wrong password after the
//! same hashing; a reset link is checked before anything about its account.

use std::future::Future;

use app::{
    auth::{
        model::Region,
        service::{
            accounts::{self, SignUp},
            tokens::TokenError,
            AuthError,
        },
    },
    platform::{
        clock::Clock, crypto, db::MIGRATOR, error::InfraError, hashing::HashingSlots, ids::OwnerId,
    },
    signin::service::{
        password_step,
        recovery::{self, Reset},
        SignInError,
    },
};
use sqlx::PgPool;

use crate::support::{browser, browser::Browser, header, test_app, token_in, PASSWORD};

/// Runs `work` while the only hashing slot of `slots` is taken (and none may be waited for): a
/// Busy answer proves the path hashes a password, any other that it does not.
async fn with_every_slot_taken<T>(slots: &HashingSlots, work: impl Future<Output = T>) -> T {
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let hold = slots.run(move || wait.recv().is_ok());
    let (held, outcome) = tokio::join!(hold, async {
        let outcome = work.await;
        let _ = release.send(());
        outcome
    });
    assert_eq!(held, Ok(true));
    outcome
}

/// Whether a sign-up found no hashing slot.
fn busy<T: std::fmt::Debug>(outcome: &Result<T, AuthError>) -> bool {
    matches!(outcome, Err(AuthError::Infra(InfraError::Busy)))
}

/// Whether a sign-in found no hashing slot.
fn sign_in_busy<T: std::fmt::Debug>(outcome: &Result<T, SignInError>) -> bool {
    matches!(outcome, Err(SignInError::Infra(InfraError::Busy)))
}

fn sign_up_as(email: &str, invite: String) -> SignUp {
    SignUp {
        email: email.to_owned(),
        display_name: "Someone".to_owned(),
        password: PASSWORD.to_owned(),
        region: Region::UsEast,
        invite,
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sign_up_asks_for_the_invite_before_anything_else(owner: PgPool) {
    let mut w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    w.state.hashing = HashingSlots::new(1, std::time::Duration::ZERO);
    let slots = w.state.hashing.clone();
    // Without a valid invite, a taken address and a fresh one get the same refusal, and
    // neither costs a hashing.
    for email in ["ada@example.com", "nobody@example.com"] {
        let refused = with_every_slot_taken(
            &slots,
            accounts::sign_up(&w.visitor(), sign_up_as(email, "not-an-invite".to_owned())),
        )
        .await;
        assert!(
            matches!(refused, Err(AuthError::Invite(m)) if m.contains("not valid")),
            "{email}: {refused:?}"
        );
    }
    // With one, both are hashed.
    for email in ["ada@example.com", "nobody@example.com"] {
        let invite = w.invite().await;
        let outcome = with_every_slot_taken(
            &slots,
            accounts::sign_up(&w.visitor(), sign_up_as(email, invite)),
        )
        .await;
        assert!(busy(&outcome), "{email}: {outcome:?}");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_taken_address_gets_the_answer_of_a_fresh_one_and_its_owner_a_mail(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let app = browser::router(&w.state);
    let mut answers = Vec::new();
    for email in ["ada%40example.com", "newcomer%40example.com"] {
        let body = format!(
            "email={email}&display_name=Someone&password={}&region=us-east&invite={}",
            PASSWORD.replace(' ', "+"),
            w.invite().await
        );
        let (response, text) = Browser::default().post(&app, "/api/signup", &body).await;
        answers.push((
            response.status(),
            header(&response, "location").to_owned(),
            text,
        ));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].1, "/signin?notice=signed-up");
    // No second account for Ada's address; Ada hears of the attempt.
    let accounts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM accounts WHERE email = 'ada@example.com'")
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(accounts, 1);
    assert!(w
        .subjects_to("ada@example.com")
        .await
        .contains(&"Someone tried to sign up with your address".to_owned()));
    assert!(w
        .kinds(ada)
        .await
        .contains(&"sign_up_with_your_address:no account was created".to_owned()));
    // The invite is spent either way: retrying with it tells nothing new.
    let used: i64 = sqlx::query_scalar("SELECT count(*) FROM invites WHERE used_at IS NOT NULL")
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert_eq!(used, 3);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_refused_sign_in_answers_alike_after_the_same_hashing(owner: PgPool) {
    let mut w = test_app(owner).await;
    w.sign_up("ada@example.com").await;
    let bob = w.sign_up("bob@example.com").await;
    let cy = w.sign_up("cy@example.com").await;
    // Bob is throttled, Cy locked.
    sqlx::query(
        "UPDATE accounts SET failed_sign_ins = 9, last_failed_sign_in_at = $2 WHERE owner_id = $1",
    )
    .bind(bob)
    .bind(w.clock.now())
    .execute(&w.owner)
    .await
    .unwrap();
    sqlx::query("UPDATE accounts SET failed_sign_ins = 100 WHERE owner_id = $1")
        .bind(cy)
        .execute(&w.owner)
        .await
        .unwrap();
    let cases = [
        ("nobody@example.com", "a guess of a password"),
        ("ada@example.com", "a guess of a password"),
        ("bob@example.com", PASSWORD),
        ("cy@example.com", PASSWORD),
    ];
    let mut messages = Vec::new();
    for (email, password) in cases {
        let outcome = password_step::sign_in(&w.visitor(), email, password, false).await;
        assert!(
            matches!(outcome, Err(SignInError::BadCredentials)),
            "{email}: {outcome:?}"
        );
        messages.push(outcome.unwrap_err().to_string());
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "{messages:?}");

    w.state.hashing = HashingSlots::new(1, std::time::Duration::ZERO);
    let slots = w.state.hashing.clone();
    for (email, password) in cases {
        let outcome = with_every_slot_taken(
            &slots,
            password_step::sign_in(&w.visitor(), email, password, false),
        )
        .await;
        assert!(
            sign_in_busy(&outcome),
            "{email} hashes like the others: {outcome:?}"
        );
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_reset_link_is_checked_before_anything_about_its_account(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let reset = |token: String, password: &'static str| {
        let w = &w;
        async move {
            recovery::reset_password(
                &w.visitor(),
                Reset {
                    token: &token,
                    new_password: password,
                    confirm: password,
                    remove_factors: false,
                },
            )
            .await
        }
    };
    let secret = "A".repeat(43);
    // A guessed link naming Ada (by her id, or by a route made with the server's key), with the
    // password set to her address, learns nothing: the link is refused first.
    let by_id = format!("{}.{secret}", ada.as_uuid().simple());
    let by_route = format!(
        "{}.{secret}",
        crypto::opaque_id(&w.state.key_encryption_key, ada).unwrap()
    );
    let elsewhere = format!(
        "{}.{secret}",
        crypto::opaque_id(&w.state.key_encryption_key, OwnerId::random()).unwrap()
    );
    for token in [by_id, by_route, elsewhere] {
        let outcome = reset(token.clone(), "ada@example.com").await;
        assert!(
            matches!(
                outcome,
                Err(SignInError::Auth(AuthError::Token(TokenError::Invalid)))
            ),
            "{token}: {outcome:?}"
        );
    }
    // A real link with a refused password stays usable.
    recovery::request_password_reset(&w.visitor(), "ada@example.com")
        .await
        .unwrap();
    let mail = w.mail_to("ada@example.com").await;
    let token = token_in(mail.last().unwrap());
    assert!(
        !token.contains(&ada.as_uuid().simple().to_string()),
        "the link names no owner id"
    );
    let weak = reset(token.clone(), "password1234").await;
    assert!(
        matches!(weak, Err(SignInError::Auth(AuthError::Password(_)))),
        "{weak:?}"
    );
    reset(token, "plum orchard under quiet snow").await.unwrap();
}
