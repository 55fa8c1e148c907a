//! `/security/sessions`: every signed-in session, ending one, or all others (promise P4).

use leptos::{html, prelude::*};
use leptos_router::hooks::use_query_map;

use crate::{
    security::{
        api::{list_sessions, RevokeSession, SignOutEverywhereElse},
        model::SessionRow,
    },
    ui::{
        action_error, besides_sudo, kit::QUIET_TEXT, query_notice, resubmit, ButtonKind,
        FormNotice, LoadError, Loading, Notice, PageHeader, SudoPrompt,
    },
};

#[component]
pub fn SessionsPage() -> impl IntoView {
    let query = use_query_map();
    let sessions = Resource::new(move || query.read().get("notice"), |_| list_sessions());
    view! {
        <PageHeader title="Sessions" />
        <div class="mt-4 max-w-md">
            <Notice message=query_notice() />
        </div>
        <Suspense fallback=|| {
            view! { <Loading what="Loading your sessions…" /> }
        }>
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
                                {row
                                    .this_device
                                    .then(|| {
                                        view! {
                                            <span class="ml-2 rounded bg-indigo-100 px-2 py-0.5 text-sm text-indigo-900">
                                                "This device"
                                            </span>
                                        }
                                    })}
                                {row
                                    .remembered
                                    .then(|| {
                                        view! {
                                            <span class="ml-2 rounded bg-slate-200 px-2 py-0.5 text-sm text-slate-900">
                                                "Remembered"
                                            </span>
                                        }
                                    })}
                            </p>
                            <p class=QUIET_TEXT>
                                {format!(
                                    "Network {} · signed in {} · last active {}",
                                    row.network,
                                    row.created,
                                    row.last_active,
                                )}
                            </p>
                            {(!row.this_device)
                                .then(|| {
                                    view! {
                                        <ActionForm action=revoke attr:class="mt-2">
                                            <input type="hidden" name="id" value=row.id.to_string() />
                                            <button
                                                type="submit"
                                                aria-label=label
                                                class=ButtonKind::Danger.class()
                                            >
                                                "End session"
                                            </button>
                                        </ActionForm>
                                    }
                                })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <SudoPrompt error=revoke_error then=revoke_again />
        {has_others
            .then(|| {
                view! {
                    <ActionForm action=others node_ref=others_form attr:class="mt-6">
                        <FormNotice error=besides_sudo(others_error) />
                        <button type="submit" class=ButtonKind::DangerPrimary.class()>
                            "Sign out everywhere else"
                        </button>
                    </ActionForm>
                    <SudoPrompt error=others_error then=resubmit(others_form) />
                }
            })}
    }
}
