//! Account deletion (promise P8): asking for it (sudo and the typed address) locks the account
//! and ends every session at once, in one transaction, and schedules the purge for the end of
//! the grace period with reminders before it; cancelling (sudo) within the grace period undoes
//! the lock. The purge itself is a job (`purge`).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use thiserror::Error;
use time::OffsetDateTime;

use crate::{
    auth::service::{accounts, tokens},
    data::{
        model::{
            DeletionPlan, DeletionStatus, DELETION_CANCELLED, DELETION_REQUESTED,
        },
        service::{files, job, purge},
        store,
    },
    platform::{
        clock::to_minute,
        context::{SignedIn, Sudo},
        db::TenantTx,
        erasure,
        error::{infra_conversions, InfraError},
        jobs,
        keys::{self, Derived},
        mail::{self, Mail},
        session::listing,
        state::AppState,
    },
    signin::service::session::end_sessions,
    ui::FormError,
};

#[derive(Debug, Error)]
pub enum DeletionError {
    #[error("That is not the address of this account. Type it exactly as shown.")]
    WrongAddress,
    #[error("Your account is already scheduled for deletion on {0}.")]
    AlreadyScheduled(String),
    #[error("Your account is not scheduled for deletion.")]
    NotScheduled,
    #[error("The grace period has ended: the deletion can no longer be cancelled.")]
    TooLate,
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(DeletionError);

impl From<DeletionError> for FormError {
    fn from(error: DeletionError) -> Self {
        match error {
            DeletionError::Infra(infra) => infra.into(),
            DeletionError::WrongAddress => FormError::field("email", error.to_string()),
            refusal => FormError::Page(refusal.to_string()),
        }
    }
}

/// The landing page's address for a deletion due at `due`: the day, and a seal over it.
pub fn landing(state: &AppState, due: OffsetDateTime) -> (String, String) {
    let on = day(due);
    let seal = landing_seal(state, &on);
    (on, seal)
}

/// The day a landing page's address names, if it is a day and `seal` is ours over it.
pub fn landing_day(state: &AppState, on: &str, seal: &str) -> Option<String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(on, &format).ok()?.to_string();
    let expected = landing_seal(state, &day);
    keys::constant_time_eq(expected.as_bytes(), seal.as_bytes()).then_some(day)
}

fn landing_seal(state: &AppState, on: &str) -> String {
    let mac = state
        .key_encryption_key
        .mac(Derived::DeletionLanding, on.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac[..16])
}

/// A day for people: "2026-12-14".
fn day(at: OffsetDateTime) -> String {
    at.date().to_string()
}

/// What asking now would do.
pub async fn plan(me: &SignedIn) -> Result<DeletionPlan, DeletionError> {
    let now = me.now();
    let retention = me.state().retention;
    let due = now + retention.deletion_grace();
    let mut tx = me.begin_own().await?;
    let email = accounts::profile(&mut tx).await?.email;
    let sessions = listing::live(&mut tx, now, me.user().account_session())
        .await?
        .len() as i64;
    let export_under_way = store::active(&mut tx).await?.is_some();
    tx.commit().await?;
    Ok(DeletionPlan {
        email,
        grace_days: retention.deletion_grace_days,
        hard_delete_on: day(due),
        reminders_on: purge::reminders(now, due).map(|(_, at)| day(at)).collect(),
        backup_days: retention.backup_days,
        sessions,
        export_under_way,
    })
}

/// Whether the account is scheduled, and when.
pub async fn status(me: &SignedIn) -> Result<DeletionStatus, DeletionError> {
    let mut tx = me.begin_own().await?;
    let schedule = tx.lock_deletion_schedule().await?;
    tx.commit().await?;
    Ok(DeletionStatus {
        requested: schedule.map(|(requested, _)| to_minute(requested)),
        hard_delete_at: schedule.map(|(_, due)| to_minute(due)),
    })
}

