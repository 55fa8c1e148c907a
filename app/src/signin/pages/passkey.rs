//! Passkeys on the sign-in pages: a button that asks the browser for one, and the sign-in page's
//! offer (in the address field's suggestions, where the browser can, and as a button).

use leptos::{prelude::*, task::spawn_local};

use crate::{
    mfa::{
        browser::{self, prompt_failure, Autofill, PromptError},
        model::PasskeyPurpose,
    },
    signin::{
        api::{passkey_answer, passkey_challenge},
        model::after_sign_in,
    },
    ui::{kit::FieldError, query_value, ButtonKind, FormError},
};

/// Loads the page a sign-in leads to (the `next` it was asked for), from the server: the
/// header changes with the session.
fn go_on(next: Option<String>) {
    let path = after_sign_in(next.as_deref());
    let _ = window().location().set_href(&path);
}

/// Asks the browser for a passkey for `purpose` and sends its answer. `autofill` makes it the
/// quiet request the username field's suggestions answer.
async fn answer_with_passkey(
    purpose: PasskeyPurpose,
    autofill: Option<Autofill>,
) -> Result<(), Result<FormError, PromptError>> {
    let options = passkey_challenge(purpose).await.map_err(Ok)?;
    let credential = browser::authenticate(&options, autofill.as_ref())
        .await
        .map_err(Err)?;
    passkey_answer(purpose, credential).await.map_err(Ok)
}

/// A button that signs in, finishes the second step, or confirms sudo mode with a passkey.
#[component]
pub fn PasskeyButton(
    purpose: PasskeyPurpose,
    label: &'static str,
    #[prop(optional)] autofill: Option<Autofill>,
    #[prop(optional)] on_done: Option<Callback<()>>,
) -> impl IntoView {
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let next = query_value("next");
    let start = move |_| {
        if let Some(autofill) = &autofill {
            autofill.cancel();
        }
        busy.set(true);
        failure.set(None);
        spawn_local(async move {
            let outcome = answer_with_passkey(purpose, None).await;
            busy.set(false);
            match outcome {
                Ok(()) => match on_done {
                    Some(done) => done.run(()),
                    None => go_on(next.get_untracked()),
                },
                Err(error) => failure.set(prompt_failure(error)),
            }
        });
    };
    // The prompt needs the page's script; until it runs, say so instead of a dead button.
    let scripted = RwSignal::new(false);
    Effect::new(move |_| scripted.set(true));
    view! {
        <div class="flex flex-col items-start gap-2">
            <Show
                when=move || scripted.get()
                fallback=|| {
                    view! {
                        <p class="text-sm">
                            "Passkeys need JavaScript, which is off or still loading."
                        </p>
                    }
                }
            >
                <button
                    type="button"
                    class=ButtonKind::Primary.class()
                    on:click=start.clone()
                    aria-busy=move || busy.get().then_some("true")
                >
                    {move || if busy.get() { "Waiting for your passkey…" } else { label }}
                </button>
            </Show>
            <FieldError message=failure />
        </div>
    }
}

/// On the sign-in page: passkeys offered in the email field's autofill (when the browser can)
/// and through a button.
#[component]
pub fn PasskeySignIn() -> impl IntoView {
    let autofill = Autofill::new();
    let failure = RwSignal::new(None::<String>);
    let next = query_value("next");
    Effect::new({
        let autofill = autofill.clone();
        move |_| {
            let autofill = autofill.clone();
            spawn_local(async move {
                if !browser::autofill_available().await {
                    return;
                }
                match answer_with_passkey(PasskeyPurpose::SignIn, Some(autofill)).await {
                    Ok(()) => go_on(next.get_untracked()),
                    Err(error) => failure.set(prompt_failure(error)),
                }
            });
        }
    });
    view! {
        <section
            aria-labelledby="passkey-heading"
            class="mt-8 flex max-w-md flex-col gap-3 border-t border-slate-300 pt-6 dark:border-slate-700"
        >
            <h2 id="passkey-heading" class="text-xl font-semibold">
                "Or use a passkey"
            </h2>
            <p class="text-sm text-slate-700 dark:text-slate-300">
                "Your fingerprint, face or screen lock signs you in: no password needed."
            </p>
            <FieldError message=failure />
            <PasskeyButton purpose=PasskeyPurpose::SignIn label="Sign in with a passkey" autofill />
        </section>
    }
}
