//! The Security pages: the security log (promise P5), the sessions (promise P4), the
//! second-factor area's factors page and the account's encryption key (promise P9), as children
//! of one frame with their navigation.

pub mod api;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::tachys::view::iterators::StaticVec;
use leptos_router::{
    any_nested_route::{AnyNestedRoute, IntoAnyNestedRoute as _},
    path, Lazy, NestedRoute, SsrMode,
};

use crate::platform::area::{lazy_page, Access, Area, NavEntry, Page};

/// Every Security page needs a signed-in person.
pub const PAGES: &[Page] = &[Page {
    path: "/security",
    access: Access::SignedIn,
}];

lazy_page!(SecurityLogRoute, pages::SecurityLogPage);
lazy_page!(SessionsRoute, pages::SessionsPage);
lazy_page!(FactorsRoute, crate::mfa::pages::FactorsPage);
lazy_page!(EncryptionRoute, pages::EncryptionPage);

/// `/security` and its children. In order: signed-in pages arrive complete, so they read right
/// without JS.
pub fn routes() -> Vec<AnyNestedRoute> {
    let children = vec![
        NestedRoute::new(path!(""), Lazy::<SecurityLogRoute>::new())
            .ssr_mode(SsrMode::InOrder)
            .into_any_nested_route(),
        NestedRoute::new(path!("sessions"), Lazy::<SessionsRoute>::new())
            .ssr_mode(SsrMode::InOrder)
            .into_any_nested_route(),
        NestedRoute::new(path!("factors"), Lazy::<FactorsRoute>::new())
            .ssr_mode(SsrMode::InOrder)
            .into_any_nested_route(),
        NestedRoute::new(path!("encryption"), Lazy::<EncryptionRoute>::new())
            .ssr_mode(SsrMode::InOrder)
            .into_any_nested_route(),
    ];
    vec![NestedRoute::new(path!("security"), pages::SecurityLayout)
        .ssr_mode(SsrMode::InOrder)
        .child(StaticVec::from(children))
        .into_any_nested_route()]
}

pub const AREA: Area = Area {
    name: "security",
    pages: PAGES,
    routes,
    nav: Some(NavEntry {
        href: "/security",
        label: "Security",
        position: 2,
    }),
    notices: model::NOTICES,
    events: model::EVENTS,
    #[cfg(feature = "ssr")]
    server: crate::platform::server_parts::ServerParts::NONE,
};
