//! The home page: what Custodian promises, and whether the service is up.

pub mod api;

use leptos::prelude::*;
use leptos_meta::Title;

use api::service_status;

/// The promises of DESIGN.md §1, in a line each.
const PROMISES: [(&str, &str); 14] = [
    (
        "No one else reads your rows",
        "Every table is isolated per account by the database itself.",
    ),
    (
        "Passwords are never stored",
        "Only slow, salted argon2id hashes are kept.",
    ),
    (
        "A second factor protects you",
        "Authenticator codes, backup codes and passkeys.",
    ),
    (
        "Sessions end when they should",
        "See every signed-in device and end any of them.",
    ),
    (
        "You see what happened",
        "A tamper-evident security log of your account.",
    ),
    (
        "Consent is asked and honored",
        "Cookie choices and Global Privacy Control, recorded.",
    ),
    (
        "Policy changes are visible",
        "Versioned policies; material changes are shown to you.",
    ),
    (
        "Take everything and leave",
        "Export every record, or delete the account for good.",
    ),
    (
        "Secrets stay secret",
        "API keys are encrypted with your own data key.",
    ),
    (
        "Only you see your apps",
        "Private by default; sharing and publishing are your choice.",
    ),
    (
        "Data stays in its region",
        "US-East or EU-West, chosen at sign-up.",
    ),
    (
        "Sign-up is by invitation",
        "Single-use invite codes; who invited whom is recorded.",
    ),
    (
        "No third party sees you",
        "No outside scripts, fonts or cookies.",
    ),
    (
        "The transport is hardened",
        "Strict security headers and cross-site request checks.",
    ),
];

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Home" />
        <h1 class="text-4xl font-bold tracking-tight">"Your account, security and privacy center"</h1>
        <p class="mt-4 max-w-prose text-lg text-slate-700 dark:text-slate-300">
            "Custodian keeps the promises a privacy policy makes, in code, with a test for each one."
        </p>
        <ServiceStatusPanel />
        <section aria-labelledby="promises-heading" class="mt-12">
            <h2 id="promises-heading" class="text-2xl font-semibold">"Our promises"</h2>
            <ol class="mt-6 grid gap-4 sm:grid-cols-2">
                {PROMISES
                    .iter()
                    .map(|(title, detail)| {
                        view! {
                            <li class="rounded-lg border border-slate-200 p-4 dark:border-slate-800">
                                <h3 class="font-semibold">{*title}</h3>
                                <p class="mt-1 text-sm text-slate-700 dark:text-slate-300">{*detail}</p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        </section>
    }
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
            <h2 id="status-heading" class="text-xl font-semibold">"Service status"</h2>
            <p role="status" aria-live="polite" class="mt-2">
                <Transition fallback=|| "Checking…">
                    {move || {
                        status
                            .get()
                            .map(|result| match result {
                                Ok(s) if s.database_reachable => {
                                    format!("All systems working (checked at {}).", s.checked_at)
                                }
                                Ok(s) => format!("The database is not answering (checked at {}).", s.checked_at),
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
