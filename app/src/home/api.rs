//! The home page's server function: is the service healthy right now?

use leptos::prelude::*;

use super::model::StatusReport;
use crate::ui::FormError;

#[server(endpoint = "service-status")]
pub async fn service_status() -> Result<StatusReport, FormError> {
    use crate::platform::{context::Visitor, db};

    let visitor = Visitor::current()?;
    let database_reachable = db::ping(&visitor.state().pool).await;
    let now = visitor.now();
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
