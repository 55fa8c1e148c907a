//! Consent on the server (promise P6): the signed consent cookie and the theme cookie that
//! only functional consent may write, what each request says about consent, and a choice made
//! on a page taking effect. The ledger the choices go to is `ledger`.

use axum::http::{header, HeaderMap, HeaderValue};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use leptos::prelude::use_context;
use sha2::Sha256;
use uuid::Uuid;

use super::{
    ledger::{append, AccountSignals, Entry, Method, Subject, GPC_HOLDS},
    PrivacyError,
};
use crate::{
    platform::{
        client::cookie_value,
        context::Visitor,
        keys::{Derived, KeyEncryptionKey},
        state::AppState,
    },
    privacy::model::{Choices, PageConsent, PolicyNotice, Theme},
};

/// The essential cookie that remembers the browser's consent id and choice. Over https it
/// carries the `__Host-` prefix, which binds it to this origin (Secure, no Domain, Path=/).
pub fn consent_cookie(https: bool) -> &'static str {
    if https {
        "__Host-custodian_consent"
    } else {
        "custodian_consent"
    }
}

/// The functional cookie that remembers the theme; written only with functional consent.
pub fn theme_cookie(https: bool) -> &'static str {
    if https {
        "__Host-custodian_theme"
    } else {
        "custodian_theme"
    }
}

fn https(state: &AppState) -> bool {
    state.public_url.scheme() == "https"
}

/// Both cookies last a year, after which the banner asks again.
const COOKIE_MAX_AGE_SECONDS: i64 = 365 * 24 * 60 * 60;
const MAC_LEN: usize = 16;
/// What the consent cookie holds: the browser's random consent id, and its choice with the
/// cookie-policy version it answered (none yet when only GPC was recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentCookie {
    pub id: Uuid,
    pub policy_version: i32,
    pub choice: Option<Choices>,
}

fn cookie_mac(key: &KeyEncryptionKey, payload: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.derive(Derived::ConsentCookieMac))
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
    /// What applies to the signed-in account on every device (set by the middleware).
    pub account: AccountSignals,
    /// The signed-in account's processing is restricted: it is not counted.
    pub restricted: bool,
}

