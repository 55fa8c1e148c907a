//! The Privacy page's table of where data is kept (promise P11), from the same configuration the
//! router uses and the same list the Account page shows.

use leptos::prelude::*;

use crate::{
    platform::region::{Stored, GLOBAL, IN_REGION},
    privacy::{api::where_data_lives, model::DataLocations},
    ui::{LoadError, Loading},
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
                <th scope="row" class="py-2 pr-4 text-left font-normal">
                    {stored.what}
                </th>
                <td class="py-2 pr-4">{place}</td>
                <td class="py-2">{stored.why}</td>
            </tr>
        }
    };
    view! {
        <p class="mt-2 max-w-prose">
            "Each account lives in one data region, chosen at sign-up: this server keeps " {served}
            " apart, each in a database of its own with its own key. Nothing of yours is copied to another region without your request."
        </p>
        <table class="mt-4 w-full max-w-4xl text-sm">
            <caption class="sr-only">"What is kept where, and why"</caption>
            <thead>
                <tr>
                    <th scope="col" class="pb-2 pr-4 text-left">
                        "What"
                    </th>
                    <th scope="col" class="pb-2 pr-4 text-left">
                        "Where"
                    </th>
                    <th scope="col" class="pb-2 text-left">
                        "Why"
                    </th>
                </tr>
            </thead>
            <tbody>
                {IN_REGION
                    .iter()
                    .map(|stored| row(stored, format!("Only in {region}")))
                    .collect_view()}
                {GLOBAL
                    .iter()
                    .map(|stored| row(stored, "The directory, shared by every region".to_owned()))
                    .collect_view()} <tr class="border-t border-slate-300 dark:border-slate-700">
                    <th scope="row" class="py-2 pr-4 text-left font-normal">
                        "Mail to you"
                    </th>
                    <td class="py-2 pr-4">{format!("Sent from {}", locations.mail_origin)}</td>
                    <td class="py-2">"to reach your inbox"</td>
                </tr>
            </tbody>
        </table>
    }
}
