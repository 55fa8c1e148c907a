//! Response hardening (promises P13, P14): security headers with a per-response CSP nonce,
//! no caching of pages, refusal of cross-site state changes, and form errors in a page's
//! address shown only when this server put them there. Also who is asking: the client and the
//! signed-in person of each request.

use std::{net::SocketAddr, sync::Arc};

use app::{
    apps::model::{is_share_path, is_upload_path, loggable_path, DISCOVER_CACHE_SECONDS},
    discover::model::is_gallery_path,
    is_protected,
    platform::{
        app_hosts::AppHosts,
        client::{cookie_value, ClientInfo},
        http::{is_html, is_page_request, RequestKind},
        keys::{constant_time_eq, Derived},
        session::{authenticate, keep_cookie_lifetime, Authentication, CurrentUser},
        state::AppState,
    },
};
use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use leptos::nonce::Nonce;
use tokio::sync::Semaphore;
use tower_sessions::Session;
use url::Url;

/// What the hardening depends on: the site's own origin and whether it is served over https.
#[derive(Clone)]
pub struct SitePolicy {
    pub origin: String,
    pub https: bool,
    /// Where the site's pages may frame content from: the apps' own origins, never its own.
    pub frame_source: String,
}

impl SitePolicy {
    pub fn new(public_url: &Url, app_hosts: &AppHosts) -> Self {
        Self {
            origin: public_url.origin().ascii_serialization(),
            https: public_url.scheme() == "https",
            frame_source: app_hosts.frame_source(),
        }
    }

    /// The session cookie's name; the `__Host-` prefix (https only) pins it to this origin.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.https {
            "__Host-custodian_session"
        } else {
            "custodian_session"
        }
    }
}

/// A request made for a person: a page, a protected page, a server function or a receipt.
/// Static files are not, so they skip the session lookup and the consent cookie.
fn acts_for_person(request: &Request) -> bool {
    let path = request.uri().path();
    is_protected(path)
        || path.starts_with("/api/")
        || path.starts_with("/privacy/receipts/")
        || is_page_request(request)
}

/// Tells later layers what kind of request this is (`RequestKind`).
fn classify(request: &Request) -> RequestKind {
    RequestKind {
        for_person: acts_for_person(request),
        page_view: is_page_request(request),
    }
}

/// Puts the client and the signed-in person (if any) into the request, ends sessions that have
/// run out, and sends signed-out visitors of protected pages to sign in, saying why and
/// remembering where they were going.
pub async fn identify(
    State((state, policy)): State<(AppState, SitePolicy)>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |info| info.0);
    let client = ClientInfo::from_request(peer, request.headers(), &state.trusted_proxies);
    request.extensions_mut().insert(client);
    let kind = classify(&request);
    request.extensions_mut().insert(kind);

    // Every page reads the session: the policy-review banner and the Privacy page are per person.
    let needs_user = kind.for_person;
    let cookie_present = cookie_value(request.headers(), policy.session_cookie_name()).is_some();
    let mut ended = None;
    let session = request.extensions().get::<Session>().cloned();
    if let Some(session) = session.filter(|_| needs_user) {
        match authenticate(&state, &session, cookie_present).await {
            Ok(Authentication::SignedIn(user)) => {
                request.extensions_mut().insert(user);
            }
            Ok(Authentication::Ended(reason)) => ended = Some(reason),
            Ok(Authentication::Anonymous) => {}
            Err(error) => {
                // The session lives in the person's region: when that region's database cannot
                // be reached, the request stops here, and is never served from another region.
                tracing::error!(%error, "could not read the session");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::response::Html(REGION_UNAVAILABLE),
                )
                    .into_response();
            }
        }
    }

    let scheduled = request
        .extensions()
        .get::<CurrentUser>()
        .is_some_and(|user| user.deletion_due().is_some());
    if scheduled && !app::reachable_while_deletion_is_scheduled(request.uri().path()) {
        return locked_for_deletion(&request);
    }
    let signed_out = request.extensions().get::<CurrentUser>().is_none();
    let is_page_view = matches!(*request.method(), Method::GET | Method::HEAD);
    if signed_out && is_page_view && is_protected(request.uri().path()) {
        let wanted = request.uri().path_and_query().map_or("/", |p| p.as_str());
        let mut target = format!(
            "/signin?next={}",
            url::form_urlencoded::byte_serialize(wanted.as_bytes()).collect::<String>()
        );
        if let Some(reason) = ended {
            target.push_str("&reason=");
            target.push_str(reason.as_query());
        }
        return Redirect::to(&target).into_response();
    }
    let session = request.extensions().get::<Session>().cloned();
    let response = next.run(request).await;
    if let Some(session) = session {
        keep_cookie_lifetime(&session).await;
    }
    response
}

