//! Secrets stay out of the logs (promises P2, P5): no password, token or invite code reaches a
//! log line or the security log on the way through sign-up, verification, sign-in and reset.

use std::sync::Arc;

use app::{
    auth::{
        model::Region,
        service::accounts::{self, SignUp},
    },
    platform::db::MIGRATOR,
    signin::service::recovery,
};
use sqlx::PgPool;

use crate::support::{test_app, token_in, PASSWORD};

/// Collects every log line written while it is the default subscriber.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn no_password_token_or_code_reaches_the_logs_or_the_security_log(owner: PgPool) {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let w = test_app(owner).await;
    let invite = w.invite().await;
    let ada = accounts::sign_up(
        &w.visitor(),
        SignUp {
            email: "ada@example.com".to_owned(),
            display_name: "Ada".to_owned(),
            password: PASSWORD.to_owned(),
            region: Region::UsEast,
            invite: invite.clone(),
        },
    )
    .await
    .unwrap();
    let verify_token = token_in(&w.mail_to("ada@example.com").await[0]);
    accounts::verify_email(&w.visitor(), &verify_token)
        .await
        .unwrap();
    w.sign_in("ada@example.com", "a wrong guess of a password")
        .await
        .unwrap_err();
    w.sign_in("ada@example.com", PASSWORD).await.unwrap();
    recovery::request_password_reset(&w.visitor(), "ada@example.com")
        .await
        .unwrap();
    let reset_token = token_in(w.mail_to("ada@example.com").await.last().unwrap());
    let new_password = "plum orchard under quiet snow";
    w.reset(&reset_token, new_password).await.unwrap();

    let audit: Vec<String> =
        sqlx::query_scalar("SELECT to_jsonb(a)::text FROM audit_events a WHERE owner_id = $1")
            .bind(ada)
            .fetch_all(&w.owner)
            .await
            .unwrap();
    assert!(audit.len() >= 5, "{audit:?}");
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!logged.is_empty(), "the capture saw no log lines");
    let secret_of_token = |token: &str| token.split_once('.').unwrap().1.to_owned();
    for secret in [
        PASSWORD.to_owned(),
        "a wrong guess of a password".to_owned(),
        new_password.to_owned(),
        invite,
        secret_of_token(&verify_token),
        secret_of_token(&reset_token),
    ] {
        assert!(!logged.contains(&secret), "a log line holds {secret:?}");
        assert!(
            !audit.iter().any(|row| row.contains(&secret)),
            "the audit log holds {secret:?}"
        );
    }
}
