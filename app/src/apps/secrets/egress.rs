//! The egress endpoint on an app's own origin: `/_t/<token>/_egress/<NAME>/<path>`. The app's
//! script calls it relative to its page; the server checks the view's token as for any file,
//! opens the secret, sends the request to the secret's host with the secret attached, and
//! streams the answer back. The value never reaches the browser, and each use is counted.

use axum::{
    body::Body,
    extract::Request,
    http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use futures_util::{stream, StreamExt as _};
use time::OffsetDateTime;

use super::{
    connections::{self, RefreshError},
    model::{Placement, EGRESS_HOST_HEADER, EGRESS_SEGMENT},
    scrub::Scrubber,
    store::Lock,
    service::{self, parse_hosts, placement_of, SecretName, SecretsError},
    store,
};
use crate::{
    apps::{
        model::APP_SECRET_USED,
        service::origin::{self, Admission, Reader},
    },
    platform::{
        audit, clock::to_minute, crypto::CryptoError, db::TenantTx, error::InfraError, ids::AppId,
        outbound::PrivateAddress, state::AppState,
    },
};

/// The largest request body an app may send through egress.
pub const REQUEST_BYTES: usize = 1024 * 1024;
/// How long the app's request body may take to arrive.
const BODY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// The largest answer egress passes back.
pub const ANSWER_BYTES: u64 = 10 * 1024 * 1024;

/// Whether a path under an app's view (after `/_t/<token>/`) is an egress call.
pub fn is_egress(rest: &str) -> bool {
    rest.strip_prefix(EGRESS_SEGMENT)
        .is_some_and(|after| after.starts_with('/'))
}

/// Why an egress call was not passed on: each a status and a plain text that names no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Method,
    Closed,
    Expired,
    NoSuchSecret,
    HostNotListed,
    TooLarge,
    PrivateAddress,
    Unreachable,
    TimedOut,
    AnswerTooLarge,
    Redirect,
    RefreshFailed,
    SlowRequest,
    Unsealable,
    Unavailable,
}

impl Refusal {
    fn answer(self) -> Response {
        let (status, text) = match self {
            Self::Method => (StatusCode::METHOD_NOT_ALLOWED, "Egress passes on GET, HEAD, POST, PUT, PATCH and DELETE only."),
            Self::Closed => (StatusCode::NOT_FOUND, "There is no app here."),
            Self::Expired => (StatusCode::FORBIDDEN, "This view of the app has expired. Open the app again from where you found it."),
            Self::NoSuchSecret => (StatusCode::NOT_FOUND, "This app has no secret of that name."),
            Self::HostNotListed => (StatusCode::FORBIDDEN, "That host is not one this secret may be sent to."),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "The request is larger than 1 MB."),
            Self::PrivateAddress => (StatusCode::FORBIDDEN, "The secret's host has a private address; egress reaches public hosts only."),
            Self::Unreachable => (StatusCode::BAD_GATEWAY, "The secret's host could not be reached."),
            Self::TimedOut => (StatusCode::BAD_GATEWAY, "The secret's host did not answer in time."),
            Self::AnswerTooLarge => (StatusCode::BAD_GATEWAY, "The host's answer is larger than 10 MB."),
            Self::Redirect => (StatusCode::BAD_GATEWAY, "The host answered with a redirect, which egress does not follow."),
            Self::RefreshFailed => (StatusCode::BAD_GATEWAY, "The connection's token could not be refreshed at its service; its owner should connect it again."),
            Self::SlowRequest => (StatusCode::REQUEST_TIMEOUT, "The request's body took too long to arrive."),
            Self::Unsealable => (StatusCode::BAD_GATEWAY, "The secret could not be opened; its owner should replace its value."),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "The app cannot be reached right now."),
        };
        (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
    }
}

/// Answers a call to `_egress/...` (`rest`) under `app`'s view `token`.
pub async fn serve(state: &AppState, app: AppId, token: &str, rest: &str, request: Request) -> Response {
    if request.method() == Method::OPTIONS {
        return preflight();
    }
    match pass_on(state, app, token, rest, request).await {
        Ok(response) => response,
        Err(refusal) => refusal.answer(),
    }
}

/// The answer to a browser's CORS preflight: the app's document has an opaque origin, so every
/// call with a body or a header of its own is asked about first.
fn preflight() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE"),
    );
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

