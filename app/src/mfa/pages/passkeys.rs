//! The passkeys section of the factors page: each passkey with rename and remove, and adding one.

use leptos::{html, prelude::*, task::spawn_local};

use super::factors::LastFactorWarning;
use crate::{
    mfa::{
        api::{
            finish_passkey_registration, start_passkey_registration, RemovePasskey, RenamePasskey,
        },
        browser::{self, prompt_failure},
        model::{Factors, PasskeyRow, PASSKEY_NAME_MAX_CHARS},
    },
    ui::{
        action_error, besides_sudo,
        kit::{FieldError, INPUT},
        ButtonKind, FormError, FormNotice, Section, SectionStyle, SudoPrompt,
    },
};

#[component]
pub(super) fn PasskeySection(
    factors: Factors,
    rename: ServerAction<RenamePasskey>,
    remove: ServerAction<RemovePasskey>,
    added: RwSignal<u32>,
    fresh_codes: RwSignal<Option<Vec<String>>>,
) -> impl IntoView {
    let is_last = factors.is_last();
    let rename_error = action_error(rename);
    let remove_error = action_error(remove);
    let last_remove = StoredValue::new(None::<RemovePasskey>);
    Effect::new(move |_| {
        if let Some(input) = remove.input().get() {
            last_remove.set_value(Some(input));
        }
    });
    let remove_again = Callback::new(move |()| {
        if let Some(input) = last_remove.get_value() {
            remove.dispatch(input);
        }
    });
    view! {
        <Section id="passkeys" heading="Passkeys" style=SectionStyle::Card>
            <FormNotice error=besides_sudo(rename_error) />
            <FormNotice error=besides_sudo(remove_error) />
            {if factors.passkeys.is_empty() {
                view! { <p class="mt-2">"No passkeys yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-3 flex flex-col gap-4" aria-label="Your passkeys">
                        {factors
                            .passkeys
                            .into_iter()
                            .map(|row| {
                                view! { <PasskeyItem row rename remove is_last remove_error /> }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
            <SudoPrompt error=remove_error then=remove_again />
            <AddPasskey added fresh_codes />
        </Section>
    }
}

#[component]
fn PasskeyItem(
    row: PasskeyRow,
    rename: ServerAction<RenamePasskey>,
    remove: ServerAction<RemovePasskey>,
    is_last: bool,
    remove_error: Signal<Option<FormError>>,
) -> impl IntoView {
    let rename_id = format!("rename-{}", row.id);
    let (rename_form_id, remove_form_id) = (row.id.to_string(), row.id.to_string());
    let (current_name, remove_label) =
        (row.name.clone(), format!("Remove the passkey {}", row.name));
    let used = row
        .last_used
        .clone()
        .map_or_else(|| "never used".to_owned(), |at| format!("last used {at}"));
    view! {
        <li class="rounded border border-slate-300 p-4 dark:border-slate-700">
            <p class="font-semibold">{row.name}</p>
            <p class="text-sm text-slate-700 dark:text-slate-300">
                {format!("Added {} · {used}", row.created)}
            </p>
            <ActionForm action=rename attr:class="mt-2 flex items-end gap-2">
                <input type="hidden" name="id" value=rename_form_id />
                <div class="flex flex-col gap-1">
                    <label for=rename_id.clone() class="text-sm font-medium">
                        {format!("New name for {current_name}")}
                    </label>
                    <input
                        id=rename_id
                        name="name"
                        value=current_name.clone()
                        required
                        maxlength=PASSKEY_NAME_MAX_CHARS
                        class="rounded border border-slate-400 bg-white px-2 py-1 dark:bg-slate-900"
                    />
                </div>
                <button type="submit" class=ButtonKind::Quiet.class()>
                    "Rename"
                </button>
            </ActionForm>
            <ActionForm action=remove attr:class="mt-2">
                <input type="hidden" name="id" value=remove_form_id.clone() />
                <LastFactorWarning is_last id=remove_form_id error=remove_error />
                <button
                    type="submit"
                    aria-label=remove_label
                    class=format!("mt-2 {}", ButtonKind::Danger.class())
                >
                    "Remove"
                </button>
            </ActionForm>
        </li>
    }
}

/// Names and registers a new passkey: any authenticator, or the device's own.
#[component]
fn AddPasskey(added: RwSignal<u32>, fresh_codes: RwSignal<Option<Vec<String>>>) -> impl IntoView {
    // The name is read from the field when asked for, not mirrored in a signal: a name typed
    // before the page hydrated is kept.
    let name = NodeRef::<html::Input>::new();
    let error = RwSignal::new(None::<FormError>);
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let platform = RwSignal::new(false);
    let standalone = RwSignal::new(false);
    Effect::new(move |_| {
        spawn_local(async move {
            platform.set(browser::platform_authenticator_available().await);
        });
        standalone.set(browser::installed_app());
    });
    let last_kind = StoredValue::new(false);
    let register = Callback::new(move |this_device: bool| {
        last_kind.set_value(this_device);
        busy.set(true);
        failure.set(None);
        error.set(None);
        spawn_local(async move {
            let outcome = async {
                let typed = name
                    .get_untracked()
                    .map(|field| field.value())
                    .unwrap_or_default();
                let options = start_passkey_registration(typed, this_device)
                    .await
                    .map_err(Ok)?;
                let credential = browser::create(&options).await.map_err(Err)?;
                finish_passkey_registration(credential).await.map_err(Ok)
            }
            .await;
            busy.set(false);
            match outcome {
                Ok(codes) => {
                    if let Some(field) = name.get_untracked() {
                        field.set_value("");
                    }
                    if codes.is_some() {
                        fresh_codes.set(codes);
                    }
                    added.update(|n| *n += 1);
                }
                Err(Ok(form_error))
                    if form_error == FormError::SudoRequired
                        || form_error.for_field("name").is_some() =>
                {
                    error.set(Some(form_error));
                }
                Err(other) => failure.set(prompt_failure(other)),
            }
        });
    });
    let again = Callback::new(move |()| register.run(last_kind.get_value()));
    let name_message = move || error.get().and_then(|e| e.for_field("name"));
    view! {
        <div class="mt-6 flex max-w-md flex-col gap-3">
            <h3 class="font-semibold">"Add a passkey"</h3>
            <div class="flex flex-col gap-1">
                <label for="passkey-name" class="font-medium">
                    "Passkey name"
                </label>
                <input
                    id="passkey-name"
                    maxlength=PASSKEY_NAME_MAX_CHARS
                    placeholder="e.g. My laptop"
                    node_ref=name
                    aria-invalid=move || name_message().is_some().then_some("true")
                    aria-describedby="passkey-name-error"
                    class=INPUT
                />
                <FieldError
                    id="passkey-name-error".to_owned()
                    message=Signal::derive(name_message)
                />
            </div>
            <div class="flex flex-wrap gap-3">
                <button
                    type="button"
                    class=ButtonKind::Primary.class()
                    on:click=move |_| register.run(false)
                    aria-busy=move || busy.get().then_some("true")
                >
                    {move || {
                        if busy.get() { "Waiting for your passkey…" } else { "Add a passkey" }
                    }}
                </button>
                <Show when=move || platform.get()>
                    <button
                        type="button"
                        class=ButtonKind::Primary.class()
                        on:click=move |_| register.run(true)
                    >
                        {move || {
                            if standalone.get() {
                                "Use this device's Face ID, fingerprint or Windows Hello"
                            } else {
                                "Use this device's screen lock"
                            }
                        }}
                    </button>
                </Show>
            </div>
            <FieldError message=failure />
            <SudoPrompt error=Signal::derive(move || error.get()) then=again />
        </div>
    }
}
