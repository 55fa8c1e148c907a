//! Passkeys against PostgreSQL (promise P3), answered by a software authenticator: registration,
//! signing in with a passkey alone or as the second step, renaming and removal, and refusal of
//! clones, other origins and credentials an account does not have.

use app::{
    mfa::{
        model::PasskeyPurpose,
        service::{factors, passkey_enrolment, MfaError},
    },
    platform::{
        db::MIGRATOR,
        ids::{OwnerId, PasskeyId},
        session,
    },
    signin::service::{passkey, password_step::SignInOutcome, second_step, SignInError},
};
use sqlx::PgPool;
use time::Duration;
use tower_sessions::Session;
use url::Url;
use uuid::Uuid;
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};
use webauthn_rs_proto::AllowCredentials;

use crate::support::{test_app, TestApp, SITE};

/// Registers a passkey held by `authenticator` for the signed-in `owner_id`; start and finish
/// share `session`, where the ceremony waits.
async fn register_passkey(
    w: &TestApp,
    session: &Session,
    owner_id: OwnerId,
    authenticator: &mut SoftPasskey,
) {
    let me = w.as_owner_on(owner_id, session);
    let options = passkey_enrolment::start_registration(&me, "Laptop", false)
        .await
        .unwrap();
    let mut options: CreationChallengeResponse = serde_json::from_str(&options).unwrap();
    // The software authenticator cannot keep resident keys; a platform one would.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.require_resident_key = false;
        selection.resident_key = None;
    }
    let answer = authenticator
        .do_registration(Url::parse(SITE).unwrap(), options)
        .unwrap();
    let answer = serde_json::to_string(&answer).unwrap();
    let codes = passkey_enrolment::finish_registration(&me, &answer)
        .await
        .unwrap();
    assert_eq!(codes.map(|c| c.len()), Some(10));
}

/// Answers a passkey challenge of `purpose` from `origin`, as a browser would send it.
async fn answer(
    w: &TestApp,
    session: &Session,
    purpose: PasskeyPurpose,
    authenticator: &mut SoftPasskey,
    origin: &str,
    user_handle: Option<Uuid>,
) -> String {
    let options = passkey::challenge(&w.visitor_on(session), purpose)
        .await
        .unwrap();
    let mut options: RequestChallengeResponse = serde_json::from_str(&options).unwrap();
    if options.public_key.allow_credentials.is_empty() {
        // A discoverable authenticator finds its own credential for the site; this soft one
        // must be told which it holds.
        let credential_id: Vec<u8> = sqlx::query_scalar("SELECT credential_id FROM passkeys")
            .fetch_one(&w.owner)
            .await
            .unwrap();
        options.public_key.allow_credentials = vec![AllowCredentials {
            type_: "public-key".to_owned(),
            id: credential_id,
            transports: None,
        }];
    }
    let mut answer = authenticator
        .do_authentication(Url::parse(origin).unwrap(), options)
        .unwrap();
    // A discoverable credential returns its user handle; this soft one keeps none, so the test
    // adds it (it is not part of what the authenticator signs).
    answer.response.user_handle = user_handle.map(|id| id.as_bytes().to_vec());
    serde_json::to_string(&answer).unwrap()
}

