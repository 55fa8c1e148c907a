//! The privacy routes outside Leptos: the GPC support statement, the consent-receipt public key,
//! and the receipt download.

use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde_json::json;

use super::service::{ledger, receipts};
use crate::platform::{
    context::Visitor, http::json_download, ids::ConsentRecordId, signed, state::AppState,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/gpc.json", get(gpc))
        .route("/.well-known/consent-receipt-key.json", get(receipt_key))
        .route("/privacy/receipts/{id}", get(download_receipt))
}

/// `/.well-known/gpc.json`: this site honors Global Privacy Control.
async fn gpc() -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=86400")],
        Json(json!({ "gpc": true, "lastUpdate": "2026-11-23" })),
    )
        .into_response()
}

/// `/.well-known/consent-receipt-key.json`: the Ed25519 key that signs consent receipts.
async fn receipt_key(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(signed::public_jwk(&state.key_encryption_key)),
    )
        .into_response()
}

const UNAVAILABLE: &str = "The receipt could not be read; try again in a moment.";

/// `/privacy/receipts/{id}`: the signed receipt of one record the visitor may see (their
/// account's, a browser linked to it, or this browser's), as a file.
async fn download_receipt(visitor: Visitor, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<ConsentRecordId>() else {
        return (StatusCode::NOT_FOUND, "There is no such receipt.").into_response();
    };
    let records = match ledger::visible_records(&visitor, Some(id)).await {
        Ok(records) => records,
        Err(error) => {
            tracing::error!(%error, "could not read a consent record");
            return (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE).into_response();
        }
    };
    let Some(record) = records.first() else {
        return (
            StatusCode::NOT_FOUND,
            "There is no such receipt among yours.",
        )
            .into_response();
    };
    json_download(
        &format!("consent-receipt-{id}.json"),
        &receipts::build(visitor.state(), record),
        UNAVAILABLE,
    )
}
