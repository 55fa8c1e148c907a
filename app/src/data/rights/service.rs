//! A person's side of rights requests (promise P15): making one (several rights at once, each
//! with its own clock under the person's regime), watching it, lifting a granted restriction,
//! and product news by mail. Objection to direct marketing and "Do Not Sell or Share" take
//! effect at once, with no case to wait for.

use thiserror::Error;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{
    answer::{self, close_if_done},
    due,
    model::{
        purpose_label, Regime, RequestForm, RequestView, Right, RightView, RightsOverview, Status,
        MAX_TEXT, REQUESTS_PER_DAY,
    },
    store::{self, NewItem, StoredItem},
};
use crate::{
    auth::service::accounts,
    data::model::{MARKETING_CHANGED, RESTRICTION_LIFTED, RIGHTS_REQUESTED},
    platform::{
        clock::to_minute,
        context::SignedIn,
        db::TenantTx,
        error::{infra_conversions, InfraError},
        mail::{self, Mail},
        region::Region,
        restriction::{self, Restriction},
    },
    privacy::service::ledger,
    ui::FormError,
};

/// Requests the page lists.
const LISTED: i64 = 20;

#[derive(Debug, Error)]
pub enum RightsError {
    #[error("Choose at least one right to ask for.")]
    NothingAsked,
    #[error("{message}")]
    Field {
        field: &'static str,
        message: String,
    },
    #[error("That is not a right this form knows.")]
    UnknownRight,
    #[error("Choose the law your request is answered under.")]
    UnknownRegime,
    #[error("You have made {REQUESTS_PER_DAY} requests in the last 24 hours; add to an open one by mail, or try again tomorrow.")]
    DailyLimit,
    #[error("Processing of your data is already restricted ({0}); there is nothing more to restrict.")]
    AlreadyRestricted(String),
    #[error("Your account is scheduled for deletion, which erases everything; cancel the deletion first to make a request.")]
    ScheduledForDeletion,
    #[error("There is no restriction of yours to lift.")]
    NothingToLift,
    #[error("That request does not exist or is not yours.")]
    NoSuchRequest,
    #[error("That request has no {0} right.")]
    NoSuchRight(&'static str),
    #[error("The {0} right of that request is already closed ({1}).")]
    Closed(&'static str, &'static str),
    #[error("Give a reason: the person is told it.")]
    ReasonNeeded,
    #[error("The {0} right cannot be extended: {1}.")]
    NoExtension(&'static str, String),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

infra_conversions!(RightsError);

impl From<RightsError> for FormError {
    fn from(error: RightsError) -> Self {
        match error {
            RightsError::Infra(infra) => infra.into(),
            RightsError::Field { field, message } => FormError::field(field, message),
            refusal => FormError::Page(refusal.to_string()),
        }
    }
}

/// The regime a person in `region` is answered under unless they pick another.
pub fn default_regime(region: Region) -> Regime {
    match region {
        Region::EuWest => Regime::Gdpr,
        Region::UsEast => Regime::Both,
    }
}

/// The text of a field: trimmed, required or not, at most `MAX_TEXT` characters.
fn text(field: &'static str, value: &str, required: bool) -> Result<String, RightsError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(RightsError::Field {
            field,
            message: "Fill this in: we need it to act on your request.".to_owned(),
        });
    }
    if value.chars().count() > MAX_TEXT {
        return Err(RightsError::Field {
            field,
            message: format!("At most {MAX_TEXT} characters, please."),
        });
    }
    let value = value.replace("\r\n", "\n");
    // Control characters and the marks that reorder text could forge lines where the text is
    // shown (the operator's terminal, a mail).
    let hidden = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if value.chars().any(hidden) {
        return Err(RightsError::Field {
            field,
            message: "This holds characters that cannot be shown; type it again.".to_owned(),
        });
    }
    Ok(value)
}

/// A right as asked for: which, and its three texts (subject, wrong, should be).
pub struct Asked {
    pub right: Right,
    pub subject: String,
    pub wrong: String,
    pub should_be: String,
}

