//! Mail through an outbox (DESIGN §3): `enqueue` writes the message in the caller's
//! transaction; `deliver_due` sends what is due, as .eml files or through SMTP. A message is
//! claimed with a lease before sending and marked sent after; a crash in between sends it again
//! under the same Message-ID and, for files, to the same file name, so nothing is lost and
//! nothing is delivered twice.

use std::{path::PathBuf, time::Duration as StdDuration};

use lettre::{
    message::{header::ContentType, Mailbox},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use sqlx::{PgConnection, PgPool};
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::{clock::Clock, config::MailTransport};

const LEASE: Duration = Duration::minutes(2);
const MAX_ATTEMPTS: i32 = 8;
const SENDER: &str = "Custodian <no-reply@custodian.invalid>";

#[derive(Debug, Error)]
pub enum MailError {
    #[error("the mail outbox could not be read or written: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("the message could not be delivered: {0}")]
    Deliver(String),
}

/// A message for one recipient, in plain text.
pub struct Mail<'a> {
    pub account: Uuid,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: String,
}

/// Queues a message in the caller's transaction: it is sent only if that transaction commits.
pub async fn enqueue(
    conn: &mut PgConnection,
    mail: Mail<'_>,
    now: OffsetDateTime,
) -> Result<(), MailError> {
    sqlx::query(
        "INSERT INTO mail_outbox (id, account, recipient, subject, body, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(Uuid::new_v4())
    .bind(mail.account)
    .bind(mail.to)
    .bind(mail.subject)
    .bind(&mail.body)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery channel, built once from MAIL_TRANSPORT.
#[derive(Clone)]
pub enum Mailer {
    Directory(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Mailer {
    pub fn new(transport: &MailTransport) -> Result<Self, MailError> {
        match transport {
            MailTransport::Directory(dir) => Ok(Self::Directory(dir.clone())),
            MailTransport::Smtp(url) => {
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.as_str())
                    .map(|builder| {
                        Self::Smtp(builder.timeout(Some(StdDuration::from_secs(20))).build())
                    })
                    .map_err(|e| MailError::Build(e.to_string()))
            }
        }
    }

    async fn send(&self, id: Uuid, message: Message) -> Result<(), MailError> {
        match self {
            Self::Directory(dir) => {
                // Written aside, then renamed: a reader never sees half a file, and a second
                // delivery of the same message replaces the first instead of adding one.
                // Mode 0600: a mail holds single-use links, for the server's user alone.
                let partial = dir.join(format!(".{id}.partial"));
                let mut file = tokio::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&partial)
                    .await
                    .map_err(|e| MailError::Deliver(e.to_string()))?;
                file.write_all(&message.formatted())
                    .await
                    .map_err(|e| MailError::Deliver(e.to_string()))?;
                file.sync_all()
                    .await
                    .map_err(|e| MailError::Deliver(e.to_string()))?;
                tokio::fs::rename(&partial, dir.join(format!("{id}.eml")))
                    .await
                    .map_err(|e| MailError::Deliver(e.to_string()))
            }
            Self::Smtp(transport) => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError::Deliver(e.to_string())),
        }
    }
}

#[derive(sqlx::FromRow)]
struct Claimed {
    id: Uuid,
    recipient: String,
    subject: String,
    body: Option<String>,
    attempts: i32,
}

fn build(claimed: &Claimed) -> Result<Message, MailError> {
    let to: Mailbox = claimed
        .recipient
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
    let from: Mailbox = SENDER
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
    Message::builder()
        .message_id(Some(format!("<{}@custodian.invalid>", claimed.id)))
        .from(from)
        .to(to)
        .subject(&claimed.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(claimed.body.clone().unwrap_or_default())
        .map_err(|e| MailError::Build(e.to_string()))
}

/// Claims one due message (another process cannot take it while the lease lasts).
async fn claim(pool: &PgPool, now: OffsetDateTime) -> Result<Option<Claimed>, MailError> {
    Ok(sqlx::query_as(
        "UPDATE mail_outbox SET locked_until = $1, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM mail_outbox \
                     WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $2 \
                       AND (locked_until IS NULL OR locked_until <= $2) \
                     ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED LIMIT 1) \
         RETURNING id, recipient, subject, body, attempts",
    )
    .bind(now + LEASE)
    .bind(now)
    .fetch_optional(pool)
    .await?)
}

/// Marks a message delivered and erases its body (which may hold a single-use link).
async fn mark_sent(pool: &PgPool, id: Uuid, now: OffsetDateTime) -> Result<(), MailError> {
    sqlx::query(
        "UPDATE mail_outbox SET sent_at = $2, body = NULL, locked_until = NULL, last_error = NULL \
         WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// Schedules another attempt with exponential backoff, or gives up after MAX_ATTEMPTS.
async fn mark_failed(
    pool: &PgPool,
    claimed: &Claimed,
    error: &MailError,
    now: OffsetDateTime,
) -> Result<(), MailError> {
    let backoff = Duration::seconds(30 * (1_i64 << claimed.attempts.clamp(0, 10)));
    let give_up = claimed.attempts >= MAX_ATTEMPTS;
    sqlx::query(
        "UPDATE mail_outbox SET locked_until = NULL, last_error = $2, next_attempt_at = $3, \
         failed_at = CASE WHEN $4 THEN $5 END, body = CASE WHEN $4 THEN NULL ELSE body END \
         WHERE id = $1",
    )
    .bind(claimed.id)
    .bind(error.to_string())
    .bind(now + backoff)
    .bind(give_up)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// The part of delivery a crash can interrupt: between sending and marking sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Never,
    /// For tests: stop after sending, before recording it, as a crash would.
    AfterSending,
}

/// Sends every due message; returns how many were delivered.
pub async fn deliver_due(
    pool: &PgPool,
    mailer: &Mailer,
    clock: &dyn Clock,
    stop: Stop,
) -> Result<usize, MailError> {
    let mut delivered = 0;
    while let Some(claimed) = claim(pool, clock.now()).await? {
        let outcome = match build(&claimed) {
            Ok(message) => mailer.send(claimed.id, message).await,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) if stop == Stop::AfterSending => return Ok(delivered + 1),
            Ok(()) => {
                mark_sent(pool, claimed.id, clock.now()).await?;
                delivered += 1;
            }
            Err(error) => {
                tracing::warn!(mail = %claimed.id, attempt = claimed.attempts, %error, "mail delivery failed");
                mark_failed(pool, &claimed, &error, clock.now()).await?;
            }
        }
    }
    Ok(delivered)
}