/// A fresh browser signs in with `owner_id`'s passkey alone, the answer made at `origin`.
/// Returns the session, the answer it sent and the outcome.
async fn sign_in_alone(
    w: &TestApp,
    authenticator: &mut SoftPasskey,
    origin: &str,
    owner_id: OwnerId,
) -> (Session, String, Result<(), SignInError>) {
    let session = w.session();
    let credential = answer(
        w,
        &session,
        PasskeyPurpose::SignIn,
        authenticator,
        origin,
        Some(owner_id.as_uuid()),
    )
    .await;
    let outcome =
        passkey::sign_in(&w.visitor_on(&session), PasskeyPurpose::SignIn, &credential).await;
    (session, credential, outcome)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn passkeys_register_sign_in_alone_and_refuse_clones_and_other_origins(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let (session, _) = w.password_step("ada@example.com").await;
    let mut authenticator = SoftPasskey::new(true);
    register_passkey(&w, &session, ada, &mut authenticator).await;
    assert_eq!(
        factors::of(&w.as_owner(ada)).await.unwrap().passkeys.len(),
        1
    );

    // Sign in with the passkey alone, in a fresh browser.
    let (fresh, credential, signed_in) = sign_in_alone(&w, &mut authenticator, SITE, ada).await;
    signed_in.unwrap();
    assert_eq!(session::read(&fresh).await.unwrap().owner_id, ada);
    let last_used: Option<time::OffsetDateTime> =
        sqlx::query_scalar("SELECT last_used_at FROM passkeys")
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert!(last_used.is_some());

    // Each challenge is answered once.
    let replayed =
        passkey::sign_in(&w.visitor_on(&fresh), PasskeyPurpose::SignIn, &credential).await;
    assert!(
        matches!(replayed, Err(SignInError::Mfa(MfaError::PasskeyPrompt(_)))),
        "{replayed:?}"
    );

    // An answer the browser made for another origin (here another port of the same host, so
    // the authenticator itself agrees to sign) is refused.
    let (elsewhere, _, refused) =
        sign_in_alone(&w, &mut authenticator, "http://localhost:4444", ada).await;
    assert!(
        matches!(
            refused,
            Err(SignInError::Mfa(MfaError::PasskeyPrompt(m))) if m.contains("another site")
        ),
        "{refused:?}"
    );
    assert_eq!(session::read(&elsewhere).await, None);

    // A counter that goes backwards means a copied key: refused.
    sqlx::query("UPDATE passkeys SET credential = jsonb_set(credential, '{cred,counter}', '1000')")
        .execute(&w.owner)
        .await
        .unwrap();
    let (_, _, refused) = sign_in_alone(&w, &mut authenticator, SITE, ada).await;
    assert!(
        matches!(
            refused,
            Err(SignInError::Mfa(MfaError::PasskeyPrompt(m))) if m.contains("counter")
        ),
        "{refused:?}"
    );
    assert!(w
        .kinds(ada)
        .await
        .contains(&"passkey_failed:Laptop".to_owned()));

    // Malformed answers get a message, not a failure.
    let junk = w.session();
    passkey::challenge(&w.visitor_on(&junk), PasskeyPurpose::SignIn)
        .await
        .unwrap();
    let malformed =
        passkey::sign_in(&w.visitor_on(&junk), PasskeyPurpose::SignIn, "{not json").await;
    assert!(
        matches!(malformed, Err(SignInError::Mfa(MfaError::PasskeyPrompt(_)))),
        "{malformed:?}"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn passkeys_are_renamed_and_the_last_one_goes_only_when_confirmed(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let (session, _) = w.password_step("ada@example.com").await;
    register_passkey(&w, &session, ada, &mut SoftPasskey::new(true)).await;
    let id = factors::of(&w.as_owner(ada)).await.unwrap().passkeys[0].id;

    for bad in ["", "   ", &"x".repeat(61)] {
        let refused = passkey_enrolment::rename(&w.as_owner(ada), id, bad).await;
        assert!(
            matches!(refused, Err(MfaError::PasskeyName)),
            "{bad:?}: {refused:?}"
        );
    }
    passkey_enrolment::rename(&w.as_owner(ada), id, " Phone ")
        .await
        .unwrap();
    assert_eq!(
        factors::of(&w.as_owner(ada)).await.unwrap().passkeys[0].name,
        "Phone"
    );
    let unknown = passkey_enrolment::rename(&w.as_owner(ada), PasskeyId::random(), "X").await;
    assert!(
        matches!(unknown, Err(MfaError::NoSuchPasskey)),
        "{unknown:?}"
    );
    // An id that names no passkey (a malformed one no longer reaches the service).
    let junk = passkey_enrolment::remove(&w.as_owner(ada), PasskeyId::random(), true).await;
    assert!(matches!(junk, Err(MfaError::NoSuchPasskey)), "{junk:?}");

    // The only factor: kept until the warning is confirmed, then gone with the backup codes.
    let unconfirmed = passkey_enrolment::remove(&w.as_owner(ada), id, false).await;
    assert!(
        matches!(unconfirmed, Err(MfaError::LastFactorNotConfirmed)),
        "{unconfirmed:?}"
    );
    assert_eq!(
        factors::of(&w.as_owner(ada)).await.unwrap().passkeys.len(),
        1
    );
    passkey_enrolment::remove(&w.as_owner(ada), id, true)
        .await
        .unwrap();
    let factors = factors::of(&w.as_owner(ada)).await.unwrap();
    assert!(factors.passkeys.is_empty());
    assert_eq!(factors.backup_codes_left, None);
    let kinds = w.kinds(ada).await;
    assert!(kinds.contains(&"passkey_renamed:Phone".to_owned()));
    assert!(kinds.contains(&"passkey_removed:Phone".to_owned()));
    assert!(w
        .mail_to("ada@example.com")
        .await
        .iter()
        .any(|body| body.contains("The passkey “Phone”")));
    let subjects = w.subjects_to("ada@example.com").await;
    for expected in [
        "A passkey was added to your account",
        "Two-step sign-in is off",
    ] {
        assert!(
            subjects.contains(&expected.to_owned()),
            "{expected}: {subjects:?}"
        );
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_passkey_the_account_does_not_have_counts_nothing_against_it(owner: PgPool) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let bob = w.sign_up_verified("bob@example.com").await;
    let (session, _) = w.password_step("bob@example.com").await;
    let mut authenticator = SoftPasskey::new(true);
    register_passkey(&w, &session, bob, &mut authenticator).await;

    // Bob's passkey, answered with a user handle that names Ada: refused, and Ada's account
    // neither counts a failure nor logs anything.
    let (_, _, refused) = sign_in_alone(&w, &mut authenticator, SITE, ada).await;
    assert!(
        matches!(refused, Err(SignInError::Mfa(MfaError::PasskeyPrompt(_)))),
        "{refused:?}"
    );
    let failures: i32 =
        sqlx::query_scalar("SELECT failed_second_factors FROM accounts WHERE owner_id = $1")
            .bind(ada)
            .fetch_one(&w.owner)
            .await
            .unwrap();
    assert_eq!(failures, 0);
    assert!(!w
        .kinds(ada)
        .await
        .iter()
        .any(|k| k.starts_with("passkey_failed")));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_passkey_is_the_second_step_after_a_password_and_expires_after_five_minutes(
    owner: PgPool,
) {
    let w = test_app(owner).await;
    let ada = w.sign_up_verified("ada@example.com").await;
    let (session, _) = w.password_step("ada@example.com").await;
    let mut authenticator = SoftPasskey::new(true);
    register_passkey(&w, &session, ada, &mut authenticator).await;

    let (second, outcome) = w.password_step("ada@example.com").await;
    assert!(
        matches!(outcome, SignInOutcome::SecondFactorNeeded),
        "{outcome:?}"
    );
    let step = second_step::options(&w.visitor_on(&second)).await.unwrap();
    assert!(step.passkey && !step.totp && step.backup_code);
    let credential = answer(
        &w,
        &second,
        PasskeyPurpose::SecondFactor,
        &mut authenticator,
        SITE,
        None,
    )
    .await;
    passkey::sign_in(
        &w.visitor_on(&second),
        PasskeyPurpose::SecondFactor,
        &credential,
    )
    .await
    .unwrap();
    assert_eq!(session::read(&second).await.unwrap().owner_id, ada);

    // A prompt left open for five minutes is over.
    let (late, _) = w.password_step("ada@example.com").await;
    let options = passkey::challenge(&w.visitor_on(&late), PasskeyPurpose::SecondFactor)
        .await
        .unwrap();
    w.clock.advance(Duration::minutes(5));
    let options: RequestChallengeResponse = serde_json::from_str(&options).unwrap();
    let credential = authenticator
        .do_authentication(Url::parse(SITE).unwrap(), options)
        .unwrap();
    let expired = passkey::sign_in(
        &w.visitor_on(&late),
        PasskeyPurpose::SecondFactor,
        &serde_json::to_string(&credential).unwrap(),
    )
    .await;
    assert!(
        matches!(
            expired,
            Err(SignInError::Mfa(MfaError::PasskeyPrompt(m))) if m.contains("5 minutes")
        ),
        "{expired:?}"
    );
    assert_eq!(session::read(&late).await, None);
}
