//! The consent ledger (promise P6): append-only records of every choice, for an account
//! (`consent_records`, a tenant table) or for a browser not signed in (`anonymous_consents`,
//! keyed by the random consent id), GPC recorded once per subject and policy version, a
//! browser's records linked to the account that made them, and the history a requester may see.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    api::{Category, Choices, ConsentRow},
    service::PrivacyError,
};
use crate::{
    auth::{guard, session::CurrentUser},
    platform::{
        audit,
        client::ClientInfo,
        clock::to_minute,
        db::{self, TenantTx},
        state::AppState,
    },
    ui::form::FormError,
};

const MAX_USER_AGENT: usize = 300;

/// How a choice reached the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Banner,
    Settings,
    Gpc,
    SignUp,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Banner => "banner",
            Self::Settings => "settings",
            Self::Gpc => "gpc",
            Self::SignUp => "signup",
        }
    }

    /// The methods a form may name; GPC and sign-up are recorded by the server only.
    pub fn from_form(value: &str) -> Result<Self, FormError> {
        match value {
            "banner" => Ok(Self::Banner),
            "settings" => Ok(Self::Settings),
            _ => Err(FormError::Page(
                "That form is out of date. Reload the page and choose again.".to_owned(),
            )),
        }
    }

    pub fn label(value: &str) -> &'static str {
        match value {
            "banner" => "Cookie banner",
            "settings" => "Privacy settings",
            "gpc" => "Global Privacy Control",
            "signup" => "Sign-up",
            _ => "Unknown",
        }
    }
}

/// One ledger record to append.
/// It answers the cookie policy in force, which the insert itself looks up.
pub struct Entry<'a> {
    pub choices: Choices,
    pub gpc: bool,
    pub method: Method,
    pub user_agent: &'a str,
    pub now: OffsetDateTime,
}

impl Entry<'_> {
    fn split(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        let (granted, denied): (Vec<Category>, Vec<Category>) = Category::ALL
            .into_iter()
            .partition(|c| self.choices.grants(*c));
        let names = |cs: Vec<Category>| cs.into_iter().map(Category::as_str).collect();
        (names(granted), names(denied))
    }

    fn user_agent(&self) -> String {
        self.user_agent.chars().take(MAX_USER_AGENT).collect()
    }
}

/// Who a ledger record is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    Account(Uuid),
    Browser(Uuid),
}

/// Inserts one record answering the cookie policy in force, and returns that policy's version;
/// None when it was a GPC record this subject already had for the version.
async fn insert(
    conn: &mut PgConnection,
    subject: Subject,
    entry: &Entry<'_>,
) -> Result<Option<i32>, sqlx::Error> {
    let (sql, subject_id) = match subject {
        Subject::Account(owner_id) => (
            "INSERT INTO consent_records \
             (owner_id, id, granted, denied, policy_version, method, gpc, recorded_at, user_agent) \
             SELECT $1, $2, $3, $4, coalesce(max(version), 1), $5, $6, $7, $8 \
             FROM policy_versions WHERE document = 'cookies' \
             ON CONFLICT DO NOTHING RETURNING policy_version",
            owner_id,
        ),
        Subject::Browser(consent_id) => (
            "INSERT INTO anonymous_consents \
             (consent_id, id, granted, denied, policy_version, method, gpc, recorded_at, user_agent) \
             SELECT $1, $2, $3, $4, coalesce(max(version), 1), $5, $6, $7, $8 \
             FROM policy_versions WHERE document = 'cookies' \
             ON CONFLICT DO NOTHING RETURNING policy_version",
            consent_id,
        ),
    };
    let (granted, denied) = entry.split();
    sqlx::query_scalar(sql)
        .bind(subject_id)
        .bind(Uuid::new_v4())
        .bind(&granted)
        .bind(&denied)
        .bind(entry.method.as_str())
        .bind(entry.gpc)
        .bind(entry.now)
        .bind(entry.user_agent())
        .fetch_optional(conn)
        .await
}

/// Appends to a signed-in person's ledger, in their tenant transaction.
pub async fn append_for_account(
    tx: &mut TenantTx,
    entry: &Entry<'_>,
) -> Result<Option<i32>, sqlx::Error> {
    let subject = Subject::Account(tx.owner_id());
    insert(tx, subject, entry).await
}

/// Appends to the ledger of a browser that is not signed in, in a transaction begun with
/// `db::begin_for_browser` for `consent_id`.
pub async fn append_for_browser(
    conn: &mut PgConnection,
    consent_id: Uuid,
    entry: &Entry<'_>,
) -> Result<Option<i32>, sqlx::Error> {
    insert(conn, Subject::Browser(consent_id), entry).await
}

