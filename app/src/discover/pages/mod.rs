//! Discover's pages, for anyone: the gallery (`/discover`, with search and pages) and one
//! published app (`/discover/<id>`) in its sandboxed frame, with "Remix" where allowed.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    apps::model::{DISCOVER_CACHE_SECONDS, FRAME_SANDBOX},
    discover::{
        api::{discover_app, discover_gallery, RemixApp},
        model::{app_page, gallery_page, GalleryPage, Listing, PublicApp, GALLERY, SEARCH_CHARS},
    },
    platform::ids::AppId,
    ui::{
        action_error,
        kit::{CAUTION, CARD, INPUT, QUIET_TEXT},
        ButtonKind, FormError, FormNotice, LoadError, Loading, PageHeader, Submit, LINK,
    },
};

const LEAD: &str = "Apps people chose to publish. Each runs sandboxed on its own origin: it cannot see your Custodian account.";

#[component]
pub fn Gallery() -> impl IntoView {
    let query = use_query_map();
    let asked = move || {
        let query = query.read();
        (query.get("q"), query.get("page"))
    };
    let gallery = Resource::new(asked, |(q, page)| discover_gallery(q, page));
    view! {
        <PageHeader title="Discover" lead=LEAD />
        <Transition fallback=|| {
            view! { <Loading what="Loading the gallery…" /> }
        }>
            {move || {
                gallery
                    .get()
                    .map(|result| {
                        let (typed, _) = asked();
                        match result {
                            Ok(page) => {
                                view! {
                                    <SearchForm query=page.query.clone() error=None />
                                    <Listings page />
                                }
                                    .into_any()
                            }
                            Err(error @ FormError::Field { .. }) => {
                                view! {
                                    <SearchForm query=typed.unwrap_or_default() error=Some(error) />
                                }
                                    .into_any()
                            }
                            Err(error) => {
                                view! {
                                    <SearchForm query=typed.unwrap_or_default() error=None />
                                    <LoadError error />
                                    <p class="mt-2">
                                        <a href=GALLERY class=LINK>
                                            "Go to the first page"
                                        </a>
                                    </p>
                                }
                                    .into_any()
                            }
                        }
                    })
            }}
        </Transition>
        <p class=format!(
            "mt-8 {QUIET_TEXT}",
        )>
            {format!(
                "An app its owner unpublishes leaves Discover at once; a copy of this page your browser kept may show it for up to {DISCOVER_CACHE_SECONDS} seconds.",
            )}
        </p>
    }
}

#[component]
fn SearchForm(query: String, error: Option<FormError>) -> impl IntoView {
    let message = error.and_then(|error| error.for_field("q"));
    let invalid = message.is_some();
    view! {
        <form method="get" action=GALLERY role="search" class="mt-6 flex max-w-xl flex-col gap-1">
            <label for="field-q" class="font-medium">
                "Search apps"
            </label>
            <div class="flex gap-3">
                <input
                    id="field-q"
                    name="q"
                    type="search"
                    value=query
                    maxlength=SEARCH_CHARS.to_string()
                    aria-invalid=invalid.to_string()
                    aria-describedby="field-q-error"
                    class=format!("flex-1 {INPUT}")
                />
                <button type="submit" class=ButtonKind::Primary.class()>
                    "Search"
                </button>
            </div>
            <p id="field-q-error" role="alert" class="text-sm text-red-800 dark:text-red-300">
                {message}
            </p>
        </form>
    }
}

#[component]
fn Listings(page: GalleryPage) -> impl IntoView {
    let GalleryPage {
        query,
        page,
        listings,
        has_next,
    } = page;
    let empty = if page > 1 {
        format!("There is no page {page}: the gallery ends before it.")
    } else if query.is_empty() {
        "No app is published yet.".to_owned()
    } else {
        format!("No published app matches \u{201c}{query}\u{201d}.")
    };
    let newer = (page > 1).then(|| gallery_page(&query, page - 1));
    let older = has_next.then(|| gallery_page(&query, page + 1));
    view! {
        {if listings.is_empty() {
            view! {
                <p class="mt-6" role="status">
                    {empty}
                </p>
            }
                .into_any()
        } else {
            view! {
                <ul class="mt-6 grid gap-4 sm:grid-cols-2" aria-label="Published apps">
                    {listings
                        .into_iter()
                        .map(|listing| view! { <ListingCard listing /> })
                        .collect_view()}
                </ul>
            }
                .into_any()
        }}
        <nav aria-label="Pages" class="mt-6 flex items-center gap-4">
            {newer
                .map(|href| {
                    view! {
                        <a href=href rel="prev" class=LINK>
                            "Newer apps"
                        </a>
                    }
                })}
            <span class=QUIET_TEXT>{format!("Page {page}")}</span>
            {older
                .map(|href| {
                    view! {
                        <a href=href rel="next" class=LINK>
                            "Older apps"
                        </a>
                    }
                })}
        </nav>
    }
}

