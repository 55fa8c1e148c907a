//! The archive download (promise P8): the signed-in owner in sudo mode only, streamed from disk
//! with its length, resumable with HTTP range requests, and recorded in the security log.

use axum::{
    body::Body,
    extract::{Path, Request},
    http::{header, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Router,
};
use tower::ServiceExt as _;
use tower_http::services::ServeFile;
use uuid::Uuid;

use super::{
    model::DataNotice,
    service::{self, DataError},
};
use crate::platform::{context::Visitor, state::AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/data/exports/{id}/archive", get(download))
}

/// Whether the answer sends the file's first byte: anything but a GET resuming from a later
/// byte (`bytes=N-`, N > 0) counts as a download. A HEAD sends nothing.
fn sends_the_start(request: &Request) -> bool {
    if request.method() == Method::HEAD {
        return false;
    }
    let resumed_from = request
        .headers()
        .get(header::RANGE)
        .and_then(|range| range.to_str().ok())
        .and_then(|range| range.trim().strip_prefix("bytes="))
        .filter(|ranges| !ranges.contains(','))
        .and_then(|range| range.split_once('-'))
        .and_then(|(start, _)| start.trim().parse::<u64>().ok());
    resumed_from.is_none_or(|start| start == 0)
}

/// A link from another site may not start a download (it would be recorded as the person's).
fn from_another_site(request: &Request) -> bool {
    request
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|site| site != "same-origin" && site != "none")
}

async fn download(visitor: Visitor, Path(id): Path<String>, request: Request) -> Response {
    let Ok(me) = visitor.signed_in() else {
        return (StatusCode::UNAUTHORIZED, "Sign in to download your export.").into_response();
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return (StatusCode::NOT_FOUND, DataError::NoSuchExport.to_string()).into_response();
    };
    if from_another_site(&request) {
        return (StatusCode::FORBIDDEN, "Download your export from the Your data page.").into_response();
    }
    let Ok(me) = me.sudo() else {
        let back = format!("{}&download={id}", DataNotice::ConfirmToDownload.at("/data"));
        return Redirect::to(&back).into_response();
    };
    let archive = match service::download(&me, id, sends_the_start(&request)).await {
        Ok(archive) => archive,
        Err(refusal @ DataError::NoSuchExport) => {
            return (StatusCode::NOT_FOUND, refusal.to_string()).into_response()
        }
        Err(refusal @ DataError::Building) => {
            return (StatusCode::CONFLICT, refusal.to_string()).into_response()
        }
        Err(refusal @ (DataError::NotReady(_) | DataError::DailyLimit(_))) => {
            return (StatusCode::GONE, refusal.to_string()).into_response()
        }
        Err(DataError::Infra(error)) => {
            tracing::error!(%error, "could not look up an export");
            return (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE).into_response();
        }
    };
    let served = match ServeFile::new(&archive.path).oneshot(request).await {
        Ok(response) if response.status() != StatusCode::NOT_FOUND => response,
        _ => return (StatusCode::GONE, MISSING).into_response(),
    };
    let mut response = served.map(Body::new);
    let name = format!(
        "attachment; filename=\"custodian-export-{}.zip\"",
        archive.made_on
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}

const UNAVAILABLE: &str = "The export could not be looked up; try again in a moment.";
const MISSING: &str = "The archive is no longer on the server. Ask for a new export on the Your data page.";

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, range: Option<&str>) -> Request {
        let mut builder = Request::builder().method(method).uri("/data/exports/x/archive");
        if let Some(range) = range {
            builder = builder.header(header::RANGE, range);
        }
        builder.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn only_a_resumed_download_goes_unrecorded() {
        assert!(sends_the_start(&request(Method::GET, None)));
        assert!(sends_the_start(&request(Method::GET, Some("bytes=0-"))));
        // A suffix range can ask for the whole file; several ranges can start anywhere.
        assert!(sends_the_start(&request(Method::GET, Some("bytes=-999999"))));
        assert!(sends_the_start(&request(Method::GET, Some("bytes=5-9, 0-4"))));
        assert!(sends_the_start(&request(Method::GET, Some("nonsense"))));
        assert!(!sends_the_start(&request(Method::GET, Some("bytes=100-"))));
        assert!(!sends_the_start(&request(Method::HEAD, None)));
    }
}
