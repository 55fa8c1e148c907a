//! Second factors (promise P3): passkeys, the authenticator app (TOTP) and backup codes. The
//! Security page's factor settings and the second step of sign-in are here; the key hierarchy
//! that seals the TOTP secrets is in `platform::crypto`.

pub mod api;
#[cfg(feature = "ssr")]
pub mod backup_codes;
pub mod browser;
mod codes_view;
#[cfg(feature = "ssr")]
pub mod enrolment;
#[cfg(feature = "ssr")]
pub mod passkey_answers;
#[cfg(feature = "ssr")]
pub mod passkeys;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod totp;
#[cfg(feature = "ssr")]
pub mod verification;

use leptos::{html, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    account::LoadError,
    auth::{besides_sudo, query_value, resubmit, SudoPrompt},
    security::SecurityNav,
    ui::{
        form::{action_error, Field, FormError, FormNotice, Submit},
        LINK,
    },
};
use api::{
    finish_passkey_registration, list_factors, passkey_answer, passkey_challenge,
    second_step_options, start_passkey_registration, ConfirmTotp, Factors, PasskeyPurpose,
    PasskeyRow, RegenerateBackupCodes, RemovePasskey, RenamePasskey, StartTotp, TotpSetup,
    TotpState, TurnOffTotp, VerifyBackupCode, VerifyCode,
};
use browser::{Autofill, PromptError};
use codes_view::{BackupCodeSection, FreshCodes};

const SECTION: &str = "mt-8 max-w-2xl rounded border border-slate-300 p-5 dark:border-slate-700";
const BUTTON: &str = "rounded bg-indigo-700 px-4 py-2 font-semibold text-white hover:bg-indigo-800 focus:outline-none focus:ring-2 focus:ring-indigo-600 focus:ring-offset-2 disabled:opacity-60";
const QUIET_BUTTON: &str = "rounded border border-slate-400 px-3 py-1 text-sm font-medium hover:bg-slate-100 dark:hover:bg-slate-800";

/// Loads the page a sign-in leads to (the `next` it was asked for), from the server: the
/// header changes with the session.
fn go_on(next: Option<String>) {
    let path = crate::auth::api::after_sign_in(next.as_deref());
    let _ = window().location().set_href(&path);
}

/// The text of a failed passkey attempt: the server's refusal or the browser's reason.
fn prompt_failure(error: Result<FormError, PromptError>) -> Option<String> {
    match error {
        Err(PromptError::Aborted) => None,
        Err(reason) => Some(reason.message().to_owned()),
        Ok(error) => Some(error.to_string()),
    }
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
                fallback=|| view! { <p class="text-sm">"Passkeys need JavaScript, which is off or still loading."</p> }
            >
                <button type="button" class=BUTTON on:click=start.clone() aria-busy=move || busy.get().then_some("true")>
                    {move || if busy.get() { "Waiting for your passkey…" } else { label }}
                </button>
            </Show>
            <p role="alert" class="text-sm font-medium text-red-700 dark:text-red-300">{move || failure.get()}</p>
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
        <section aria-labelledby="passkey-heading" class="mt-8 flex max-w-md flex-col gap-3 border-t border-slate-300 pt-6 dark:border-slate-700">
            <h2 id="passkey-heading" class="text-xl font-semibold">"Or use a passkey"</h2>
            <p class="text-sm text-slate-700 dark:text-slate-300">
                "Your fingerprint, face or screen lock signs you in: no password needed."
            </p>
            <p role="alert" class="text-sm font-medium text-red-700 dark:text-red-300">{move || failure.get()}</p>
            <PasskeyButton purpose=PasskeyPurpose::SignIn label="Sign in with a passkey" autofill />
        </section>
    }
}