#[component]
fn ListingCard(listing: Listing) -> impl IntoView {
    view! {
        <li class="rounded border border-slate-300 p-4 dark:border-slate-700">
            <h2 class="text-lg font-semibold">
                <a href=app_page(listing.id) class=LINK>
                    {listing.name.clone()}
                </a>
            </h2>
            <p class="mt-1">{listing.description.clone()}</p>
            <p class=QUIET_TEXT>
                {format!("By {} · published {}", listing.author, listing.published)}
            </p>
        </li>
    }
}

#[component]
pub fn PublicAppPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<AppId>().ok());
    let app = Resource::new(id, |id| async move {
        match id {
            Some(id) => discover_app(id).await,
            None => Err(FormError::Page(
                "There is no such app on Discover: it was never published, or its owner took it down."
                    .to_owned(),
            )),
        }
    });
    view! {
        <Transition fallback=|| {
            view! { <Loading what="Opening the app…" /> }
        }>
            {move || {
                app.get()
                    .map(|result| match result {
                        Ok(app) => view! { <PublicFrame app /> }.into_any(),
                        Err(error) => {
                            crate::ui::answer_not_found();
                            view! {
                                <PageHeader title="Discover" />
                                <LoadError error />
                                <p class="mt-2">
                                    <a href=GALLERY class=LINK>
                                        "Back to Discover"
                                    </a>
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn PublicFrame(app: PublicApp) -> impl IntoView {
    let PublicApp {
        listing,
        frame,
        connect_hosts,
        signed_in,
    } = app;
    let connects = if connect_hosts.is_empty() {
        "It connects to nothing beyond its own origin.".to_owned()
    } else {
        format!("It may connect to: {}.", connect_hosts.join(", "))
    };
    let remix = listing
        .remix_allowed
        .then(|| view! { <Remix id=listing.id signed_in /> });
    view! {
        <p class=format!("mb-4 max-w-prose {CAUTION}") role="note">
            "Published by a Custodian user: its content is theirs, not Custodian's. Custodian never asks for your password inside an app."
        </p>
        <PageHeader title=listing.name.clone() />
        <p class="mt-2 max-w-prose">{listing.description.clone()}</p>
        <p class=QUIET_TEXT>
            {format!(
                "By {} · published {}. The app runs sandboxed in its own origin. {connects}",
                listing.author,
                listing.published,
            )}
        </p>
        <iframe
            src=frame
            sandbox=FRAME_SANDBOX
            referrerpolicy="no-referrer"
            title=format!("{}, published app, running sandboxed", listing.name)
            class="mt-4 h-[32rem] w-full rounded border border-slate-300 bg-white dark:border-slate-700"
        ></iframe>
        {remix}
        <p class="mt-4">
            <a href=GALLERY class=LINK>
                "Back to Discover"
            </a>
        </p>
    }
}

#[component]
fn Remix(id: AppId, signed_in: bool) -> impl IntoView {
    let remix = ServerAction::<RemixApp>::new();
    let error = action_error(remix);
    view! {
        <section aria-labelledby="remix-heading" class=CARD>
            <h2 id="remix-heading" class="text-xl font-semibold">
                "Remix"
            </h2>
            <p class=QUIET_TEXT>
                "Its maker allows remixing: copy its files into a new private app of your own, which notes where it came from. Nothing else of theirs is copied."
            </p>
            {if signed_in {
                view! {
                    <ActionForm action=remix attr:class="mt-3">
                        <input type="hidden" name="id" value=id.to_string() />
                        <FormNotice error />
                        <Submit label="Remix into my apps" pending=remix.pending() />
                    </ActionForm>
                }
                    .into_any()
            } else {
                view! {
                    <p class="mt-3">
                        <a href="/signin" class=LINK>
                            "Sign in"
                        </a>
                        " to remix it."
                    </p>
                }
                    .into_any()
            }}
        </section>
    }
}