/// The rights a form asks for, checked, for a person whose data is in `region`.
pub fn parse(form: &RequestForm, region: Region) -> Result<(Regime, Vec<Asked>), RightsError> {
    let regime = Regime::parse(&form.regime).ok_or(RightsError::UnknownRegime)?;
    if region == Region::EuWest && regime == Regime::Ccpa {
        // Data kept in the EU is under the GDPR whatever else applies.
        return Err(RightsError::Field {
            field: "regime",
            message: "Your data is kept in the EU, so the GDPR applies: choose GDPR, or both."
                .to_owned(),
        });
    }
    let mut asked = Vec::new();
    let ask = |right, subject, wrong, should_be| Asked {
        right,
        subject,
        wrong,
        should_be,
    };
    if form.correction {
        asked.push(ask(
            Right::Correction,
            text("correction_data", &form.correction_data, true)?,
            text("correction_wrong", &form.correction_wrong, true)?,
            text("correction_should", &form.correction_should, true)?,
        ));
    }
    if form.restriction {
        let why = text("restriction_reason", &form.restriction_reason, false)?;
        asked.push(ask(Right::Restriction, why, String::new(), String::new()));
    }
    if form.objection {
        let purpose = form.objection_purpose.trim();
        if purpose_label(purpose).is_none() {
            return Err(RightsError::Field {
                field: "objection_purpose",
                message: "Choose one of the purposes listed.".to_owned(),
            });
        }
        asked.push(ask(
            Right::Objection,
            purpose.to_owned(),
            String::new(),
            String::new(),
        ));
    }
    if form.access {
        asked.push(ask(Right::Access, String::new(), String::new(), String::new()));
    }
    if form.opt_out {
        asked.push(ask(Right::OptOut, String::new(), String::new(), String::new()));
    }
    if asked.is_empty() {
        return Err(RightsError::NothingAsked);
    }
    Ok((regime, asked))
}

/// Whether a right takes effect the moment it is asked for, with no case to wait for.
fn immediate(asked: &Asked) -> bool {
    asked.right == Right::OptOut
        || (asked.right == Right::Objection && asked.subject == "direct_marketing")
}

/// Makes a request: each right with its clock, the immediate ones done at once, the receipt
/// confirmed by mail, all in one transaction. Returns the request's id.
pub async fn make(me: &SignedIn, form: &RequestForm) -> Result<Uuid, RightsError> {
    let (regime, asked) = parse(form, me.tenant().region)?;
    let now = me.now();
    let mut tx = me.begin_own().await?;
    if tx.deletion_scheduled().await? {
        return Err(RightsError::ScheduledForDeletion);
    }
    store::lock(&mut tx).await?;
    if store::made_since(&mut tx, now - Duration::days(1)).await? >= REQUESTS_PER_DAY {
        return Err(RightsError::DailyLimit);
    }
    // A restriction asked for while a correction is open is not redundant: it outlasts it.
    if asked.iter().any(|a| a.right == Right::Restriction) && store::restriction_asked(&mut tx).await? {
        let since = restriction::of(&mut tx, me.owner_id())
            .await?
            .map_or_else(String::new, |r| r.line());
        return Err(RightsError::AlreadyRestricted(since));
    }
    let clocks = due::clocks(regime, now.date());
    let items: Vec<NewItem> = asked
        .iter()
        .map(|a| NewItem {
            right: a.right.as_str(),
            subject: &a.subject,
            wrong: &a.wrong,
            should_be: &a.should_be,
            status: if immediate(a) {
                Status::Done.as_str()
            } else {
                Status::Received.as_str()
            },
            confirm_by: clocks.confirm_by,
            due_on: clocks.due_on,
            closed_at: immediate(a).then_some(now),
        })
        .collect();
    let id = Uuid::new_v4();
    store::insert(&mut tx, id, regime.as_str(), now, &items).await?;
    for a in asked.iter().filter(|a| immediate(a)) {
        match a.right {
            Right::OptOut => ledger::opt_out_by_request(me, &mut tx).await?,
            _ => {
                store::set_product_news(&mut tx, false, true, now).await?;
                me.audit(&mut tx, MARKETING_CHANGED, "objected to direct marketing")
                    .await?;
            }
        }
    }
    let names: Vec<&str> = asked.iter().map(|a| a.right.label()).collect();
    me.audit(&mut tx, RIGHTS_REQUESTED, &names.join(", ")).await?;
    let email = accounts::profile(&mut tx).await?.email;
    let body = format!(
        "We received your request ({}) on {}.\n\nIt is answered under {}; each right is due by {}{}.\n\
         Rights that take effect at once (an objection to direct marketing, Do Not Sell or Share) are already done.\n\n\
         Follow it on {}.\n",
        names.join(", "),
        to_minute(now),
        regime.short(),
        clocks.due_on,
        clocks
            .confirm_by
            .map(|on| format!(" (this mail confirms its receipt, due by {on})"))
            .unwrap_or_default(),
        me.state().public_url.join("/data").map_or_else(|_| String::new(), |u| u.to_string()),
    );
    mail::enqueue(
        &mut tx,
        Mail {
            account: me.owner_id(),
            to: &email,
            subject: "We received your request",
            body,
        },
        now,
    )
    .await?;
    // Only rights that take effect at once are closed yet: a request of those alone is done.
    if asked.iter().all(immediate) {
        close_if_done(&mut tx, &me.state().key_encryption_key, id, now).await?;
    }
    tx.commit().await?;
    tracing::info!(rights = asked.len(), regime = regime.as_str(), "rights request made");
    Ok(id)
}

