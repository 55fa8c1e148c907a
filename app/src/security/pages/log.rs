//! `/security`: the security log (promise P5), with the factors at a glance above it.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    mfa::pages::FactorSummary,
    platform::area::Catalog,
    security::api::security_log,
    ui::{
        kit::{CELL, INPUT},
        ButtonKind, DataTable, LoadError, Loading, PageHeader, LINK,
    },
};

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
    let catalog = use_context::<Catalog>().unwrap_or_default();
    let labels = StoredValue::new(catalog.clone());
    let log = Resource::new(
        move || (kind(), before()),
        |(kind, before)| security_log(kind, before),
    );
    view! {
        <PageHeader title="Security log" />
        <FactorSummary />
        <form method="get" action="/security" class="mt-6 flex items-end gap-3">
            <div class="flex flex-col gap-1">
                <label for="kind" class="font-medium">
                    "Show"
                </label>
                <select id="kind" name="kind" class=INPUT>
                    <option value="">"All events"</option>
                    {catalog
                        .events
                        .iter()
                        .map(|event| {
                            let code = event.code;
                            view! {
                                <option value=code selected=move || kind().as_deref() == Some(code)>
                                    {event.label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </div>
            <button type="submit" class=ButtonKind::Primary.class()>
                "Filter"
            </button>
        </form>
        <Suspense fallback=|| {
            view! { <Loading what="Loading the log…" /> }
        }>
            {move || {
                log.get()
                    .map(|result| match result {
                        Err(error) => view! { <LoadError error /> }.into_any(),
                        Ok(page) if page.events.is_empty() => {
                            view! { <p class="mt-6">"No events to show."</p> }.into_any()
                        }
                        Ok(page) => {
                            let older = page
                                .older
                                .map(|seq| {
                                    let mut href = format!("/security?before={seq}");
                                    if let Some(kind) = kind() {
                                        href.push_str(&format!("&kind={kind}"));
                                    }
                                    href
                                });
                            view! {
                                <DataTable
                                    caption="Security events, newest first"
                                    caption_hidden=true
                                    headers=&["When", "Event", "Device", "Network"]
                                >
                                    {page
                                        .events
                                        .into_iter()
                                        .map(|event| {
                                            view! {
                                                <tr class="border-t border-slate-200 dark:border-slate-800">
                                                    <td class=CELL>{event.when}</td>
                                                    <td class=CELL>
                                                        {labels
                                                            .with_value(|catalog| {
                                                                catalog.event_label(&event.kind).to_owned()
                                                            })}
                                                        {(!event.detail.is_empty())
                                                            .then(|| format!(" ({})", event.detail))}
                                                    </td>
                                                    <td class=CELL>{event.device}</td>
                                                    <td class=CELL>{event.network}</td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </DataTable>
                                {older
                                    .map(|href| {
                                        view! {
                                            <p class="mt-4">
                                                <a href=href class=LINK>
                                                    "Older events"
                                                </a>
                                            </p>
                                        }
                                    })}
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
