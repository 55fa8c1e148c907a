//! The forms inside the re-authentication prompt (`ui::SudoPrompt`): the password, and a passkey
//! or an authenticator code when the account has them.

use leptos::prelude::*;

use super::passkey::PasskeyButton;
use crate::{
    mfa::model::PasskeyPurpose,
    signin::{
        api::{sudo_methods, ConfirmSudo, ConfirmSudoCode},
        model::sudo_explanation,
    },
    ui::{action_error, Field, FormNotice, Submit},
};

/// The prompt's forms, as the app shell hands them to `ui::SudoPrompt`.
pub fn sudo_forms(then: Callback<()>) -> AnyView {
    view! { <SudoForms then /> }.into_any()
}

/// The password form, then a passkey or an authenticator code instead when the account has
/// them. Created only when the prompt shows, so pages that never ask do not look them up.
#[component]
fn SudoForms(then: Callback<()>) -> impl IntoView {
    let confirm = ServerAction::<ConfirmSudo>::new();
    let confirm_error = action_error(confirm);
    let by_code = ServerAction::<ConfirmSudoCode>::new();
    let code_error = action_error(by_code);
    let options = Resource::new(|| (), |()| sudo_methods());
    Effect::new(move |_| {
        if let Some(Ok(())) = confirm.value().get() {
            confirm.value().set(None);
            then.run(());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = by_code.value().get() {
            by_code.value().set(None);
            then.run(());
        }
    });
    view! {
        <p class="mt-1 text-sm">
            <Suspense fallback=|| {
                "This change needs you to confirm who you are."
            }>
                {move || {
                    options
                        .get()
                        .and_then(Result::ok)
                        .map(|options| sudo_explanation(options.window_minutes))
                }}
            </Suspense>
        </p>
        <ActionForm action=confirm attr:class="mt-3 flex flex-col gap-3">
            <FormNotice error=confirm_error />
            <Field
                label="Your password"
                name="sudo_password"
                kind="password"
                autocomplete="current-password"
                error=confirm_error
            />
            <Submit label="Confirm and continue" pending=confirm.pending() />
        </ActionForm>
        <Suspense fallback=|| ()>
            {move || {
                options
                    .get()
                    .and_then(Result::ok)
                    .map(|options| {
                        view! {
                            {options
                                .passkey
                                .then(|| {
                                    view! {
                                        <div class="mt-4">
                                            <PasskeyButton
                                                purpose=PasskeyPurpose::Sudo
                                                label="Confirm with a passkey"
                                                on_done=then
                                            />
                                        </div>
                                    }
                                })}
                            {options
                                .totp
                                .then(|| {
                                    view! {
                                        <ActionForm
                                            action=by_code
                                            attr:class="mt-4 flex flex-col gap-3"
                                        >
                                            <FormNotice error=code_error />
                                            <Field
                                                label="Or a code from your authenticator app"
                                                name="sudo_code"
                                                autocomplete="one-time-code"
                                                error=code_error
                                            />
                                            <Submit
                                                label="Confirm with the code"
                                                pending=by_code.pending()
                                            />
                                        </ActionForm>
                                    }
                                })}
                        }
                    })
            }}
        </Suspense>
    }
}
