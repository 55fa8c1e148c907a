//! A host on this machine for egress tests: HTTPS with a self-signed certificate for
//! `localhost` (the file the server is told to trust), and paths that echo what arrived, hang,
//! or answer more than egress passes on.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
    Router,
};
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A request the host received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) method: String,
    /// Path and query.
    pub(crate) target: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

pub(crate) struct Upstream {
    /// `https://localhost:<port>`.
    pub(crate) origin: String,
    /// The certificate, as a CA file for EGRESS_CA_FILE.
    pub(crate) ca_file: PathBuf,
    seen: Arc<Mutex<Vec<Seen>>>,
    oauth: Arc<Mutex<OAuth>>,
    _dir: tempfile::TempDir,
}

/// The fake OAuth 2.0 service's state: the tokens that work now, and what was revoked.
#[derive(Debug, Default)]
pub(crate) struct OAuth {
    pub(crate) access: String,
    pub(crate) refresh: String,
    pub(crate) refreshes: usize,
    pub(crate) revoked: Vec<String>,
}

/// The client the fake service knows.
pub(crate) const CLIENT_ID: &str = "custodian-test";
pub(crate) const CLIENT_SECRET: &str = "client-secret-5e7a";

impl Upstream {
    /// What arrived so far, oldest first.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The fake OAuth service, which starts with `access` and `refresh` as its valid tokens.
    pub(crate) fn oauth(&self, access: &str, refresh: &str) -> Arc<Mutex<OAuth>> {
        let mut oauth = self.oauth.lock().unwrap();
        oauth.access = access.to_owned();
        oauth.refresh = refresh.to_owned();
        drop(oauth);
        self.oauth.clone()
    }
}

/// More than egress passes on (10 MB).
pub(crate) const HUGE_BYTES: usize = 11 * 1024 * 1024;

/// Starts the host on a port of its own; it stops with the test.
pub(crate) async fn start() -> Upstream {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("upstream-ca.pem");
    std::fs::write(&ca_file, certified.cert.pem()).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let certificate: CertificateDer<'static> = certified.cert.der().clone();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certificate], key)
    .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let oauth = Arc::new(Mutex::new(OAuth::default()));
    let service = Router::new()
        .route("/oauth/token", any(token))
        .route("/oauth/revoke", any(revoke))
        .route("/api/{*rest}", any(api))
        .with_state(oauth.clone());
    let router = Router::new()
        .route("/hang", any(hang))
        .route("/huge", any(huge))
        .route("/echo-auth", any(echo_auth))
        .route("/redirect", any(redirect))
        .route("/huge-stream", any(huge_stream))
        .fallback(record)
        .with_state(seen.clone())
        .merge(service);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                        .await;
                }
            });
        }
    });
    Upstream {
        origin: format!("https://localhost:{port}"),
        ca_file,
        seen,
        oauth,
        _dir: dir,
    }
}

/// Keeps the request and answers with a cookie and a header of its own.
async fn record(State(seen): State<Arc<Mutex<Vec<Seen>>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        target: parts.uri.to_string(),
        headers: parts.headers,
        body: body.to_vec(),
    });
    (
        StatusCode::CREATED,
        [
            (header::SET_COOKIE, "tracker=1; Path=/"),
            (header::HeaderName::from_static("x-upstream"), "yes"),
            (header::CONTENT_TYPE, "text/plain"),
        ],
        "hello from upstream",
    )
        .into_response()
}

/// Answers with the Authorization header it received, in a header and in the body: a careless
/// host that would hand the value back to the browser.
async fn echo_auth(headers: HeaderMap) -> Response {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .cloned()
        .unwrap_or(header::HeaderValue::from_static("none"));
    let body = format!(
        "you sent: {}",
        String::from_utf8_lossy(authorization.as_bytes())
    );
    (
        [(header::HeaderName::from_static("x-echo"), authorization)],
        body,
    )
        .into_response()
}

/// A redirect whose address repeats the query it received (a key sent as `api_key`).
async fn redirect(request: Request) -> Response {
    let query = request.uri().query().unwrap_or_default().to_owned();
    let location = format!("/elsewhere?{query}");
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, location)],
    )
        .into_response()
}

/// More than egress passes on, streamed without a length.
async fn huge_stream() -> Response {
    let chunk = axum::body::Bytes::from(vec![b'x'; 1024 * 1024]);
    let chunks =
        (0..HUGE_BYTES / (1024 * 1024)).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
    Response::new(Body::from_stream(futures::stream::iter(chunks)))
}

async fn hang() -> Response {
    tokio::time::sleep(Duration::from_secs(120)).await;
    "too late".into_response()
}

async fn huge() -> Response {
    Response::new(Body::from(vec![b'x'; HUGE_BYTES]))
}

fn form(body: &[u8]) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The token endpoint: a refresh with the current refresh token and the client's credentials
/// gets new tokens (the refresh token rotates); anything else is `invalid_grant`.
async fn token(State(oauth): State<Arc<Mutex<OAuth>>>, body: axum::body::Bytes) -> Response {
    let form = form(&body);
    let mut oauth = oauth.lock().unwrap();
    let valid = form.get("grant_type").map(String::as_str) == Some("refresh_token")
        && form.get("refresh_token") == Some(&oauth.refresh)
        && form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    if !valid {
        let refused = serde_json::json!({ "error": "invalid_grant" }).to_string();
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            refused,
        )
            .into_response();
    }
    oauth.refreshes += 1;
    oauth.access = format!("access-token-{}-abcdefghijklmnop", oauth.refreshes + 1);
    oauth.refresh = format!("refresh-token-{}", oauth.refreshes + 1);
    let issued = serde_json::json!({
        "access_token": oauth.access,
        "token_type": "Bearer",
        "expires_in": 3600,
        "refresh_token": oauth.refresh,
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        issued.to_string(),
    )
        .into_response()
}

/// The revocation endpoint (RFC 7009): records the token; revokes refresh tokens only, as some
/// services do, answering `unsupported_token_type` for an access token.
async fn revoke(State(oauth): State<Arc<Mutex<OAuth>>>, body: axum::body::Bytes) -> Response {
    let form = form(&body);
    let mut oauth = oauth.lock().unwrap();
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    oauth.revoked.extend(form.get("token").cloned());
    if form.get("token_type_hint").map(String::as_str) == Some("access_token") {
        let refused = serde_json::json!({ "error": "unsupported_token_type" }).to_string();
        return (StatusCode::BAD_REQUEST, refused).into_response();
    }
    StatusCode::OK.into_response()
}

/// The service's API: answers only the current access token.
async fn api(State(oauth): State<Arc<Mutex<OAuth>>>, headers: HeaderMap) -> Response {
    let expected = format!("Bearer {}", oauth.lock().unwrap().access);
    match headers.get(header::AUTHORIZATION) {
        Some(sent) if sent.as_bytes() == expected.as_bytes() => "authorized".into_response(),
        _ => StatusCode::UNAUTHORIZED.into_response(),
    }
}
