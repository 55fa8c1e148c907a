//! The Account page's data region section (promise P11): where the account lives, what lives
//! there, and the signed attestation that says so.

use leptos::prelude::*;

use crate::{platform::region::IN_REGION, ui::LINK};

#[component]
pub fn RegionSection(region: String) -> impl IntoView {
    let heading = format!("Your data region: {region}");
    view! {
        <section aria-labelledby="region-title" class="mt-10 max-w-xl">
            <h2 id="region-title" class="text-xl font-semibold">
                {heading}
            </h2>
            <p class="mt-2">
                {format!(
                    "Everything of your account is kept only in {region}'s database, sealed with that region's own key:",
                )}
            </p>
            <ul class="mt-2 list-disc pl-6">
                {IN_REGION.iter().map(|stored| view! { <li>{stored.what}</li> }).collect_view()}
            </ul>
            <p class="mt-3">
                <a href="/account/residency-attestation" download class=LINK rel="external">
                    "Download your residency attestation"
                </a>
                " (a signed statement of your region, database and key; check it on the "
                <a href="/privacy/verify-receipt" class=LINK>
                    "verify page"
                </a>
                ")."
            </p>
        </section>
    }
}
