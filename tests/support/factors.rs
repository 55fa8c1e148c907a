//! Account factories for second factors: a password step, an account with the authenticator
//! app on and the phone that holds its secret, and one with a passkey on a software
//! authenticator.

use app::{
    mfa::service::{enrolment, passkey_enrolment},
    platform::{
        clock::Clock,
        crypto::{self, Purpose},
        ids::OwnerId,
    },
    signin::service::password_step::{self, SignInOutcome},
};
use time::Duration;
use totp_rs::{Algorithm, TOTP};
use tower_sessions::Session;
use url::Url;
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};
use webauthn_rs::prelude::CreationChallengeResponse;

use super::tenant_tx;

use super::{TestApp, PASSWORD, SITE};

impl TestApp {
    /// A session after the password step.
    pub(crate) async fn password_step(&self, email: &str) -> (Session, SignInOutcome) {
        let session = self.session();
        let outcome = password_step::sign_in(&self.visitor_on(&session), email, PASSWORD, true)
            .await
            .unwrap();
        (session, outcome)
    }

    /// The authenticator app's view of the account's secret, as the person's phone holds it.
    pub(crate) async fn phone(&self, owner_id: OwnerId) -> TOTP {
        let mut tx = tenant_tx(&self.state.pool, owner_id).await;
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

    pub(crate) fn code(&self, phone: &TOTP, offset_steps: i64) -> String {
        let unix = self.clock.now().unix_timestamp() + offset_steps * 30;
        phone.generate(unix as u64)
    }

    /// Signs up and turns the authenticator app on; returns the phone and the backup codes.
    pub(crate) async fn with_totp(&self, email: &str) -> (OwnerId, TOTP, Vec<String>) {
        let owner_id = self.sign_up_verified(email).await;
        enrolment::start_totp(&self.as_owner(owner_id))
            .await
            .unwrap();
        let phone = self.phone(owner_id).await;
        let codes = enrolment::confirm_totp(&self.as_owner(owner_id), &self.code(&phone, 0))
            .await
            .unwrap()
            .expect("the first factor brings backup codes");
        // The next code belongs to a later step than the one enrolment used.
        self.clock.advance(Duration::seconds(30));
        (owner_id, phone, codes)
    }

    /// Registers a passkey named "Laptop", held by `authenticator`, for `owner_id`; returns the
    /// backup codes when it is the account's first second factor.
    pub(crate) async fn add_passkey(
        &self,
        owner_id: OwnerId,
        authenticator: &mut SoftPasskey,
    ) -> Option<Vec<String>> {
        let session = self.session();
        let me = self.as_owner_on(owner_id, &session);
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
        passkey_enrolment::finish_registration(&me, &serde_json::to_string(&answer).unwrap())
            .await
            .unwrap()
    }

    /// Signs up and adds a passkey; returns the authenticator that holds it.
    pub(crate) async fn with_passkey(&self, email: &str) -> (OwnerId, SoftPasskey) {
        let owner_id = self.sign_up_verified(email).await;
        let mut authenticator = SoftPasskey::new(true);
        self.add_passkey(owner_id, &mut authenticator).await;
        (owner_id, authenticator)
    }
}