impl ConsentRequest {
    pub fn read(
        headers: &HeaderMap,
        query: Option<&str>,
        key: &KeyEncryptionKey,
        https: bool,
    ) -> Self {
        let cookie = cookie_value(headers, consent_cookie(https)).and_then(|v| {
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
            .or_else(|| cookie_value(headers, theme_cookie(https)).and_then(Theme::parse))
            .unwrap_or_default();
        Self {
            cookie,
            gpc,
            theme,
            account: AccountSignals::default(),
            restricted: false,
        }
    }

    pub fn page(&self, reviews: Vec<PolicyNotice>) -> PageConsent {
        PageConsent {
            choice: self.cookie.and_then(|c| c.choice),
            gpc: self.gpc,
            theme: self.theme,
            reviews,
            account_gpc_until: self
                .account
                .gpc_since
                .map(|since| (since + GPC_HOLDS).date().to_string()),
            account_sale_opt_out: self.account.sale_share_opt_out,
        }
    }

    /// Whether this request may be counted by the analytics: with consent, without GPC (the
    /// browser's or the account's), and not for an account whose processing is restricted.
    pub fn analytics_allowed(&self) -> bool {
        self.page(Vec::new()).effective().analytics && !self.restricted
    }
}

/// A Set-Cookie value for one of the consent area's cookies; Secure when the site is https.
pub fn set_cookie(state: &AppState, name: &str, value: &str) -> Option<HeaderValue> {
    let secure = if https(state) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={COOKIE_MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// A Set-Cookie value that removes one of the consent area's cookies (Secure when the site is
/// https: a browser ignores a `__Host-` cookie without it, removal included).
pub fn remove_cookie(state: &AppState, name: &str) -> Option<HeaderValue> {
    let secure = if https(state) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// The choice a form submitted: accept all, reject all, or the switches as set.
pub fn parse_choice(
    choice: &str,
    functional: bool,
    analytics: bool,
    sale_share_opt_out: bool,
) -> Result<Choices, PrivacyError> {
    match choice {
        "accept" => Ok(Choices::ACCEPT_ALL),
        "reject" => Ok(Choices::REJECT_ALL),
        "custom" => Ok(Choices {
            functional,
            analytics,
            sale_share_opt_out,
        }),
        _ => Err(PrivacyError::UnknownChoice),
    }
}

/// The page to return to after a choice: a path on this site by the one strict rule of
/// `platform::paths` (anything else returns home), without the query keys that opened the
/// banner or carried a page-only theme.
pub fn back_path(back: Option<&str>) -> String {
    let path = crate::platform::paths::local_path_or(back, "/");
    strip_query_key(&path, "cookie-settings")
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

/// What the middleware read about consent from the visitor's request.
fn consent_request(visitor: &Visitor) -> ConsentRequest {
    visitor
        .parts()
        .and_then(|parts| parts.extensions.get::<ConsentRequest>().copied())
        .unwrap_or_default()
}

fn add_cookie(value: Option<HeaderValue>) {
    if let (Some(value), Some(response)) = (value, use_context::<leptos_axum::ResponseOptions>()) {
        response.append_header(header::SET_COOKIE, value);
    }
}

/// Records a choice for the visitor (the signed-in person, or this browser), and sets the
/// consent cookie so it takes effect from the next response. Withdrawing functional consent
/// removes the theme cookie at once.
pub async fn save_from_request(
    visitor: &Visitor,
    choices: Choices,
    method: Method,
) -> Result<(), PrivacyError> {
    let state = visitor.state();
    let request = consent_request(visitor);
    let consent_id = request.cookie.map_or_else(Uuid::new_v4, |c| c.id);
    let entry = Entry {
        choices,
        gpc: request.gpc,
        method,
        user_agent: &visitor.client().user_agent,
        now: visitor.now(),
    };
    let subject = match visitor.user() {
        Some(user) => Subject::Account(user.tenant()),
        None => Subject::Browser(consent_id),
    };
    // Only GPC records are ever skipped, so a choice always has its version.
    let policy_version = append(visitor, subject, &entry).await?.unwrap_or_default();
    let cookie = ConsentCookie {
        id: consent_id,
        policy_version,
        choice: Some(choices),
    };
    add_cookie(set_cookie(
        state,
        consent_cookie(https(state)),
        &cookie.encode(&state.key_encryption_key),
    ));
    if !choices.functional {
        add_cookie(remove_cookie(state, theme_cookie(https(state))));
    }
    tracing::info!(
        method = method.as_str(),
        signed_in = visitor.user().is_some(),
        "consent recorded"
    );
    Ok(())
}

/// Writes the theme cookie when the browser has functional consent; otherwise writes nothing
/// (and removes a theme cookie left from before). Returns whether the theme was remembered.
pub fn save_theme(visitor: &Visitor, theme: Theme) -> bool {
    let state = visitor.state();
    let allowed = consent_request(visitor)
        .page(Vec::new())
        .effective()
        .functional;
    let name = theme_cookie(https(state));
    if allowed {
        add_cookie(set_cookie(state, name, theme.as_str()));
    } else if visitor
        .parts()
        .is_some_and(|parts| cookie_value(&parts.headers, name).is_some())
    {
        add_cookie(remove_cookie(state, name));
    }
    allowed
}

/// After a sign-in: the browser's consent id changes (its earlier records were just linked to
/// the account), so records this browser makes later are not joined to whoever signs in next.
/// The choice itself stays.
pub fn rotate_browser_id(visitor: &Visitor) {
    if visitor.client().consent_id.is_none() {
        return;
    }
    if let Some(cookie) = consent_request(visitor).cookie {
        let state = visitor.state();
        let rotated = ConsentCookie {
            id: Uuid::new_v4(),
            ..cookie
        };
        add_cookie(set_cookie(
            state,
            consent_cookie(https(state)),
            &rotated.encode(&state.key_encryption_key),
        ));
    }
}

/// At sign-out: the browser forgets its consent id and theme, with every other cookie (the
/// response also sends Clear-Site-Data, which not every browser honors).
pub fn forget_browser(state: &AppState) {
    add_cookie(remove_cookie(state, consent_cookie(https(state))));
    add_cookie(remove_cookie(state, theme_cookie(https(state))));
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
        assert_eq!(back_path(Some("/privacy?cookie-settings=open")), "/privacy");
        assert_eq!(
            back_path(Some("/a?x=1&cookie-settings=open&theme=dark")),
            "/a?x=1"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil",
            "/\t/evil.example",
            "javascript:x",
        ] {
            assert_eq!(back_path(Some(bad)), "/", "{bad}");
        }
        assert_eq!(back_path(None), "/");
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
