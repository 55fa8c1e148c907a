//! The authenticator-app section of the factors page: set up, confirm, turn off.

use leptos::{html, prelude::*};

use super::factors::LastFactorWarning;
use crate::{
    mfa::{
        api::{ConfirmTotp, StartTotp, TurnOffTotp},
        model::{Factors, TotpSetup, TotpState},
    },
    ui::{
        action_error, besides_sudo, resubmit, ButtonKind, Field, FormNotice, Section, SectionStyle,
        Submit, SudoPrompt, LINK,
    },
};

#[component]
pub(super) fn TotpSection(
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
                fallback=move || {
                    view! {
                        <p class="mt-2">
                            {if factors.totp == TotpState::Pending {
                                "A setup was started and not finished. Start again to see a new key to scan."
                            } else {
                                "Off. Use an app such as Aegis, Google Authenticator or 1Password to get a new code every 30 seconds."
                            }}
                        </p>
                        <ActionForm action=start_totp node_ref=start_form attr:class="mt-3">
                            <FormNotice error=besides_sudo(start_error) />
                            <button type="submit" class=ButtonKind::Primary.class()>
                                "Set up an authenticator app"
                            </button>
                        </ActionForm>
                        <SudoPrompt error=start_error then=resubmit(start_form) />
                    }
                }
            >
                {move || setup().map(|setup| view! { <TotpEnrolment setup /> })}
                <ActionForm
                    action=confirm_totp
                    node_ref=confirm_form
                    attr:class="mt-4 flex max-w-md flex-col gap-4"
                    attr:novalidate="true"
                >
                    <FormNotice error=besides_sudo(confirm_error) />
                    <Field
                        label="Code from the app"
                        name="code"
                        autocomplete="one-time-code"
                        hint="Type the 6-digit code the app shows now to finish."
                        error=confirm_error
                    />
                    <Submit label="Turn on" pending=confirm_totp.pending() />
                </ActionForm>
                <SudoPrompt error=confirm_error then=resubmit(confirm_form) />
            </Show>
        }
        .into_any(),
        TotpState::On => view! {
            <p class="mt-2">
                <strong>"On."</strong>
                " Sign-in asks for a code from your app."
            </p>
            <ActionForm action=turn_off node_ref=off_form attr:class="mt-3">
                <FormNotice error=besides_sudo(off_error) />
                <LastFactorWarning is_last id="totp".to_owned() error=off_error />
                <button type="submit" class=format!("mt-2 {}", ButtonKind::Danger.class())>
                    "Turn off the authenticator app"
                </button>
            </ActionForm>
            <SudoPrompt error=off_error then=resubmit(off_form) />
        }
        .into_any(),
    };
    view! {
        <Section id="totp" heading="Authenticator app" style=SectionStyle::Card>
            {body}
        </Section>
    }
}

#[component]
fn TotpEnrolment(setup: TotpSetup) -> impl IntoView {
    view! {
        <ol class="mt-2 flex list-decimal flex-col gap-3 pl-5">
            <li>
                "Scan this code with your authenticator app:"
                <div
                    role="img"
                    aria-label="QR code of your authenticator setup"
                    class="mt-2 w-52 bg-white p-1"
                    inner_html=setup.qr_svg
                ></div>
            </li>
            <li>
                "Or type this key into the app: "
                <code
                    data-testid="totp-secret"
                    class="select-all break-all rounded bg-slate-100 px-2 py-1 font-mono dark:bg-slate-800"
                >
                    {setup.secret_text}
                </code> " — or " <a href=setup.uri class=LINK>
                    "open it in an authenticator app on this device"
                </a> "."
            </li>
        </ol>
    }
}
