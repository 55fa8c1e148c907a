//! What a server function needs to know about its request: the state, the client, the session,
//! the signed-in person, and whether they re-authenticated recently (sudo mode).

use axum::http::request::Parts;
use leptos::prelude::use_context;
use tower_sessions::Session;

use super::session::CurrentUser;
use crate::{
    platform::{client::ClientInfo, rate_limit::Action, state::AppState},
    ui::form::FormError,
};

fn unavailable() -> FormError {
    FormError::Page("The service is starting; try again in a moment.".to_owned())
}

/// The request's head: headers and what the middleware put into its extensions.
pub fn parts() -> Result<Parts, FormError> {
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

/// The state and the client of the current request, once `action` is counted against the
/// client's address and network; refused when either is over its limit.
pub async fn limited(action: Action) -> Result<(AppState, ClientInfo), FormError> {
    let (state, client) = request()?;
    state
        .check_rate(action, &client)
        .await
        .map_err(super::accounts::AuthError::from)?;
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

/// The signed-in person when they signed in or re-authenticated within the sudo window.
pub fn sudo_user(state: &AppState) -> Result<CurrentUser, FormError> {
    let user = user()?;
    if user.signed_in.in_sudo(state.clock.now()) {
        Ok(user)
    } else {
        Err(FormError::SudoRequired)
    }
}

/// The signed-in person when they re-authenticated since signing in, within the sudo window:
/// adding a sign-in method needs this, so a stolen fresh session cannot plant one.
pub fn reauthenticated_user(state: &AppState) -> Result<CurrentUser, FormError> {
    let user = sudo_user(state)?;
    if user.signed_in.reauthenticated(state.clock.now()) {
        Ok(user)
    } else {
        Err(FormError::SudoRequired)
    }
}

/// Checks the password again and opens sudo mode.
pub async fn grant_sudo(password_typed: &str) -> Result<(), FormError> {
    let (state, client) = limited(Action::Authenticate).await?;
    let user = user()?;
    super::sudo::grant_sudo(&state, &session()?, &user, password_typed, &client).await?;
    Ok(())
}
