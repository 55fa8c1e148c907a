//! The apps area's routes outside Leptos: the upload form's target on the site (a multipart
//! POST, so it works without script), and everything an app's own origin answers.

use axum::{
    body::Body,
    extract::{DefaultBodyLimit, Multipart, Path, Request},
    http::{header, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
    Router,
};

use super::{
    secrets::egress,
    model::{app_page, AppsNotice, UploadProblem, UPLOAD_BODY_BYTES},
    service::{
        origin::{self, Answer},
        publish,
        upload::{self, Incoming},
        AppsError,
    },
};
use crate::platform::{context::Visitor, http::json_download, ids::AppId, state::AppState};

pub fn routes() -> Router<AppState> {
    // The body was already read and limited (src/ middleware); the extractor's own 2 MB default
    // would refuse an app's worth of files.
    Router::new()
        .route(
            "/apps/{id}/files",
            post(upload_files).layer(DefaultBodyLimit::max(UPLOAD_BODY_BYTES)),
        )
        .route("/apps/{id}/publications/{receipt}", get(publication_receipt))
}

/// `/apps/<id>/publications/<receipt>`: one of the owner's signed publication receipts, as a
/// file; another person's receipt is answered as one that does not exist.
async fn publication_receipt(
    visitor: Visitor,
    Path((id, receipt)): Path<(String, String)>,
) -> Response {
    let Ok(me) = visitor.signed_in() else {
        return (StatusCode::UNAUTHORIZED, "Sign in to download your receipt.").into_response();
    };
    let (Ok(app), Ok(receipt)) = (id.parse::<AppId>(), receipt.parse::<uuid::Uuid>()) else {
        return (StatusCode::NOT_FOUND, NO_RECEIPT).into_response();
    };
    match publish::receipt(&me, app, receipt).await {
        Ok(Some(document)) => json_download(
            &format!("custodian-publication-{receipt}.json"),
            &document,
            RECEIPT_UNAVAILABLE,
        ),
        Ok(None) => (StatusCode::NOT_FOUND, NO_RECEIPT).into_response(),
        Err(error) => {
            tracing::error!(%error, "a publication receipt could not be read");
            (StatusCode::SERVICE_UNAVAILABLE, RECEIPT_UNAVAILABLE).into_response()
        }
    }
}

const NO_RECEIPT: &str = "There is no such receipt among yours.";
const RECEIPT_UNAVAILABLE: &str = "The receipt cannot be read right now; try again in a moment.";

/// The app page again, saying why the upload was refused (one of the fixed texts).
fn refused(app: AppId, problem: UploadProblem) -> Response {
    Redirect::to(&format!("{}?upload_error={}", app_page(app), problem.code())).into_response()
}

async fn read_files(multipart: &mut Multipart) -> Result<Vec<Incoming>, UploadProblem> {
    let mut incoming = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| UploadProblem::Unreadable)?
    {
        let Some(file_name) = field.file_name().map(str::to_owned) else {
            continue;
        };
        let bytes = field.bytes().await.map_err(|_| UploadProblem::Unreadable)?;
        // A file input left empty still sends a part, with no name and no bytes.
        if file_name.is_empty() && bytes.is_empty() {
            continue;
        }
        incoming.push(Incoming {
            file_name,
            bytes: bytes.to_vec(),
        });
    }
    Ok(incoming)
}

async fn upload_files(visitor: Visitor, Path(id): Path<String>, mut multipart: Multipart) -> Response {
    let Ok(me) = visitor.signed_in() else {
        return (StatusCode::UNAUTHORIZED, "Sign in to upload files.").into_response();
    };
    let Ok(app) = id.parse::<AppId>() else {
        return (StatusCode::NOT_FOUND, AppsError::NoSuchApp.to_string()).into_response();
    };
    let incoming = match read_files(&mut multipart).await {
        Ok(incoming) => incoming,
        Err(problem) => return refused(app, problem),
    };
    match upload::upload(&me, app, incoming).await {
        Ok(_) => Redirect::to(&AppsNotice::FilesUploaded.at(&app_page(app))).into_response(),
        Err(AppsError::Upload(problem)) => refused(app, problem),
        Err(refusal @ AppsError::NoSuchApp) => {
            (StatusCode::NOT_FOUND, refusal.to_string()).into_response()
        }
        Err(error) => {
            tracing::error!(%error, "an upload failed");
            refused(app, UploadProblem::Unreadable)
        }
    }
}

