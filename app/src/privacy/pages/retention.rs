//! The Privacy page's retention schedule (promise P16), rendered from the very list the daily
//! sweep applies (`platform::retention::SCHEDULE`).

use leptos::prelude::*;

use crate::{
    platform::retention::{Applied, SCHEDULE},
    ui::{kit::CELL, DataTable, LINK},
};

#[component]
pub fn RetentionSection() -> impl IntoView {
    let rows = SCHEDULE
        .iter()
        .map(|entry| {
            let how = match entry.applied {
                Applied::Sweep(_) => "Removed by the daily sweep".to_owned(),
                Applied::AuditCut => {
                    "Cut by the daily sweep at a signed checkpoint".to_owned()
                }
                Applied::OwnJob(job) => format!("Removed by {job}"),
            };
            view! {
                <tr class="border-b border-slate-200 align-top dark:border-slate-800">
                    <th scope="row" class=format!("{CELL} font-medium")>
                        {entry.what}
                    </th>
                    <td class=CELL>{format!("{} after {}", entry.period(), entry.counted_from)}</td>
                    <td class=CELL>{entry.why}</td>
                    <td class=CELL>{how}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="retention-title" class="mt-10">
            <h2 id="retention-title" class="text-xl font-semibold">
                "How long we keep things"
            </h2>
            <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
                "This table is the schedule the server runs: the daily sweep removes each kind of record when its time is up. Your account's own data goes when you delete the account."
            </p>
            <div class="overflow-x-auto">
                <DataTable
                    caption="The retention schedule"
                    caption_hidden=true
                    headers=&["Record", "Kept", "Why", "How"]
                >
                    {rows}
                </DataTable>
            </div>
            <p class="mt-4">
                <a href="/privacy/requests-report" class=LINK>
                    "How we answered rights requests, per year"
                </a>
            </p>
        </section>
    }
}
