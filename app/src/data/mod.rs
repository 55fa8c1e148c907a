//! Your data (promises P8, P15): export everything as a signed, verifiable archive built in the
//! background; delete the account (locked at once, purged after a grace period, with a signed
//! deletion receipt); and exercise your rights, each with its legal clock (`rights`).

pub mod api;
#[cfg(feature = "ssr")]
pub mod http;
pub mod model;
pub mod pages;
pub mod rights;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use crate::platform::area::{pages, Area, NavEntry};

pages! {
    // In order: signed-in pages arrive complete, so they read right without JS.
    SignedIn "data" => DataRoute(pages::DataPage), InOrder;
    SignedIn "data/delete" => DeleteAccountRoute(pages::DeleteAccountPage), InOrder;
    SignedIn "data/deletion" => DeletionRoute(pages::DeletionPage), InOrder;
    SignedIn "data/requests/new" => NewRequestRoute(rights::pages::NewRequestPage), InOrder;
    Anyone "privacy/requests-report" => RequestsReportRoute(rights::pages::RequestsReportPage);
    Anyone "deletion-scheduled" => DeletionScheduledRoute(pages::DeletionScheduledPage);
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
        jobs: &[
            service::job::BUILD,
            service::job::SWEEP,
            service::purge::REMIND,
            service::purge::PURGE,
        ],
        erase: Some(store::erase),
        seed: Some(store::seed),
        exports: store::EXPORTS,
        withheld: store::WITHHELD,
        files: &[],
        leave: None,
        reseal: None,
    },
};
