//! Account factories for second factors: a password step, an account with the authenticator
//! app on, and the phone that holds its secret.

use app::{
    auth::signin::{self, SignInOutcome},
    mfa::enrolment,
    platform::{
        clock::Clock,
        crypto::{self, Purpose},
        db::TenantTx,
    },
};
use time::Duration;
use totp_rs::{Algorithm, TOTP};
use tower_sessions::Session;
use uuid::Uuid;

use super::{World, PASSWORD};

impl World {
    /// A session after the password step.
    pub async fn password_step(&self, email: &str) -> (Session, SignInOutcome) {
        let session = self.session();
        let outcome = signin::sign_in(&self.state, &session, email, PASSWORD, true, &self.client)
            .await
            .unwrap();
        (session, outcome)
    }

    /// The authenticator app's view of the account's secret, as the person's phone holds it.
    pub async fn phone(&self, owner_id: Uuid) -> TOTP {
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

    pub fn code(&self, phone: &TOTP, offset_steps: i64) -> String {
        let unix = self.clock.now().unix_timestamp() + offset_steps * 30;
        phone.generate(unix as u64)
    }

    /// Signs up and turns the authenticator app on; returns the phone and the backup codes.
    pub async fn with_totp(&self, email: &str) -> (Uuid, TOTP, Vec<String>) {
        let owner_id = self.sign_up_verified(email).await;
        enrolment::start_totp(&self.state, owner_id, &self.client)
            .await
            .unwrap();
        let phone = self.phone(owner_id).await;
        let codes =
            enrolment::confirm_totp(&self.state, owner_id, &self.code(&phone, 0), &self.client)
                .await
                .unwrap()
                .expect("the first factor brings backup codes");
        // The next code belongs to a later step than the one enrolment used.
        self.clock.advance(Duration::seconds(30));
        (owner_id, phone, codes)
    }
}
