//! Consent on the server (promise P6): the signed consent cookie, the append-only ledger,
//! Global Privacy Control, linking a browser's records to an account, and the theme cookie that
//! only functional consent may write.

use axum::http::{header, HeaderMap, HeaderValue};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use leptos::prelude::use_context;
use sha2::Sha256;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    api::{Category, Choices, ConsentRow, PageConsent, Theme},
    service::PrivacyError,
};
use crate::{
    auth::{guard, session::CurrentUser},
    platform::{
        audit,
        client::{cookie_value, ClientInfo},
        clock::to_minute,
        db::{self, TenantTx},
        keys::KeyEncryptionKey,
        state::AppState,
    },
    ui::form::FormError,
};

/// The essential cookie that remembers the browser's consent id and choice.
pub const CONSENT_COOKIE: &str = "custodian_consent";
/// The functional cookie that remembers the theme; written only with functional consent.
pub const THEME_COOKIE: &str = "custodian_theme";
/// Both cookies last a year, after which the banner asks again.
const COOKIE_MAX_AGE_SECONDS: i64 = 365 * 24 * 60 * 60;
const MAC_LEN: usize = 16;
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

/// What the consent cookie holds: the browser's random consent id, and its choice with the
/// cookie-policy version it answered (none yet when only GPC was recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentCookie {
    pub id: Uuid,
    pub policy_version: i32,
    pub choice: Option<Choices>,
}

fn cookie_mac(key: &KeyEncryptionKey, payload: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.derive("custodian consent cookie v1"))
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(payload.as_bytes());
    mac
}

impl ConsentCookie {
    /// `id.version.choice.mac`, where choice is `-` or three bits (functional, analytics,
    /// sale/share opt-out) and the MAC is keyed by the server, so a forged cookie is ignored.
    pub fn encode(&self, key: &KeyEncryptionKey) -> String {
        let choice = self.choice.map_or_else(
            || "-".to_owned(),
            |c| {
                [c.functional, c.analytics, c.sale_share_opt_out]
                    .iter()
                    .map(|on| if *on { '1' } else { '0' })
                    .collect()
            },
        );
        let payload = format!("{}.{}.{choice}", self.id, self.policy_version);
        let mac =
            URL_SAFE_NO_PAD.encode(&cookie_mac(key, &payload).finalize().into_bytes()[..MAC_LEN]);
        format!("{payload}.{mac}")
    }

    /// The cookie's content when it is well formed and was signed by this server.
    pub fn decode(value: &str, key: &KeyEncryptionKey) -> Option<Self> {
        let (payload, mac) = value.rsplit_once('.')?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        // Compared in constant time: the MAC must not be guessable byte by byte.
        if mac.len() != MAC_LEN
            || cookie_mac(key, payload)
                .verify_truncated_left(&mac)
                .is_err()
        {
            return None;
        }
        let mut parts = payload.split('.');
        let id = Uuid::parse_str(parts.next()?).ok()?;
        let policy_version = parts.next()?.parse::<i32>().ok().filter(|v| *v >= 0)?;
        let choice = match parts.next()? {
            "-" => None,
            bits if bits.len() == 3 && bits.chars().all(|c| c == '0' || c == '1') => {
                let bit = |i: usize| bits.as_bytes()[i] == b'1';
                Some(Choices {
                    functional: bit(0),
                    analytics: bit(1),
                    sale_share_opt_out: bit(2),
                })
            }
            _ => return None,
        };
        parts.next().is_none().then_some(Self {
            id,
            policy_version,
            choice,
        })
    }
}

/// What a request says about consent, read by the middleware for every request.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsentRequest {
    /// The consent cookie, when its signature checked out.
    pub cookie: Option<ConsentCookie>,
    /// `Sec-GPC: 1` was sent.
    pub gpc: bool,
    /// The theme cookie, or the page-only theme in the address of a page loaded without
    /// JavaScript.
    pub theme: Theme,
}

impl ConsentRequest {
    pub fn read(headers: &HeaderMap, query: Option<&str>, key: &KeyEncryptionKey) -> Self {
        let cookie = cookie_value(headers, CONSENT_COOKIE).and_then(|v| {
            let decoded = ConsentCookie::decode(v, key);
            if decoded.is_none() {
                tracing::info!("ignored a consent cookie that this server did not sign");
            }
            decoded
        });
        let gpc = headers
            .get("sec-gpc")
            .is_some_and(|v| v.as_bytes().trim_ascii() == b"1");
        let page_theme = query.and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "theme")
                .and_then(|(_, v)| Theme::parse(&v))
        });
        let theme = page_theme
            .or_else(|| cookie_value(headers, THEME_COOKIE).and_then(Theme::parse))
            .unwrap_or_default();
        Self { cookie, gpc, theme }
    }

    pub fn page(&self, reviews: Vec<super::api::PolicyNotice>) -> PageConsent {
        PageConsent {
            choice: self.cookie.and_then(|c| c.choice),
            gpc: self.gpc,
            theme: self.theme,
            reviews,
        }
    }

    /// Whether this request may be counted by the analytics.
    pub fn analytics_allowed(&self) -> bool {
        self.page(Vec::new()).effective().analytics
    }
}

