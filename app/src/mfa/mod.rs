//! Second factors (promise P3): passkeys, the authenticator app (TOTP) and backup codes; the
//! factors page, and checking a factor for the sign-in area. The key hierarchy that seals the
//! TOTP secrets is in `platform::crypto`.

pub mod api;
pub mod browser;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use crate::platform::area::Area;

/// The factors page is a child of the Security pages (`security`), which route it.
pub const AREA: Area = Area {
    name: "mfa",
    pages: &[],
    routes: Vec::new,
    nav: None,
    notices: &[],
    events: model::EVENTS,
    #[cfg(feature = "ssr")]
    server: crate::platform::server_parts::ServerParts {
        routes: None,
        jobs: &[],
        erase: Some(store::erase),
        seed: Some(store::seed),
        exports: store::EXPORTS,
        withheld: store::WITHHELD,
        files: &[],
        leave: None,
        reseal: Some(service::enrolment::reseal),
    },
};
