//! `/signup`: an invite, an address, a name, a password and a data region.

use leptos::prelude::*;
use leptos_router::components::A;

use super::NewPasswordField;
use crate::{
    auth::{api::SignUp, model::Region},
    ui::{
        action_error,
        kit::{FieldError, FORM},
        query_value, Field, FormNotice, PageHeader, Submit, LINK,
    },
};

#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = action_error(action);
    let invite = query_value("invite");
    // An invite from a person says which region they are in; it is where the form starts.
    let preset = query_value("region")
        .get_untracked()
        .and_then(|region| Region::parse(&region))
        .unwrap_or(Region::DEFAULT);
    let region_error = Signal::derive(move || error.get().and_then(|e| e.for_field("region")));
    let (email, set_email) = signal(String::new());
    let (name, set_name) = signal(String::new());
    view! {
        <PageHeader title="Create your account" />
        <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
            "Custodian is invite-only. Already have an account? " <A href="/signin" attr:class=LINK>
                "Sign in"
            </A>
        </p>
        <ActionForm action=action attr:class=FORM attr:novalidate="true">
            <FormNotice error=error />
            <Field
                label="Invite code"
                name="invite"
                autocomplete="off"
                value=invite.get_untracked().unwrap_or_default()
                error=error
            />
            <Field
                label="Email address"
                name="email"
                kind="email"
                autocomplete="email"
                error=error
                on_input=Callback::new(move |v| set_email.set(v))
            />
            <Field
                label="Display name"
                name="display_name"
                autocomplete="name"
                error=error
                on_input=Callback::new(move |v| set_name.set(v))
            />
            <NewPasswordField
                label="Password"
                error=error
                context=Signal::derive(move || (email.get(), name.get()))
            />
            <fieldset class="flex flex-col gap-2">
                <legend class="font-medium">"Data region"</legend>
                <p id="region-hint" class="text-sm text-slate-700 dark:text-slate-300">
                    "Where your data is stored, in a database of that region alone. Moving it later takes a request and an operator's approval."
                </p>
                {Region::ALL
                    .into_iter()
                    .map(|region| {
                        let id = format!("region-{}", region.as_str());
                        view! {
                            <div class="flex items-center gap-2">
                                <input
                                    type="radio"
                                    id=id.clone()
                                    name="region"
                                    value=region.as_str()
                                    checked=region == preset
                                    aria-describedby="region-hint region-error"
                                />
                                <label for=id>{region.label()}</label>
                            </div>
                        }
                    })
                    .collect_view()}
                <FieldError id="region-error".to_owned() message=region_error />
            </fieldset>
            <Submit label="Create account" pending=action.pending() />
        </ActionForm>
    }
}
