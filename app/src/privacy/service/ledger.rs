//! The consent ledger (promise P6): append-only records of every choice, for an account or for a
//! browser not signed in, GPC recorded once per subject and policy version, a browser's records
//! linked to the account that made them, and the history a requester may see.

use time::OffsetDateTime;
use uuid::Uuid;

use super::PrivacyError;
use crate::{
    platform::{
        client::ClientInfo,
        clock::to_minute,
        context::Visitor,
        db::{self, TenantTx},
        error::InfraError,
        ids::ConsentRecordId,
        region::{Region, Tenant},
    },
    privacy::{
        model::{Category, Choices, ConsentRow, CONSENT_CHANGED},
        store::ledger::{self as store, Ledger, LedgerRecord, NewRecord},
    },
};

const MAX_USER_AGENT: usize = 300;

/// How a choice reached the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Banner,
    Settings,
    Gpc,
    SignUp,
    /// A rights request's "Do Not Sell or Share".
    Request,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Banner => "banner",
            Self::Settings => "settings",
            Self::Gpc => "gpc",
            Self::SignUp => "signup",
            Self::Request => "request",
        }
    }

    /// The methods a form may name; GPC and sign-up are recorded by the server only.
    pub fn from_form(value: &str) -> Result<Self, PrivacyError> {
        match value {
            "banner" => Ok(Self::Banner),
            "settings" => Ok(Self::Settings),
            _ => Err(PrivacyError::UnknownMethod),
        }
    }

    pub fn label(value: &str) -> &'static str {
        match value {
            "banner" => "Cookie banner",
            "settings" => "Privacy settings",
            "gpc" => "Global Privacy Control",
            "signup" => "Sign-up",
            "request" => "Rights request",
            _ => "Unknown",
        }
    }
}

/// One ledger record to append. It answers the cookie policy in force, which the insert itself
/// looks up.
pub struct Entry<'a> {
    pub choices: Choices,
    pub gpc: bool,
    pub method: Method,
    pub user_agent: &'a str,
    pub now: OffsetDateTime,
}

impl Entry<'_> {
    async fn insert(
        &self,
        conn: &mut sqlx::PgConnection,
        ledger: Ledger,
    ) -> Result<Option<i32>, sqlx::Error> {
        let (granted, denied): (Vec<Category>, Vec<Category>) = Category::ALL
            .into_iter()
            .partition(|c| self.choices.grants(*c));
        let names = |cs: Vec<Category>| cs.into_iter().map(Category::as_str).collect::<Vec<_>>();
        let user_agent: String = self.user_agent.chars().take(MAX_USER_AGENT).collect();
        let record = NewRecord {
            granted: &names(granted),
            denied: &names(denied),
            method: self.method.as_str(),
            gpc: self.gpc,
            recorded_at: self.now,
            user_agent: &user_agent,
        };
        store::insert(conn, ledger, &record).await
    }
}

/// Who a ledger record is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    Account(Tenant),
    Browser(Uuid),
}

/// Appends to a signed-in person's ledger, in their tenant transaction.
pub async fn append_for_account(
    tx: &mut TenantTx,
    entry: &Entry<'_>,
) -> Result<Option<i32>, sqlx::Error> {
    let ledger = Ledger::Account(tx.owner_id());
    entry.insert(tx, ledger).await
}

/// Appends one record for `subject`, in a transaction of its own, and returns the cookie-policy
/// version it answered (None: a GPC record already there). For an account, a change of choice is
/// also a security-log event.
pub async fn append(
    visitor: &Visitor,
    subject: Subject,
    entry: &Entry<'_>,
) -> Result<Option<i32>, PrivacyError> {
    match subject {
        Subject::Account(tenant) => {
            let mut tx = visitor.begin(tenant).await?;
            let inserted = append_for_account(&mut tx, entry).await?;
            if inserted.is_some() {
                let detail = format!(
                    "{}: {}",
                    Method::label(entry.method.as_str()),
                    summary(entry.choices, entry.gpc)
                );
                visitor.audit(&mut tx, CONSENT_CHANGED, &detail).await?;
            }
            tx.commit().await?;
            Ok(inserted)
        }
        Subject::Browser(consent_id) => {
            let mut tx = db::begin_for_browser(&visitor.state().pool, consent_id).await?;
            let inserted = entry.insert(&mut tx, Ledger::Browser(consent_id)).await?;
            tx.commit().await?;
            Ok(inserted)
        }
    }
}

fn summary(choices: Choices, gpc: bool) -> String {
    let on = |b: bool| if b { "on" } else { "off" };
    format!(
        "functional {}, analytics {}, do not sell or share {}{}",
        on(choices.functional),
        on(choices.analytics),
        on(choices.sale_share_opt_out || gpc),
        if gpc { " (GPC)" } else { "" }
    )
}

