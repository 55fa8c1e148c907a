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
    _dir: tempfile::TempDir,
}

impl Upstream {
    /// What arrived so far, oldest first.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
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
    let router = Router::new()
        .route("/hang", any(hang))
        .route("/huge", any(huge))
        .route("/echo-auth", any(echo_auth))
        .route("/redirect", any(redirect))
        .route("/huge-stream", any(huge_stream))
        .fallback(record)
        .with_state(seen.clone());
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
