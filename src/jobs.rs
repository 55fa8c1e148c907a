//! Background work every server process runs: mail delivery and sweeps of expired sessions and
//! rate-limit windows. All of it is safe to run in several processes at once.

use std::{sync::Arc, time::Duration};

use app::platform::{
    clock::Clock,
    mail::{self, Mailer, Stop},
    rate_limit,
    session_store::SessionRecords,
};
use sqlx::PgPool;
use tower_sessions::ExpiredDeletion;

const MAIL_POLL: Duration = Duration::from_millis(500);
const SWEEP_PERIOD: Duration = Duration::from_secs(300);

pub fn spawn(pool: PgPool, store: SessionRecords, mailer: Mailer, clock: Arc<dyn Clock>) {
    tokio::spawn(deliver_mail(pool.clone(), mailer, clock.clone()));
    tokio::spawn(sweep(pool, store, clock));
}

async fn deliver_mail(pool: PgPool, mailer: Mailer, clock: Arc<dyn Clock>) {
    let mut tick = tokio::time::interval(MAIL_POLL);
    loop {
        tick.tick().await;
        if let Err(error) = mail::deliver_due(&pool, &mailer, clock.as_ref(), Stop::Never).await {
            tracing::warn!(%error, "mail delivery round failed");
        }
    }
}

async fn sweep(pool: PgPool, store: SessionRecords, clock: Arc<dyn Clock>) {
    let mut tick = tokio::time::interval(SWEEP_PERIOD);
    loop {
        tick.tick().await;
        if let Err(error) = store.delete_expired().await {
            tracing::warn!(%error, "could not delete expired sessions");
        }
        if let Err(error) = rate_limit::sweep(&pool, clock.now()).await {
            tracing::warn!(%error, "could not delete old rate-limit windows");
        }
    }
}
