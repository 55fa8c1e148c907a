//! The home page's server function: is the service healthy right now?

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub database_reachable: bool,
    /// When the server checked, as HH:MM:SS UTC.
    pub checked_at: String,
}

#[server(endpoint = "service-status")]
pub async fn service_status() -> Result<StatusReport, ServerFnError> {
    use crate::platform::{db, state::AppState};

    let state = AppState::from_context()
        .ok_or_else(|| ServerFnError::new("the service is starting; try again in a moment"))?;
    let database_reachable = db::ping(&state.pool).await;
    let now = time::OffsetDateTime::now_utc();
    Ok(StatusReport {
        database_reachable,
        checked_at: format!(
            "{:02}:{:02}:{:02} UTC",
            now.hour(),
            now.minute(),
            now.second()
        ),
    })
}
