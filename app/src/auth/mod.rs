//! The accounts area: sign-up with an invite (promise P12), passwords (P2), the address and its
//! verification, the failure counters, mailed single-use links and invites.

pub mod api;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use crate::platform::area::{pages, Area};

pages! {
    Anyone "signup" => SignUpRoute(pages::SignUpPage);
    Anyone "verify-email" => VerifyEmailRoute(pages::VerifyEmailPage);
}

pub const AREA: Area = Area {
    name: "auth",
    pages: PAGES,
    routes,
    nav: None,
    notices: model::NOTICES,
    events: model::EVENTS,
    #[cfg(feature = "ssr")]
    server: crate::platform::server_parts::ServerParts {
        routes: None,
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
