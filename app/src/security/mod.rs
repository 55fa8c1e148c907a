//! The Security area: the security log (promise P5) and the sessions page (promise P4). Second
//! factors have their own area, `mfa`.

pub mod api;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    account::LoadError,
    auth::{besides_sudo, resubmit, SudoPrompt},
    ui::{
        form::{action_error, query_notice, FormNotice, Notice},
        LINK,
    },
};
use api::{
    event_label, list_sessions, security_log, RevokeSession, SessionRow, SignOutEverywhereElse,
    EVENT_KINDS,
};

#[component]
pub fn SecurityNav() -> impl IntoView {
    view! {
        <nav aria-label="Security" class="mt-4">
            <ul class="flex gap-6">
                <li><A href="/security" exact=true attr:class="aria-[current=page]:font-bold">"Security log"</A></li>
                <li><A href="/security/sessions" attr:class="aria-[current=page]:font-bold">"Sessions"</A></li>
                <li><A href="/security/factors" attr:class="aria-[current=page]:font-bold">"Two-step sign-in"</A></li>
            </ul>
        </nav>
    }
}

#[component]
pub fn SecurityLogPage() -> impl IntoView {
    let query = use_query_map();
    let kind = move || query.read().get("kind").filter(|k| !k.is_empty());
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    };
    let log = Resource::new(
        move || (kind(), before()),
        |(kind, before)| security_log(kind, before),
    );
    view! {
        <Title text="Security log" />
        <h1 class="text-3xl font-bold">"Security log"</h1>
        <SecurityNav />
        <crate::mfa::FactorSummary />
        <form method="get" action="/security" class="mt-6 flex items-end gap-3">
            <div class="flex flex-col gap-1">
                <label for="kind" class="font-medium">"Show"</label>
                <select id="kind" name="kind" class="rounded border border-slate-400 bg-white px-3 py-2 dark:bg-slate-900">
                    <option value="">"All events"</option>
                    {EVENT_KINDS
                        .iter()
                        .map(|(value, label)| {
                            view! { <option value=*value selected=move || kind().as_deref() == Some(*value)>{*label}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <button type="submit" class="rounded bg-indigo-700 px-4 py-2 font-semibold text-white">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p role="status" class="mt-6">"Loading the log…"</p> }>
            {move || {
                log.get()
                    .map(|result| match result {
                        Err(error) => view! { <LoadError error /> }.into_any(),
                        Ok(page) if page.events.is_empty() => view! { <p class="mt-6">"No events to show."</p> }.into_any(),
                        Ok(page) => {
                            let older = page.older.map(|seq| {
                                let mut href = format!("/security?before={seq}");
                                if let Some(kind) = kind() {
                                    href.push_str(&format!("&kind={kind}"));
                                }
                                href
                            });
                            view! {
                                <table class="mt-6 w-full text-left text-sm">
                                    <caption class="sr-only">"Security events, newest first"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col" class="py-2 pr-4">"When"</th>
                                            <th scope="col" class="py-2 pr-4">"Event"</th>
                                            <th scope="col" class="py-2 pr-4">"Device"</th>
                                            <th scope="col" class="py-2">"Network"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {page.events.into_iter().map(|event| view! {
                                            <tr class="border-t border-slate-200 dark:border-slate-800">
                                                <td class="py-2 pr-4">{event.when}</td>
                                                <td class="py-2 pr-4">
                                                    {event_label(&event.kind).to_owned()}
                                                    {(!event.detail.is_empty()).then(|| format!(" ({})", event.detail))}
                                                </td>
                                                <td class="py-2 pr-4">{event.device}</td>
                                                <td class="py-2">{event.network}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {older.map(|href| view! { <p class="mt-4"><a href=href class=LINK>"Older events"</a></p> })}
                            }
                            .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    let query = use_query_map();
    let sessions = Resource::new(move || query.read().get("notice"), |_| list_sessions());
    view! {
        <Title text="Sessions" />
        <h1 class="text-3xl font-bold">"Sessions"</h1>
        <SecurityNav />
        <div class="mt-4 max-w-md">
            <Notice message=query_notice() />
        </div>
        <Suspense fallback=|| view! { <p role="status" class="mt-6">"Loading your sessions…"</p> }>
            {move || {
                sessions
                    .get()
                    .map(|result| match result {
                        Ok(rows) => view! { <SessionList rows /> }.into_any(),
                        Err(error) => view! { <LoadError error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn SessionList(rows: Vec<SessionRow>) -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let revoke_error = action_error(revoke);
    let others = ServerAction::<SignOutEverywhereElse>::new();
    let others_error = action_error(others);
    let others_form = NodeRef::<html::Form>::new();
    let has_others = rows.iter().any(|row| !row.this_device);
    // The session last asked to end, to ask again once the password is confirmed.
    let last_revoke = StoredValue::new(None::<RevokeSession>);
    Effect::new(move |_| {
        if let Some(input) = revoke.input().get() {
            last_revoke.set_value(Some(input));
        }
    });
    let revoke_again = Callback::new(move |()| {
        if let Some(input) = last_revoke.get_value() {
            revoke.dispatch(input);
        }
    });
    view! {
        <FormNotice error=besides_sudo(revoke_error) />
        <ul class="mt-6 flex flex-col gap-4" aria-label="Signed-in sessions">
            {rows
                .into_iter()
                .map(|row| {
                    let label = format!("End the session on {}", row.device);
                    view! {
                        <li class="rounded border border-slate-300 p-4 dark:border-slate-700">
                            <p class="font-semibold">
                                {row.device.clone()}
                                {row.this_device.then(|| view! { <span class="ml-2 rounded bg-indigo-100 px-2 py-0.5 text-sm text-indigo-900">"This device"</span> })}
                                {row.remembered.then(|| view! { <span class="ml-2 rounded bg-slate-200 px-2 py-0.5 text-sm text-slate-900">"Remembered"</span> })}
                            </p>
                            <p class="text-sm text-slate-700 dark:text-slate-300">
                                {format!("Network {} · signed in {} · last active {}", row.network, row.created, row.last_active)}
                            </p>
                            {(!row.this_device).then(|| view! {
                                <ActionForm action=revoke attr:class="mt-2">
                                    <input type="hidden" name="id" value=row.id.clone() />
                                    <button type="submit" aria-label=label class="rounded border border-red-700 px-3 py-1 text-sm font-medium text-red-800 dark:text-red-300">
                                        "End session"
                                    </button>
                                </ActionForm>
                            })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <SudoPrompt error=revoke_error then=revoke_again />
        {has_others.then(|| view! {
            <ActionForm action=others node_ref=others_form attr:class="mt-6">
                <FormNotice error=besides_sudo(others_error) />
                <button type="submit" class="rounded bg-red-700 px-4 py-2 font-semibold text-white">
                    "Sign out everywhere else"
                </button>
            </ActionForm>
            <SudoPrompt error=others_error then=resubmit(others_form) />
        })}
    }
}
