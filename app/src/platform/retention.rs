//! The retention schedule (promise P16): how long each kind of record is kept and why, in one
//! list. The daily sweep (`SWEEP`) applies it and the Privacy page renders it, both from this
//! list, so the page cannot say one thing while the sweep does another. The deletions
//! themselves are one database function (`custodian_retention_sweep`), because they cross
//! tenants; it counts from the database's own clock and refuses to keep anything shorter than
//! its floor for the entry (`custodian_retention_floor`, which a test holds equal to this list),
//! so the app role cannot make it remove younger rows. The security log is cut at a signed
//! checkpoint instead, so what remains still verifies.

/// Days an export archive is kept after it is ready (removed by the exports' own hourly sweep).
pub const EXPORT_ARCHIVE_DAYS: i64 = 7;

/// How a record's time is removed when it runs out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Rows removed by the daily sweep (the key names its branch of the database function).
    Sweep(&'static str),
    /// The security log, cut at a signed checkpoint by the daily sweep.
    AuditCut,
    /// Removed by the job that owns it (the exports' hourly sweep, the account purge).
    OwnJob(&'static str),
}

/// One line of the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub what: &'static str,
    /// Days after `counted_from`.
    pub days: i64,
    pub counted_from: &'static str,
    pub why: &'static str,
    pub applied: Applied,
}

impl Retention {
    /// "2 years", "90 days", "1 day".
    pub fn period(&self) -> String {
        match self.days {
            1 => "1 day".to_owned(),
            days if days % 365 == 0 => match days / 365 {
                1 => "1 year".to_owned(),
                years => format!("{years} years"),
            },
            days => format!("{days} days"),
        }
    }
}

/// The schedule. Account data itself goes with the account (the grace period and backups of
/// the deletion settings); these are the records kept while an account lives, and those about
/// no account.
pub const SCHEDULE: &[Retention] = &[
    Retention {
        what: "Security-log events",
        days: 730,
        counted_from: "the event",
        why: "Long enough to investigate an account takeover; the chain stays verifiable from a signed checkpoint at the cut.",
        applied: Applied::AuditCut,
    },
    Retention {
        what: "Ended sessions",
        days: 90,
        counted_from: "the session's end",
        why: "Lets you see recent devices on the Sessions page and spot one you do not know.",
        applied: Applied::Sweep("ended_sessions"),
    },
    Retention {
        what: "Delivered mail",
        days: 90,
        counted_from: "delivery (or giving up)",
        why: "Proves a notice was sent (an extension, a deletion reminder) while it may be asked about.",
        applied: Applied::Sweep("delivered_mail"),
    },
    Retention {
        what: "Rate-limit counters",
        days: 1,
        counted_from: "the counting window",
        why: "Only needed while a limit can apply; the longest window is shorter.",
        applied: Applied::Sweep("rate_limits"),
    },
    Retention {
        what: "Export archives",
        days: EXPORT_ARCHIVE_DAYS,
        counted_from: "the archive being ready",
        why: "Time to download it; ask again for a fresh one.",
        applied: Applied::OwnJob("the exports' hourly sweep"),
    },
    Retention {
        what: "Consent records of browsers not signed in",
        days: 1095,
        counted_from: "the choice",
        why: "A choice lasts at most 1 year in its cookie; its proof is kept 2 years more, while a claim about it can still be made.",
        applied: Applied::Sweep("anonymous_consents"),
    },
    Retention {
        what: "Page-view counts (per page and day, about no one)",
        days: 730,
        counted_from: "the day counted",
        why: "Shows how the site is used over two years; they hold no person.",
        applied: Applied::Sweep("page_views"),
    },
    Retention {
        what: "Closed rights requests",
        days: 730,
        counted_from: "the request's closure",
        why: "Records of requests are kept 24 months (CCPA regulations §7101), then removed.",
        applied: Applied::Sweep("closed_rights_requests"),
    },
];

#[cfg(feature = "ssr")]
pub use sweep::{run, SWEEP};

#[cfg(feature = "ssr")]
mod sweep {
    use time::{Duration, OffsetDateTime};

    use super::{Applied, SCHEDULE};
    use crate::platform::{
        audit,
        jobs::{BoxFuture, Job, JobContext, JobError, JobKind},
    };

    /// Applies the schedule once a day, in each region.
    pub const SWEEP: JobKind = JobKind {
        name: "retention_sweep",
        run: run_job,
        max_attempts: 3,
        every: Some(Duration::days(1)),
    };

    fn run_job<'a>(context: &'a JobContext, _: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            run(context, context.clock.now()).await?;
            Ok(())
        })
    }

    /// Removes what the schedule says is due (`now` signs the security logs' cuts); returns,
    /// per entry, how many rows (or logs) went.
    pub async fn run(
        context: &JobContext,
        now: OffsetDateTime,
    ) -> Result<Vec<(&'static str, u64)>, JobError> {
        let mut removed = Vec::new();
        for entry in SCHEDULE {
            let days = i32::try_from(entry.days).unwrap_or(i32::MAX);
            let count = match entry.applied {
                Applied::Sweep(key) => {
                    let count: i64 = sqlx::query_scalar("SELECT custodian_retention_sweep($1, $2)")
                        .bind(key)
                        .bind(days)
                        .fetch_one(&context.pool)
                        .await?;
                    count as u64
                }
                Applied::AuditCut => audit::cut_before(
                    &context.pool,
                    &context.key_encryption_key,
                    context.region,
                    days,
                    now,
                )
                .await
                .map_err(|e| JobError::Failed(e.to_string()))?,
                Applied::OwnJob(_) => continue,
            };
            if count > 0 {
                tracing::info!(what = entry.what, removed = count, "retention sweep");
            }
            removed.push((entry.what, count));
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_read_as_people_say_them() {
        let period = |days| {
            Retention {
                days,
                ..SCHEDULE[0]
            }
            .period()
        };
        assert_eq!(period(1), "1 day");
        assert_eq!(period(90), "90 days");
        assert_eq!(period(730), "2 years");
        assert_eq!(period(365), "1 year");
    }

    #[test]
    fn every_swept_entry_names_a_distinct_branch() {
        let mut keys: Vec<&str> = SCHEDULE
            .iter()
            .filter_map(|entry| match entry.applied {
                Applied::Sweep(key) => Some(key),
                _ => None,
            })
            .collect();
        let count = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), count);
    }
}
