//! Response hardening (promises P13, P14): security headers with a per-response CSP nonce,
//! no caching of pages, and refusal of cross-site state changes.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::nonce::Nonce;
use url::Url;

/// What the hardening depends on: the site's own origin and whether it is served over https.
#[derive(Clone)]
pub struct SitePolicy {
    pub origin: String,
    pub https: bool,
}

impl SitePolicy {
    pub fn new(public_url: &Url) -> Self {
        Self {
            origin: public_url.origin().ascii_serialization(),
            https: public_url.scheme() == "https",
        }
    }
}

pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
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
    let mut response = next.run(request).await;

    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("content-security-policy", &content_security_policy(&nonce));
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    set("referrer-policy", "no-referrer");
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
    if is_server_function || is_html(response.headers()) {
        // Pages can show a signed-in person's data; no browser or proxy cache may keep them.
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
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
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "refused a cross-site request");
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
        SitePolicy::new(&Url::parse("https://custodian.example").unwrap())
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