/// The answer to an account scheduled for deletion asking for anything but the page that
/// cancels it: pages lead there, everything else is refused.
fn locked_for_deletion(request: &Request) -> Response {
    if is_page_request(request) {
        return Redirect::to(app::DELETION_PAGE).into_response();
    }
    // The error a server function would give, so that a page shows it where it shows others.
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"Page":"Your account is scheduled for deletion: only cancelling the deletion and signing out are possible."}"#,
    )
        .into_response()
}

pub fn content_security_policy(nonce: &str, frame_source: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         worker-src 'self'; frame-src {frame_source}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Mints the nonce the page's scripts will carry (the router hands it to Leptos from the request
/// extensions) and sets the security headers on every response.
pub async fn security_headers(
    State(policy): State<SitePolicy>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let is_server_function = request.uri().path().starts_with("/api/");
    let reached_by_link = is_share_path(request.uri().path());
    // Discover's pages asked for without any cookie show nothing personal: the same for all.
    let public_page = is_gallery_path(request.uri().path())
        && request.method() == Method::GET
        && !request.headers().contains_key(header::COOKIE);
    let mut response = next.run(request).await;

    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(
        "content-security-policy",
        &content_security_policy(&nonce, &policy.frame_source),
    );
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    // Other sites learn nothing; our own form posts carry the page they came from, which is
    // where a form without JavaScript returns to with its error.
    set("referrer-policy", "same-origin");
    if reached_by_link {
        // A share link's page: its address is the secret, so it goes nowhere, and no search
        // engine lists what it opens.
        set("referrer-policy", "no-referrer");
        set("x-robots-tag", "noindex, nofollow");
    }
    set(
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()",
    );
    set("cross-origin-opener-policy", "same-origin");
    set("cross-origin-resource-policy", "same-origin");
    if policy.https {
        set(
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        );
    }
    let shareable = public_page
        && response.status() == StatusCode::OK
        && !response.headers().contains_key(header::SET_COOKIE);
    if shareable {
        // An unpublished app leaves every copy within this time, as the page says. Private: the
        // page carries this response's CSP nonce, which no shared cache should hand to others.
        let cache = format!("private, max-age={DISCOVER_CACHE_SECONDS}");
        if let Ok(value) = HeaderValue::from_str(&cache) {
            response.headers_mut().insert(header::CACHE_CONTROL, value);
        }
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Cookie"));
    } else if is_server_function || is_html(response.headers()) {
        // Pages can show a signed-in person's data; no browser or proxy cache may keep them.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn form_error_mac(state: &AppState, path: &str, error: &str) -> String {
    let message = format!("{path}\0{error}");
    let mac = state
        .key_encryption_key
        .mac(Derived::FormErrorMac, message.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac[..16])
}

/// The whole answer while a person's data region cannot be reached (promise P11: no fallback).
const REGION_UNAVAILABLE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Your data region is unavailable</title></head><body><main><h1>Your data region is \
unavailable</h1><p>The database that holds your account is not answering right now. Your data \
stays where it is and is never served from another region. Try again in a few minutes.</p>\
</main></body></html>";

const ERROR_KEYS: [&str; 3] = ["__path", "__err", "__errmac"];

/// Whether a query's form error (Leptos' `__path` and `__err`, for forms posted without
/// JavaScript) carries this server's MAC. True when there is none.
fn form_error_is_ours(state: &AppState, query: &str) -> bool {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    match (value("__err"), value("__path")) {
        (None, None) => true,
        (Some(error), Some(path)) => {
            let expected = form_error_mac(state, path, error);
            value("__errmac")
                .is_some_and(|mac| constant_time_eq(mac.as_bytes(), expected.as_bytes()))
        }
        _ => false,
    }
}

/// The query without any form error.
fn without_form_error(query: &str) -> String {
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if !ERROR_KEYS.contains(&key.as_ref()) {
            kept.append_pair(&key, &value);
        }
    }
    kept.finish()
}

/// Adds this server's MAC to the form error a server function's redirect carries. The server
/// function appends its error to the page it came from (the Referer, which the client chose):
/// only the last error is the server's, and any earlier one is dropped unsigned.
fn sign_form_error(state: &AppState, location: &str) -> Option<String> {
    let base = url::Url::parse("http://probe.invalid/").ok()?;
    let mut url = base.join(location).ok()?;
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let value = |key: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let (error, path) = (value("__err")?, value("__path")?);
    url.query_pairs_mut()
        .clear()
        .extend_pairs(
            pairs
                .iter()
                .filter(|(k, _)| !ERROR_KEYS.contains(&k.as_str())),
        )
        .append_pair("__path", &path)
        .append_pair("__err", &error)
        .append_pair("__errmac", &form_error_mac(state, &path, &error));
    Some(if location.starts_with('/') {
        format!("{}?{}", url.path(), url.query().unwrap_or_default())
    } else {
        url.to_string()
    })
}

/// The error a form posted without JavaScript brings back in the page's address is shown only
/// when this server put it there: otherwise a crafted link could make our page say anything.
/// Pages asked for with a forged or unsigned error are sent to the same address without it.
pub async fn signed_form_errors(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method().is_safe() {
        if let Some(query) = request.uri().query() {
            if !form_error_is_ours(&state, query) {
                let kept = without_form_error(query);
                let path = request.uri().path();
                let target = if kept.is_empty() {
                    path.to_owned()
                } else {
                    format!("{path}?{kept}")
                };
                let target = app::platform::paths::local_path_or(Some(&target), "/");
                return Redirect::to(&target).into_response();
            }
        }
    }
    let server_function = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    if server_function {
        let signed = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|location| location.contains("__err="))
            .and_then(|location| sign_form_error(&state, location))
            .and_then(|location| HeaderValue::from_str(&location).ok());
        if let Some(location) = signed {
            response.headers_mut().insert(header::LOCATION, location);
        }
    }
    response
}

