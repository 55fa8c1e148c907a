//! The archive download (promise P8): the signed-in owner in sudo mode only, streamed from disk
//! with its length, resumable with HTTP range requests, and recorded in the security log.

use axum::{
    body::Body,
    extract::{Path, Request},
    http::{header, HeaderValue, StatusCode},
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

/// Whether the request reads the file from its first byte (a new download, not a resumed one).
fn from_start(request: &Request) -> bool {
    request
        .headers()
        .get(header::RANGE)
        .and_then(|range| range.to_str().ok())
        .is_none_or(|range| range.trim().starts_with("bytes=0-"))
}

async fn download(visitor: Visitor, Path(id): Path<String>, request: Request) -> Response {
    let Ok(me) = visitor.signed_in() else {
        return (StatusCode::UNAUTHORIZED, "Sign in to download your export.").into_response();
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return (StatusCode::NOT_FOUND, DataError::NoSuchExport.to_string()).into_response();
    };
    let Ok(me) = me.sudo() else {
        let back = format!("{}&download={id}", DataNotice::ConfirmToDownload.at("/data"));
        return Redirect::to(&back).into_response();
    };
    let archive = match service::download(&me, id, from_start(&request)).await {
        Ok(archive) => archive,
        Err(refusal @ DataError::NoSuchExport) => {
            return (StatusCode::NOT_FOUND, refusal.to_string()).into_response()
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