/// Day 0, in one transaction: the account is locked, every session and pending sign-in ends
/// (this one too), an export under way is cancelled, the purge and its reminders are queued,
/// and a mail says when and how to cancel. Returns the time of the hard delete.
pub async fn request(me: &Sudo, typed_email: &str) -> Result<OffsetDateTime, DeletionError> {
    let now = me.now();
    let due = now + me.state().retention.deletion_grace();
    let mut tx = me.begin_own().await?;
    if let Some((_, due)) = tx.lock_deletion_schedule().await? {
        return Err(DeletionError::AlreadyScheduled(to_minute(due)));
    }
    let email = accounts::profile(&mut tx).await?.email;
    if typed_email.trim().to_lowercase() != email {
        return Err(DeletionError::WrongAddress);
    }
    tx.schedule_deletion(now, due).await?;
    let cancelled_export = cancel_export(&mut tx).await?;
    end_sessions(&mut tx, None).await?;
    // A mailed link (an address change under way) must not carry the account off meanwhile.
    tokens::revoke_outstanding(&mut tx).await?;
    let tenant = me.tenant();
    purge::schedule(&mut tx, due, now).await?;
    me.audit(&mut tx, DELETION_REQUESTED, &format!("hard delete {}", to_minute(due)))
        .await?;
    let body = format!(
        "You asked us to delete your Custodian account.\n\n\
         It is locked now, and every session has ended. On {} it will be deleted for good: \
         every row, its encryption keys and its files, and within {} more days from every \
         backup. We will remind you 7 days and 1 day before.\n\n\
         Changed your mind? Sign in before then at {} and choose \"Cancel deletion\".\n",
        to_minute(due),
        me.state().retention.backup_days,
        me.state().public_url.join("/signin").map_or_else(|_| String::new(), |u| u.to_string()),
    );
    mail::enqueue(
        &mut tx,
        Mail {
            account: me.owner_id(),
            to: &email,
            subject: "Your account will be deleted",
            body,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    if let Some(id) = cancelled_export {
        files::remove_export(&files::root(me.state(), tenant.region), me.owner_id(), id).await;
    }
    // This browser is signed out too: its session ended with the others.
    if let Err(error) = me.session().flush().await {
        tracing::warn!(%error, "could not clear the session of a deleted account");
    }
    Ok(due)
}

/// Cancels the export under way, if any; returns it, for its files to go after the commit.
async fn cancel_export(tx: &mut TenantTx) -> Result<Option<uuid::Uuid>, DeletionError> {
    let Some(active) = store::active(tx).await? else {
        return Ok(None);
    };
    store::mark_deleted(tx, active.id).await?;
    jobs::cancel_prefixed(tx, &job::key(active.id)).await?;
    Ok(Some(active.id))
}

/// Cancels a scheduled deletion within the grace period: the account is unlocked, as it was,
/// the purge and reminders are called off, and the security log and a mail say so.
pub async fn cancel(me: &Sudo) -> Result<(), DeletionError> {
    let now = me.now();
    let mut tx = me.begin_own().await?;
    let Some((_, due)) = tx.lock_deletion_schedule().await? else {
        return Err(DeletionError::NotScheduled);
    };
    // Too late once the grace period is over, or once a purge has begun (an operator may run
    // it early, at the person's request): the purge writes its ledger entry under the same
    // row lock this transaction holds.
    let purge_begun = erasure::entry_of(&mut tx, &me.state().key_encryption_key, me.owner_id())
        .await?
        .is_some();
    if due <= now || purge_begun {
        return Err(DeletionError::TooLate);
    }
    tx.clear_deletion().await?;
    jobs::cancel_prefixed(&mut tx, &purge::key_prefix(me.owner_id())).await?;
    me.audit(&mut tx, DELETION_CANCELLED, "").await?;
    let email = accounts::profile(&mut tx).await?.email;
    mail::enqueue(
        &mut tx,
        Mail {
            account: me.owner_id(),
            to: &email,
            subject: "Your account will not be deleted",
            body: format!(
                "The deletion of your Custodian account, due {}, is cancelled. Your account is \
                 as it was. If you did not cancel it, change your password now.\n",
                to_minute(due)
            ),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