fn right_view(item: &StoredItem, today: time::Date) -> Option<RightView> {
    let right = Right::parse(&item.right_kind)?;
    let status = Status::parse(&item.status)?;
    Some(RightView {
        right,
        status,
        asked: answer::asked(item),
        reason: item.reason.clone(),
        due_on: item.due().to_string(),
        days_left: (!status.closed()).then(|| (item.due() - today).whole_days()),
        extension_reason: item
            .extended_to
            .map(|_| item.extension_reason.clone()),
        confirm_by: item.confirm_by.map(|on| on.to_string()),
        closed_on: item.closed_at.map(to_minute),
        // Granted and not lifted: in force (the restriction rule counts it).
        can_lift: right == Right::Restriction
            && status == Status::Done
            && item.lifted_at.is_none(),
    })
}

/// The person's requests, their restriction and product news.
pub async fn overview(me: &SignedIn) -> Result<RightsOverview, RightsError> {
    let now = me.now();
    let mut tx = me.begin_own().await?;
    let restriction = restriction::of(&mut tx, me.owner_id()).await?;
    let requests = store::list(&mut tx, LISTED).await?;
    let product_news = store::product_news(&mut tx).await?;
    tx.commit().await?;
    let requests = requests
        .iter()
        .filter_map(|(request, items)| {
            Some(RequestView {
                id: request.id,
                received: to_minute(request.received_at),
                regime: Regime::parse(&request.regime)?,
                rights: items
                    .iter()
                    .filter_map(|item| right_view(item, now.date()))
                    .collect(),
                closed: request.closed_at.map(to_minute),
            })
        })
        .collect();
    Ok(RightsOverview {
        restriction: restriction.as_ref().map(Restriction::line),
        requests,
        product_news,
    })
}

/// Lifts the person's granted restriction.
pub async fn lift(me: &SignedIn) -> Result<(), RightsError> {
    let mut tx = me.begin_own().await?;
    store::lock(&mut tx).await?;
    if !store::lift(&mut tx, me.now()).await? {
        return Err(RightsError::NothingToLift);
    }
    me.audit(&mut tx, RESTRICTION_LIFTED, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Turns product news by mail on or off.
pub async fn set_product_news(me: &SignedIn, wanted: bool) -> Result<(), RightsError> {
    let mut tx = me.begin_own().await?;
    store::set_product_news(&mut tx, wanted, false, me.now()).await?;
    let detail = if wanted { "turned on" } else { "turned off" };
    me.audit(&mut tx, MARKETING_CHANGED, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// The signed closure receipt of one of the person's requests, once it is closed.
pub async fn receipt(me: &SignedIn, id: Uuid) -> Result<serde_json::Value, RightsError> {
    let mut tx = me.begin_own().await?;
    let found = store::one(&mut tx, id).await?;
    tx.commit().await?;
    found
        .and_then(|(request, _)| request.receipt)
        .ok_or(RightsError::NoSuchRequest)
}

/// Queues product news to the account, when it may get it; true when queued.
pub async fn queue_product_news(
    tx: &mut TenantTx,
    subject: &str,
    body: &str,
    now: OffsetDateTime,
) -> Result<bool, RightsError> {
    let account = tx.owner_id();
    let email = accounts::profile(tx).await?.email;
    Ok(mail::enqueue_non_essential(
        tx,
        Mail {
            account,
            to: &email,
            subject,
            body: body.to_owned(),
        },
        now,
    )
    .await?)
}
