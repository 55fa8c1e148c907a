//! The account's routes outside Leptos: the residency attestation download (promise P11).

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use crate::platform::{context::Visitor, http::json_download, residency, state::AppState};

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
    let document = match document.await {
        Ok(document) => document,
        Err(error) => {
            tracing::error!(%error, "could not make a residency attestation");
            return (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE).into_response();
        }
    };
    let day = me.now().date();
    json_download(
        &format!("custodian-residency-{day}.json"),
        &document,
        UNAVAILABLE,
    )
}

const UNAVAILABLE: &str = "The attestation could not be made; try again in a moment.";
