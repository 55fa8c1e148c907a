//! The end of the grace period (promise P8): reminders before it, and the purge at it.
//!
//! The purge takes steps that are each safe to repeat, so a run killed at any point is finished
//! by the next, and each account is purged once:
//!
//! 1. The erasure ledger's entry is written (or found), while the deletion is still due.
//! 2. The directory forgets the tenant's routes: the address is free to sign up again.
//! 3. The tenant's files (export archives) leave the data directory.
//! 4. In one transaction: every row of the tenant in every table goes (found from the catalog),
//!    with the shared rows naming it or its address and its data keys; the entry records what
//!    went, and the signed deletion receipt is queued as the last mail to the address (that
//!    outbox row is forgotten once delivered).
//! 5. The entry is appended to the file ledger, which restores of older backups replay.

use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::{
    auth::service::accounts,
    data::{model::REMINDER_DAYS, service::files},
    platform::{
        clock::to_minute,
        db::TenantTx,
        error::InfraError,
        erasure::{self, Entry},
        ids::OwnerId,
        jobs::{self, BoxFuture, Job, JobContext, JobError, JobKind},
        mail::{self, Mail},
        rate_limit,
        region::{Region, Tenant},
    },
};

/// The reminders a deletion due at `due` gets (days before, when), those still ahead of `now`.
pub fn reminders(
    now: OffsetDateTime,
    due: OffsetDateTime,
) -> impl Iterator<Item = (i64, OffsetDateTime)> {
    REMINDER_DAYS
        .into_iter()
        .map(move |days| (days, due - Duration::days(days)))
        .filter(move |(_, at)| *at > now)
}

/// Queues the purge of the transaction's tenant at `due` and its reminders (those still ahead),
/// each under a key naming the day, so a schedule written twice queues them once.
pub async fn schedule(
    tx: &mut TenantTx,
    due: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let tenant = tx.tenant();
    for (days, at) in reminders(now, due) {
        jobs::enqueue_at(
            tx,
            REMIND.name,
            payload(tenant, due, Some(days)),
            Some(&key(tenant.owner_id, due, Some(days))),
            at,
            now,
        )
        .await?;
    }
    jobs::enqueue_at(
        tx,
        PURGE.name,
        payload(tenant, due, None),
        Some(&key(tenant.owner_id, due, None)),
        due,
        now,
    )
    .await
}

/// Removes, in every region's database, what the account left in other tenants' rows (its
/// memberships of their apps); its own region's rows go with the purge too.
async fn leave_every_region(context: &JobContext, owner: OwnerId) -> Result<(), JobError> {
    for (region, pool) in context.regions.cells() {
        let mut tx = TenantTx::begin_on(pool, Tenant::new(owner, region)).await?;
        crate::server::leave(&mut tx).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Where a purge run stops: at the end, or (for tests of an interrupted run) right after a step,
/// as if the process had been killed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Ledger,
    Routes,
    Files,
    Rows,
    End,
}

/// The prefix of every job key of one account's deletion.
pub fn key_prefix(owner: OwnerId) -> String {
    format!("deletion:{owner}:")
}

/// The job key of the purge (`reminder` None) or of a reminder of the deletion due at `due`.
pub fn key(owner: OwnerId, due: OffsetDateTime, reminder: Option<i64>) -> String {
    let due = due.unix_timestamp();
    match reminder {
        Some(days) => format!("{}{due}:remind:{days}", key_prefix(owner)),
        None => format!("{}{due}:purge", key_prefix(owner)),
    }
}

/// What a purge or reminder job is told: whose deletion, due when (to the microsecond, as it is
/// stored), and for a reminder, how many days ahead.
pub fn payload(tenant: Tenant, due: OffsetDateTime, reminder: Option<i64>) -> Value {
    json!({
        "owner": tenant.owner_id,
        "region": tenant.region.as_str(),
        "due_us": (due.unix_timestamp_nanos() / 1_000) as i64,
        "days": reminder,
    })
}

fn parse(payload: &Value) -> Result<(Tenant, OffsetDateTime), JobError> {
    let parsed = (|| {
        let owner: OwnerId = payload["owner"].as_str()?.parse().ok()?;
        let region = Region::parse(payload["region"].as_str()?)?;
        let due = OffsetDateTime::from_unix_timestamp_nanos(
            i128::from(payload["due_us"].as_i64()?) * 1_000,
        )
        .ok()?;
        Some((Tenant::new(owner, region), due))
    })();
    parsed.ok_or_else(|| JobError::Failed("the job names no deletion".to_owned()))
}

fn remind<'a>(context: &'a JobContext, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async move {
        let (tenant, due) = parse(&job.payload)?;
        let now = context.clock.now();
        let mut tx = TenantTx::begin_on(&context.pool, tenant).await?;
        // Cancelled, or asked again for another day: this reminder is of nothing.
        if tx.lock_deletion_schedule().await?.map(|(_, d)| d) != Some(due) || due <= now {
            return Ok(());
        }
        let email = accounts::profile(&mut tx).await?.email;
        // Whole days left, counting a part of a day as one.
        let days = ((due - now).whole_seconds() + 86_399) / 86_400;
        let body = format!(
            "Your Custodian account will be deleted on {} (in about {days} day{}). Everything \
             goes: your data, its encryption keys, your files.\n\n\
             To keep your account, sign in at {} and choose \"Cancel deletion\".\n",
            to_minute(due),
            if days == 1 { "" } else { "s" },
            context.public_url.join("/signin").map_or_else(|_| String::new(), |u| u.to_string()),
        );
        mail::enqueue(
            &mut tx,
            Mail {
                account: tenant.owner_id,
                to: &email,
                subject: "Reminder: your account will be deleted",
                body,
            },
            now,
        )
        .await
        .map_err(InfraError::from)?;
        tx.commit().await?;
        Ok(())
    })
}