/// Records that the browser sent GPC, once per subject and cookie-policy version.
pub async fn record_gpc(
    visitor: &Visitor,
    subject: Subject,
    choice: Option<Choices>,
) -> Result<Option<i32>, PrivacyError> {
    let entry = Entry {
        choices: choice.unwrap_or_default().under_gpc(true),
        gpc: true,
        method: Method::Gpc,
        user_agent: &visitor.client().user_agent,
        now: visitor.now(),
    };
    append(visitor, subject, &entry).await
}

/// What applies to a signed-in account on every device, whatever the browser sends: a GPC
/// signal from any of its browsers for `GPC_HOLDS` after it was recorded, and its newest choice
/// about sale or sharing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountSignals {
    pub gpc_since: Option<OffsetDateTime>,
    pub sale_share_opt_out: bool,
}

/// How long an account-wide GPC opt-out holds without the account being asked to opt back in.
pub const GPC_HOLDS: time::Duration = time::Duration::days(365);

pub async fn account_signals(
    tx: &mut TenantTx,
    now: OffsetDateTime,
) -> Result<AccountSignals, sqlx::Error> {
    let (gpc_since, sale_share_opt_out) = store::account_signals(tx, now - GPC_HOLDS).await?;
    Ok(AccountSignals {
        gpc_since,
        sale_share_opt_out,
    })
}

/// "Do Not Sell or Share", asked for in a rights request: recorded at once in the account's
/// ledger (with the other categories as they were), so it applies on every device, and in the
/// security log.
pub async fn opt_out_by_request(
    me: &crate::platform::context::SignedIn,
    tx: &mut TenantTx,
) -> Result<(), InfraError> {
    let granted = store::latest_of_account(tx).await?.unwrap_or_default();
    let entry = Entry {
        choices: Choices {
            sale_share_opt_out: true,
            ..Choices::from_granted(&granted)
        },
        gpc: false,
        method: Method::Request,
        user_agent: &me.client().user_agent,
        now: me.now(),
    };
    append_for_account(tx, &entry).await?;
    let detail = format!("{}: {}", Method::label("request"), summary(entry.choices, false));
    me.audit(tx, CONSENT_CHANGED, &detail).await?;
    Ok(())
}

/// Links the browser's anonymous records to the account, in the sign-up or sign-in transaction.
pub async fn link_browser(
    tx: &mut TenantTx,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    match client.consent_id {
        Some(consent_id) => store::link(tx, consent_id, now).await,
        None => Ok(()),
    }
}

/// At sign-up: links the browser's earlier records and appends the account's first record
/// (method sign-up), carrying the browser's latest choice, or no optional category when it made
/// none.
pub async fn record_sign_up(
    tx: &mut TenantTx,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<(), InfraError> {
    link_browser(tx, client, now).await?;
    let mut latest = None;
    if let Some(consent_id) = client.consent_id {
        tx.include_browser(consent_id).await?;
        latest = store::latest_of_browser(tx, consent_id).await?;
    }
    let (choices, gpc) = match latest {
        Some((granted, gpc)) => (Choices::from_granted(&granted), gpc),
        None => (Choices::default(), false),
    };
    let entry = Entry {
        choices,
        gpc,
        method: Method::SignUp,
        user_agent: &client.user_agent,
        now,
    };
    append_for_account(tx, &entry).await?;
    Ok(())
}

/// The records a visitor may see: a signed-in person's own and those of browsers linked to them
/// (and of this browser); otherwise this browser's. `only` narrows to one record.
pub async fn visible_records(
    visitor: &Visitor,
    only: Option<ConsentRecordId>,
) -> Result<Vec<LedgerRecord>, PrivacyError> {
    let consent_id = visitor.client().consent_id;
    let rows = match (visitor.user(), consent_id) {
        (Some(user), consent_id) => {
            let mut tx = visitor.begin(user.tenant()).await?;
            if let Some(consent_id) = consent_id {
                tx.include_browser(consent_id).await?;
            }
            let rows = store::visible(&mut tx, only).await?;
            tx.commit().await?;
            rows
        }
        (None, Some(consent_id)) => {
            let mut tx = db::begin_for_browser(&visitor.state().pool, consent_id).await?;
            let rows = store::visible(&mut tx, only).await?;
            tx.commit().await?;
            rows
        }
        (None, None) => Vec::new(),
    };
    Ok(rows)
}

/// The visitor's consent history, as the Privacy page shows it.
pub async fn history(visitor: &Visitor) -> Result<Vec<ConsentRow>, PrivacyError> {
    let records = visible_records(visitor, None).await?;
    Ok(records
        .into_iter()
        .map(|r| ConsentRow {
            id: r.id.to_string(),
            recorded: to_minute(r.recorded_at),
            method: match r.moved_from.as_deref().and_then(Region::parse) {
                Some(from) => format!("{} (moved here from {})", Method::label(&r.method), from.label()),
                None => Method::label(&r.method).to_owned(),
            },
            granted: r.granted,
            denied: r.denied,
            policy_version: r.policy_version,
            gpc: r.gpc,
        })
        .collect())
}
