//! The Privacy page's retention schedule (promise P16), rendered from the very list the daily
//! sweep applies (`platform::retention::SCHEDULE`).

use leptos::prelude::*;

use crate::{
    platform::retention::{Applied, SCHEDULE},
    ui::LINK,
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
                <tr class="border-t border-slate-300 align-top dark:border-slate-700">
                    <th scope="row" class="py-2 pr-4 text-left font-medium">
                        {entry.what}
                    </th>
                    <td class="py-2 pr-4">
                        {format!("{} after {}", entry.period(), entry.counted_from)}
                    </td>
                    <td class="py-2 pr-4">{entry.why}</td>
                    <td class="py-2">{how}</td>
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
            <div class="mt-4 overflow-x-auto">
                <table class="w-full max-w-4xl text-sm">
                    <thead>
                        <tr class="text-left">
                            <th scope="col" class="py-2 pr-4">
                                "Record"
                            </th>
                            <th scope="col" class="py-2 pr-4">
                                "Kept"
                            </th>
                            <th scope="col" class="py-2 pr-4">
                                "Why"
                            </th>
                            <th scope="col" class="py-2">
                                "How"
                            </th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p class="mt-4">
                <a href="/privacy/requests-report" class=LINK>
                    "How we answered rights requests, per year"
                </a>
            </p>
        </section>
    }
}
