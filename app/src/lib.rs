//! Custodian's pages and server functions, compiled for the server (`ssr`) and the browser
//! (`hydrate`). The areas, in the one-way order of DESIGN §2: each may use the ones above it in
//! this list, never one below. `AREAS` is the one list the router, the navigation, the protected
//! paths, the notices, the log's event kinds, the jobs, erasure and test seeding come from.

pub mod platform;
pub mod ui;

use leptos::{children::ToChildren, prelude::*, tachys::view::iterators::StaticVec};
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{RouteChildren, Router, Routes, RoutesProps};

use platform::area::{Access, Area, Catalog};

/// Declares each area's module and `AREAS`, the list of their manifests, from one list.
macro_rules! areas {
    ($($area:ident),* $(,)?) => {
        $(pub mod $area;)*

        /// Every area, in the one-way order.
        pub const AREAS: &[Area] = &[$($area::AREA),*];
    };
}

areas!(privacy, auth, mfa, signin, account, security, data, apps, discover, home);

/// What the pages and server functions look up about every area.
pub fn catalog() -> Catalog {
    Catalog::of(AREAS)
}

/// Whether `path` needs a signed-in person: the server sends anyone else to sign in first.
pub fn is_protected(path: &str) -> bool {
    AREAS
        .iter()
        .flat_map(|area| area.pages)
        .any(|page| page.access == Access::SignedIn && page.covers(path))
}

/// Where a signed-in person whose account is scheduled for deletion is sent: the page that
/// cancels it.
pub const DELETION_PAGE: &str = data::model::DELETION_PAGE;

/// Whether a signed-in person whose account is scheduled for deletion may reach `path`: only
/// what cancelling the deletion and signing out need.
pub fn reachable_while_deletion_is_scheduled(path: &str) -> bool {
    data::model::REACHABLE_WHILE_SCHEDULED.contains(&path)
}

/// The HTML document around the app. Every inline or external script carries the response's
/// CSP nonce.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en" class=privacy::pages::theme_class()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <meta name="theme-color" content="#312e81" />
                <meta
                    name="description"
                    content="Your account, security and privacy center: every promise enforced by code."
                />
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="icon" type="image/png" sizes="192x192" href="/icons/icon-192.png" />
                <link rel="apple-touch-icon" href="/icons/icon-192.png" />
                <script src="/sw-register.js" defer nonce=use_nonce()></script>
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-white text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(catalog());
    provide_context(ui::SudoForms(signin::pages::sudo_forms));
    privacy::pages::provide_page_consent();
    // Built inside the router (the layout's children run there): the routes read its context.
    let routes = || {
        let every_route = || {
            StaticVec::from(
                AREAS
                    .iter()
                    .flat_map(|area| (area.routes)())
                    .collect::<Vec<_>>(),
            )
        };
        Routes(
            RoutesProps::builder()
                .fallback(ui::NotFound)
                .children(RouteChildren::to_children(every_route))
                .build(),
        )
    };

    view! {
        <Stylesheet id="leptos" href="/pkg/custodian.css" />
        <Title formatter=|page: String| format!("{page} · Custodian") />
        <Router>
            <ui::Layout
                banner=|| {
                    view! {
                        <privacy::pages::CookieBanner />
                        <privacy::pages::PolicyReviewBanner />
                    }
                }
                account=|| view! { <account::pages::AccountCorner /> }
                footer=|| view! { <privacy::pages::FooterControls /> }
            >
                {routes()}
            </ui::Layout>
        </Router>
    }
}

#[cfg(feature = "ssr")]
pub mod server {
    //! The server's share of the list of areas: their plain routes and jobs, with the
    //! platform's own.

    use time::OffsetDateTime;

    use crate::{
        platform::{
            crypto::{self, CryptoError},
            db::TenantTx,
            jobs::JobKind,
            keys::KeyEncryptionKey,
            portable::{FileSet, RecordKind, Withheld},
            server_parts::{ServerParts, PLATFORM},
            state::AppState,
        },
        AREAS,
    };

