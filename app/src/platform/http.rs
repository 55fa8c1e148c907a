//! What the middleware learns about a request once and later layers read: whether it acts for a
//! person (a page, a server function, a receipt; not a static file) and whether it is a page
//! view; whether a response is a page; and the answer that hands a person a signed document.

use axum::{
    http::{header, HeaderMap, Method, Request, StatusCode},
    response::{IntoResponse, Response},
};

/// Put into the request's extensions by the server's `identify` middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestKind {
    /// A page, a protected page, a server function or a receipt: the session and consent matter.
    pub for_person: bool,
    /// A browser asking for a page (not a static file, not a server function).
    pub page_view: bool,
}

/// A browser asking for a page (not a static file, not a server function).
pub fn is_page_request<B>(request: &Request<B>) -> bool {
    matches!(*request.method(), Method::GET | Method::HEAD)
        && !request.uri().path().starts_with("/api/")
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

/// Whether a response is an HTML page.
pub fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// A signed document as a file to keep (`filename`), never cached; `unavailable` is what the
/// person reads when it cannot be written.
pub fn json_download(
    filename: &str,
    document: &serde_json::Value,
    unavailable: &'static str,
) -> Response {
    match serde_json::to_string_pretty(document) {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, filename, "could not write a document to download");
            (StatusCode::SERVICE_UNAVAILABLE, unavailable).into_response()
        }
    }
}
