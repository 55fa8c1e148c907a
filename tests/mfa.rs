//! Second factors against PostgreSQL (promises P3, P9): the key hierarchy, TOTP enrolment and
//! sign-in with replay and throttling, backup codes, recovery, and passkeys answered by a
//! software authenticator.

mod common;

use app::{
    auth::{
        accounts::{self, SignInOutcome},
        session,
    },
    mfa::{
        api::{PasskeyPurpose, TotpState},
        service,
        service::MfaError,
    },
    platform::{
        clock::Clock,
        crypto::{self, Purpose},
        db::{TenantTx, MIGRATOR},
    },
};
use common::{world, World, PASSWORD, SITE};
use sqlx::PgPool;
use time::Duration;
use totp_rs::{Algorithm, TOTP};
use tower_sessions::Session;
use url::Url;
use uuid::Uuid;
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};
use webauthn_rs_proto::AllowCredentials;

impl World {
    /// A session after the password step.
    async fn password_step(&self, email: &str) -> (Session, SignInOutcome) {
        let session = self.session();
        let outcome = accounts::sign_in(&self.state, &session, email, PASSWORD, true, &self.client)
            .await
            .unwrap();
        (session, outcome)
    }

    /// The authenticator app's view of the account's secret, as the person's phone holds it.
    async fn phone(&self, owner_id: Uuid) -> TOTP {
        let mut tx = TenantTx::begin(&self.state.pool, owner_id).await.unwrap();
        let sealed: Vec<u8> = sqlx::query_scalar("SELECT sealed_secret FROM totp_factors")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let secret = crypto::open(
            &mut tx,
            &self.state.key_encryption_key,
            Purpose::TotpSecret,
            &sealed,
        )
        .await
        .unwrap();
        TOTP::new(Algorithm::SHA1, 6, 1, 30, secret, None, String::new()).unwrap()
    }

    fn code(&self, phone: &TOTP, offset_steps: i64) -> String {
        let unix = self.clock.now().unix_timestamp() + offset_steps * 30;
        phone.generate(unix as u64)
    }

