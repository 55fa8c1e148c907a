//! The apps pages' server functions (promise P10). Each acts for the signed-in owner on an app
//! of theirs; opening a share link acts for whoever holds it.

use leptos::prelude::*;

use super::model::{AppPageData, AppSummary, NewLink, PublishOutcome, SharedApp, SharedView};
use crate::{
    platform::ids::{AppId, ShareLinkId},
    ui::FormError,
};

#[server(endpoint = "apps/list")]
pub async fn list_apps() -> Result<Vec<AppSummary>, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::list(&SignedIn::current()?).await?)
}

/// Makes an app (empty, or from the starter) and opens its page.
#[server(endpoint = "apps/create")]
pub async fn create_app(
    name: String,
    description: String,
    start: String,
) -> Result<AppId, FormError> {
    use super::{
        model::{app_page, AppsNotice},
        service::{self, Details},
    };
    use crate::platform::context::SignedIn;

    let me = SignedIn::current()?;
    let details = Details::parse(&name, &description)?;
    let start = if start == "starter" {
        service::Start::Starter
    } else {
        service::Start::Empty
    };
    let id = service::create(&me, details, start).await?;
    leptos_axum::redirect(&AppsNotice::Created.at(&app_page(id)));
    Ok(id)
}

/// What the app's page shows: the owner's view, or a collaborator's.
#[server(endpoint = "apps/detail")]
pub async fn app_overview(id: AppId) -> Result<AppPageData, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::page(&SignedIn::current()?, id).await?)
}

#[server(endpoint = "apps/shared-with-me")]
pub async fn apps_shared_with_me() -> Result<Vec<SharedApp>, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::members::shared_with_me(&SignedIn::current()?).await?)
}

/// An editor changes a shared app's name and description.
#[server(endpoint = "apps/save-shared")]
pub async fn save_shared_app(id: AppId, name: String, description: String) -> Result<(), FormError> {
    use super::{
        model::{app_page, AppsNotice},
        service::{self, Details},
    };
    use crate::platform::context::SignedIn;

    let me = SignedIn::current()?;
    service::update_shared(&me, id, Details::parse(&name, &description)?).await?;
    leptos_axum::redirect(&AppsNotice::Saved.at(&app_page(id)));
    Ok(())
}

/// The owner invites an address to the app (or invites it again).
#[server(endpoint = "apps/member/invite")]
pub async fn invite_member(id: AppId, email: String, role: String) -> Result<(), FormError> {
    use super::{
        model::{app_page, AppsNotice, MemberRole},
        service::members,
    };
    use crate::platform::context::SignedIn;

    members::invite(&SignedIn::current()?, id, &email, MemberRole::parse(&role)).await?;
    leptos_axum::redirect(&AppsNotice::Invited.at(&app_page(id)));
    Ok(())
}

#[server(endpoint = "apps/member/remove")]
pub async fn remove_member(id: AppId, member: uuid::Uuid) -> Result<(), FormError> {
    use super::{
        model::{app_page, AppsNotice},
        service::members,
    };
    use crate::platform::context::SignedIn;

    members::remove(&SignedIn::current()?, id, member).await?;
    leptos_axum::redirect(&AppsNotice::MemberRemoved.at(&app_page(id)));
    Ok(())
}

/// Accepts an invitation with the signed-in account (its verified address must be the one
/// invited) and opens the app.
#[server(endpoint = "apps/member/accept")]
pub async fn accept_invitation(app: AppId, token: String) -> Result<(), FormError> {
    use super::{
        model::{app_page, AppsNotice},
        service::members,
    };
    use crate::platform::context::SignedIn;

    members::accept(&SignedIn::current()?, app, &token).await?;
    leptos_axum::redirect(&AppsNotice::Joined.at(&app_page(app)));
    Ok(())
}

#[server(endpoint = "apps/member/leave")]
pub async fn leave_app(id: AppId) -> Result<(), FormError> {
    use super::{
        model::{AppsNotice, APPS_PAGE},
        service::members,
    };
    use crate::platform::context::SignedIn;

    members::leave(&SignedIn::current()?, id).await?;
    leptos_axum::redirect(&AppsNotice::Left.at(APPS_PAGE));
    Ok(())
}

/// The address of the app's frame for its owner or a collaborator (a fresh capability token).
#[server(endpoint = "apps/frame")]
pub async fn app_frame(id: AppId) -> Result<String, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::frame(&SignedIn::current()?, id).await?)
}

#[server(endpoint = "apps/save")]
pub async fn save_app(
    id: AppId,
    name: String,
    description: String,
    connect_hosts: String,
) -> Result<(), FormError> {
    use super::{
        model::{app_page, AppsNotice},
        service::{self, parse_connect_hosts, Details},
    };
    use crate::platform::context::SignedIn;

    let me = SignedIn::current()?;
    let details = Details::parse(&name, &description)?;
    let hosts = parse_connect_hosts(&connect_hosts)?;
    service::update(&me, id, details, hosts).await?;
    leptos_axum::redirect(&AppsNotice::Saved.at(&app_page(id)));
    Ok(())
}

