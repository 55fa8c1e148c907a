//! Answering rights (promise P15): an operator extends a right (only once, only before its
//! first period ends, with the reason mailed), completes it (or partly, with a reason) or
//! refuses it (with a reason). Each action is mailed to the person and written to their
//! security log; when the last right of a request closes, its closure receipt is signed. An
//! export that becomes ready answers the access rights waiting for it.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::{
    due::{self, NoExtension},
    model::{purpose_label, Regime, Right, Status},
    service::RightsError,
    store::{self, StoredItem},
};
use crate::{
    auth::service::accounts,
    data::model::{RIGHT_COMPLETED, RIGHT_EXTENDED, RIGHT_REFUSED},
    platform::{
        area::EventKind,
        audit,
        closure::{self, ClosedRight, Closure},
        db::TenantTx,
        keys::KeyEncryptionKey,
        mail::{self, Mail},
    },
};

pub fn right_label(stored: &str) -> &'static str {
    Right::parse(stored).map_or("unknown", Right::label)
}

fn status_label(stored: &str) -> &'static str {
    Status::parse(stored).map_or("unknown", Status::label)
}

/// What a stored right asked for, in a sentence.
pub fn asked(item: &StoredItem) -> String {
    match Right::parse(&item.right_kind) {
        Some(Right::Correction) => format!(
            "Correct “{}”: “{}” should be “{}”.",
            item.subject, item.wrong, item.should_be
        ),
        Some(Right::Restriction) if item.subject.is_empty() => {
            "Restrict the processing of my data.".to_owned()
        }
        Some(Right::Restriction) => format!("Restrict the processing of my data: {}", item.subject),
        Some(Right::Objection) => format!(
            "Object to: {}.",
            purpose_label(&item.subject).unwrap_or("a purpose")
        ),
        Some(Right::Access) => "A copy of my data (answered by a data export).".to_owned(),
        Some(Right::OptOut) => "Do not sell or share my personal information.".to_owned(),
        None => String::new(),
    }
}

/// What an operator does to a right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Extend { reason: String },
    Complete { partly: Option<String> },
    Refuse { reason: String },
}

/// Who answers: the server's key and the time, with the site's address for the mail.
pub struct Answerer<'a> {
    pub key: &'a KeyEncryptionKey,
    pub now: OffsetDateTime,
    pub site: &'a url::Url,
}

/// Acts on one right of one of the transaction's tenant's requests. Returns what the person
/// was told.
pub async fn act(
    tx: &mut TenantTx,
    by: &Answerer<'_>,
    id: Uuid,
    right: Right,
    action: Action,
) -> Result<String, RightsError> {
    store::lock(tx).await?;
    let (request, items) = store::one(tx, id)
        .await?
        .ok_or(RightsError::NoSuchRequest)?;
    let item = items
        .iter()
        .find(|item| item.right_kind == right.as_str())
        .ok_or(RightsError::NoSuchRight(right.label()))?;
    if item.closed_at.is_some() {
        return Err(RightsError::Closed(right.label(), status_label(&item.status)));
    }
    let regime = Regime::parse(&request.regime).unwrap_or(Regime::Both);
    let (told, event, detail) = match action {
        Action::Extend { reason } => {
            let reason = required(&reason)?;
            let to = due::extension(
                regime,
                request.received_at.date(),
                by.now.date(),
                item.extended_to.is_some(),
            )
            .map_err(|refusal| RightsError::NoExtension(right.label(), why_not(refusal)))?;
            store::extend(tx, id, right.as_str(), to, &reason, by.now).await?;
            (
                format!(
                    "Your {} request needs more time: it is now due by {to}.\nWhy: {reason}\n",
                    right.label()
                ),
                RIGHT_EXTENDED,
                format!("{} extended to {to}", right.label()),
            )
        }
        Action::Complete { partly } => {
            let (status, reason) = match partly {
                Some(reason) => (Status::PartlyDone, required(&reason)?),
                None => (Status::Done, String::new()),
            };
            store::close(tx, id, right.as_str(), status.as_str(), &reason, by.now).await?;
            let why = if reason.is_empty() {
                String::new()
            } else {
                format!("What could not be done, and why: {reason}\n")
            };
            (
                format!("Your {} request is {}.\n{why}", right.label(), status.label().to_lowercase()),
                RIGHT_COMPLETED,
                format!("{}: {}", right.label(), status.label()),
            )
        }
        Action::Refuse { reason } => {
            let reason = required(&reason)?;
            store::close(tx, id, right.as_str(), Status::Refused.as_str(), &reason, by.now).await?;
            (
                format!(
                    "Your {} request is refused.\nWhy: {reason}\n\
                     You may complain to a supervisory authority or seek a judicial remedy.\n",
                    right.label()
                ),
                RIGHT_REFUSED,
                format!("{} refused", right.label()),
            )
        }
    };
    notify(tx, by, event, &detail, &told).await?;
    close_if_done(tx, by.key, id, by.now).await?;
    Ok(told)
}