async fn pass_on(
    state: &AppState,
    app: AppId,
    token: &str,
    rest: &str,
    request: Request,
) -> Result<Response, Refusal> {
    let method = request.method().clone();
    if ![Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE]
        .contains(&method)
    {
        return Err(Refusal::Method);
    }
    let after = rest.strip_prefix(EGRESS_SEGMENT).unwrap_or_default();
    let (name, path) = after
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((after.trim_start_matches('/'), ""));
    let name = SecretName::parse(name).map_err(|_| Refusal::NoSuchSecret)?;
    // The app's body first, bounded in size and time, before any database connection is held.
    let (parts, body) = request.into_parts();
    let body = tokio::time::timeout(BODY_WAIT, axum::body::to_bytes(body, REQUEST_BYTES))
        .await
        .map_err(|_| Refusal::SlowRequest)?
        .map_err(|_| Refusal::TooLarge)?;
    let mut tx = owner_transaction(state, app, token).await?;
    let (secret, value) = match service::opened(state, &mut tx, app, &name, Lock::None).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(Refusal::NoSuchSecret),
        Err(error) => return Err(not_opened(app, &name, error)),
    };
    let host = match parts.headers.get(EGRESS_HOST_HEADER) {
        // Another of the secret's hosts, named as the page lists it.
        Some(asked) => asked
            .to_str()
            .ok()
            .and_then(|asked| parse_hosts(asked).ok())
            .filter(|asked| asked.len() == 1 && secret.hosts.contains(&asked[0]))
            .and_then(|mut asked| asked.pop())
            .ok_or(Refusal::HostNotListed)?,
        None => secret.hosts.first().cloned().ok_or(Refusal::HostNotListed)?,
    };
    let mut target = url::Url::parse(&format!("{host}/{path}")).map_err(|_| Refusal::HostNotListed)?;
    // A stored host is a name (the form refuses addresses); an address would skip the resolver
    // that keeps private networks out.
    if !service::is_named_https(&target) {
        return Err(Refusal::HostNotListed);
    }
    target.set_query(parts.uri.query());
    let placement = placement_of(&secret.placement, &secret.placement_name);
    if let Placement::Query(parameter) = &placement {
        let kept: Vec<(String, String)> = target
            .query_pairs()
            .filter(|(key, _)| key != parameter)
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        target.query_pairs_mut().clear().extend_pairs(kept).append_pair(parameter, &value);
    }
    // The path must not lead anywhere else than the host the secret may go to.
    if target.origin().ascii_serialization() != host {
        return Err(Refusal::HostNotListed);
    }
    // Every check passed: a connection's token about to expire is refreshed now, in a task
    // and a transaction of its own, so that new tokens are kept even if this call goes no
    // further (a service that rotates refresh tokens would not accept the old one again).
    let value = if connections::due(secret.access_expires_at, state.clock.now()) {
        let refresh = connections::refresh_if_due(state.clone(), tx.tenant(), app, name.clone());
        match tokio::spawn(refresh).await {
            Ok(Ok(value)) => value,
            Ok(Err(RefreshError::Refused(failure))) => {
                tracing::info!(%app, secret = name.as_str(), ?failure, "a connection's token was not refreshed");
                return Err(Refusal::RefreshFailed);
            }
            Ok(Err(RefreshError::Secrets(error))) => return Err(not_opened(app, &name, error)),
            Err(error) => return Err(unavailable(&error)),
        }
    } else {
        value
    };
    record_use(state, &mut tx, app, &name).await?;
    tx.commit().await.map_err(|error| unavailable(&error))?;

    let mut headers = forwarded_headers(&parts.headers);
    match &placement {
        Placement::Bearer => {
            let bearer = HeaderValue::from_str(&format!("Bearer {value}")).map_err(|_| Refusal::Unsealable)?;
            headers.insert(header::AUTHORIZATION, sensitive(bearer));
        }
        Placement::Header(name) => {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| Refusal::Unsealable)?;
            let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| Refusal::Unsealable)?;
            headers.insert(name, sensitive(value));
        }
        Placement::Query(_) => {}
    }
    let sent = state
        .outbound
        .client()
        .request(method, target)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let upstream = match sent {
        Ok(upstream) => upstream,
        Err(error) => return Err(failed(app, &name, error)),
    };
    if upstream.content_length().is_some_and(|length| length > ANSWER_BYTES) {
        return Err(Refusal::AnswerTooLarge);
    }
    // A redirect's Location could carry the value (a key sent in the query) to the app.
    if upstream.status().is_redirection() && upstream.status() != StatusCode::NOT_MODIFIED {
        return Err(Refusal::Redirect);
    }
    Ok(answer(upstream, &value))
}

/// The owner's transaction for reading the secret, once the view is admitted: the view's own
/// when it already acts for the owner (the owner's view, a share link), else a new one.
async fn owner_transaction(state: &AppState, app: AppId, token: &str) -> Result<TenantTx, Refusal> {
    let admission = origin::admit(state, app, token)
        .await
        .map_err(|error| unavailable(&error))?;
    let (tenant, reader) = match admission {
        Admission::Open { tenant, reader, .. } => (tenant, reader),
        Admission::Expired => return Err(Refusal::Expired),
        Admission::Closed => return Err(Refusal::Closed),
    };
    match reader {
        Reader::Tenant(tx) if tx.owner_id() == tenant.owner_id => Ok(tx),
        other => {
            other.commit().await.map_err(|error| unavailable(&error))?;
            TenantTx::begin(&state.regions, tenant)
                .await
                .map_err(|error| unavailable(&error))
        }
    }
}

