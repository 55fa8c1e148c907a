//! The account's routes outside Leptos: the residency attestation download (promise P11).

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use crate::platform::{context::Visitor, residency, state::AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/account/residency-attestation", get(attestation))
}

/// `/account/residency-attestation`: the signed-in person's attestation, as a file, read from
/// the database that holds their data.
async fn attestation(visitor: Visitor) -> Response {
    let Ok(me) = visitor.signed_in() else {
        return (StatusCode::UNAUTHORIZED, "Sign in to download your attestation.").into_response();
    };
    let document = async {
        let mut tx = me.begin_own().await?;
        let document = residency::attest(&mut tx, &me.state().key_encryption_key, me.now()).await?;
        tx.commit().await?;
        Ok::<_, crate::platform::error::InfraError>(document)
    };
    let body = match document.await.map(|d| serde_json::to_string_pretty(&d)) {
        Ok(Ok(body)) => body,
        Ok(Err(error)) => {
            tracing::error!(%error, "could not write a residency attestation");
            return unavailable();
        }
        Err(error) => {
            tracing::error!(%error, "could not make a residency attestation");
            return unavailable();
        }
    };
    let day = me.now().date();
    (
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"custodian-residency-{day}.json\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The attestation could not be made; try again in a moment.",
    )
        .into_response()
}