/// The largest request bodies: any request's, and an app upload's, which only a same-origin
/// request with a session cookie may send, a few at a time in the whole server.
#[derive(Clone)]
pub struct BodyLimits {
    pub any: usize,
    pub upload: usize,
    pub uploads_at_once: Arc<Semaphore>,
    pub policy: SitePolicy,
}

/// Reads the request body up to its limit before any handler sees it: a larger body (by its
/// Content-Length, or once it has sent that much) is answered 413 at once, whatever reads it
/// later. An upload's larger limit holds only for a same-origin request that carries a session
/// cookie, and only while one of the server's upload slots is free (else 503).
pub async fn limit_body(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let upload = request.method() == Method::POST
        && is_upload_path(request.uri().path())
        && is_same_origin(&limits.policy, request.headers())
        && cookie_value(request.headers(), limits.policy.session_cookie_name()).is_some();
    let (limit, _slot) = if upload {
        match limits.uploads_at_once.clone().try_acquire_owned() {
            Ok(slot) => (limits.upload, Some(slot)),
            Err(_) => {
                let busy = "The server is taking other uploads; try again in a moment.";
                return (StatusCode::SERVICE_UNAVAILABLE, busy).into_response();
            }
        }
    } else {
        (limits.any, None)
    };
    let too_large = || (StatusCode::PAYLOAD_TOO_LARGE, "The request is too large.").into_response();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(error) => {
            let over = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if over {
                too_large()
            } else {
                tracing::info!(%error, "could not read a request body");
                (StatusCode::BAD_REQUEST, "The request could not be read.").into_response()
            }
        }
    }
}

/// Refuses any state-changing request that a browser marks as coming from another site
/// (CSRF). Safe methods pass: nothing changes state on GET.
pub async fn reject_cross_site(
    State(policy): State<SitePolicy>,
    request: Request,
    next: Next,
) -> Response {
    if request.method().is_safe() || is_same_origin(&policy, request.headers()) {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), path = %loggable_path(request.uri().path()), "refused a cross-site request");
        (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response()
    }
}

fn is_same_origin(policy: &SitePolicy, headers: &HeaderMap) -> bool {
    let value = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    // Sec-Fetch-Site is set by the browser and cannot be forged by a page.
    if let Some(site) = value("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match value("origin") {
        Some(origin) => origin == policy.origin || origin_matches_host(origin, value("host")),
        // No browser metadata at all: not a browser request, so not a CSRF vector.
        None => true,
    }
}

fn origin_matches_host(origin: &str, host: Option<&str>) -> bool {
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SitePolicy {
        let url = Url::parse("https://custodian.example").unwrap();
        SitePolicy::new(&url, &AppHosts::new(&url, None).unwrap())
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present_then_origin() {
        let cases: [(&[(&'static str, &'static str)], bool); 9] = [
            (&[("sec-fetch-site", "same-origin")], true),
            (&[("sec-fetch-site", "none")], true),
            (&[("sec-fetch-site", "same-site")], false),
            (
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "https://custodian.example"),
                ],
                false,
            ),
            (&[("origin", "https://custodian.example")], true),
            (
                &[
                    ("origin", "http://localhost:3000"),
                    ("host", "localhost:3000"),
                ],
                true,
            ),
            (&[("origin", "https://evil.example")], false),
            (&[("origin", "null")], false),
            (
                &[
                    ("origin", "https://evil.example"),
                    ("host", "custodian.example"),
                ],
                false,
            ),
        ];
        for (pairs, expected) in cases {
            assert_eq!(
                is_same_origin(&policy(), &headers(pairs)),
                expected,
                "{pairs:?}"
            );
        }
    }
}
