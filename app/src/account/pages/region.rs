//! The Account page's data region section (promise P11): where the account lives, what lives
//! there, the signed attestation that says so, and a request to move it to another region.

use leptos::{html, prelude::*};

use crate::{
    account::{api::RequestRegionMove, model::AccountSummary},
    platform::region::IN_REGION,
    ui::{
        action_error, besides_sudo,
        kit::{FieldError, FORM, INPUT},
        resubmit, FormNotice, Submit, SudoPrompt, LINK,
    },
};

#[component]
pub fn RegionSection(account: AccountSummary) -> impl IntoView {
    let region = account.region.clone();
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
            <MoveRequest account />
        </section>
    }
}

/// Asks for the data to move; an operator makes the move, and nothing is copied before.
#[component]
fn MoveRequest(account: AccountSummary) -> impl IntoView {
    let action = ServerAction::<RequestRegionMove>::new();
    let error = action_error(action);
    let form = NodeRef::<html::Form>::new();
    let field_error = Signal::derive(move || error.get().and_then(|e| e.for_field("to")));
    if account.other_regions.is_empty() {
        return ().into_any();
    }
    let pending = account.move_requested.clone().map(|requested| {
        view! {
            <p role="status" class="mt-3">
                {format!(
                    "Move requested: {requested}. You get a signed receipt by mail once it is done.",
                )}
            </p>
        }
    });
    view! {
        <h3 class="mt-6 font-semibold">"Move to another region"</h3>
        {pending}
        <p class="mt-1">
            "An operator copies everything, checks every table, then deletes it here with the keys that sealed it. You are signed out while it moves."
        </p>
        <ActionForm action=action node_ref=form attr:class=FORM attr:novalidate="true">
            <div class="flex flex-col gap-1">
                <label for="move-to" class="font-medium">
                    "Move my data to"
                </label>
                <select
                    id="move-to"
                    name="to"
                    class=INPUT
                    aria-invalid=move || field_error.get().is_some().then_some("true")
                    aria-describedby="move-to-error"
                >
                    {account
                        .other_regions
                        .iter()
                        .map(|(id, name)| {
                            view! { <option value=id.clone()>{name.clone()}</option> }
                        })
                        .collect_view()}
                </select>
                <FieldError id="move-to-error".to_owned() message=field_error />
            </div>
            <Submit label="Request the move" pending=action.pending() />
        </ActionForm>
        <SudoPrompt error then=resubmit(form) />
        <div class="mt-3 max-w-md">
            <FormNotice error=Signal::derive(move || {
                besides_sudo(error).get().filter(|e| e.for_field("to").is_none())
            }) />
        </div>
    }
        .into_any()
}
