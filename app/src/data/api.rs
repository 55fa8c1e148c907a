//! The Your data page's server functions (promise P8). A script with a session uses the same
//! ones: `data/export` starts an export, `data/overview` shows its progress, and the archive
//! downloads from the path each export names.

use leptos::prelude::*;
use uuid::Uuid;

use super::model::{DataOverview, DeletionPlan, DeletionStatus, ExportRow};
use crate::ui::FormError;

#[server(endpoint = "data/overview")]
pub async fn export_overview() -> Result<DataOverview, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::overview(&SignedIn::current()?).await?)
}

/// Starts an export (or finds the one under way) and returns it.
#[server(endpoint = "data/export")]
pub async fn request_export() -> Result<ExportRow, FormError> {
    use super::model::DataNotice;
    use crate::platform::context::Sudo;

    let export = super::service::request(&Sudo::current()?).await?;
    leptos_axum::redirect(&DataNotice::ExportStarted.at("/data"));
    Ok(export)
}

#[server(endpoint = "data/delete")]
pub async fn delete_export(id: Uuid) -> Result<(), FormError> {
    use super::model::DataNotice;
    use crate::platform::context::Sudo;

    super::service::delete(&Sudo::current()?, id).await?;
    leptos_axum::redirect(&DataNotice::ExportDeleted.at("/data"));
    Ok(())
}

/// What asking for deletion now would do, and when.
#[server(endpoint = "data/deletion/plan")]
pub async fn what_deletion_does() -> Result<DeletionPlan, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::deletion::plan(&SignedIn::current()?).await?)
}

/// Whether the account is scheduled for deletion, and when.
#[server(endpoint = "data/deletion")]
pub async fn scheduled_deletion() -> Result<DeletionStatus, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::deletion::status(&SignedIn::current()?).await?)
}

/// Schedules the account's deletion (sudo, and the account's address typed to confirm); the
/// person is signed out and lands on the page that says when and how to cancel.
#[server(endpoint = "data/deletion/request")]
pub async fn request_deletion(email: String) -> Result<(), FormError> {
    use super::model::SCHEDULED_PAGE;
    use crate::platform::context::Sudo;

    let me = Sudo::current()?;
    let due = super::service::deletion::request(&me, &email).await?;
    let (on, seal) = super::service::deletion::landing(me.state(), due);
    leptos_axum::redirect(&format!("{SCHEDULED_PAGE}?on={on}&seal={seal}"));
    Ok(())
}

/// Cancels the scheduled deletion (sudo), within the grace period.
#[server(endpoint = "data/deletion/cancel")]
pub async fn cancel_deletion() -> Result<(), FormError> {
    use super::model::DataNotice;
    use crate::platform::context::Sudo;

    super::service::deletion::cancel(&Sudo::current()?).await?;
    leptos_axum::redirect(&DataNotice::DeletionCancelled.at("/data"));
    Ok(())
}

/// The day of the hard delete the landing page's address names, when this server sealed it
/// there (anyone could write a date into a link; only ours are shown).
#[server(endpoint = "data/deletion/landing")]
pub async fn sealed_deletion_day(on: String, seal: String) -> Result<Option<String>, FormError> {
    use crate::platform::context::Visitor;

    let visitor = Visitor::current()?;
    Ok(super::service::deletion::landing_day(visitor.state(), &on, &seal))
}
