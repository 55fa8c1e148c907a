//! Discover (promise P10): the public gallery of apps their owners chose to publish, open to
//! anyone signed in or not, each app in its sandboxed frame on its own origin; and remixing,
//! where its owner allows it. Publishing itself is on the app's page (the apps area).

pub mod api;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use crate::platform::area::{pages, Area, NavEntry};

pages! {
    // Async: an app that is not (or no longer) published answers 404 from the server.
    Anyone "discover" => GalleryRoute(pages::Gallery), Async;
    Anyone "discover/:id" => PublicAppRoute(pages::PublicAppPage), Async;
}

pub const AREA: Area = Area {
    name: "discover",
    pages: PAGES,
    routes,
    nav: Some(NavEntry {
        href: model::GALLERY,
        label: "Discover",
        position: 6,
    }),
    notices: &[],
    events: &[],
    #[cfg(feature = "ssr")]
    server: crate::platform::server_parts::ServerParts::NONE,
};
