//! The Privacy page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::banner::{here, save_consent_action, Switch};
use crate::{
    privacy::{
        api::consent_history,
        model::{Category, PageConsent},
    },
    ui::{action_error, ButtonKind, FormNotice, LoadError, LINK},
};

pub(super) fn category_names(names: &[String]) -> String {
    let labels: Vec<String> = names
        .iter()
        .map(|n| Category::parse(n).map_or_else(|| n.clone(), |c| c.label().to_owned()))
        .collect();
    if labels.is_empty() {
        "None".to_owned()
    } else {
        labels.join(", ")
    }
}

/// `/privacy`: the switches, Global Privacy Control's status, and the consent history with a
/// receipt for each record.
#[component]
pub fn PrivacyPage() -> impl IntoView {
    let consent = expect_context::<RwSignal<PageConsent>>();
    let save = save_consent_action(consent);
    // A choice made here or in the banner adds a record: read the history again.
    let history = Resource::new(
        move || (save.version().get(), consent.with(|c| c.choice)),
        |_| consent_history(),
    );
    let current = move || consent.with(|c| c.choice.unwrap_or_default());
    let error = action_error(save);
    let back = here();
    let saved = move || {
        matches!(save.value().get(), Some(Ok(_))).then_some("Your privacy settings were saved.")
    };

    view! {
        <Title text="Privacy" />
        <h1 class="text-3xl font-bold">"Privacy"</h1>
        <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
            "Choose what Custodian may do beyond what the site needs to work. Every choice is recorded, and you can download a signed receipt for each."
        </p>
        <GpcStatus />
        <super::locations::DataLocationsSection />
        <section aria-labelledby="choices-title" class="mt-8">
            <h2 id="choices-title" class="text-xl font-semibold">
                "Your choices"
            </h2>
            <FormNotice error />
            <p role="status" class="empty:hidden mt-2 text-emerald-800 dark:text-emerald-200">
                {saved}
            </p>
            <ActionForm action=save attr:class="mt-4 flex max-w-prose flex-col gap-4">
                <input type="hidden" name="method" value="settings" />
                <input type="hidden" name="choice" value="custom" />
                <input type="hidden" name="back" value=back />
                <Switch
                    id_prefix="privacy"
                    name="essential"
                    label=Category::Essential.label()
                    explanation=Category::Essential.explanation()
                    checked=true
                    disabled=true
                />
                <Switch
                    id_prefix="privacy"
                    name="functional"
                    label=Category::Functional.label()
                    explanation=Category::Functional.explanation()
                    checked=Signal::derive(move || current().functional)
                />
                <Switch
                    id_prefix="privacy"
                    name="analytics"
                    label=Category::Analytics.label()
                    explanation=Category::Analytics.explanation()
                    checked=Signal::derive(move || current().analytics)
                />
                <Switch
                    id_prefix="privacy"
                    name="sale_share_opt_out"
                    label="Do Not Sell or Share My Personal Information"
                    explanation=Category::SaleShare.explanation()
                    checked=Signal::derive(move || current().sale_share_opt_out)
                />
                <button type="submit" class=ButtonKind::Primary.class()>
                    "Save privacy settings"
                </button>
            </ActionForm>
        </section>
        <super::retention::RetentionSection />
        <section aria-labelledby="history-title" class="mt-10">
            <h2 id="history-title" class="text-xl font-semibold">
                "Consent history"
            </h2>
            <p class="mt-2 max-w-prose text-sm text-slate-700 dark:text-slate-300">
                "Records are never changed or deleted; a new choice adds a new record. A receipt is a signed copy you can keep; "
                <A href="/privacy/verify-receipt" attr:class=LINK>
                    "check a receipt"
                </A> " at any time."
            </p>
            <Suspense fallback=|| {
                view! {
                    <p role="status" class="mt-4">
                        "Loading your history…"
                    </p>
                }
            }>
                {move || {
                    history
                        .get()
                        .map(|result| match result {
                            Err(error) => view! { <LoadError error /> }.into_any(),
                            Ok(rows) if rows.is_empty() => {
                                view! { <p class="mt-4">"No choices recorded yet."</p> }.into_any()
                            }
                            Ok(rows) => {
                                view! {
                                    <div class="mt-4 overflow-x-auto">
                                        <table class="w-full text-left text-sm">
                                            <caption class="sr-only">
                                                "Your consent records, newest first"
                                            </caption>
                                            <thead>
                                                <tr class="border-b border-slate-300 dark:border-slate-700">
                                                    <th scope="col" class="py-2 pr-4">
                                                        "When"
                                                    </th>
                                                    <th scope="col" class="py-2 pr-4">
                                                        "How"
                                                    </th>
                                                    <th scope="col" class="py-2 pr-4">
                                                        "Allowed"
                                                    </th>
                                                    <th scope="col" class="py-2 pr-4">
                                                        "Refused"
                                                    </th>
                                                    <th scope="col" class="py-2 pr-4">
                                                        "Cookie policy"
                                                    </th>
                                                    <th scope="col" class="py-2">
                                                        "Receipt"
                                                    </th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {rows
                                                    .into_iter()
                                                    .map(|row| {
                                                        view! {
                                                            <tr class="border-b border-slate-200 dark:border-slate-800">
                                                                <td class="py-2 pr-4">{row.recorded.clone()}</td>
                                                                <td class="py-2 pr-4">
                                                                    {row.method.clone()}{row.gpc.then_some(" (GPC sent)")}
                                                                </td>
                                                                <td class="py-2 pr-4">{category_names(&row.granted)}</td>
                                                                <td class="py-2 pr-4">{category_names(&row.denied)}</td>
                                                                <td class="py-2 pr-4">
                                                                    {format!("version {}", row.policy_version)}
                                                                </td>
                                                                <td class="py-2">
                                                                    <a
                                                                        href=format!("/privacy/receipts/{}", row.id)
                                                                        rel="external"
                                                                        download=""
                                                                        class=LINK
                                                                    >
                                                                        {format!("Download receipt of {}", row.recorded)}
                                                                    </a>
                                                                </td>
                                                            </tr>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}

/// What Global Privacy Control does for this browser right now.
#[component]
fn GpcStatus() -> impl IntoView {
    let consent = expect_context::<RwSignal<PageConsent>>();
    let conflict = move || {
        consent.with(|c| {
            let chosen = c.choice.unwrap_or_default();
            c.gpc && c.choice.is_some() && (chosen.analytics || !chosen.sale_share_opt_out)
        })
    };
    view! {
        <section
            aria-labelledby="gpc-title"
            class="mt-8 max-w-prose rounded border border-slate-300 p-4 dark:border-slate-700"
        >
            <h2 id="gpc-title" class="text-xl font-semibold">
                "Global Privacy Control"
            </h2>
            {move || {
                if consent.with(|c| c.gpc) {
                    view! {
                        <p class="mt-2">
                            <strong>"Your browser sends GPC: honored."</strong>
                            " We treat it as an opt-out of the sale or sharing of your personal information and of analytics, and we recorded it."
                        </p>
                    }
                        .into_any()
                } else if let Some(until) = consent.with(|c| c.account_gpc_until.clone()) {
                    view! {
                        <p class="mt-2">
                            <strong>"GPC applies to your account."</strong>
                            {format!(
                                " Another browser you use with this account sends it, so sale or sharing and analytics stay off on every device until {until}; we will not ask you to opt back in before then.",
                            )}
                        </p>
                    }
                        .into_any()
                } else {
                    view! {
                        <p class="mt-2">
                            "Your browser does not send GPC. If it did, we would treat it as an opt-out of sale or sharing and of analytics, for your whole account when you are signed in."
                        </p>
                    }
                        .into_any()
                }
            }}
            <Show when=conflict>
                <p class="mt-2 font-medium text-amber-800 dark:text-amber-200">
                    "Your saved choice allows sale or sharing or analytics, but your browser's GPC signal says no: GPC wins, so both stay off while your browser sends it."
                </p>
            </Show>
        </section>
    }
}