/// The second step of a sign-in: a passkey, a code from the authenticator app or a backup code.
#[component]
pub fn SecondStepPage() -> impl IntoView {
    let step = Resource::new(|| (), |()| second_step_options());
    let next = query_value("next");
    let totp = ServerAction::<VerifyCode>::new();
    let totp_error = action_error(totp);
    let backup = ServerAction::<VerifyBackupCode>::new();
    let backup_error = action_error(backup);
    let next_input = move || view! { <input type="hidden" name="next" value=move || next.get().unwrap_or_default() /> };
    view! {
        <Title text="Confirm it is you" />
        <h1 class="text-3xl font-bold">"Confirm it is you"</h1>
        <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
            "Your password was right. Your account also asks for a second step."
        </p>
        <Suspense fallback=|| view! { <p role="status" class="mt-6">"Loading…"</p> }>
            {move || step.get().map(|result| match result {
                Err(error) => view! {
                    <div class="mt-6 max-w-md">
                        <FormNotice error=Signal::derive(move || Some(error.clone())) />
                        <p class="mt-4"><A href="/signin" attr:class=LINK>"Sign in again"</A></p>
                    </div>
                }.into_any(),
                Ok(step) => view! {
                    {step.passkey.then(|| view! {
                        <section aria-labelledby="step-passkey" class=SECTION>
                            <h2 id="step-passkey" class="text-xl font-semibold">"Passkey"</h2>
                            <div class="mt-3">
                                <PasskeyButton purpose=PasskeyPurpose::SecondFactor label="Use a passkey" />
                            </div>
                        </section>
                    })}
                    {step.totp.then(|| view! {
                        <section aria-labelledby="step-totp" class=SECTION>
                            <h2 id="step-totp" class="text-xl font-semibold">"Authenticator app"</h2>
                            <ActionForm action=totp attr:class="mt-3 flex max-w-md flex-col gap-4" attr:novalidate="true">
                                <FormNotice error=totp_error />
                                {next_input()}
                                <Field label="6-digit code" name="code" autocomplete="one-time-code" hint="Open your authenticator app and type the code it shows for Custodian." error=totp_error />
                                <Submit label="Verify" pending=totp.pending() />
                            </ActionForm>
                        </section>
                    })}
                    {step.backup_code.then(|| view! {
                        <details class=SECTION>
                            <summary class="cursor-pointer text-xl font-semibold">"Lost your device? Use a backup code"</summary>
                            <ActionForm action=backup attr:class="mt-3 flex max-w-md flex-col gap-4" attr:novalidate="true">
                                <FormNotice error=backup_error />
                                {next_input()}
                                <Field label="Backup code" name="backup_code" autocomplete="off" hint="One of the ten codes you saved, like ABCDE-FGHJK. Each works once." error=backup_error />
                                <Submit label="Use the code" pending=backup.pending() />
                            </ActionForm>
                        </details>
                    })}
                }.into_any(),
            })}
        </Suspense>
    }
}

