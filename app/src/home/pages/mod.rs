//! The home page: what Custodian promises (and which promises are kept, each proven by named
//! tests), and whether the service is up.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    home::{
        api::service_status,
        model::{Promise, PROMISES},
    },
    ui::LINK,
};

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Home" />
        <h1 class="text-4xl font-bold tracking-tight">
            "Your account, security and privacy center"
        </h1>
        <p class="mt-4 max-w-prose text-lg text-slate-700 dark:text-slate-300">
            "Custodian keeps the promises a privacy policy makes, in code, with a test for each one."
        </p>
        <ServiceStatusPanel />
        <section aria-labelledby="join-heading" class="mt-10 max-w-prose">
            <h2 id="join-heading" class="text-2xl font-semibold">
                "Joining"
            </h2>
            <p class="mt-2 text-slate-700 dark:text-slate-300">
                "Custodian is invite-only: ask someone who has an account for an invite link, then "
                <A href="/signup" attr:class=LINK>
                    "create your account"
                </A> ". Already have one? " <A href="/signin" attr:class=LINK>
                    "Sign in"
                </A> "."
            </p>
        </section>
        <PromiseList
            id="promises"
            heading="Our promises"
            promises=PROMISES.iter().filter(|p| p.kept()).copied().collect()
        />
        <PromiseList
            id="planned"
            heading="Promises we are still building"
            promises=PROMISES.iter().filter(|p| !p.kept()).copied().collect()
        />
    }
}

/// A list of promises under a heading; nothing when there are none.
#[component]
fn PromiseList(id: &'static str, heading: &'static str, promises: Vec<Promise>) -> impl IntoView {
    let heading_id = format!("{id}-heading");
    (!promises.is_empty()).then(|| {
        view! {
            <section aria-labelledby=heading_id.clone() class="mt-12">
                <h2 id=heading_id.clone() class="text-2xl font-semibold">
                    {heading}
                </h2>
                <ol class="mt-6 grid gap-4 sm:grid-cols-2">
                    {promises
                        .into_iter()
                        .map(|promise| {
                            view! {
                                <li class="rounded-lg border border-slate-200 p-4 dark:border-slate-800">
                                    <h3 class="font-semibold">{promise.title}</h3>
                                    <p class="mt-1 text-sm text-slate-700 dark:text-slate-300">
                                        {promise.detail}
                                    </p>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
            </section>
        }
    })
}

/// Rendered on the server; "Check again" reloads the page without JavaScript and asks the server
/// function in place with it.
#[component]
fn ServiceStatusPanel() -> impl IntoView {
    let status = Resource::new(|| (), |_| service_status());
    let check_again = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        status.refetch();
    };

    view! {
        <section
            aria-labelledby="status-heading"
            class="mt-10 rounded-lg border border-slate-200 bg-slate-50 p-5 dark:border-slate-800 dark:bg-slate-900"
        >
            <h2 id="status-heading" class="text-xl font-semibold">
                "Service status"
            </h2>
            <p role="status" aria-live="polite" class="mt-2">
                <Transition fallback=|| {
                    "Checking…"
                }>
                    {move || {
                        status
                            .get()
                            .map(|result| match result {
                                Ok(s) if s.database_reachable => {
                                    format!("All systems working (checked at {}).", s.checked_at)
                                }
                                Ok(s) => {
                                    format!(
                                        "The database is not answering (checked at {}).",
                                        s.checked_at,
                                    )
                                }
                                Err(_) => "The service could not be reached.".to_owned(),
                            })
                    }}
                </Transition>
            </p>
            <form method="get" action="/" class="mt-3" on:submit=check_again>
                <button
                    type="submit"
                    class="rounded-md bg-indigo-800 px-4 py-2 text-sm font-semibold text-white hover:bg-indigo-700 focus-visible:outline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-800 dark:bg-indigo-300 dark:text-slate-950 dark:hover:bg-indigo-200"
                >
                    "Check again"
                </button>
            </form>
        </section>
    }
}
