//! Second factors against PostgreSQL (promises P3, P9): the key hierarchy, TOTP enrolment and
//! sign-in with replay and throttling, backup codes and recovery. Passkeys are in
//! `signin/passkeys.rs`.

use app::{
    auth::service::throttle,
    mfa::{
        model::TotpState,
        service::{enrolment, factors, MfaError},
    },
    platform::{
        clock::Clock,
        crypto::{self, Purpose},
        db::MIGRATOR,
        session,
    },
    signin::service::{
        password_step::{self, SignInOutcome},
        recovery::{self, Reset},
        second_step, sudo, SignInError,
    },
};
use sqlx::PgPool;
use time::Duration;

use crate::support::{tenant_tx, test_app, token_in};

#[sqlx::test(migrator = "MIGRATOR")]
async fn sign_up_creates_a_wrapped_data_key_and_sealed_values_stay_with_their_owner(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let bob = w.sign_up_verified("bob@example.com").await;
    let (version, wrapped): (i32, Vec<u8>) =
        sqlx::query_as("SELECT version, wrapped_key FROM data_keys WHERE owner_id = $1")
            .bind(ada)
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(version, 1);
    // 4-byte version, 12-byte nonce, 32-byte key, 16-byte tag.
    assert_eq!(wrapped.len(), 64);

    let kek = &w.state.key_encryption_key;
    let now = w.clock.now();
    let mut tx = tenant_tx(&w.state.pool, ada).await;
    let sealed = crypto::seal(&mut tx, kek, Purpose::TotpSecret, b"ada's secret", now)
        .await
        .unwrap();
    assert_eq!(
        crypto::open(&mut tx, kek, Purpose::TotpSecret, &sealed)
            .await
            .unwrap(),
        b"ada's secret"
    );
    assert!(crypto::open(&mut tx, kek, Purpose::BackupCode, &sealed)
        .await
        .is_err());
    // Rotation: new values name the new version, and the old ones still open.
    assert_eq!(crypto::rotate_data_key(&mut tx, kek, now).await.unwrap(), 2);
    let newer = crypto::seal(&mut tx, kek, Purpose::TotpSecret, b"newer", now)
        .await
        .unwrap();
    assert_eq!(&newer[..4], &2i32.to_be_bytes());
    assert!(crypto::open(&mut tx, kek, Purpose::TotpSecret, &sealed)
        .await
        .is_ok());
    tx.commit().await.unwrap();

    // Bob's transaction, with Ada's sealed bytes: neither his key nor his owner id fits.
    let mut tx = tenant_tx(&w.state.pool, bob).await;
    assert!(crypto::open(&mut tx, kek, Purpose::TotpSecret, &sealed)
        .await
        .is_err());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn totp_enrolment_needs_a_right_code_and_stores_the_secret_sealed(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    enrolment::start_totp(&w.as_owner(ada)).await.unwrap();
    let phone = w.phone(ada).await;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT sealed_secret FROM totp_factors")
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert!(!stored
        .windows(20)
        .any(|window| window == phone.secret.as_slice()));

    let wrong = enrolment::confirm_totp(&w.as_owner(ada), "000000").await;
    let refused = w.code(&phone, 0) == "000000" || matches!(wrong, Err(MfaError::CodeWrong));
    assert!(refused, "{wrong:?}");
    let malformed = enrolment::confirm_totp(&w.as_owner(ada), "12ab56").await;
    assert!(
        matches!(malformed, Err(MfaError::CodeMalformed)),
        "{malformed:?}"
    );
    // Until a right code, sign-in needs no second step.
    let (_, outcome) = w.password_step("ada@example.com").await;
    assert!(matches!(outcome, SignInOutcome::SignedIn(_)), "{outcome:?}");

    let codes = enrolment::confirm_totp(&w.as_owner(ada), &w.code(&phone, 0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(codes.len(), 10);
    let kinds = w.kinds(ada).await;
    assert!(kinds.iter().any(|k| k.starts_with("totp_enabled:")));
    assert!(kinds.iter().any(|k| k.starts_with("backup_codes_created:")));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sign_in_with_totp_accepts_a_code_once_within_one_step(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, phone, _) = w.with_totp("ada@example.com").await;

    // Two steps past the one enrolment used, so the step before now is fresh too.
    w.clock.advance(Duration::seconds(60));
    let (session, outcome) = w.password_step("ada@example.com").await;
    assert!(
        matches!(outcome, SignInOutcome::SecondFactorNeeded),
        "{outcome:?}"
    );
    // "Remember me" was ticked, and still the session is not signed in.
    assert_eq!(session::read(&session).await, None);

    for far in [-2, 2] {
        let refused =
            second_step::totp_sign_in(&w.visitor_on(&session), &w.code(&phone, far)).await;
        assert!(
            matches!(refused, Err(SignInError::Mfa(MfaError::CodeWrong))),
            "{far}: {refused:?}"
        );
    }
    let code = w.code(&phone, -1);
    second_step::totp_sign_in(&w.visitor_on(&session), &code)
        .await
        .unwrap();
    let signed_in = session::read(&session).await.expect("signed in");
    assert_eq!(signed_in.owner_id, ada);
    assert!(signed_in.remember);

    // The same code again, from another browser within the same minute: refused.
    let (other, _) = w.password_step("ada@example.com").await;
    let replay = second_step::totp_sign_in(&w.visitor_on(&other), &code).await;
    assert!(
        matches!(replay, Err(SignInError::Mfa(MfaError::CodeWrong))),
        "{replay:?}"
    );
    assert_eq!(session::read(&other).await, None);
    assert!(w
        .kinds(ada)
        .await
        .contains(&"second_factor_failed:authenticator code".to_owned()));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn wrong_codes_are_throttled_and_the_second_step_expires(owner: PgPool) {
    let w = test_app(owner).await;
    let (_, phone, _) = w.with_totp("ada@example.com").await;
    let (session, _) = w.password_step("ada@example.com").await;
    let wrong = if w.code(&phone, 0) == "111111" {
        "222222"
    } else {
        "111111"
    };
    for _ in 0..throttle::THROTTLE_AFTER {
        let result = second_step::totp_sign_in(&w.visitor_on(&session), wrong).await;
        assert!(
            matches!(result, Err(SignInError::Mfa(MfaError::CodeWrong))),
            "{result:?}"
        );
    }
    let throttled = second_step::totp_sign_in(&w.visitor_on(&session), &w.code(&phone, 0)).await;
    assert!(
        matches!(throttled, Err(SignInError::Mfa(MfaError::Throttled(_)))),
        "{throttled:?}"
    );

    w.clock.advance(Duration::minutes(5));
    let expired = second_step::totp_sign_in(&w.visitor_on(&session), &w.code(&phone, 0)).await;
    assert!(
        matches!(expired, Err(SignInError::SecondStepExpired)),
        "{expired:?}"
    );
    assert_eq!(session::read(&session).await, None);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn backup_codes_work_once_and_a_new_set_replaces_the_old(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, _, codes) = w.with_totp("ada@example.com").await;

    let (session, _) = w.password_step("ada@example.com").await;
    // Typed in lower case, without the hyphen: still the code.
    let typed = codes[0].to_lowercase().replace('-', "");
    second_step::backup_code_sign_in(&w.visitor_on(&session), &typed)
        .await
        .unwrap();
    assert!(session::read(&session).await.is_some());
    assert!(w
        .mail_to("ada@example.com")
        .await
        .iter()
        .any(|body| body.contains("A backup code was used to sign in")
            && body.contains("9 unused codes are left")));

    let (again, _) = w.password_step("ada@example.com").await;
    let reused = second_step::backup_code_sign_in(&w.visitor_on(&again), &codes[0]).await;
    assert!(
        matches!(reused, Err(SignInError::Mfa(MfaError::BackupCodeWrong))),
        "{reused:?}"
    );
    let factors = factors::of(&w.as_owner(ada)).await.unwrap();
    assert_eq!(factors.backup_codes_left, Some(9));

    let fresh = enrolment::regenerate_backup_codes(&w.as_owner(ada))
        .await
        .unwrap();
    let old = second_step::backup_code_sign_in(&w.visitor_on(&again), &codes[1]).await;
    assert!(
        matches!(old, Err(SignInError::Mfa(MfaError::BackupCodeWrong))),
        "{old:?}"
    );
    second_step::backup_code_sign_in(&w.visitor_on(&again), &fresh[1])
        .await
        .unwrap();
    // Only digests are stored.
    let digests: Vec<Vec<u8>> = sqlx::query_scalar("SELECT code_digest FROM backup_codes")
        .fetch_all(&w.owner)
        .await
        .unwrap();
    assert_eq!(digests.len(), 10);
    assert!(digests.iter().all(|d| d.len() == 32));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_password_reset_does_not_bypass_the_second_factor(owner: PgPool) {
    let w = test_app(owner).await;
    w.with_totp("ada@example.com").await;
    recovery::request_password_reset(&w.visitor(), "ada@example.com")
        .await
        .unwrap();
    let body: String =
        sqlx::query_scalar("SELECT body FROM mail_outbox WHERE subject = 'Reset your password'")
            .fetch_one(&w.owner)
            .await
            .unwrap();
    let token = &token_in(&body);
    let new_password = "a brand new sentence of words";
    recovery::reset_password(
        &w.visitor(),
        Reset {
            token,
            new_password,
            confirm: new_password,
            remove_factors: false,
        },
    )
    .await
    .unwrap();
    let session = w.session();
    let outcome = password_step::sign_in(
        &w.visitor_on(&session),
        "ada@example.com",
        new_password,
        false,
    )
    .await
    .unwrap();
    assert!(
        matches!(outcome, SignInOutcome::SecondFactorNeeded),
        "{outcome:?}"
    );
    assert_eq!(session::read(&session).await, None);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn removing_the_last_factor_needs_confirmation_and_sends_mail(owner: PgPool) {
    let w = test_app(owner).await;
    let (ada, _, _) = w.with_totp("ada@example.com").await;
    let unconfirmed = enrolment::turn_off_totp(&w.as_owner(ada), false).await;
    assert!(
        matches!(unconfirmed, Err(MfaError::LastFactorNotConfirmed)),
        "{unconfirmed:?}"
    );
    assert!(factors::of(&w.as_owner(ada)).await.unwrap().any());
    enrolment::turn_off_totp(&w.as_owner(ada), true)
        .await
        .unwrap();
    let factors = factors::of(&w.as_owner(ada)).await.unwrap();
    assert!(!factors.any());
    assert_eq!(factors.backup_codes_left, None);
    assert!(w
        .mail_to("ada@example.com")
        .await
        .iter()
        .any(|body| body.contains("protected by its password alone")));
    let (_, outcome) = w.password_step("ada@example.com").await;
    assert!(matches!(outcome, SignInOutcome::SignedIn(_)), "{outcome:?}");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn dropping_an_unconfirmed_setup_is_no_factor_removal(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    enrolment::start_totp(&w.as_owner(ada)).await.unwrap();
    enrolment::turn_off_totp(&w.as_owner(ada), false)
        .await
        .unwrap();
    let factors = factors::of(&w.as_owner(ada)).await.unwrap();
    assert_eq!(factors.totp, TotpState::Off);
    assert!(!w
        .mail_to("ada@example.com")
        .await
        .iter()
        .any(|body| body.contains("password alone")));
    assert!(!w
        .kinds(ada)
        .await
        .iter()
        .any(|k| k.starts_with("totp_disabled")));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sudo_accepts_a_code_from_the_authenticator_app(owner: PgPool) {
    let w = test_app(owner).await;
    let (_, phone, _) = w.with_totp("ada@example.com").await;
    let (session, _) = w.password_step("ada@example.com").await;
    second_step::totp_sign_in(&w.visitor_on(&session), &w.code(&phone, 0))
        .await
        .unwrap();
    w.clock.advance(Duration::minutes(11));
    let session = w.reopen(session.id());
    let me = w.signed_in(&session).await;
    assert!(!me.user().record().in_sudo(w.clock.now()));
    let code = w.code(&phone, 0);
    sudo::totp_sudo(&me, &code).await.unwrap();
    // Sudo moved the session to a fresh id: the next request carries that one.
    let session = w.reopen(me.session().id());
    let me = w.signed_in(&session).await;
    assert!(me.user().record().in_sudo(w.clock.now()));
    let replay = sudo::totp_sudo(&me, &code).await;
    assert!(replay.is_err());
}
