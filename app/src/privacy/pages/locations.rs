//! The Privacy page's table of where data is kept (promise P11), from the same configuration the
//! router uses and the same list the Account page shows.

use leptos::prelude::*;

use crate::{
    platform::region::{Stored, GLOBAL, IN_REGION},
    privacy::{api::where_data_lives, model::DataLocations},
    ui::{kit::CELL, DataTable, LoadError, Loading},
};

#[component]
pub fn DataLocationsSection() -> impl IntoView {
    let locations = Resource::new(|| (), |_| where_data_lives());
    view! {
        <section aria-labelledby="locations-title" class="mt-8">
            <h2 id="locations-title" class="text-xl font-semibold">
                "Where your data is kept"
            </h2>
            <Suspense fallback=|| {
                view! { <Loading what="Loading where your data is kept…" /> }
            }>
                {move || {
                    locations
                        .get()
                        .map(|loaded| match loaded {
                            Ok(locations) => view! { <LocationsTable locations /> }.into_any(),
                            Err(error) => view! { <LoadError error /> }.into_any(),
                        })
                }}
            </Suspense>
        </section>
    }
}

/// Mail is sent from wherever the mail transport is, which the configuration says.
const MAIL: Stored = Stored {
    what: "Mail to you",
    why: "to reach your inbox",
};

#[component]
fn LocationsTable(locations: DataLocations) -> impl IntoView {
    let region = locations
        .yours
        .clone()
        .map_or_else(|| "your account's region".to_owned(), |yours| format!("your region, {yours}"));
    let served = locations.regions.join(" and ");
    let row = |stored: &Stored, place: String| {
        view! {
            <tr class="border-t border-slate-300 dark:border-slate-700">
                <th scope="row" class=format!("{CELL} font-normal")>
                    {stored.what}
                </th>
                <td class=CELL>{place}</td>
                <td class=CELL>{stored.why}</td>
            </tr>
        }
    };
    view! {
        <p class="mt-2 max-w-prose">
            "Each account lives in one data region, chosen at sign-up: this server keeps " {served}
            " apart, each in a database of its own with its own key. Nothing of yours is copied to another region without your request."
        </p>
        <DataTable
            caption="What is kept where, and why"
            caption_hidden=true
            headers=&["What", "Where", "Why"]
        >
            {IN_REGION.iter().map(|stored| row(stored, format!("Only in {region}"))).collect_view()}
            {GLOBAL
                .iter()
                .map(|stored| row(stored, "The directory, shared by every region".to_owned()))
                .collect_view()}
            {row(&MAIL, format!("Sent from {}", locations.mail_origin))}
        </DataTable>
        <p class="mt-4 max-w-prose" id="account-deletion">
            {format!(
                "Account deletion: hard delete {} days after your request; backups kept at most {} days; deleted accounts are removed from restored backups before they are used.",
                locations.deletion_grace_days,
                locations.backup_days,
            )}
        </p>
    }
}
