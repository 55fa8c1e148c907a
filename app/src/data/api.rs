//! The Your data page's server functions (promise P8). A script with a session uses the same
//! ones: `data/export` starts an export, `data/overview` shows its progress, and the archive
//! downloads from the path each export names.

use leptos::prelude::*;
use uuid::Uuid;

use super::model::{DataOverview, ExportRow};
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
