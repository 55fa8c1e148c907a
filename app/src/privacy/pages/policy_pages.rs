//! The versioned policies: a version of a document, and its history.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_params_map};

use crate::{
    privacy::api::{policy_history, policy_page},
    ui::{answer_not_found, LoadError, LINK},
};

/// `/policies/:document` (the version in force) and `/policies/:document/v/:version`.
#[component]
pub fn PolicyDocumentPage() -> impl IntoView {
    let params = use_params_map();
    let page = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("document").unwrap_or_default(),
                p.get("version").and_then(|v| v.parse::<i32>().ok()),
            )
        },
        |(document, version)| policy_page(document, version),
    );
    view! {
        <Suspense fallback=|| {
            view! { <p role="status">"Loading the policy…"</p> }
        }>
            {move || {
                page.get()
                    .map(|result| match result {
                        Err(error) => {
                            answer_not_found();
                            view! {
                                <Title text="Policy not found" />
                                <h1 class="text-3xl font-bold">"Policy not found"</h1>
                                <LoadError error />
                            }
                                .into_any()
                        }
                        Ok(policy) => {
                            let earlier = policy.version < policy.latest_version;
                            view! {
                                <Title text=policy.title.clone() />
                                <p class="text-sm text-slate-700 dark:text-slate-300">
                                    {format!(
                                        "Version {} · Last updated {}",
                                        policy.version,
                                        policy.published,
                                    )} {policy.material.then_some(" · Material change")} " · "
                                    <A
                                        href=format!("/policies/{}/history", policy.document)
                                        attr:class=LINK
                                    >
                                        "Earlier versions"
                                    </A>
                                </p>
                                <Show when=move || earlier>
                                    <p
                                        role="note"
                                        class="mt-2 rounded border border-amber-700 bg-amber-50 px-4 py-2 dark:bg-slate-900"
                                    >
                                        "This is an earlier version. "
                                        <A
                                            href=format!("/policies/{}", policy.document)
                                            attr:class=LINK
                                        >
                                            "Read the version in force"
                                        </A>
                                    </p>
                                </Show>
                                <p class="mt-2 text-sm">
                                    <strong>"What changed: "</strong>
                                    {policy.summary.clone()}
                                </p>
                                <article
                                    class="policy mt-6 max-w-prose"
                                    inner_html=policy.html.clone()
                                ></article>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

/// `/policies/:document/history`: every version, newest first.
#[component]
pub fn PolicyHistoryPage() -> impl IntoView {
    let params = use_params_map();
    let history = Resource::new(
        move || params.read().get("document").unwrap_or_default(),
        policy_history,
    );
    view! {
        <Suspense fallback=|| {
            view! { <p role="status">"Loading the history…"</p> }
        }>
            {move || {
                history
                    .get()
                    .map(|result| match result {
                        Err(error) => {
                            answer_not_found();
                            view! {
                                <Title text="Policy not found" />
                                <h1 class="text-3xl font-bold">"Policy not found"</h1>
                                <LoadError error />
                            }
                                .into_any()
                        }
                        Ok(history) => {
                            let title = format!("{}: all versions", history.title);
                            let document = history.document.clone();
                            view! {
                                <Title text=title.clone() />
                                <h1 class="text-3xl font-bold">{title}</h1>
                                <ol class="mt-6 flex flex-col gap-4">
                                    {history
                                        .versions
                                        .into_iter()
                                        .map(|v| {
                                            view! {
                                                <li>
                                                    <A
                                                        href=format!("/policies/{document}/v/{}", v.version)
                                                        attr:class=LINK
                                                    >
                                                        {format!("Version {} of {}", v.version, v.published)}
                                                    </A>
                                                    {v.material.then_some(" (material change)")}
                                                    <p class="text-sm text-slate-700 dark:text-slate-300">
                                                        {v.summary}
                                                    </p>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ol>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