/// The Content-Security-Policy of everything an app's origin serves: a sandbox (an opaque
/// origin, even opened outside the frame: no cookies, storage or service workers of its own
/// origin), connections to its own origin and the hosts its owner declared only, and framing
/// by the site alone.
pub fn app_policy(site: &str, connect_hosts: &[String]) -> String {
    let mut connect = String::from("'self'");
    for host in connect_hosts {
        connect.push(' ');
        connect.push_str(host);
    }
    format!(
        "sandbox allow-scripts allow-forms allow-popups; \
         default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:; connect-src {connect}; \
         worker-src 'none'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors {site}"
    )
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// Answers a request to the apps' domain that names no app.
pub async fn serve_app_nowhere(_request: Request) -> Response {
    with_app_headers(plain(StatusCode::NOT_FOUND, "There is no app here."), "'none'", &[])
}

/// Answers a request to `app`'s own origin; the path must start with a capability token,
/// `/_t/<token>/`. Files answer GET and HEAD; `_egress/` calls (the secrets') take any method.
pub async fn serve_app(state: AppState, app: AppId, request: Request) -> Response {
    let site = state.public_url.origin().ascii_serialization();
    let path = request.uri().path().to_owned();
    let view = path
        .strip_prefix("/_t/")
        .and_then(|rest| rest.split_once('/'));
    if let Some((token, rest)) = view.filter(|(_, rest)| egress::is_egress(rest)) {
        let response = egress::serve(&state, app, token, rest, request).await;
        return with_app_headers(response, &site, &[]);
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let refused = plain(StatusCode::METHOD_NOT_ALLOWED, "An app's files can only be read.");
        return with_app_headers(refused, &site, &[]);
    }
    let answer = match view {
        Some((token, file)) => origin::serve(&state, app, token, file).await,
        None => Ok(Answer::Closed),
    };
    let (response, hosts) = match answer {
        Ok(Answer::File {
            content_type,
            body,
            connect_hosts,
        }) => {
            let mut response = Response::new(Body::from(body));
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            (response, connect_hosts)
        }
        Ok(Answer::Missing) => (plain(StatusCode::NOT_FOUND, "This app has no such file."), Vec::new()),
        Ok(Answer::Expired) => (
            plain(
                StatusCode::FORBIDDEN,
                "This view of the app has expired. Open the app again from where you found it.",
            ),
            Vec::new(),
        ),
        Ok(Answer::Closed) => (plain(StatusCode::NOT_FOUND, "There is no app here."), Vec::new()),
        Err(error) => {
            tracing::error!(%error, %app, "an app's file could not be served");
            (
                plain(StatusCode::SERVICE_UNAVAILABLE, "The app cannot be reached right now."),
                Vec::new(),
            )
        }
    };
    with_app_headers(response, &site, &hosts)
}

/// The headers of everything the apps' origins answer.
fn with_app_headers(mut response: Response, site: &str, hosts: &[String]) -> Response {
    if site.starts_with("https://") {
        response.headers_mut().insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=63072000"),
        );
    }
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", app_policy(site, hosts)),
        ("x-content-type-options", "nosniff".to_owned()),
        ("referrer-policy", "no-referrer".to_owned()),
        ("x-robots-tag", "noindex, nofollow".to_owned()),
        ("cache-control", "no-store".to_owned()),
        // The sandboxed document's origin is opaque ("null"): its script reads its own files
        // only through CORS. No credentials exist here; the token in the path is the access.
        ("access-control-allow-origin", "*".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_apps_policy_sandboxes_it_and_names_only_its_declared_hosts() {
        let policy = app_policy("http://localhost:3000", &["https://api.example.com".to_owned()]);
        assert!(policy.starts_with("sandbox allow-scripts allow-forms allow-popups;"));
        assert!(!policy.contains("allow-same-origin"));
        assert!(policy.contains("connect-src 'self' https://api.example.com;"));
        assert!(policy.contains("frame-ancestors http://localhost:3000"));
    }
}
