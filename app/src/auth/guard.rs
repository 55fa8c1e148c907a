//! What a server function needs to know about its request: the state, the client, the session,
//! the signed-in person, and whether they re-authenticated recently (sudo mode).

use axum::http::request::Parts;
use leptos::prelude::use_context;
use tower_sessions::Session;

use super::{
    password,
    session::{self, CurrentUser, SUDO_WINDOW},
};
use crate::{
    platform::{audit, client::ClientInfo, db::TenantTx, state::AppState},
    ui::form::FormError,
};

fn unavailable() -> FormError {
    FormError::Page("The service is starting; try again in a moment.".to_owned())
}

fn parts() -> Result<Parts, FormError> {
    use_context::<Parts>().ok_or_else(unavailable)
}

/// The state and the client of the current request.
pub fn request() -> Result<(AppState, ClientInfo), FormError> {
    let state = AppState::from_context().ok_or_else(unavailable)?;
    let client = parts()?
        .extensions
        .get::<ClientInfo>()
        .cloned()
        .ok_or_else(unavailable)?;
    Ok((state, client))
}

pub fn session() -> Result<Session, FormError> {
    parts()?
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(unavailable)
}

/// The signed-in person, or SignedOut.
pub fn user() -> Result<CurrentUser, FormError> {
    parts()?
        .extensions
        .get::<CurrentUser>()
        .cloned()
        .ok_or(FormError::SignedOut)
}

/// The signed-in person when they re-authenticated within the last ten minutes.
pub fn sudo_user(state: &AppState) -> Result<CurrentUser, FormError> {
    let user = user()?;
    if user.signed_in.in_sudo(state.clock.now()) {
        Ok(user)
    } else {
        Err(FormError::SudoRequired)
    }
}

fn failed() -> FormError {
    FormError::Failed
}

/// Checks the password of the signed-in person and opens sudo mode for ten minutes, under a
/// fresh session id (a privilege change).
pub async fn grant_sudo(password_typed: &str) -> Result<(), FormError> {
    let (state, client) = request()?;
    let user = user()?;
    let session = session()?;
    let now = state.clock.now();
    let log = |error: &dyn std::fmt::Display| {
        tracing::error!(%error, "sudo check failed");
        failed()
    };

    let mut tx = TenantTx::begin(&state.pool, user.owner_id())
        .await
        .map_err(|e| log(&e))?;
    let phc: String = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| log(&e))?;
    tx.commit().await.map_err(|e| log(&e))?;
    if password_typed.is_empty() {
        return Err(FormError::field("sudo_password", "Enter your password."));
    }
    let right = password::verify(password_typed, Some(phc))
        .await
        .map_err(|e| log(&e))?;

    let mut tx = TenantTx::begin(&state.pool, user.owner_id())
        .await
        .map_err(|e| log(&e))?;
    if !right {
        audit::record(&mut tx, "sudo_failed", "wrong password", &client, now)
            .await
            .map_err(|e| log(&e))?;
        tx.commit().await.map_err(|e| log(&e))?;
        return Err(FormError::field(
            "sudo_password",
            "That password is not right.",
        ));
    }
    let mut signed_in = user.signed_in.clone();
    signed_in.sudo_until = Some((now + SUDO_WINDOW).unix_timestamp());
    session.cycle_id().await.map_err(|e| log(&e))?;
    session::write(&session, &signed_in)
        .await
        .map_err(|e| log(&e))?;
    session.save().await.map_err(|e| log(&e))?;
    let store_id = session.id().map(|id| id.to_string()).unwrap_or_default();
    sqlx::query("UPDATE account_sessions SET store_id = $2 WHERE id = $1")
        .bind(signed_in.account_session)
        .bind(store_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| log(&e))?;
    audit::record(&mut tx, "sudo_granted", "", &client, now)
        .await
        .map_err(|e| log(&e))?;
    tx.commit().await.map_err(|e| log(&e))?;
    Ok(())
}