    /// Signs up and turns the authenticator app on; returns the phone and the backup codes.
    async fn with_totp(&self, email: &str) -> (Uuid, TOTP, Vec<String>) {
        let owner_id = self.sign_up(email).await;
        service::start_totp(&self.state, owner_id, &self.client)
            .await
            .unwrap();
        let phone = self.phone(owner_id).await;
        let codes =
            service::confirm_totp(&self.state, owner_id, &self.code(&phone, 0), &self.client)
                .await
                .unwrap()
                .expect("the first factor brings backup codes");
        // The next code belongs to a later step than the one enrolment used.
        self.clock.advance(Duration::seconds(30));
        (owner_id, phone, codes)
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn sign_up_creates_a_wrapped_data_key_and_sealed_values_stay_with_their_owner(owner: PgPool) {
    let w = world(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let bob = w.sign_up("bob@example.com").await;
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
    let mut tx = TenantTx::begin(&w.state.pool, ada).await.unwrap();
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
    let mut tx = TenantTx::begin(&w.state.pool, bob).await.unwrap();
    assert!(crypto::open(&mut tx, kek, Purpose::TotpSecret, &sealed)
        .await
        .is_err());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn totp_enrolment_needs_a_right_code_and_stores_the_secret_sealed(owner: PgPool) {
    let w = world(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    service::start_totp(&w.state, ada, &w.client).await.unwrap();
    let phone = w.phone(ada).await;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT sealed_secret FROM totp_factors")
        .fetch_one(&w.owner)
        .await
        .unwrap();
    assert!(!stored
        .windows(20)
        .any(|window| window == phone.secret.as_slice()));

    let wrong = service::confirm_totp(&w.state, ada, "000000", &w.client).await;
    let refused = w.code(&phone, 0) == "000000" || matches!(wrong, Err(MfaError::CodeWrong));
    assert!(refused, "{wrong:?}");
    let malformed = service::confirm_totp(&w.state, ada, "12ab56", &w.client).await;
    assert!(
        matches!(malformed, Err(MfaError::CodeMalformed)),
        "{malformed:?}"
    );
    // Until a right code, sign-in needs no second step.
    let (_, outcome) = w.password_step("ada@example.com").await;
    assert!(matches!(outcome, SignInOutcome::SignedIn(_)), "{outcome:?}");

    let codes = service::confirm_totp(&w.state, ada, &w.code(&phone, 0), &w.client)
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
    let w = world(owner).await;
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
            service::totp_sign_in(&w.state, &session, &w.code(&phone, far), &w.client).await;
        assert!(
            matches!(refused, Err(MfaError::CodeWrong)),
            "{far}: {refused:?}"
        );
    }
    let code = w.code(&phone, -1);
    service::totp_sign_in(&w.state, &session, &code, &w.client)
        .await
        .unwrap();
    let signed_in = session::read(&session).await.expect("signed in");
    assert_eq!(signed_in.owner_id, ada);
    assert!(signed_in.remember);

    // The same code again, from another browser within the same minute: refused.
    let (other, _) = w.password_step("ada@example.com").await;
    let replay = service::totp_sign_in(&w.state, &other, &code, &w.client).await;
    assert!(matches!(replay, Err(MfaError::CodeWrong)), "{replay:?}");
    assert_eq!(session::read(&other).await, None);
    assert!(w
        .kinds(ada)
        .await
        .contains(&"second_factor_failed:authenticator code".to_owned()));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn wrong_codes_are_throttled_and_the_second_step_expires(owner: PgPool) {
    let w = world(owner).await;
    let (_, phone, _) = w.with_totp("ada@example.com").await;
    let (session, _) = w.password_step("ada@example.com").await;
    let wrong = if w.code(&phone, 0) == "111111" {
        "222222"
    } else {
        "111111"
    };
    for _ in 0..accounts::THROTTLE_AFTER {
        let result = service::totp_sign_in(&w.state, &session, wrong, &w.client).await;
        assert!(matches!(result, Err(MfaError::CodeWrong)), "{result:?}");
    }
    let throttled = service::totp_sign_in(&w.state, &session, &w.code(&phone, 0), &w.client).await;
    assert!(
        matches!(throttled, Err(MfaError::Throttled(_))),
        "{throttled:?}"
    );

    w.clock.advance(Duration::minutes(5));
    let expired = service::totp_sign_in(&w.state, &session, &w.code(&phone, 0), &w.client).await;
    assert!(
        matches!(expired, Err(MfaError::SecondStepExpired)),
        "{expired:?}"
    );
    assert_eq!(session::read(&session).await, None);
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn backup_codes_work_once_and_a_new_set_replaces_the_old(owner: PgPool) {
    let w = world(owner).await;
    let (ada, _, codes) = w.with_totp("ada@example.com").await;

    let (session, _) = w.password_step("ada@example.com").await;
    // Typed in lower case, without the hyphen: still the code.
    let typed = codes[0].to_lowercase().replace('-', "");
    service::backup_code_sign_in(&w.state, &session, &typed, &w.client)
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
    let reused = service::backup_code_sign_in(&w.state, &again, &codes[0], &w.client).await;
    assert!(
        matches!(reused, Err(MfaError::BackupCodeWrong)),
        "{reused:?}"
    );
    let factors = service::factors(&w.state, ada).await.unwrap();
    assert_eq!(factors.backup_codes_left, Some(9));

    let fresh = service::regenerate_backup_codes(&w.state, ada, &w.client)
        .await
        .unwrap();
    let old = service::backup_code_sign_in(&w.state, &again, &codes[1], &w.client).await;
    assert!(matches!(old, Err(MfaError::BackupCodeWrong)), "{old:?}");
    service::backup_code_sign_in(&w.state, &again, &fresh[1], &w.client)
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
    let w = world(owner).await;
    w.with_totp("ada@example.com").await;
    accounts::request_password_reset(&w.state, "ada@example.com", &w.client)
        .await
        .unwrap();
    let body: String =
        sqlx::query_scalar("SELECT body FROM mail_outbox WHERE subject = 'Reset your password'")
            .fetch_one(&w.owner)
            .await
            .unwrap();
    let token = body
        .split("token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    let new_password = "a brand new sentence of words";
    accounts::reset_password(&w.state, token, new_password, new_password, &w.client)
        .await
        .unwrap();
    let session = w.session();
    let outcome = accounts::sign_in(
        &w.state,
        &session,
        "ada@example.com",
        new_password,
        false,
        &w.client,
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
    let w = world(owner).await;
    let (ada, _, _) = w.with_totp("ada@example.com").await;
    let unconfirmed = service::turn_off_totp(&w.state, ada, false, &w.client).await;
    assert!(
        matches!(unconfirmed, Err(MfaError::LastFactorNotConfirmed)),
        "{unconfirmed:?}"
    );
    assert!(service::factors(&w.state, ada).await.unwrap().any());
    service::turn_off_totp(&w.state, ada, true, &w.client)
        .await
        .unwrap();
    let factors = service::factors(&w.state, ada).await.unwrap();
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
    let w = world(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    service::start_totp(&w.state, ada, &w.client).await.unwrap();
    service::turn_off_totp(&w.state, ada, false, &w.client)
        .await
        .unwrap();
    let factors = service::factors(&w.state, ada).await.unwrap();
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
    let w = world(owner).await;
    let (_, phone, _) = w.with_totp("ada@example.com").await;
    let (session, _) = w.password_step("ada@example.com").await;
    service::totp_sign_in(&w.state, &session, &w.code(&phone, 0), &w.client)
        .await
        .unwrap();
    w.clock.advance(Duration::minutes(11));
    let signed_in = session::read(&session).await.unwrap();
    assert!(!signed_in.in_sudo(w.clock.now()));
    let code = w.code(&phone, 0);
    service::totp_sudo(&w.state, &session, &signed_in, &code, &w.client)
        .await
        .unwrap();
    assert!(session::read(&session)
        .await
        .unwrap()
        .in_sudo(w.clock.now()));
    let replay = service::totp_sudo(&w.state, &session, &signed_in, &code, &w.client).await;
    assert!(replay.is_err());
}

/// Registers a passkey held by `authenticator` for the signed-in `owner_id`.
async fn register_passkey(
    w: &World,
    session: &Session,
    owner_id: Uuid,
    authenticator: &mut SoftPasskey,
) {
    let options = service::start_passkey_registration(&w.state, session, owner_id, "Laptop", false)
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
    let codes = service::finish_passkey_registration(
        &w.state,
        session,
        owner_id,
        &serde_json::to_string(&answer).unwrap(),
        &w.client,
    )
    .await
    .unwrap();
    assert_eq!(codes.map(|c| c.len()), Some(10));
}

/// Answers a passkey challenge of `purpose` from `origin`, as a browser would send it.
async fn answer(
    w: &World,
    session: &Session,
    purpose: PasskeyPurpose,
    authenticator: &mut SoftPasskey,
    origin: &str,
    user_handle: Option<Uuid>,
) -> String {
    let options = service::passkey_challenge(&w.state, session, purpose)
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
    w: &World,
    authenticator: &mut SoftPasskey,
    origin: &str,
    owner_id: Uuid,
) -> (Session, String, Result<(), MfaError>) {
    let session = w.session();
    let credential = answer(
        w,
        &session,
        PasskeyPurpose::SignIn,
        authenticator,
        origin,
        Some(owner_id),
    )
    .await;
    let outcome = service::passkey_sign_in(
        &w.state,
        &session,
        PasskeyPurpose::SignIn,
        &credential,
        &w.client,
    )
    .await;
    (session, credential, outcome)
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn passkeys_register_sign_in_alone_and_refuse_clones_and_other_origins(owner: PgPool) {
    let w = world(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let (session, _) = w.password_step("ada@example.com").await;
    let mut authenticator = SoftPasskey::new(true);
    register_passkey(&w, &session, ada, &mut authenticator).await;
    assert_eq!(
        service::factors(&w.state, ada)
            .await
            .unwrap()
            .passkeys
            .len(),
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
    let replayed = service::passkey_sign_in(
        &w.state,
        &fresh,
        PasskeyPurpose::SignIn,
        &credential,
        &w.client,
    )
    .await;
    assert!(
        matches!(replayed, Err(MfaError::PasskeyPrompt(_))),
        "{replayed:?}"
    );

    // An answer the browser made for another origin (here another port of the same host, so
    // the authenticator itself agrees to sign) is refused.
    let (elsewhere, _, refused) =
        sign_in_alone(&w, &mut authenticator, "http://localhost:4444", ada).await;
    assert!(
        matches!(refused, Err(MfaError::PasskeyPrompt(m)) if m.contains("another site")),
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
        matches!(refused, Err(MfaError::PasskeyPrompt(m)) if m.contains("counter")),
        "{refused:?}"
    );
    assert!(w
        .kinds(ada)
        .await
        .contains(&"passkey_failed:Laptop".to_owned()));

    // Malformed answers get a message, not a failure.
    let junk = w.session();
    service::passkey_challenge(&w.state, &junk, PasskeyPurpose::SignIn)
        .await
        .unwrap();
    let malformed = service::passkey_sign_in(
        &w.state,
        &junk,
        PasskeyPurpose::SignIn,
        "{not json",
        &w.client,
    )
    .await;
    assert!(
        matches!(malformed, Err(MfaError::PasskeyPrompt(_))),
        "{malformed:?}"
    );
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn passkeys_are_renamed_and_the_last_one_goes_only_when_confirmed(owner: PgPool) {
    let w = world(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let (session, _) = w.password_step("ada@example.com").await;
    register_passkey(&w, &session, ada, &mut SoftPasskey::new(true)).await;
    let id = service::factors(&w.state, ada).await.unwrap().passkeys[0]
        .id
        .clone();

    for bad in ["", "   ", &"x".repeat(61)] {
        let refused = service::rename_passkey(&w.state, ada, &id, bad, &w.client).await;
        assert!(
            matches!(refused, Err(MfaError::PasskeyName)),
            "{bad:?}: {refused:?}"
        );
    }
    service::rename_passkey(&w.state, ada, &id, " Phone ", &w.client)
        .await
        .unwrap();
    assert_eq!(
        service::factors(&w.state, ada).await.unwrap().passkeys[0].name,
        "Phone"
    );
    let unknown =
        service::rename_passkey(&w.state, ada, &Uuid::new_v4().to_string(), "X", &w.client).await;
    assert!(
        matches!(unknown, Err(MfaError::NoSuchPasskey)),
        "{unknown:?}"
    );
    let junk = service::remove_passkey(&w.state, ada, "not-an-id", true, &w.client).await;
    assert!(matches!(junk, Err(MfaError::NoSuchPasskey)), "{junk:?}");

    // The only factor: kept until the warning is confirmed, then gone with the backup codes.
    let unconfirmed = service::remove_passkey(&w.state, ada, &id, false, &w.client).await;
    assert!(
        matches!(unconfirmed, Err(MfaError::LastFactorNotConfirmed)),
        "{unconfirmed:?}"
    );
    assert_eq!(
        service::factors(&w.state, ada)
            .await
            .unwrap()
            .passkeys
            .len(),
        1
    );
    service::remove_passkey(&w.state, ada, &id, true, &w.client)
        .await
        .unwrap();
    let factors = service::factors(&w.state, ada).await.unwrap();
    assert!(factors.passkeys.is_empty());
    assert_eq!(factors.backup_codes_left, None);
    let kinds = w.kinds(ada).await;
    assert!(kinds.contains(&"passkey_renamed:Phone".to_owned()));
    assert!(kinds.contains(&"passkey_removed:Phone".to_owned()));
    assert!(w
        .mail_to("ada@example.com")
        .await
        .iter()
        .any(|body| body.contains("the passkey “Phone”")));
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_passkey_is_the_second_step_after_a_password_and_expires_after_five_minutes(
    owner: PgPool,
) {
    let w = world(owner).await;
    let ada = w.sign_up("ada@example.com").await;
    let (session, _) = w.password_step("ada@example.com").await;
    let mut authenticator = SoftPasskey::new(true);
    register_passkey(&w, &session, ada, &mut authenticator).await;

    let (second, outcome) = w.password_step("ada@example.com").await;
    assert!(
        matches!(outcome, SignInOutcome::SecondFactorNeeded),
        "{outcome:?}"
    );
    let step = service::second_step(&w.state, &second).await.unwrap();
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
    service::passkey_sign_in(
        &w.state,
        &second,
        PasskeyPurpose::SecondFactor,
        &credential,
        &w.client,
    )
    .await
    .unwrap();
    assert_eq!(session::read(&second).await.unwrap().owner_id, ada);

    // A prompt left open for five minutes is over.
    let (late, _) = w.password_step("ada@example.com").await;
    let options = service::passkey_challenge(&w.state, &late, PasskeyPurpose::SecondFactor)
        .await
        .unwrap();
    w.clock.advance(Duration::minutes(5));
    let options: RequestChallengeResponse = serde_json::from_str(&options).unwrap();
    let credential = authenticator
        .do_authentication(Url::parse(SITE).unwrap(), options)
        .unwrap();
    let expired = service::passkey_sign_in(
        &w.state,
        &late,
        PasskeyPurpose::SecondFactor,
        &serde_json::to_string(&credential).unwrap(),
        &w.client,
    )
    .await;
    assert!(
        matches!(expired, Err(MfaError::PasskeyPrompt(m)) if m.contains("5 minutes")),
        "{expired:?}"
    );
    assert_eq!(session::read(&late).await, None);
}
