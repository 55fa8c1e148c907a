//! Discover's server functions: the gallery and one published app for anyone, and remixing
//! for a signed-in person.

use leptos::prelude::*;

use super::model::{GalleryPage, PublicApp};
use crate::{platform::ids::AppId, ui::FormError};

/// A page of the gallery: `q` searches names and descriptions, `page` counts from 1.
#[server(endpoint = "discover/gallery")]
pub async fn discover_gallery(
    q: Option<String>,
    page: Option<String>,
) -> Result<GalleryPage, FormError> {
    use super::service::{self, Search};
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::current()?;
    let search = Search::parse(q.as_deref().unwrap_or_default())?;
    if search.pattern().is_some() {
        visitor.count(Action::Search).await?;
    }
    let page = service::page_number(page.as_deref())?;
    Ok(service::gallery(visitor.state(), &search, page).await?)
}

/// One published app, with its frame.
#[server(endpoint = "discover/app")]
pub async fn discover_app(id: AppId) -> Result<PublicApp, FormError> {
    use crate::platform::context::Visitor;

    let visitor = Visitor::current()?;
    let signed_in = visitor.user().is_some();
    Ok(super::service::public_app(visitor.state(), id, signed_in).await?)
}

/// Copies a published app that allows it into a new private app of the signed-in person's.
#[server(endpoint = "discover/remix")]
pub async fn remix_app(id: AppId) -> Result<AppId, FormError> {
    use crate::{
        apps::model::{app_page, AppsNotice},
        platform::context::SignedIn,
    };

    let copy = super::service::remix(&SignedIn::current()?, id).await?;
    leptos_axum::redirect(&AppsNotice::Remixed.at(&app_page(copy)));
    Ok(copy)
}
