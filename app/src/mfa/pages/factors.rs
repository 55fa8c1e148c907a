//! `/security/factors`: passkeys, the authenticator app and backup codes.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    codes::{BackupCodeSection, FreshCodes},
    passkeys::PasskeySection,
    totp::TotpSection,
};
use crate::{
    mfa::api::{
        list_factors, ConfirmTotp, RegenerateBackupCodes, RemovePasskey, RenamePasskey, StartTotp,
        TurnOffTotp,
    },
    ui::{FormError, LoadError, Loading},
};

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
        <p class="mt-4 max-w-prose text-slate-700 dark:text-slate-300">
            "A second step keeps your account safe even if someone learns your password. Passkeys are the easiest: your device's fingerprint, face or screen lock."
        </p>
        {move || fresh_codes.get().map(|codes| view! { <FreshCodes codes /> })}
        <Suspense fallback=|| {
            view! { <Loading what="Loading your sign-in methods…" /> }
        }>
            {move || {
                factors
                    .get()
                    .map(|result| match result {
                        Err(error) => view! { <LoadError error /> }.into_any(),
                        Ok(f) => {
                            view! {
                                <PasskeySection factors=f.clone() rename remove added fresh_codes />
                                <TotpSection factors=f.clone() start_totp confirm_totp turn_off />
                                <BackupCodeSection factors=f regenerate />
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

/// A checkbox that confirms removing the last second factor.
#[component]
pub(super) fn LastFactorWarning(
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
                <p class="text-sm">
                    "This is your last second factor: afterwards your password alone protects your account, and your backup codes stop working."
                </p>
                <div class="flex items-center gap-2">
                    <input type="checkbox" id=id.clone() name="understood" value="on" />
                    <label for=id>"I understand"</label>
                </div>
                <p role="alert" class="text-sm font-medium text-red-700 dark:text-red-300">
                    {message}
                </p>
            </div>
        }
    })
}
