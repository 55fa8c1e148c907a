//! `/signin`: the address and password, or a passkey.

use leptos::prelude::*;
use leptos_router::components::A;

use super::passkey::PasskeySignIn;
use crate::{
    platform::session::SessionEnd,
    signin::api::SignIn,
    ui::{
        action_error, kit::FORM, query_notice, query_value, Field, FormNotice, Notice, PageHeader,
        Submit, LINK,
    },
};

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = action_error(action);
    let reason = Signal::derive(move || {
        query_value("reason")
            .get()
            .and_then(|r| SessionEnd::from_query(&r))
            .map(|r| r.message().to_owned())
    });
    let next = query_value("next");
    view! {
        <PageHeader title="Sign in" />
        <div class="mt-4 flex max-w-md flex-col gap-3">
            <Notice message=query_notice() />
            <Notice message=reason />
        </div>
        <ActionForm action=action attr:class=FORM attr:novalidate="true">
            <FormNotice error=error />
            <input type="hidden" name="next" value=move || next.get().unwrap_or_default() />
            // "webauthn": the browser may offer passkeys among the field's suggestions.
            <Field
                label="Email address"
                name="email"
                kind="email"
                autocomplete="username webauthn"
                error=error
            />
            <Field
                label="Password"
                name="password"
                kind="password"
                autocomplete="current-password"
                error=error
            />
            <div class="flex items-center gap-2">
                <input type="checkbox" id="remember" name="remember" value="on" />
                <label for="remember">"Remember this device for 30 days"</label>
            </div>
            <Submit label="Sign in" pending=action.pending() />
        </ActionForm>
        <PasskeySignIn />
        <p class="mt-6 flex gap-6">
            <A href="/forgot-password" attr:class=LINK>
                "Forgot your password?"
            </A>
            <A href="/signup" attr:class=LINK>
                "Create an account"
            </A>
        </p>
    }
}
