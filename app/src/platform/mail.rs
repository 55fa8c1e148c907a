//! Mail through an outbox (DESIGN §3): `enqueue` writes the message, and the job that delivers
//! it, in the caller's transaction; the job (`DELIVERY`) sends it as an .eml file or through
//! SMTP and marks it sent. A crash between sending and marking sends it again under the same
//! Message-ID and, for files, to the same file name, so nothing is lost and nothing is delivered
//! twice. A message that keeps failing is given up and its body erased.
//!
//! Owns: `mail_outbox`.

use std::{path::PathBuf, time::Duration as StdDuration};

use lettre::{
    message::{header::ContentType, Mailbox},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use thiserror::Error;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::{
    config::MailTransport,
    ids::OwnerId,
    jobs::{self, BoxFuture, Job, JobContext, JobError, JobKind},
};

const SENDER: &str = "Custodian <no-reply@custodian.invalid>";
/// Tries before a message is given up.
const MAX_ATTEMPTS: i32 = 8;

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
    pub account: OwnerId,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: String,
}

/// Queues a message, and its delivery, in the caller's transaction: it is sent only if that
/// transaction commits.
pub async fn enqueue(
    conn: &mut PgConnection,
    mail: Mail<'_>,
    now: OffsetDateTime,
) -> Result<(), MailError> {
    insert(conn, mail, true, now).await
}

/// Queues a non-essential message (product news) in the caller's transaction, when the
/// database lets it: only to an account that asked for such mail, did not object to it, and
/// whose processing is not restricted (platform::restriction). Returns whether it was queued.
pub async fn enqueue_non_essential(
    conn: &mut PgConnection,
    mail: Mail<'_>,
    now: OffsetDateTime,
) -> Result<bool, MailError> {
    use sqlx::Acquire as _;

    // A savepoint: the refusal must not end the caller's transaction.
    let mut attempt = conn.begin().await?;
    match insert(&mut attempt, mail, false, now).await {
        Ok(()) => {
            attempt.commit().await?;
            Ok(true)
        }
        Err(MailError::Database(error)) if super::restriction::refused_by_trigger(&error) => {
            attempt.rollback().await?;
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

async fn insert(
    conn: &mut PgConnection,
    mail: Mail<'_>,
    essential: bool,
    now: OffsetDateTime,
) -> Result<(), MailError> {
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO mail_outbox (id, account, recipient, subject, body, created_at, essential) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(mail.account)
    .bind(mail.to)
    .bind(mail.subject)
    .bind(&mail.body)
    .bind(now)
    .bind(essential)
    .execute(&mut *conn)
    .await?;
    jobs::enqueue(
        conn,
        DELIVERY.name,
        json!({ "message": id }),
        Some(&format!("mail:{id}")),
        now,
    )
    .await?;
    Ok(())
}

/// Queues the delivery of every message of `account` not yet sent or given up on (after the
/// account's mail was copied into another region's database).
pub async fn requeue_unsent(
    conn: &mut PgConnection,
    account: OwnerId,
    now: OffsetDateTime,
) -> Result<(), MailError> {
    let unsent: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM mail_outbox WHERE account = $1 AND sent_at IS NULL AND failed_at IS NULL",
    )
    .bind(account)
    .fetch_all(&mut *conn)
    .await?;
    for id in unsent {
        jobs::enqueue(
            conn,
            DELIVERY.name,
            json!({ "message": id }),
            Some(&format!("mail:{id}")),
            now,
        )
        .await?;
    }
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
struct Pending {
    recipient: String,
    subject: String,
    body: Option<String>,
}

fn build(id: Uuid, pending: &Pending) -> Result<Message, MailError> {
    let to: Mailbox = pending
        .recipient
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
    let from: Mailbox = SENDER
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
    let body = pending
        .body
        .clone()
        .ok_or_else(|| MailError::Build("the message has no body".to_owned()))?;
    Message::builder()
        .message_id(Some(format!("<{id}@custodian.invalid>")))
        .from(from)
        .to(to)
        .subject(&pending.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| MailError::Build(e.to_string()))
}

/// Marks a message delivered and erases its body (which may hold a single-use link); a
/// message to an account erased since (its deletion receipt) is forgotten altogether.
async fn mark_sent(pool: &PgPool, id: Uuid, now: OffsetDateTime) -> Result<(), MailError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE mail_outbox SET sent_at = $2, body = NULL, last_error = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    forget_if_erased(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// Forgets a message that is done with (sent or given up) when its account was erased since.
async fn forget_if_erased(conn: &mut PgConnection, id: Uuid) -> Result<(), MailError> {
    sqlx::query("SELECT custodian_forget_mail_of_erased($1)")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a failed attempt; the last one gives the message up and erases its body (or the
/// whole message, when its account was erased since).
async fn mark_failed(
    pool: &PgPool,
    id: Uuid,
    error: &MailError,
    give_up: bool,
    now: OffsetDateTime,
) -> Result<(), MailError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, \
         failed_at = CASE WHEN $3 THEN $4 END, body = CASE WHEN $3 THEN NULL ELSE body END \
         WHERE id = $1",
    )
    .bind(id)
    .bind(error.to_string())
    .bind(give_up)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    forget_if_erased(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// The part of delivery a crash can interrupt: between sending and marking sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Never,
    /// For tests: stop after sending, before recording it, as a crash would.
    AfterSending,
}

/// Delivers message `id` unless it was delivered or given up already; whether it sent it.
pub async fn deliver(context: &JobContext, id: Uuid, stop: Stop) -> Result<bool, MailError> {
    let pending: Option<Pending> = sqlx::query_as(
        "SELECT recipient, subject, body FROM mail_outbox \
         WHERE id = $1 AND sent_at IS NULL AND failed_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&context.pool)
    .await?;
    let Some(pending) = pending else {
        return Ok(false);
    };
    context.mailer.send(id, build(id, &pending)?).await?;
    if stop == Stop::Never {
        mark_sent(&context.pool, id, context.clock.now()).await?;
    }
    Ok(true)
}

fn deliver_job<'a>(context: &'a JobContext, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async move {
        let id = job
            .payload
            .get("message")
            .and_then(|id| id.as_str())
            .and_then(|id| Uuid::try_parse(id).ok())
            .ok_or_else(|| JobError::Failed("the job names no message".to_owned()))?;
        match deliver(context, id, Stop::Never).await {
            Ok(_) => Ok(()),
            Err(error) => {
                tracing::warn!(mail = %id, attempt = job.attempt, %error, "mail delivery failed");
                let give_up = DELIVERY.gives_up_after(job.attempt);
                mark_failed(&context.pool, id, &error, give_up, context.clock.now())
                    .await
                    .map_err(|e| JobError::Failed(e.to_string()))?;
                Err(JobError::Failed(error.to_string()))
            }
        }
    })
}

/// Delivers one queued message.
pub const DELIVERY: JobKind = JobKind {
    name: "deliver_mail",
    run: deliver_job,
    max_attempts: MAX_ATTEMPTS,
    every: None,
};
