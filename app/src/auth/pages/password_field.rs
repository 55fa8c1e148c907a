//! A new password's field, with a strength meter that follows typing.

use leptos::prelude::*;

use crate::{
    auth::{api::password_strength, model::PASSWORD_MIN_CHARS},
    ui::{Field, FormError},
};

/// A password field with a strength meter that follows typing (when JavaScript runs). The
/// server judges with the same rules when the form is sent.
#[component]
pub fn NewPasswordField(
    #[prop(into)] error: Signal<Option<FormError>>,
    #[prop(into)] context: Signal<(String, String)>,
    #[prop(default = "New password")] label: &'static str,
) -> impl IntoView {
    let check = Action::new(move |(password, email, name): &(String, String, String)| {
        password_strength(password.clone(), email.clone(), name.clone())
    });
    let pending_check = StoredValue::new(None::<TimeoutHandle>);
    // A check still waiting when the form is sent and the page moves on must not fire into a
    // component that is gone.
    on_cleanup(move || {
        if let Some(handle) = pending_check.try_get_value().flatten() {
            handle.clear();
        }
    });
    let on_input = Callback::new(move |password: String| {
        if let Some(handle) = pending_check.get_value() {
            handle.clear();
        }
        let (email, name) = context.get_untracked();
        let handle = set_timeout_with_handle(
            move || {
                check.dispatch((password, email, name));
            },
            std::time::Duration::from_millis(250),
        )
        .ok();
        pending_check.set_value(handle);
    });
    let reading = move || check.value().get().and_then(Result::ok);
    view! {
        <Field
            label=label
            name="password"
            kind="password"
            autocomplete="new-password"
            hint=format!(
                "At least {PASSWORD_MIN_CHARS} characters. Long phrases of unrelated words are strong and easy to remember.",
            )
            error=error
            on_input=on_input
        />
        <div class="flex flex-col gap-1">
            <meter
                min="0"
                max="4"
                low="2"
                high="3"
                optimum="4"
                value=move || reading().map_or(0, |r| r.score)
                aria-label="Password strength"
                class="h-2 w-full"
            ></meter>
            <p aria-live="polite" class="text-sm text-slate-700 dark:text-slate-300">
                {move || {
                    reading()
                        .map(|r| {
                            let verdict = match (r.acceptable, r.score) {
                                (false, _) => "Too weak",
                                (true, 3) => "Strong",
                                _ => "Very strong",
                            };
                            format!("Strength: {verdict}. {}", r.advice)
                        })
                }}
            </p>
        </div>
    }
}
