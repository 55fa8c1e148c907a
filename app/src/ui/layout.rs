//! The page frame: landmarks (banner, navigation, main, contentinfo), a skip link first in the
//! focus order, the navigation from the areas that exist, and the slots the app shell fills with
//! other areas' parts (the consent banners, the account corner of the header, the footer's
//! controls), so this kit imports no area.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::kit::LINK;
use crate::platform::area::Catalog;

#[component]
pub fn Layout(
    /// Shown above the header: notices that concern the whole site (cookie choice, policy
    /// reviews).
    #[prop(into)]
    banner: ViewFn,
    /// The header's right end: who is signed in, or how to sign in.
    #[prop(into)]
    account: ViewFn,
    /// The footer's controls (cookie settings, theme).
    #[prop(into)]
    footer: ViewFn,
    children: Children,
) -> impl IntoView {
    // Effects run only in the browser: this marks the page as interactive, for people's
    // assistive tools and for the end-to-end tests alike.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    let nav = use_context::<Catalog>().unwrap_or_default().nav;

    view! {
        // rel=external: the router leaves the link to the browser, whose fragment navigation moves
        // keyboard focus to <main>; a client-side navigation would only scroll.
        <a
            href="#main"
            rel="external"
            class="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:z-50 focus:rounded focus:bg-indigo-800 focus:px-4 focus:py-2 focus:text-white"
        >
            "Skip to content"
        </a>
        {banner.run()}
        <header class="border-b border-slate-200 bg-slate-50 dark:border-slate-800 dark:bg-slate-900">
            <div class="mx-auto flex max-w-5xl flex-wrap items-center gap-x-8 gap-y-2 px-4 py-3">
                <A
                    href="/"
                    attr:class="text-lg font-bold tracking-tight text-indigo-800 dark:text-indigo-300"
                >
                    "Custodian"
                </A>
                <nav aria-label="Main">
                    <ul class="flex flex-wrap gap-x-5 gap-y-1 text-sm font-medium">
                        {nav
                            .into_iter()
                            .map(|entry| {
                                view! {
                                    <li>
                                        <A
                                            href=entry.href
                                            attr:class="rounded px-1 py-1 text-slate-700 underline-offset-4 hover:underline aria-[current=page]:text-indigo-800 aria-[current=page]:underline dark:text-slate-200 dark:aria-[current=page]:text-indigo-300"
                                        >
                                            {entry.label}
                                        </A>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                </nav>
                <div class="ml-auto flex items-center gap-3 text-sm">{account.run()}</div>
            </div>
        </header>
        <main id="main" tabindex="-1" class="mx-auto max-w-5xl px-4 py-10 focus:outline-none">
            {children()}
        </main>
        <footer class="border-t border-slate-200 dark:border-slate-800">
            <p class="mx-auto max-w-5xl px-4 py-6 text-sm text-slate-700 dark:text-slate-300">
                "Custodian: no third-party scripts, fonts or cookies on any page."
            </p>
            {footer.run()}
        </footer>
    }
}

/// Makes the server answer this page with 404 Not Found (the page says so too), so nothing
/// counts or caches an address that leads nowhere. Does nothing in the browser.
pub fn answer_not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
}

/// The page for any unknown path; the server answers it with status 404.
#[component]
pub fn NotFound() -> impl IntoView {
    answer_not_found();

    view! {
        <Title text="Page not found" />
        <h1 class="text-3xl font-bold">"Page not found"</h1>
        <p class="mt-4 max-w-prose text-slate-700 dark:text-slate-300">
            "There is nothing at this address. It may have moved, or the link may be mistyped."
        </p>
        <p class="mt-6">
            <A href="/" attr:class=LINK>
                "Go to the home page"
            </A>
        </p>
    }
}
