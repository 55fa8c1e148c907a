//! The area manifest (DESIGN §2): what each area exports, so that `lib.rs` derives the router,
//! the protected paths, the navigation, the notice texts and the security log's event kinds (and
//! on the server the plain routes, background jobs, account erasure and test seeding) from one
//! list of areas. A new area is one folder plus one line in that list.

use leptos_router::any_nested_route::AnyNestedRoute;

/// Who may open a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// A signed-out visitor is sent to sign in first, and comes back after.
    SignedIn,
}

/// One page of an area: its path and who may open it. A signed-in page also covers every path
/// below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub path: &'static str,
    pub access: Access,
}

impl Page {
    /// Whether `path` is this page or lies below it.
    pub fn covers(&self, path: &str) -> bool {
        path == self.path
            || path
                .strip_prefix(self.path)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

/// An area's entry in the main navigation; `position` orders the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NavEntry {
    pub href: &'static str,
    pub label: &'static str,
    pub position: u8,
}

/// A confirmation a page shows after a redirect (`?notice=code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeText {
    pub code: &'static str,
    pub text: &'static str,
}

/// A kind of security-log event: its stored code and how the log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKind {
    pub code: &'static str,
    pub label: &'static str,
}

/// What an area contributes to the whole.
pub struct Area {
    pub name: &'static str,
    pub pages: &'static [Page],
    /// The pages' routes for the Leptos router, with their (lazily loaded) views.
    pub routes: fn() -> Vec<AnyNestedRoute>,
    pub nav: Option<NavEntry>,
    pub notices: &'static [NoticeText],
    pub events: &'static [EventKind],
    #[cfg(feature = "ssr")]
    pub server: super::server_parts::ServerParts,
}

/// What the pages and server functions look up about every area: provided as context by the
/// app shell and the server-function handler, both built from the one list of areas.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub notices: Vec<NoticeText>,
    pub events: Vec<EventKind>,
    pub nav: Vec<NavEntry>,
}

impl Catalog {
    pub fn of(areas: &[Area]) -> Self {
        let mut nav: Vec<NavEntry> = areas.iter().filter_map(|area| area.nav).collect();
        nav.sort_by_key(|entry| entry.position);
        Self {
            notices: areas
                .iter()
                .flat_map(|a| a.notices.iter().copied())
                .collect(),
            events: areas
                .iter()
                .flat_map(|a| a.events.iter().copied())
                .collect(),
            nav,
        }
    }

    pub fn notice(&self, code: &str) -> Option<&'static str> {
        self.notices.iter().find(|n| n.code == code).map(|n| n.text)
    }

    pub fn event(&self, code: &str) -> Option<EventKind> {
        self.events.iter().copied().find(|kind| kind.code == code)
    }

    /// How the log names an event of kind `code`.
    pub fn event_label<'a>(&self, code: &'a str) -> &'a str {
        self.event(code).map_or(code, |kind| kind.label)
    }
}

/// Declares an area's pages once: the `PAGES` table (path and access) and `routes()`, each page
/// a lazily loaded route of its own (cargo-leptos `--split`).
///
/// `SignedIn "account" => AccountRoute(pages::AccountPage), InOrder;`
macro_rules! pages {
    ($($access:ident $path:tt => $route:ident($page:path) $(, $ssr:ident)?;)*) => {
        pub const PAGES: &[$crate::platform::area::Page] = &[$(
            $crate::platform::area::Page {
                path: concat!("/", $path),
                access: $crate::platform::area::Access::$access,
            },
        )*];

        $($crate::platform::area::lazy_page!($route, $page);)*

        pub fn routes() -> Vec<leptos_router::any_nested_route::AnyNestedRoute> {
            use leptos_router::any_nested_route::IntoAnyNestedRoute as _;
            vec![$(
                leptos_router::NestedRoute::new(
                    leptos_router::path!($path),
                    leptos_router::Lazy::<$route>::new(),
                )
                .ssr_mode($crate::platform::area::pages!(@ssr $($ssr)?))
                .into_any_nested_route(),
            )*]
        }
    };
    (@ssr) => { leptos_router::SsrMode::default() };
    (@ssr $ssr:ident) => { leptos_router::SsrMode::$ssr };
}
pub(crate) use pages;

/// A route whose page the browser loads only when it is visited: its code is a WASM chunk of
/// its own, so the first page needs only the shell and its own code.
macro_rules! lazy_page {
    ($route:ident, $page:path) => {
        pub struct $route;

        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> leptos::prelude::AnyView {
                use leptos::prelude::IntoAny as _;
                $page().into_any()
            }
        }
    };
}
pub(crate) use lazy_page;

/// Declares an area's notices: an enum whose values redirect with `?notice=`, and the `NOTICES`
/// table the app's catalog collects.
macro_rules! notices {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            pub const fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }

            /// `path` with this notice in its query, for a redirect.
            pub fn at(self, path: &str) -> String {
                let separator = if path.contains('?') { '&' } else { '?' };
                format!("{path}{separator}notice={}", self.code())
            }
        }

        pub const NOTICES: &[$crate::platform::area::NoticeText] = &[$(
            $crate::platform::area::NoticeText { code: $code, text: $text },
        )*];
    };
}
pub(crate) use notices;

/// Declares an area's security-log event kinds: a constant for each and the `EVENTS` table.
macro_rules! events {
    ($($name:ident = $code:literal => $label:literal,)*) => {
        $(pub const $name: $crate::platform::area::EventKind =
            $crate::platform::area::EventKind { code: $code, label: $label };)*

        pub const EVENTS: &[$crate::platform::area::EventKind] = &[$($name,)*];
    };
}
pub(crate) use events;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_covers_itself_and_what_lies_below_it_only() {
        let page = Page {
            path: "/account",
            access: Access::SignedIn,
        };
        assert!(page.covers("/account"));
        assert!(page.covers("/account/email"));
        assert!(!page.covers("/accounts"));
        assert!(!page.covers("/"));
    }
}