    fn parts() -> impl Iterator<Item = &'static ServerParts> {
        std::iter::once(&PLATFORM).chain(AREAS.iter().map(|area| &area.server))
    }

    /// Every area's routes outside Leptos.
    pub fn routes() -> axum::Router<AppState> {
        AREAS
            .iter()
            .filter_map(|area| area.server.routes)
            .fold(axum::Router::new(), |router, routes| router.merge(routes()))
    }

    /// Deletes every row of the transaction's tenant, each area's and then the platform's (its
    /// tenant row last): what leaving a region leaves behind.
    pub async fn erase(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
        for erase in AREAS.iter().filter_map(|area| area.server.erase) {
            erase(tx).await?;
        }
        match PLATFORM.erase {
            Some(erase) => erase(tx).await,
            None => Ok(()),
        }
    }

    /// Removes what the transaction's tenant left in other tenants' rows of its database, area
    /// by area: its account's purge runs it in every region.
    pub async fn leave(tx: &mut TenantTx) -> Result<(), sqlx::Error> {
        for leave in AREAS.iter().filter_map(|area| area.server.leave) {
            leave(tx).await?;
        }
        Ok(())
    }

    /// Rotates the transaction's tenant's data key: a new version, and every value any area
    /// keeps sealed sealed again with it, in the caller's transaction (all or nothing). Values
    /// already sealed with the newest key are left alone, so a pass run again changes nothing.
    /// Returns the new version and how many values were sealed again.
    pub async fn rotate_data_key(
        tx: &mut TenantTx,
        key: &KeyEncryptionKey,
        now: OffsetDateTime,
    ) -> Result<(i32, usize), CryptoError> {
        let version = crypto::rotate_data_key(tx, key, now).await?;
        let mut resealed = 0;
        for reseal in parts().filter_map(|parts| parts.reseal) {
            resealed += reseal(tx, key, now).await?;
        }
        Ok((version, resealed))
    }

    /// Every kind of background job, the platform's first.
    pub fn jobs() -> impl Iterator<Item = &'static JobKind> {
        parts().flat_map(|parts| parts.jobs)
    }

    /// Every kind of record an export holds, the platform's first, then each area's in order.
    pub fn exports() -> impl Iterator<Item = &'static RecordKind> {
        parts().flat_map(|parts| parts.exports)
    }

    /// Every set of files an export holds as they are.
    pub fn file_sets() -> impl Iterator<Item = &'static FileSet> {
        parts().flat_map(|parts| parts.files)
    }

    /// The one list of personal data never exported, with the reasons.
    pub fn withheld() -> impl Iterator<Item = &'static Withheld> {
        parts().flat_map(|parts| parts.withheld)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn notice_codes_and_event_kinds_are_each_declared_once() {
        let catalog = catalog();
        let codes: HashSet<_> = catalog.notices.iter().map(|n| n.code).collect();
        assert_eq!(codes.len(), catalog.notices.len(), "a notice code twice");
        let kinds: HashSet<_> = catalog.events.iter().map(|e| e.code).collect();
        assert_eq!(kinds.len(), catalog.events.len(), "an event kind twice");
        assert!(catalog.events.iter().all(|e| !e.label.is_empty()));
    }

    #[test]
    fn the_navigation_lists_only_pages_that_exist() {
        let catalog = catalog();
        assert!(!catalog.nav.is_empty());
        for entry in &catalog.nav {
            assert!(
                AREAS
                    .iter()
                    .flat_map(|area| area.pages)
                    .any(|page| page.path == entry.href),
                "{} leads to no page",
                entry.href
            );
        }
    }

    #[test]
    fn signed_in_pages_are_protected_and_public_ones_are_not() {
        for path in [
            "/account",
            "/security",
            "/security/sessions",
            "/security/factors",
            "/data",
            "/data/exports/0e5f3e6a-0000-4000-8000-000000000000/archive",
        ] {
            assert!(is_protected(path), "{path}");
        }
        for path in [
            "/",
            "/signin",
            "/signup",
            "/privacy",
            "/policies/privacy",
            "/accounts",
        ] {
            assert!(!is_protected(path), "{path}");
        }
    }
}