/// Mails a reminder before the hard delete.
pub const REMIND: JobKind = JobKind {
    name: "remind_deletion",
    run: remind,
    max_attempts: 8,
    every: None,
};

fn purge_job<'a>(context: &'a JobContext, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async move {
        let (tenant, due) = parse(&job.payload)?;
        purge(context, job.id, tenant, due, Step::End).await?;
        Ok(())
    })
}

/// Purges an account whose grace period has ended.
pub const PURGE: JobKind = JobKind {
    name: "purge_account",
    run: purge_job,
    // Retried with backoff (at most about 8.5 hours apart) for about a week: a purge that keeps
    // failing shows in the jobs table long before the promise's 30 days.
    max_attempts: 30,
    every: None,
};

/// Runs the purge of `tenant`'s deletion due at `due` up to `stop`; None when there is nothing
/// to purge (the deletion was cancelled, or is not due yet). `job` is the purge's own job, which
/// the purge leaves for the runner to remove.
pub async fn purge(
    context: &JobContext,
    job: uuid::Uuid,
    tenant: Tenant,
    due: OffsetDateTime,
    stop: Step,
) -> Result<Option<Entry>, JobError> {
    let key = &context.key_encryption_key;
    let now = context.clock.now();
    let mut tx = TenantTx::begin_on(&context.pool, tenant).await?;
    let entry = match tx.lock_deletion_schedule().await? {
        Some((requested, scheduled)) if scheduled == due && due <= now => {
            erasure::open_entry(&mut tx, key, requested, due, now).await?
        }
        // Not (or no longer) scheduled for this day: purged by an earlier run, or cancelled.
        _ => match erasure::entry_of(&mut tx, key, tenant.owner_id).await? {
            Some(entry) if entry.grace_ends_at == due => entry,
            _ => return Ok(None),
        },
    };
    let codes = erasure::invite_codes(&mut tx).await?;
    tx.commit().await?;
    if stop == Step::Ledger {
        return Ok(Some(entry));
    }
    let entry = if entry.rows_deleted() {
        entry
    } else {
        let removed = erasure::forget_routes(&context.directory, tenant.owner_id, &codes).await?;
        leave_every_region(context, tenant.owner_id).await?;
        erasure::record_routes_forgotten(&context.pool, entry.id, &removed).await?;
        if stop == Step::Routes {
            return Ok(Some(entry));
        }
        files::remove_all_of(&files::region_root(&context.data_dir, tenant.region), tenant.owner_id)
            .await
            .map_err(|error| JobError::Failed(format!("the account's files stay: {}", error.kind())))?;
        let entry = erasure::record_files_removed(&context.pool, entry.id).await?;
        if stop == Step::Files {
            return Ok(Some(entry));
        }
        purge_rows(context, job, tenant, &entry, now).await?
    };
    if stop == Step::Rows {
        return Ok(Some(entry));
    }
    if let Some(line) = erasure::FileLine::of(&entry) {
        erasure::append_to_file(&context.data_dir, &line)
            .await
            .map_err(|error| JobError::Failed(format!("the ledger file: {}", error.kind())))?;
    }
    Ok(Some(entry))
}

/// Step 4: the rows, the data keys and the outbox, with the receipt queued, in one transaction.
async fn purge_rows(
    context: &JobContext,
    job: uuid::Uuid,
    tenant: Tenant,
    entry: &Entry,
    now: OffsetDateTime,
) -> Result<Entry, JobError> {
    let key = &context.key_encryption_key;
    let mut tx = TenantTx::begin_on(&context.pool, tenant).await?;
    // Under the tenant row's lock: a run that lost the race to another (two runners) finds the
    // tenant gone and takes the ledger's word for what was done.
    if tx.lock_deletion_schedule().await?.map(|(_, due)| due) != Some(entry.grace_ends_at) {
        let done = erasure::entry_of(&mut tx, key, tenant.owner_id).await?;
        tx.commit().await?;
        return done.ok_or_else(|| JobError::Failed("the ledger entry is gone".to_owned()));
    }
    let email = accounts::profile(&mut tx).await?.email;
    let buckets = rate_limit::buckets_naming(key, tenant.owner_id, &email);
    let entry = erasure::purge_rows(&mut tx, entry, &buckets, job, now).await?;
    let receipt = erasure::receipt(key, &entry);
    let body = format!(
        "Your Custodian account is deleted: every row, its encryption keys and its files are \
         gone, and it will be removed from any backup restored later. This is the last mail \
         we send you; we keep no copy of it.\n\n\
         Below is your signed deletion receipt. Paste it into {} to check it.\n\n{}\n",
        context
            .public_url
            .join("/privacy/verify-receipt")
            .map_or_else(|_| String::new(), |u| u.to_string()),
        serde_json::to_string_pretty(&receipt).unwrap_or_default(),
    );
    mail::enqueue(
        &mut tx,
        Mail {
            account: tenant.owner_id,
            to: &email,
            subject: "Your account is deleted: your deletion receipt",
            body,
        },
        now,
    )
    .await
    .map_err(InfraError::from)?;
    tx.commit().await?;
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reminders_come_seven_days_and_one_day_before_and_only_ahead() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let due = now + Duration::days(14);
        let at: Vec<_> = reminders(now, due).collect();
        assert_eq!(
            at,
            vec![(7, now + Duration::days(7)), (1, now + Duration::days(13))]
        );
        let short: Vec<_> = reminders(now, now + Duration::days(3)).collect();
        assert_eq!(short, vec![(1, now + Duration::days(2))]);
    }
}