/// The factors at a glance, for the top of the Security log.
#[component]
pub fn FactorSummary() -> impl IntoView {
    let summary = Resource::new(|| (), |()| list_factors());
    view! {
        <Suspense fallback=|| ()>
            {move || summary.get().and_then(Result::ok).map(|f| {
                let totp = match f.totp {
                    TotpState::On => "on",
                    _ => "off",
                };
                let backup = f.backup_codes_left.map(|n| format!(" · Backup codes: {n} left"));
                let low = f.backup_codes_left.is_some_and(|n| n <= 3);
                view! {
                    <p class="mt-4 rounded border border-slate-300 px-4 py-3 dark:border-slate-700">
                        <strong>{if f.any() { "Two-step sign-in is on. " } else { "Two-step sign-in is off. " }}</strong>
                        {format!("Passkeys: {} · Authenticator app: {totp}", f.passkeys.len())}
                        {backup}
                        {low.then(|| view! { <strong class="ml-1 text-amber-800 dark:text-amber-300">"(running low)"</strong> })}
                        " "
                        <A href="/security/factors" attr:class=LINK>"Manage"</A>
                    </p>
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn FactorsPage() -> impl IntoView {
    let fresh_codes = RwSignal::new(None::<Vec<String>>);
    let start_totp = ServerAction::<StartTotp>::new();
    let confirm_totp = ServerAction::<ConfirmTotp>::new();
    let turn_off = ServerAction::<TurnOffTotp>::new();
    let regenerate = ServerAction::<RegenerateBackupCodes>::new();
    let rename = ServerAction::<RenamePasskey>::new();
    let remove = ServerAction::<RemovePasskey>::new();
    let added = RwSignal::new(0u32);
    let factors = Resource::new(
        move || {
            (
                start_totp.version().get(),
                confirm_totp.version().get(),
                turn_off.version().get(),
                regenerate.version().get(),
                rename.version().get(),
                remove.version().get(),
                added.get(),
            )
        },
        |_| list_factors(),
    );
    Effect::new(move |_| {
        if let Some(Ok(Some(codes))) = confirm_totp.value().get() {
            fresh_codes.set(Some(codes));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(codes)) = regenerate.value().get() {
            fresh_codes.set(Some(codes));
        }
    });
    view! {
        <Title text="Two-step sign-in" />
        <h1 class="text-3xl font-bold">"Two-step sign-in"</h1>
        <SecurityNav />
        <p class="mt-4 max-w-prose text-slate-700 dark:text-slate-300">
            "A second step keeps your account safe even if someone learns your password. Passkeys are the easiest: your device's fingerprint, face or screen lock."
        </p>
        {move || fresh_codes.get().map(|codes| view! { <FreshCodes codes /> })}
        <Suspense fallback=|| view! { <p role="status" class="mt-6">"Loading your sign-in methods…"</p> }>
            {move || factors.get().map(|result| match result {
                Err(error) => view! { <LoadError error /> }.into_any(),
                Ok(f) => view! {
                    <PasskeySection factors=f.clone() rename remove added fresh_codes />
                    <TotpSection factors=f.clone() start_totp confirm_totp turn_off />
                    <BackupCodeSection factors=f regenerate />
                }.into_any(),
            })}
        </Suspense>
    }
}

/// A checkbox that confirms removing the last second factor.
#[component]
fn LastFactorWarning(
    is_last: bool,
    /// Makes the checkbox's id unique on the page.
    id: String,
    #[prop(into)] error: Signal<Option<FormError>>,
) -> impl IntoView {
    is_last.then(|| {
        let id = format!("understood-{id}");
        let message = move || error.get().and_then(|e| e.for_field("understood"));
        view! {
            <div class="mt-2 flex flex-col gap-1 rounded border border-amber-700 bg-amber-50 p-3 dark:bg-amber-950">
                <p class="text-sm">"This is your last second factor: afterwards your password alone protects your account, and your backup codes stop working."</p>
                <div class="flex items-center gap-2">
                    <input type="checkbox" id=id.clone() name="understood" value="on" />
                    <label for=id>"I understand"</label>
                </div>
                <p role="alert" class="text-sm font-medium text-red-700 dark:text-red-300">{message}</p>
            </div>
        }
    })
}

#[component]
fn PasskeySection(
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
        <section aria-labelledby="passkeys-heading" class=SECTION>
            <h2 id="passkeys-heading" class="text-xl font-semibold">"Passkeys"</h2>
            <FormNotice error=besides_sudo(rename_error) />
            <FormNotice error=besides_sudo(remove_error) />
            {if factors.passkeys.is_empty() {
                view! { <p class="mt-2">"No passkeys yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-3 flex flex-col gap-4" aria-label="Your passkeys">
                        {factors.passkeys.into_iter().map(|row| view! { <PasskeyItem row rename remove is_last remove_error /> }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <SudoPrompt error=remove_error then=remove_again />
            <AddPasskey added fresh_codes />
        </section>
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
    let (rename_form_id, remove_form_id) = (row.id.clone(), row.id.clone());
    let (current_name, remove_label) =
        (row.name.clone(), format!("Remove the passkey {}", row.name));
    let used = row
        .last_used
        .clone()
        .map_or_else(|| "never used".to_owned(), |at| format!("last used {at}"));
    view! {
        <li class="rounded border border-slate-300 p-4 dark:border-slate-700">
            <p class="font-semibold">{row.name}</p>
            <p class="text-sm text-slate-700 dark:text-slate-300">{format!("Added {} · {used}", row.created)}</p>
            <ActionForm action=rename attr:class="mt-2 flex items-end gap-2">
                <input type="hidden" name="id" value=rename_form_id />
                <div class="flex flex-col gap-1">
                    <label for=rename_id.clone() class="text-sm font-medium">{format!("New name for {current_name}")}</label>
                    <input id=rename_id name="name" value=current_name.clone() required maxlength="60" class="rounded border border-slate-400 bg-white px-2 py-1 dark:bg-slate-900" />
                </div>
                <button type="submit" class=QUIET_BUTTON>"Rename"</button>
            </ActionForm>
            <ActionForm action=remove attr:class="mt-2">
                <input type="hidden" name="id" value=remove_form_id.clone() />
                <LastFactorWarning is_last id=remove_form_id error=remove_error />
                <button type="submit" aria-label=remove_label class="mt-2 rounded border border-red-700 px-3 py-1 text-sm font-medium text-red-800 dark:text-red-300">
                    "Remove"
                </button>
            </ActionForm>
        </li>
    }
}

/// Names and registers a new passkey: any authenticator, or the device's own.
#[component]
fn AddPasskey(added: RwSignal<u32>, fresh_codes: RwSignal<Option<Vec<String>>>) -> impl IntoView {
    let name = RwSignal::new(String::new());
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
                let options = start_passkey_registration(name.get_untracked(), this_device)
                    .await
                    .map_err(Ok)?;
                let credential = browser::create(&options).await.map_err(Err)?;
                finish_passkey_registration(credential).await.map_err(Ok)
            }
            .await;
            busy.set(false);
            match outcome {
                Ok(codes) => {
                    name.set(String::new());
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
                <label for="passkey-name" class="font-medium">"Passkey name"</label>
                <input
                    id="passkey-name"
                    maxlength="60"
                    placeholder="e.g. My laptop"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                    aria-invalid=move || name_message().is_some().then_some("true")
                    aria-describedby="passkey-name-error"
                    class="rounded border border-slate-400 bg-white px-3 py-2 dark:bg-slate-900"
                />
                <p id="passkey-name-error" role="alert" class="text-sm font-medium text-red-700 dark:text-red-300">{name_message}</p>
            </div>
            <div class="flex flex-wrap gap-3">
                <button type="button" class=BUTTON on:click=move |_| register.run(false) aria-busy=move || busy.get().then_some("true")>
                    {move || if busy.get() { "Waiting for your passkey…" } else { "Add a passkey" }}
                </button>
                <Show when=move || platform.get()>
                    <button type="button" class=BUTTON on:click=move |_| register.run(true)>
                        {move || if standalone.get() { "Use this device's Face ID, fingerprint or Windows Hello" } else { "Use this device's screen lock" }}
                    </button>
                </Show>
            </div>
            <p role="alert" class="text-sm font-medium text-red-700 dark:text-red-300">{move || failure.get()}</p>
            <SudoPrompt error=Signal::derive(move || error.get()) then=again />
        </div>
    }
}

#[component]
fn TotpSection(
    factors: Factors,
    start_totp: ServerAction<StartTotp>,
    confirm_totp: ServerAction<ConfirmTotp>,
    turn_off: ServerAction<TurnOffTotp>,
) -> impl IntoView {
    let is_last = factors.is_last();
    let start_error = action_error(start_totp);
    let confirm_error = action_error(confirm_totp);
    let off_error = action_error(turn_off);
    let start_form = NodeRef::<html::Form>::new();
    let confirm_form = NodeRef::<html::Form>::new();
    let off_form = NodeRef::<html::Form>::new();
    // The secret arrives only in the answer to "set up": a page loaded later shows that a setup
    // is waiting, and starting again shows a new secret.
    let setup = move || start_totp.value().get().and_then(Result::ok);
    let body = match factors.totp {
        TotpState::Off | TotpState::Pending => view! {
            <Show
                when=move || setup().is_some()
                fallback=move || view! {
                    <p class="mt-2">
                        {if factors.totp == TotpState::Pending {
                            "A setup was started and not finished. Start again to see a new key to scan."
                        } else {
                            "Off. Use an app such as Aegis, Google Authenticator or 1Password to get a new code every 30 seconds."
                        }}
                    </p>
                    <ActionForm action=start_totp node_ref=start_form attr:class="mt-3">
                        <FormNotice error=besides_sudo(start_error) />
                        <button type="submit" class=BUTTON>"Set up an authenticator app"</button>
                    </ActionForm>
                    <SudoPrompt error=start_error then=resubmit(start_form) />
                }
            >
                {move || setup().map(|setup| view! { <TotpEnrolment setup /> })}
                <ActionForm action=confirm_totp node_ref=confirm_form attr:class="mt-4 flex max-w-md flex-col gap-4" attr:novalidate="true">
                    <FormNotice error=besides_sudo(confirm_error) />
                    <Field label="Code from the app" name="code" autocomplete="one-time-code" hint="Type the 6-digit code the app shows now to finish." error=confirm_error />
                    <Submit label="Turn on" pending=confirm_totp.pending() />
                </ActionForm>
                <SudoPrompt error=confirm_error then=resubmit(confirm_form) />
            </Show>
        }
        .into_any(),
        TotpState::On => view! {
            <p class="mt-2"><strong>"On."</strong>" Sign-in asks for a code from your app."</p>
            <ActionForm action=turn_off node_ref=off_form attr:class="mt-3">
                <FormNotice error=besides_sudo(off_error) />
                <LastFactorWarning is_last id="totp".to_owned() error=off_error />
                <button type="submit" class="mt-2 rounded border border-red-700 px-3 py-1 font-medium text-red-800 dark:text-red-300">"Turn off the authenticator app"</button>
            </ActionForm>
            <SudoPrompt error=off_error then=resubmit(off_form) />
        }
        .into_any(),
    };
    view! {
        <section aria-labelledby="totp-heading" class=SECTION>
            <h2 id="totp-heading" class="text-xl font-semibold">"Authenticator app"</h2>
            {body}
        </section>
    }
}

#[component]
fn TotpEnrolment(setup: TotpSetup) -> impl IntoView {
    view! {
        <ol class="mt-2 flex list-decimal flex-col gap-3 pl-5">
            <li>
                "Scan this code with your authenticator app:"
                <div role="img" aria-label="QR code of your authenticator setup" class="mt-2 w-52 bg-white p-1" inner_html=setup.qr_svg></div>
            </li>
            <li>
                "Or type this key into the app: "
                <code data-testid="totp-secret" class="select-all break-all rounded bg-slate-100 px-2 py-1 font-mono dark:bg-slate-800">{setup.secret_text}</code>
                " — or "
                <a href=setup.uri class=LINK>"open it in an authenticator app on this device"</a>
                "."
            </li>
        </ol>
    }
}