#[server(endpoint = "apps/file/delete")]
pub async fn delete_app_file(id: AppId, path: String) -> Result<(), FormError> {
    use super::model::{app_page, AppsNotice};
    use crate::platform::context::SignedIn;

    super::service::upload::delete_file(&SignedIn::current()?, id, &path).await?;
    leptos_axum::redirect(&AppsNotice::FileDeleted.at(&app_page(id)));
    Ok(())
}

#[server(endpoint = "apps/trash")]
pub async fn trash_app(id: AppId) -> Result<(), FormError> {
    use super::model::{app_page, AppsNotice};
    use crate::platform::context::SignedIn;

    super::service::trash(&SignedIn::current()?, id).await?;
    leptos_axum::redirect(&AppsNotice::Trashed.at(&app_page(id)));
    Ok(())
}

#[server(endpoint = "apps/restore")]
pub async fn restore_app(id: AppId) -> Result<(), FormError> {
    use super::model::{app_page, AppsNotice};
    use crate::platform::context::SignedIn;

    super::service::restore(&SignedIn::current()?, id).await?;
    leptos_axum::redirect(&AppsNotice::Restored.at(&app_page(id)));
    Ok(())
}

/// Makes a share link; its address is in the answer, once.
#[server(endpoint = "apps/link/create")]
pub async fn create_share_link(
    id: AppId,
    label: String,
    expiry: String,
    password: String,
) -> Result<NewLink, FormError> {
    use super::{model::LinkExpiry, service::links};
    use crate::platform::context::SignedIn;

    let me = SignedIn::current()?;
    let expiry = LinkExpiry::parse(&expiry).unwrap_or_default();
    Ok(links::create(&me, id, &label, expiry, Some(&password)).await?)
}

/// Revokes one link, or every link of the app when `link` is empty.
#[server(endpoint = "apps/link/revoke")]
pub async fn revoke_share_link(id: AppId, link: Option<ShareLinkId>) -> Result<(), FormError> {
    use super::model::{app_page, AppsNotice};
    use crate::platform::context::SignedIn;

    super::service::links::revoke(&SignedIn::current()?, id, link).await?;
    let notice = if link.is_some() { AppsNotice::LinkRevoked } else { AppsNotice::LinksRevoked };
    leptos_axum::redirect(&notice.at(&app_page(id)));
    Ok(())
}

/// Opens a share link: the app's frame, or a request for its password. A link that does not
/// work answers 404.
#[server(endpoint = "apps/shared")]
pub async fn open_shared_link(
    app: AppId,
    token: String,
    password: Option<String>,
) -> Result<SharedView, FormError> {
    use super::service::{links, AppsError};
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::limited(Action::ShareLink).await?;
    match links::open(&visitor, app, &token, password.as_deref()).await {
        Err(AppsError::LinkGone) => {
            crate::ui::answer_not_found();
            Err(AppsError::LinkGone.into())
        }
        opened => Ok(opened?),
    }
}

/// Publishes the app to Discover (sudo): the typed name must match, and the publish check's
/// findings block it unless a reason to publish anyway is given.
#[server(endpoint = "apps/publish")]
pub async fn publish_app(
    id: AppId,
    confirm_name: String,
    author: String,
    remix: Option<String>,
    reason: Option<String>,
) -> Result<PublishOutcome, FormError> {
    use super::{
        model::{app_page, AppsNotice},
        service::publish::{self, Author, Reason},
    };
    use crate::platform::context::Sudo;

    let me = Sudo::current()?;
    let author = Author::parse(&author)?;
    let reason = Reason::parse(reason.as_deref().unwrap_or_default())?;
    let outcome = publish::publish(&me, id, &confirm_name, author, remix.is_some(), reason).await?;
    if outcome == PublishOutcome::Published {
        leptos_axum::redirect(&AppsNotice::Published.at(&app_page(id)));
    }
    Ok(outcome)
}

/// Takes the app off Discover at once.
#[server(endpoint = "apps/unpublish")]
pub async fn unpublish_app(id: AppId) -> Result<(), FormError> {
    use super::model::{app_page, AppsNotice};
    use crate::platform::context::SignedIn;

    super::service::publish::unpublish(&SignedIn::current()?, id).await?;
    leptos_axum::redirect(&AppsNotice::Unpublished.at(&app_page(id)));
    Ok(())
}

/// Allows ("on", which needs sudo: copies cannot be taken back) or stops remixing of a
/// published app.
#[server(endpoint = "apps/remix-setting")]
pub async fn set_app_remix(id: AppId, allow: String) -> Result<(), FormError> {
    use super::model::{app_page, AppsNotice};
    use crate::platform::context::{SignedIn, Sudo};

    let allowed = allow == "on";
    if allowed {
        Sudo::current()?;
    }
    super::service::publish::set_remix(&SignedIn::current()?, id, allowed).await?;
    let notice = if allowed {
        AppsNotice::RemixOn
    } else {
        AppsNotice::RemixOff
    };
    leptos_axum::redirect(&notice.at(&app_page(id)));
    Ok(())
}
