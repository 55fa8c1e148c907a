//! The privacy area (promises P6, P7, P13): consent on every request, the cookie banner and the
//! footer's controls, the Privacy page with its ledger and receipts, and the versioned policies.

pub mod api;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod middleware;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use crate::platform::area::{pages, Area, NavEntry};

pages! {
    // In order: the consent history reads right without JS.
    Anyone "privacy" => PrivacyRoute(pages::PrivacyPage), InOrder;
    Anyone "privacy/verify-receipt" => VerifyReceiptRoute(pages::VerifyReceiptPage);
    // Async: the whole policy is known before the answer starts, so an unknown document or
    // version is answered 404.
    Anyone "policies/:document" => PolicyRoute(pages::PolicyDocumentPage), Async;
    Anyone "policies/:document/v/:version" => PolicyVersionRoute(pages::PolicyDocumentPage), Async;
    Anyone "policies/:document/history" => PolicyHistoryRoute(pages::PolicyHistoryPage), Async;
}

pub const AREA: Area = Area {
    name: "privacy",
    pages: PAGES,
    routes,
    nav: Some(NavEntry {
        href: "/privacy",
        label: "Privacy",
        position: 4,
    }),
    notices: &[],
    events: model::EVENTS,
    #[cfg(feature = "ssr")]
    server: crate::platform::server_parts::ServerParts {
        routes: Some(http::routes),
        jobs: &[],
        erase: Some(store::erase),
        seed: Some(store::seed),
        exports: store::export::EXPORTS,
        withheld: store::export::WITHHELD,
        files: &[],
        leave: None,
        reseal: None,
    },
};
