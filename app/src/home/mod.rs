//! The home page: what Custodian promises and whether the service is up. It is the last area:
//! it may show any other.

pub mod api;
pub mod model;
pub mod pages;

use leptos_router::{
    any_nested_route::{AnyNestedRoute, IntoAnyNestedRoute as _},
    path, NestedRoute, SsrMode,
};

use crate::platform::area::{Access, Area, Page};

pub const PAGES: &[Page] = &[Page {
    path: "/",
    access: Access::Anyone,
}];

/// In order: the status panel arrives resolved, so it reads right without JS. Not lazy: it is
/// the first page most people see.
pub fn routes() -> Vec<AnyNestedRoute> {
    vec![NestedRoute::new(path!(""), pages::HomePage)
        .ssr_mode(SsrMode::InOrder)
        .into_any_nested_route()]
}

pub const AREA: Area = Area {
    name: "home",
    pages: PAGES,
    routes,
    nav: None,
    notices: &[],
    events: &[],
    #[cfg(feature = "ssr")]
    server: crate::platform::server_parts::ServerParts::NONE,
};
