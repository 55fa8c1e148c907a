//! Your data (promise P8): export everything as a signed, verifiable archive built in the
//! background. The deletion and rights-request issues extend this area.

pub mod api;
#[cfg(feature = "ssr")]
pub mod http;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use crate::platform::area::{pages, Area, NavEntry};

pages! {
    // In order: signed-in pages arrive complete, so they read right without JS.
    SignedIn "data" => DataRoute(pages::DataPage), InOrder;
}

pub const AREA: Area = Area {
    name: "data",
    pages: PAGES,
    routes,
    nav: Some(NavEntry {
        href: "/data",
        label: "Your data",
        position: 3,
    }),
    notices: model::NOTICES,
    events: model::EVENTS,
    #[cfg(feature = "ssr")]
    server: crate::platform::server_parts::ServerParts {
        routes: Some(http::routes),
        jobs: &[service::job::BUILD, service::job::SWEEP],
        erase: Some(store::erase),
        seed: Some(store::seed),
        exports: store::EXPORTS,
        withheld: store::WITHHELD,
    },
};