fn required(reason: &str) -> Result<String, RightsError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > super::model::MAX_TEXT {
        return Err(RightsError::ReasonNeeded);
    }
    Ok(reason.to_owned())
}

fn why_not(refusal: NoExtension) -> String {
    match refusal {
        NoExtension::AlreadyExtended => "it was extended already, and the law allows one extension".to_owned(),
        NoExtension::TooLate(by) => format!(
            "the notice had to be sent by {by}, when its first period ended"
        ),
    }
}

/// Mails the person and writes the event to their security log (by the operator: no network
/// or device of theirs to record).
async fn notify(
    tx: &mut TenantTx,
    by: &Answerer<'_>,
    event: EventKind,
    detail: &str,
    told: &str,
) -> Result<(), RightsError> {
    audit::record_unattributed(tx, by.key, event, detail, by.now).await?;
    let account = tx.owner_id();
    let email = accounts::profile(tx).await?.email;
    let follow = by
        .site
        .join("/data")
        .map_or_else(|_| String::new(), |u| u.to_string());
    mail::enqueue(
        tx,
        Mail {
            account,
            to: &email,
            subject: "News about your request",
            body: format!("{told}\nFollow your requests on {follow}.\n"),
        },
        by.now,
    )
    .await?;
    Ok(())
}

/// Closes the request with its signed receipt once every right of it is closed.
pub async fn close_if_done(
    tx: &mut TenantTx,
    key: &KeyEncryptionKey,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<(), RightsError> {
    let Some((request, items)) = store::one(tx, id).await? else {
        return Ok(());
    };
    if request.closed_at.is_some() || items.iter().any(|item| item.closed_at.is_none()) {
        return Ok(());
    }
    let regime = Regime::parse(&request.regime).unwrap_or(Regime::Both);
    let closure = Closure {
        request_id: id,
        account: tx.owner_id().to_string(),
        regime: regime.short().to_owned(),
        received_at: request.received_at,
        closed_at: now,
        rights: items
            .iter()
            .map(|item| {
                let closed_at = item.closed_at.unwrap_or(now);
                ClosedRight {
                    right: right_label(&item.right_kind).to_owned(),
                    asked: asked(item),
                    outcome: status_label(&item.status).to_owned(),
                    reason: item.reason.clone(),
                    due_on: item.due().to_string(),
                    closed_at,
                    on_time: on_time(closed_at, item.due()),
                }
            })
            .collect(),
    };
    store::close_request(tx, id, &closure::sign(key, &closure), now).await?;
    Ok(())
}

/// Whether a right closed at `closed_at` met its due date (the whole of that day, UTC).
pub fn on_time(closed_at: OffsetDateTime, due_on: Date) -> bool {
    closed_at.date() <= due_on
}

/// An export became ready: the access rights received before it was asked for (so before its
/// snapshot) are done.
pub async fn answer_access(
    tx: &mut TenantTx,
    by: &Answerer<'_>,
    export_requested_at: OffsetDateTime,
) -> Result<(), RightsError> {
    for id in store::open_access(tx, export_requested_at).await? {
        act(tx, by, id, Right::Access, Action::Complete { partly: None }).await?;
    }
    Ok(())
}
