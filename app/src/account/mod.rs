//! The account area: the Account page (name, address, password, invites, data region and its
//! attestation) and the header's account corner. It owns no table: the account's rows belong to `auth`.

pub mod api;
#[cfg(feature = "ssr")]
pub mod http;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use crate::platform::area::{pages, Area, NavEntry};

pages! {
    // In order: signed-in pages arrive complete, so they read right without JS.
    SignedIn "account" => AccountRoute(pages::AccountPage), InOrder;
    Anyone "confirm-email" => ConfirmEmailRoute(pages::ConfirmEmailPage);
}

pub const AREA: Area = Area {
    name: "account",
    pages: PAGES,
    routes,
    nav: Some(NavEntry {
        href: "/account",
        label: "Account",
        position: 1,
    }),
    notices: model::NOTICES,
    events: model::EVENTS,
    #[cfg(feature = "ssr")]
    server: crate::platform::server_parts::ServerParts {
        routes: Some(http::routes),
        ..crate::platform::server_parts::ServerParts::NONE
    },
};
