//! `/signin/verify`: the second step of a sign-in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::passkey::PasskeyButton;
use crate::{
    mfa::model::{PasskeyPurpose, BACKUP_CODE_SET_SIZE},
    signin::api::{second_step_options, VerifyBackupCode, VerifyCode},
    ui::{
        action_error, kit::CARD, query_value, Field, FormNotice, Loading, Section, SectionStyle,
        Submit, LINK,
    },
};

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
        <Suspense fallback=|| {
            view! { <Loading what="Loading…" /> }
        }>
            {move || {
                step.get()
                    .map(|result| match result {
                        Err(error) => {
                            view! {
                                <div class="mt-6 max-w-md">
                                    <FormNotice error=Signal::derive(move || Some(error.clone())) />
                                    <p class="mt-4">
                                        <A href="/signin" attr:class=LINK>
                                            "Sign in again"
                                        </A>
                                    </p>
                                </div>
                            }
                                .into_any()
                        }
                        Ok(step) => {
                            view! {
                                {step
                                    .passkey
                                    .then(|| {
                                        view! {
                                            <Section
                                                id="step-passkey"
                                                heading="Passkey"
                                                style=SectionStyle::Card
                                            >
                                                <div class="mt-3">
                                                    <PasskeyButton
                                                        purpose=PasskeyPurpose::SecondFactor
                                                        label="Use a passkey"
                                                    />
                                                </div>
                                            </Section>
                                        }
                                    })}
                                {step
                                    .totp
                                    .then(|| {
                                        view! {
                                            <Section
                                                id="step-totp"
                                                heading="Authenticator app"
                                                style=SectionStyle::Card
                                            >
                                                <ActionForm
                                                    action=totp
                                                    attr:class="mt-3 flex max-w-md flex-col gap-4"
                                                    attr:novalidate="true"
                                                >
                                                    <FormNotice error=totp_error />
                                                    {next_input()}
                                                    <Field
                                                        label="6-digit code"
                                                        name="code"
                                                        autocomplete="one-time-code"
                                                        hint="Open your authenticator app and type the code it shows for Custodian."
                                                        error=totp_error
                                                    />
                                                    <Submit label="Verify" pending=totp.pending() />
                                                </ActionForm>
                                            </Section>
                                        }
                                    })}
                                {step
                                    .backup_code
                                    .then(|| {
                                        view! {
                                            <details class=CARD>
                                                <summary class="cursor-pointer text-xl font-semibold">
                                                    "Lost your device? Use a backup code"
                                                </summary>
                                                <ActionForm
                                                    action=backup
                                                    attr:class="mt-3 flex max-w-md flex-col gap-4"
                                                    attr:novalidate="true"
                                                >
                                                    <FormNotice error=backup_error />
                                                    {next_input()}
                                                    <Field
                                                        label="Backup code"
                                                        name="backup_code"
                                                        autocomplete="off"
                                                        hint=format!(
                                                            "One of the {BACKUP_CODE_SET_SIZE} codes you saved, like ABCDE-FGHJK. Each works once.",
                                                        )
                                                        error=backup_error
                                                    />
                                                    <Submit label="Use the code" pending=backup.pending() />
                                                </ActionForm>
                                            </details>
                                        }
                                    })}
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
