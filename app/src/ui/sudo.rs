//! The re-authentication prompt (sudo mode). An action refused with `SudoRequired` shows it
//! inline; once the person confirms, the action goes on. The forms inside (password, passkey,
//! authenticator code) belong to the sign-in area, which the app shell passes in as
//! `SudoForms`, so this kit imports no area.

use leptos::{html, prelude::*};

use super::form::FormError;

/// The forms that confirm who the person is; they call `then` once confirmed.
#[derive(Clone, Copy)]
pub struct SudoForms(pub fn(Callback<()>) -> AnyView);

/// Asks the person to confirm who they are when the action's `error` says it needs a recent
/// re-authentication, then goes on with the action (`then`).
#[component]
pub fn SudoPrompt(
    #[prop(into)] error: Signal<Option<FormError>>,
    then: Callback<()>,
) -> impl IntoView {
    let needed = move || error.get() == Some(FormError::SudoRequired);
    let forms = use_context::<SudoForms>();
    view! {
        <Show when=needed>
            <section
                aria-labelledby="sudo-heading"
                class="mt-4 max-w-md rounded border border-amber-700 bg-amber-50 p-4 dark:bg-amber-950"
            >
                <h3 id="sudo-heading" class="font-semibold">
                    "Confirm it is you"
                </h3>
                {forms.map(|forms| (forms.0)(then))}
            </section>
        </Show>
    }
}

/// Sends a form again, with everything typed into it (after sudo mode is granted).
pub fn resubmit(form: NodeRef<html::Form>) -> Callback<()> {
    Callback::new(move |()| {
        if let Some(form) = form.get_untracked() {
            let _ = form.request_submit();
        }
    })
}

/// An action's error other than the request for the password, for the form's own notice.
pub fn besides_sudo(error: Signal<Option<FormError>>) -> Signal<Option<FormError>> {
    Signal::derive(move || error.get().filter(|e| *e != FormError::SudoRequired))
}