/// A Set-Cookie value for one of the consent area's cookies; Secure when the site is https.
pub fn set_cookie(state: &AppState, name: &str, value: &str) -> Option<HeaderValue> {
    let secure = if state.public_url.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={COOKIE_MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

fn remove_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The choice a form submitted: accept all, reject all, or the switches as set.
pub fn parse_choice(
    choice: &str,
    functional: bool,
    analytics: bool,
    sale_share_opt_out: bool,
) -> Result<Choices, FormError> {
    match choice {
        "accept" => Ok(Choices::ACCEPT_ALL),
        "reject" => Ok(Choices::REJECT_ALL),
        "custom" => Ok(Choices {
            functional,
            analytics,
            sale_share_opt_out,
        }),
        _ => Err(FormError::Page(
            "Choose Accept all, Reject all, or save your own choices.".to_owned(),
        )),
    }
}

/// A path on this site to return to; anything else (another site, a protocol-relative or
/// malformed address) returns home.
pub fn local_path(back: Option<&str>) -> String {
    match back {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.len() <= 512
                && !path.chars().any(char::is_control) =>
        {
            strip_query_key(path, "cookie-settings")
        }
        _ => "/".to_owned(),
    }
}

fn strip_query_key(path: &str, key: &str) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return path.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            pair.split('=').next() != Some(key) && pair.split('=').next() != Some("theme")
        })
        .collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
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
                audit::record(&mut tx, "consent_changed", &detail, client, entry.now).await?;
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

fn consent_request() -> Result<ConsentRequest, FormError> {
    Ok(guard::parts()?
        .extensions
        .get::<ConsentRequest>()
        .copied()
        .unwrap_or_default())
}

fn add_cookie(value: Option<HeaderValue>) {
    if let (Some(value), Some(response)) = (value, use_context::<leptos_axum::ResponseOptions>()) {
        response.append_header(header::SET_COOKIE, value);
    }
}

/// Records a choice for the person or browser of the current request, and sets the consent
/// cookie so it takes effect from the next response. Withdrawing functional consent removes the
/// theme cookie at once.
pub async fn save_from_request(choices: Choices, method: Method) -> Result<(), FormError> {
    let (state, client) = guard::request()?;
    let request = consent_request()?;
    let user = guard::user().ok();
    let consent_id = request.cookie.map_or_else(Uuid::new_v4, |c| c.id);
    let entry = Entry {
        choices,
        gpc: request.gpc,
        method,
        user_agent: &client.user_agent,
        now: state.clock.now(),
    };
    let subject = match &user {
        Some(user) => Subject::Account(user.owner_id()),
        None => Subject::Browser(consent_id),
    };
    // Only GPC records are ever skipped, so a choice always has its version.
    let policy_version = append(&state, subject, &entry, &client)
        .await?
        .unwrap_or_default();
    let cookie = ConsentCookie {
        id: consent_id,
        policy_version,
        choice: Some(choices),
    };
    add_cookie(set_cookie(
        &state,
        CONSENT_COOKIE,
        &cookie.encode(&state.key_encryption_key),
    ));
    if !choices.functional {
        add_cookie(Some(remove_cookie(THEME_COOKIE)));
    }
    tracing::info!(
        method = method.as_str(),
        signed_in = user.is_some(),
        "consent recorded"
    );
    Ok(())
}

/// Writes the theme cookie when the browser has functional consent; otherwise writes nothing
/// (and removes a theme cookie left from before). Returns whether the theme was remembered.
pub fn save_theme(theme: Theme) -> Result<bool, FormError> {
    let (state, _) = guard::request()?;
    let request = consent_request()?;
    let allowed = request.page(Vec::new()).effective().functional;
    if allowed {
        add_cookie(set_cookie(&state, THEME_COOKIE, theme.as_str()));
    } else if cookie_value(&guard::parts()?.headers, THEME_COOKIE).is_some() {
        add_cookie(Some(remove_cookie(THEME_COOKIE)));
    }
    Ok(allowed)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeyEncryptionKey {
        crate::platform::keys::from_setting(
            &base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        )
        .unwrap()
    }

    #[test]
    fn a_signed_cookie_reads_back_and_any_change_is_refused() {
        let cookie = ConsentCookie {
            id: Uuid::new_v4(),
            policy_version: 3,
            choice: Some(Choices {
                functional: true,
                analytics: false,
                sale_share_opt_out: true,
            }),
        };
        let value = cookie.encode(&key());
        assert_eq!(ConsentCookie::decode(&value, &key()), Some(cookie));
        let forged = value.replacen(".101.", ".111.", 1);
        assert_ne!(forged, value);
        assert_eq!(ConsentCookie::decode(&forged, &key()), None);
        for junk in [
            "",
            "x",
            "a.b.c.d",
            &value[..value.len() - 2],
            &format!("{value}.x"),
        ] {
            assert_eq!(ConsentCookie::decode(junk, &key()), None, "{junk:?}");
        }
        let none_yet = ConsentCookie {
            choice: None,
            ..cookie
        };
        assert_eq!(
            ConsentCookie::decode(&none_yet.encode(&key()), &key()),
            Some(none_yet)
        );
    }

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(
            local_path(Some("/privacy?cookie-settings=open")),
            "/privacy"
        );
        assert_eq!(
            local_path(Some("/a?x=1&cookie-settings=open&theme=dark")),
            "/a?x=1"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil",
            "javascript:x",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn gpc_wins_over_an_opt_in_for_sale_and_analytics() {
        let page = PageConsent {
            choice: Some(Choices::ACCEPT_ALL),
            gpc: true,
            ..PageConsent::default()
        };
        let effective = page.effective();
        assert!(effective.functional);
        assert!(!effective.analytics);
        assert!(effective.sale_share_opt_out);
    }
}
