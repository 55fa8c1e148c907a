//! The archive download (promise P8): the signed-in owner in sudo mode only, streamed from disk
//! with its length, resumable with HTTP range requests, and recorded in the security log. And a
//! closed rights request's signed receipt (promise P15), to its owner.

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
    Router::new()
        .route("/data/exports/{id}/archive", get(download))
        .route("/data/requests/{id}/receipt", get(closure_receipt))
}

/// A closed request's signed closure receipt, to the signed-in person whose request it is.
async fn closure_receipt(visitor: Visitor, Path(id): Path<String>) -> Response {
    use crate::data::rights::service::{self as rights, RightsError};

    let Ok(me) = visitor.signed_in() else {
        return (StatusCode::UNAUTHORIZED, "Sign in to download your receipt.").into_response();
    };
    let not_found = || {
        (StatusCode::NOT_FOUND, RightsError::NoSuchRequest.to_string()).into_response()
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return not_found();
    };
    match rights::receipt(&me, id).await {
        Ok(receipt) => {
            let disposition = format!("attachment; filename=\"closure-receipt-{id}.json\"");
            let mut response = axum::Json(receipt).into_response();
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            response
        }
        Err(RightsError::Infra(error)) => {
            tracing::error!(%error, "could not look up a closure receipt");
            (StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment.").into_response()
        }
        Err(_) => not_found(),
    }
}

/// How the download is recorded: every GET that sends bytes is, a resumed one saying where it
/// resumed (`bytes=N-`, N > 0); a HEAD sends nothing and is not.
fn record_as(request: &Request) -> Option<String> {
    if request.method() == Method::HEAD {
        return None;
    }
    let resumed_at = request
        .headers()
        .get(header::RANGE)
        .and_then(|range| range.to_str().ok())
        .and_then(|range| range.trim().strip_prefix("bytes="))
        .filter(|ranges| !ranges.contains(','))
        .and_then(|range| range.split_once('-'))
        .and_then(|(start, _)| start.trim().parse::<u64>().ok())
        .filter(|start| *start > 0);
    Some(resumed_at.map_or_else(String::new, |at| format!("resumed at byte {at}")))
}

/// A link from another site may not start a download (it would be recorded as the person's):
/// by Sec-Fetch-Site, or by the Referer where a browser sends no Sec-Fetch-Site.
fn from_another_site(request: &Request, site: &url::Url) -> bool {
    let headers = request.headers();
    match headers.get("sec-fetch-site") {
        Some(fetch_site) => fetch_site != "same-origin" && fetch_site != "none",
        None => headers
            .get(header::REFERER)
            .and_then(|referer| referer.to_str().ok())
            .and_then(|referer| url::Url::parse(referer).ok())
            .is_some_and(|referer| referer.origin() != site.origin()),
    }
}

async fn download(visitor: Visitor, Path(id): Path<String>, request: Request) -> Response {
    let Ok(me) = visitor.signed_in() else {
        return (StatusCode::UNAUTHORIZED, "Sign in to download your export.").into_response();
    };
    let Ok(id) = id.parse::<Uuid>() else {
        return (StatusCode::NOT_FOUND, DataError::NoSuchExport.to_string()).into_response();
    };
    if from_another_site(&request, &me.state().public_url) {
        return (StatusCode::FORBIDDEN, "Download your export from the Your data page.").into_response();
    }
    let Ok(me) = me.sudo() else {
        let back = format!("{}&download={id}", DataNotice::ConfirmToDownload.at("/data"));
        return Redirect::to(&back).into_response();
    };
    let archive = match service::download(&me, id, record_as(&request).as_deref()).await {
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
    fn every_download_is_recorded_and_a_resumed_one_says_where() {
        let recorded = |method, range| record_as(&request(method, range));
        assert_eq!(recorded(Method::GET, None).as_deref(), Some(""));
        assert_eq!(recorded(Method::GET, Some("bytes=0-")).as_deref(), Some(""));
        assert_eq!(recorded(Method::GET, Some("bytes=-999999")).as_deref(), Some(""));
        assert_eq!(recorded(Method::GET, Some("bytes=5-9, 0-4")).as_deref(), Some(""));
        assert_eq!(
            recorded(Method::GET, Some("bytes=1-")).as_deref(),
            Some("resumed at byte 1")
        );
        assert_eq!(recorded(Method::HEAD, None), None);
    }

    #[test]
    fn another_sites_link_is_told_apart_with_or_without_sec_fetch_site() {
        let site = url::Url::parse("https://custodian.example").unwrap();
        let with = |name: &str, value: &str| {
            let mut request = request(Method::GET, None);
            request
                .headers_mut()
                .insert(header::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
            from_another_site(&request, &site)
        };
        assert!(with("sec-fetch-site", "cross-site"));
        assert!(with("sec-fetch-site", "same-site"));
        assert!(!with("sec-fetch-site", "same-origin"));
        assert!(!with("sec-fetch-site", "none"));
        assert!(with("referer", "https://evil.example/page"));
        assert!(!with("referer", "https://custodian.example/data"));
        assert!(!from_another_site(&request(Method::GET, None), &site));
    }
}