/// Appends one record for `subject`, in a transaction of its own, and returns the cookie-policy
/// version it answered (None: a GPC record already there). For an account, a change of choice is
/// also a security-log event.
pub async fn append(
    state: &AppState,
    subject: Subject,
    entry: &Entry<'_>,
    client: &ClientInfo,
) -> Result<Option<i32>, PrivacyError> {
    match subject {
        Subject::Account(owner_id) => {
            let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
            let inserted = append_for_account(&mut tx, entry).await?;
            if inserted.is_some() {
                let detail = format!(
                    "{}: {}",
                    Method::label(entry.method.as_str()),
                    summary(entry.choices, entry.gpc)
                );
                audit::record(
                    &mut tx,
                    &state.key_encryption_key,
                    "consent_changed",
                    &detail,
                    client,
                    entry.now,
                )
                .await?;
            }
            tx.commit().await?;
            Ok(inserted)
        }
        Subject::Browser(consent_id) => {
            let mut tx = db::begin_for_browser(&state.pool, consent_id).await?;
            let inserted = append_for_browser(&mut tx, consent_id, entry).await?;
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
    state: &AppState,
    subject: Subject,
    choice: Option<Choices>,
    client: &ClientInfo,
) -> Result<Option<i32>, PrivacyError> {
    let entry = Entry {
        choices: choice.unwrap_or_default().under_gpc(true),
        gpc: true,
        method: Method::Gpc,
        user_agent: &client.user_agent,
        now: state.clock.now(),
    };
    append(state, subject, &entry, client).await
}

/// Links the browser's anonymous records to the account, in the sign-up or sign-in transaction.
pub async fn link_browser(
    tx: &mut TenantTx,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let Some(consent_id) = client.consent_id else {
        return Ok(());
    };
    let owner_id = tx.owner_id();
    let conn: &mut PgConnection = tx;
    sqlx::query(
        "INSERT INTO consent_links (owner_id, consent_id, linked_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(owner_id)
    .bind(consent_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// At sign-up: links the browser's earlier records and appends the account's first record
/// (method sign-up), carrying the browser's latest choice, or no optional category when it made
/// none.
pub async fn record_sign_up(
    tx: &mut TenantTx,
    client: &ClientInfo,
    now: OffsetDateTime,
) -> Result<(), PrivacyError> {
    link_browser(tx, client, now).await?;
    let mut latest: Option<(Vec<String>, bool)> = None;
    if let Some(consent_id) = client.consent_id {
        tx.include_browser(consent_id).await?;
        latest = sqlx::query_as(
            "SELECT granted, gpc FROM anonymous_consents WHERE consent_id = $1 \
             ORDER BY recorded_at DESC LIMIT 1",
        )
        .bind(consent_id)
        .fetch_optional(&mut **tx)
        .await?;
    }
    let (choices, gpc) = match latest {
        Some((granted, gpc)) => {
            let has = |c: Category| granted.iter().any(|g| g == c.as_str());
            (
                Choices {
                    functional: has(Category::Functional),
                    analytics: has(Category::Analytics),
                    sale_share_opt_out: !has(Category::SaleShare),
                },
                gpc,
            )
        }
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

#[derive(sqlx::FromRow)]
pub struct LedgerRecord {
    pub id: Uuid,
    /// "account:<owner id>" or "browser:<consent id>".
    pub subject: String,
    pub granted: Vec<String>,
    pub denied: Vec<String>,
    pub policy_version: i32,
    pub method: String,
    pub gpc: bool,
    pub recorded_at: OffsetDateTime,
}

const LEDGER: &str = "SELECT id, 'account:' || owner_id::text AS subject, granted, denied, \
     policy_version, method, gpc, recorded_at FROM consent_records \
     UNION ALL SELECT id, 'browser:' || consent_id::text, granted, denied, policy_version, \
     method, gpc, recorded_at FROM anonymous_consents";

/// The newest records that row-level security lets this transaction see.
async fn read_ledger(
    conn: &mut PgConnection,
    only: Option<Uuid>,
) -> Result<Vec<LedgerRecord>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT * FROM ({LEDGER}) AS ledger WHERE $1::uuid IS NULL OR id = $1 \
         ORDER BY recorded_at DESC, id LIMIT 200"
    ))
    .bind(only)
    .fetch_all(conn)
    .await
}

/// The records a requester may see: a signed-in person's own and those of browsers linked to
/// them (and of this browser); otherwise this browser's. `only` narrows to one record.
pub async fn visible_records(
    state: &AppState,
    owner_id: Option<Uuid>,
    consent_id: Option<Uuid>,
    only: Option<Uuid>,
) -> Result<Vec<LedgerRecord>, PrivacyError> {
    let rows = match (owner_id, consent_id) {
        (Some(owner_id), consent_id) => {
            let mut tx = TenantTx::begin(&state.pool, owner_id).await?;
            if let Some(consent_id) = consent_id {
                tx.include_browser(consent_id).await?;
            }
            let rows = read_ledger(&mut tx, only).await?;
            tx.commit().await?;
            rows
        }
        (None, Some(consent_id)) => {
            let mut tx = db::begin_for_browser(&state.pool, consent_id).await?;
            let rows = read_ledger(&mut tx, only).await?;
            tx.commit().await?;
            rows
        }
        (None, None) => Vec::new(),
    };
    Ok(rows)
}

pub async fn history_for_request() -> Result<Vec<ConsentRow>, FormError> {
    let (state, client) = guard::request()?;
    let owner_id = guard::user().ok().map(|u: CurrentUser| u.owner_id());
    let records = visible_records(&state, owner_id, client.consent_id, None).await?;
    Ok(records
        .into_iter()
        .map(|r| ConsentRow {
            id: r.id.to_string(),
            recorded: to_minute(r.recorded_at),
            method: Method::label(&r.method).to_owned(),
            granted: r.granted,
            denied: r.denied,
            policy_version: r.policy_version,
            gpc: r.gpc,
        })
        .collect())
}
