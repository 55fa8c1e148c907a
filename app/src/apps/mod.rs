//! Apps (promise P10): private by default, each served only from its own sandboxed origin,
//! opened by short-lived capability tokens, shared by hashed, revocable, expiring links, and
//! purged from the trash after 14 days. Publishing to Discover builds on this area.

pub mod api;
#[cfg(feature = "ssr")]
pub mod http;
pub mod model;
pub mod pages;
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use crate::platform::area::{pages, Area, NavEntry};

pages! {
    // In order: signed-in pages arrive complete, so they read right without JS. An app's page
    // and a share link's wait for their data before answering, so that one that does not
    // exist (or no longer works) answers 404.
    SignedIn "apps" => AppsRoute(pages::AppsPage), InOrder;
    SignedIn "apps/:id" => AppRoute(pages::AppPage), Async;
    SignedIn "apps/join/:app/:token" => JoinRoute(pages::JoinPage), InOrder;
    Anyone "s/:app/:token" => SharedAppRoute(pages::SharedAppPage), Async;
}

pub const AREA: Area = Area {
    name: "apps",
    pages: PAGES,
    routes,
    nav: Some(NavEntry {
        href: "/apps",
        label: "Apps",
        position: 5,
    }),
    notices: model::NOTICES,
    events: model::EVENTS,
    #[cfg(feature = "ssr")]
    server: crate::platform::server_parts::ServerParts {
        routes: Some(http::routes),
        jobs: &[service::purge::PURGE],
        erase: Some(store::erase),
        seed: Some(store::seed),
        exports: store::export::EXPORTS,
        withheld: store::export::WITHHELD,
        files: store::export::FILES,
        leave: Some(service::members::leave_everywhere),
        reseal: Some(secrets::service::reseal),
    },
};