/// Counts the use; the hour's first use of each secret goes to the owner's security log.
async fn record_use(state: &AppState, tx: &mut TenantTx, app: AppId, name: &SecretName) -> Result<(), Refusal> {
    let now = state.clock.now();
    let hour = hour_of(now);
    let first = store::count_use(tx, app, name.as_str(), hour, now)
        .await
        .map_err(|error| unavailable(&error))?;
    if first {
        let detail = format!(
            "{} on app {app}, from {} (the app's page counts every use)",
            name.as_str(),
            to_minute(hour)
        );
        audit::record_unattributed(tx, &state.key_encryption_key, APP_SECRET_USED, &detail, now)
            .await
            .map_err(|error| unavailable(&error))?;
    }
    Ok(())
}

/// A sealed value that did not open, or the store failing.
fn not_opened(app: AppId, name: &SecretName, error: SecretsError) -> Refusal {
    match error {
        SecretsError::Infra(InfraError::Crypto(CryptoError::Unsealable)) => {
            tracing::warn!(%app, secret = name.as_str(), "a stored secret does not open");
            Refusal::Unsealable
        }
        error => unavailable(&error),
    }
}

fn unavailable(error: &dyn std::fmt::Display) -> Refusal {
    tracing::error!(%error, "an egress call could not be made");
    Refusal::Unavailable
}

/// Why the request to the host failed, logged without its address (which may carry the value
/// in its query).
fn failed(app: AppId, name: &SecretName, error: reqwest::Error) -> Refusal {
    let error = error.without_url();
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(cause) = source {
        if cause.is::<PrivateAddress>() {
            tracing::info!(%app, secret = name.as_str(), "egress refused: the host's address is private");
            return Refusal::PrivateAddress;
        }
        source = cause.source();
    }
    tracing::info!(%app, secret = name.as_str(), error = %error, "egress could not reach the host");
    if error.is_timeout() {
        Refusal::TimedOut
    } else {
        Refusal::Unreachable
    }
}

/// Headers the app may send on: what a request says about its body and the answer it wants,
/// and headers of its own (`X-…`). Never cookies, credentials or forwarding headers.
fn forwarded_headers(incoming: &HeaderMap) -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in incoming {
        let name_text = name.as_str();
        let passes = matches!(name_text, "content-type" | "accept" | "accept-language")
            || (name_text.starts_with("x-")
                && name_text != EGRESS_HOST_HEADER
                && !PROXY_HEADERS.iter().any(|proxy| name_text.starts_with(proxy)));
        if passes {
            headers.append(name.clone(), value.clone());
        }
    }
    headers
}

/// Headers a reverse proxy in front of the server adds (the visitor's address, among others) or
/// that change what a request means: never passed on.
const PROXY_HEADERS: &[&str] = &[
    "x-forwarded",
    "x-real-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "x-original-",
    "x-envoy-",
    "x-amzn-",
    "x-request-id",
    "x-http-method",
];

fn sensitive(mut value: HeaderValue) -> HeaderValue {
    value.set_sensitive(true);
    value
}

/// Headers of the host's answer that are the connection's own or that this origin sets itself.
const DROPPED_ANSWER_HEADERS: &[&str] = &[
    "set-cookie",
    "set-cookie2",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "trailer",
    "proxy-authenticate",
    "alt-svc",
    "strict-transport-security",
    "content-security-policy",
    "content-security-policy-report-only",
];

/// The host's answer as the app receives it: its status, its headers but cookies and this
/// origin's own (a header that repeats the value is dropped), and its body streamed with the
/// value scrubbed out, cut off past `ANSWER_BYTES`.
fn answer(upstream: reqwest::Response, value: &str) -> Response {
    let status = upstream.status();
    let scrubber = Scrubber::new(value);
    let mut headers = HeaderMap::new();
    for (name, header_value) in upstream.headers() {
        let name_text = name.as_str();
        // The body's length changes where the value is scrubbed out.
        let dropped = DROPPED_ANSWER_HEADERS.contains(&name_text)
            || name_text == "content-length"
            || name_text.starts_with("access-control-")
            || scrubber.finds(header_value.as_bytes());
        if !dropped {
            headers.append(name.clone(), header_value.clone());
        }
    }
    let body = stream::unfold(
        Some((upstream.bytes_stream(), scrubber, 0u64)),
        |state| async move {
            let (mut chunks, mut scrubber, mut passed) = state?;
            match chunks.next().await {
                Some(Ok(chunk)) => {
                    passed += chunk.len() as u64;
                    if passed > ANSWER_BYTES {
                        let over = std::io::Error::other("the answer is larger than the egress limit");
                        return Some((Err(over), None));
                    }
                    let ready = scrubber.push(&chunk);
                    Some((Ok(ready), Some((chunks, scrubber, passed))))
                }
                Some(Err(error)) => Some((Err(std::io::Error::other(error.without_url())), None)),
                None => Some((Ok(scrubber.finish()), None)),
            }
        },
    );
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// When a use is counted: the start of its hour.
fn hour_of(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_minute(0)
        .and_then(|at| at.replace_second(0))
        .and_then(|at| at.replace_nanosecond(0))
        .unwrap_or(at)
}
