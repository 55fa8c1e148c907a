//! The privacy routes outside Leptos: the GPC support statement, the consent-receipt public key,
//! and the receipt download.

use app::{
    auth::session::CurrentUser,
    platform::{client::ClientInfo, state::AppState},
    privacy::{ledger, receipts},
};
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Extension, Json,
};
use serde_json::json;
use uuid::Uuid;

/// `/.well-known/gpc.json`: this site honors Global Privacy Control.
pub async fn gpc() -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=86400")],
        Json(json!({ "gpc": true, "lastUpdate": "2026-11-23" })),
    )
        .into_response()
}

/// `/.well-known/consent-receipt-key.json`: the Ed25519 key that signs consent receipts.
pub async fn receipt_key(State(state): State<AppState>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(receipts::public_jwk(&state.key_encryption_key)),
    )
        .into_response()
}

/// `/privacy/receipts/{id}`: the signed receipt of one record the requester may see (their
/// account's, a browser linked to it, or this browser's), as a file.
pub async fn download_receipt(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(client): Extension<ClientInfo>,
    user: Option<Extension<CurrentUser>>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return (StatusCode::NOT_FOUND, "There is no such receipt.").into_response();
    };
    let owner_id = user.map(|Extension(u)| u.owner_id());
    match ledger::visible_records(&state, owner_id, client.consent_id, Some(id)).await {
        Ok(records) => match records.first() {
            Some(record) => {
                let body = serde_json::to_string_pretty(&receipts::build(&state, record))
                    .unwrap_or_default();
                (
                    [
                        (header::CONTENT_TYPE, "application/json".to_owned()),
                        (
                            header::CONTENT_DISPOSITION,
                            format!("attachment; filename=\"consent-receipt-{id}.json\""),
                        ),
                        (header::CACHE_CONTROL, "no-store".to_owned()),
                    ],
                    body,
                )
                    .into_response()
            }
            None => (
                StatusCode::NOT_FOUND,
                "There is no such receipt among yours.",
            )
                .into_response(),
        },
        Err(error) => {
            tracing::error!(%error, "could not read a consent record");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The receipt could not be read; try again in a moment.",
            )
                .into_response()
        }
    }
}
