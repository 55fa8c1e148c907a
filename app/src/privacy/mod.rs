//! The privacy area (promises P6, P7, P13): the cookie banner and footer controls on every page,
//! the Privacy page, the versioned policies and the receipt check.

#[cfg(feature = "ssr")]
pub mod analytics;
pub mod api;
#[cfg(feature = "ssr")]
pub mod consent;
#[cfg(feature = "ssr")]
pub mod ledger;
#[cfg(feature = "ssr")]
pub mod policies;
#[cfg(feature = "ssr")]
pub mod receipts;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::{prelude::*, server::SharedValue};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_location, use_params_map, use_query_map},
};

use crate::{
    account::LoadError,
    ui::{
        form::{action_error, FormNotice},
        LINK,
    },
};
use api::{
    consent_history, policy_history, policy_page, AcknowledgePolicy, Category, PageConsent,
    PolicyNotice, ReceiptVerdict, SaveConsent, SaveTheme, Theme, VerifyReceipt,
};

/// Accept, reject and customize look alike: neither answer is easier to give than the other.
const CHOICE_BUTTON: &str = "inline-flex cursor-pointer items-center rounded border-2 border-indigo-800 bg-white px-4 py-2 font-semibold text-indigo-900 hover:bg-indigo-50 focus:outline-none focus:ring-2 focus:ring-indigo-600 focus:ring-offset-2 dark:border-indigo-300 dark:bg-slate-900 dark:text-indigo-100 dark:hover:bg-slate-800";
const PRIMARY_BUTTON: &str = "rounded bg-indigo-700 px-4 py-2 font-semibold text-white hover:bg-indigo-800 focus:outline-none focus:ring-2 focus:ring-indigo-600 focus:ring-offset-2";

/// The consent state of the page, computed by the server for this request and handed to the
/// browser with the page, so both render the same banner.
pub fn provide_page_consent() -> RwSignal<PageConsent> {
    let initial = SharedValue::new(current_page_consent).into_inner();
    let consent = RwSignal::new(initial);
    provide_context(consent);
    consent
}

fn current_page_consent() -> PageConsent {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<PageConsent>().cloned())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        PageConsent::default()
    }
}

/// The class for <html>: the theme chosen for this request (the shell is rendered on the server
/// only, so this runs there).
pub fn theme_class() -> &'static str {
    current_page_consent().theme.class()
}

/// The current address (path and query), to come back to after a form without JavaScript.
fn here() -> Signal<String> {
    let location = use_location();
    Signal::derive(move || {
        let search = location.search.get();
        if search.is_empty() {
            location.pathname.get()
        } else {
            format!("{}?{search}", location.pathname.get())
        }
    })
}

/// Sets the theme class on <html> in the browser at once; the server renders it from then on.
fn apply_theme(theme: Theme) {
    if let Some(root) = document().document_element() {
        root.set_class_name(theme.class());
    }
}

/// The action behind every consent form; a saved choice takes effect on the page at once.
fn save_consent_action(consent: RwSignal<PageConsent>) -> ServerAction<SaveConsent> {
    let save = ServerAction::<SaveConsent>::new();
    Effect::new(move |_| {
        if let Some(Ok(choices)) = save.value().get() {
            consent.update(|c| c.choice = Some(choices));
        }
    });
    save
}

/// A labelled switch (a checkbox with role=switch) with its explanation.
#[component]
fn Switch(
    name: &'static str,
    label: &'static str,
    explanation: &'static str,
    #[prop(into)] checked: Signal<bool>,
    #[prop(optional)] disabled: bool,
    id_prefix: &'static str,
) -> impl IntoView {
    let id = format!("{id_prefix}-{name}");
    let hint = format!("{id}-hint");
    view! {
        <div class="flex items-start gap-3">
            <input
                type="checkbox"
                role="switch"
                id=id.clone()
                name=name
                checked=checked
                disabled=disabled
                aria-describedby=hint.clone()
                class="mt-1 h-5 w-5 accent-indigo-700"
            />
            <div>
                <label for=id class="font-medium">{label}</label>
                <p id=hint class="text-sm text-slate-700 dark:text-slate-300">{explanation}</p>
            </div>
        </div>
    }
}

/// The cookie banner: shown until the browser has made a choice, and again from the footer's
/// "Cookie settings". Plain forms, so it works without JavaScript.
#[component]
pub fn CookieBanner() -> impl IntoView {
    let consent = expect_context::<RwSignal<PageConsent>>();
    let query = use_query_map();
    let save = save_consent_action(consent);
    let reopened = move || query.read().get("cookie-settings").is_some();
    let show = move || consent.with(|c| c.choice.is_none()) || reopened();
    let current = move || consent.with(|c| c.choice.unwrap_or_default());
    let error = action_error(save);
    let back = here();

    view! {
        <Show when=show>
            <section
                aria-labelledby="cookie-banner-title"
                class="border-b-2 border-indigo-800 bg-indigo-50 dark:border-indigo-300 dark:bg-slate-900"
            >
                <div class="mx-auto max-w-5xl px-4 py-5">
                    <h2 id="cookie-banner-title" class="text-lg font-bold">"Cookies on Custodian"</h2>
                    <p class="mt-2 max-w-prose">
                        "Essential cookies keep the site working and remember this choice. With your permission we also remember your theme (functional) and count page views in aggregate (analytics). Nothing is shared with anyone. "
                        <A href="/policies/cookies" attr:class=LINK>"Read the cookie policy"</A>
                    </p>
                    <FormNotice error />
                    <ActionForm action=save attr:class="mt-4 flex flex-wrap gap-3">
                        <input type="hidden" name="method" value="banner" />
                        <input type="hidden" name="back" value=back />
                        <button type="submit" name="choice" value="accept" class=CHOICE_BUTTON>"Accept all"</button>
                        <button type="submit" name="choice" value="reject" class=CHOICE_BUTTON>"Reject all"</button>
                    </ActionForm>
                    <details class="mt-3">
                        <summary class=CHOICE_BUTTON>"Customize"</summary>
                        <ActionForm action=save attr:class="mt-4 flex flex-col gap-4">
                            <input type="hidden" name="method" value="banner" />
                            <input type="hidden" name="choice" value="custom" />
                            <input type="hidden" name="back" value=back />
                            <fieldset class="flex flex-col gap-3">
                                <legend class="font-semibold">"Cookie categories"</legend>
                                <Switch id_prefix="banner" name="essential" label=Category::Essential.label() explanation=Category::Essential.explanation() checked=true disabled=true />
                                <Switch id_prefix="banner" name="functional" label=Category::Functional.label() explanation=Category::Functional.explanation() checked=Signal::derive(move || current().functional) />
                                <Switch id_prefix="banner" name="analytics" label=Category::Analytics.label() explanation=Category::Analytics.explanation() checked=Signal::derive(move || current().analytics) />
                            </fieldset>
                            <button type="submit" class=PRIMARY_BUTTON>"Save my choices"</button>
                        </ActionForm>
                    </details>
                </div>
            </section>
        </Show>
    }
}

/// For signed-in people: each material policy change they have not reviewed, until they do.
#[component]
pub fn PolicyReviewBanner() -> impl IntoView {
    let consent = expect_context::<RwSignal<PageConsent>>();
    let acknowledge = ServerAction::<AcknowledgePolicy>::new();
    Effect::new(move |_| {
        if let Some(input) = acknowledge.input().get() {
            consent.update(|c| {
                c.reviews
                    .retain(|r| !(r.document == input.document && r.version == input.version))
            });
        }
    });
    let back = here();
    let review_notice = move |review: PolicyNotice| {
        let region = format!("{} changed", review.title);
        let headline = format!("We changed our {} ", review.title);
        let detail = format!(
            "(version {}, {}): {} ",
            review.version, review.published, review.summary
        );
        let read_href = format!("/policies/{}", review.document);
        let read_label = format!("Read the {}", review.title);
        let button = format!("I have reviewed the {}", review.title);
        view! {
            <section aria-label=region class="border-b-2 border-amber-700 bg-amber-50 dark:bg-slate-900">
                <div class="mx-auto flex max-w-5xl flex-wrap items-center gap-4 px-4 py-4">
                    <p class="max-w-prose">
                        <strong>{headline}</strong>
                        {detail}
                        <a href=read_href class=LINK>{read_label}</a>
                    </p>
                    <ActionForm action=acknowledge>
                        <input type="hidden" name="document" value=review.document />
                        <input type="hidden" name="version" value=review.version />
                        <input type="hidden" name="back" value=back />
                        <button type="submit" class=PRIMARY_BUTTON>{button}</button>
                    </ActionForm>
                </div>
            </section>
        }
    };
    view! {
        <For
            each=move || consent.get().reviews
            key=|r| (r.document.clone(), r.version)
            children=review_notice
        />
    }
}

/// The footer's privacy controls: cookie settings, the theme, and the policies.
#[component]
pub fn FooterControls() -> impl IntoView {
    let consent = expect_context::<RwSignal<PageConsent>>();
    let location = use_location();
    let settings_href = move || format!("{}?cookie-settings=open", location.pathname.get());
    let save = ServerAction::<SaveTheme>::new();
    Effect::new(move |_| {
        if let Some(theme) = save
            .input()
            .get()
            .and_then(|input| Theme::parse(&input.theme))
        {
            apply_theme(theme);
            consent.update(|c| c.theme = theme);
        }
    });
    let outcome = move || {
        save.value().get().map(|result| match result {
            Ok(true) => "Theme saved on this device.",
            Ok(false) => "Applied to this page only: functional cookies are off, so the theme is not remembered.",
            Err(_) => "The theme could not be applied. Try again.",
        })
    };
    let back = here();
    let theme = move || consent.with(|c| c.theme);

    view! {
        <div class="mx-auto flex max-w-5xl flex-col gap-4 px-4 pb-6 text-sm">
            <nav aria-label="Privacy and policies">
                <ul class="flex flex-wrap gap-x-5 gap-y-2">
                    <li><a href=settings_href class=LINK>"Cookie settings"</a></li>
                    <li><A href="/privacy" attr:class=LINK>"Privacy settings"</A></li>
                    <li><A href="/policies/privacy" attr:class=LINK>"Privacy policy"</A></li>
                    <li><A href="/policies/cookies" attr:class=LINK>"Cookie policy"</A></li>
                    <li><A href="/policies/terms" attr:class=LINK>"Terms"</A></li>
                    <li><A href="/policies/subprocessors" attr:class=LINK>"Sub-processors"</A></li>
                    <li><A href="/privacy/verify-receipt" attr:class=LINK>"Verify a receipt"</A></li>
                </ul>
            </nav>
            <ActionForm action=save attr:class="flex flex-wrap items-end gap-3">
                <input type="hidden" name="back" value=back />
                <div class="flex flex-col gap-1">
                    <label for="theme" class="font-medium">"Theme"</label>
                    <select id="theme" name="theme" class="rounded border border-slate-400 bg-white px-3 py-2 dark:bg-slate-900">
                        {Theme::ALL
                            .into_iter()
                            .map(|t| view! { <option value=t.as_str() selected=move || theme() == t>{t.label()}</option> })
                            .collect_view()}
                    </select>
                </div>
                <button type="submit" class=CHOICE_BUTTON>"Apply theme"</button>
                <p role="status" class="empty:hidden basis-full">{outcome}</p>
            </ActionForm>
        </div>
    }
}

fn category_names(names: &[String]) -> String {
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
        <section aria-labelledby="choices-title" class="mt-8">
            <h2 id="choices-title" class="text-xl font-semibold">"Your choices"</h2>
            <FormNotice error />
            <p role="status" class="empty:hidden mt-2 text-emerald-800 dark:text-emerald-200">{saved}</p>
            <ActionForm action=save attr:class="mt-4 flex max-w-prose flex-col gap-4">
                <input type="hidden" name="method" value="settings" />
                <input type="hidden" name="choice" value="custom" />
                <input type="hidden" name="back" value=back />
                <Switch id_prefix="privacy" name="essential" label=Category::Essential.label() explanation=Category::Essential.explanation() checked=true disabled=true />
                <Switch id_prefix="privacy" name="functional" label=Category::Functional.label() explanation=Category::Functional.explanation() checked=Signal::derive(move || current().functional) />
                <Switch id_prefix="privacy" name="analytics" label=Category::Analytics.label() explanation=Category::Analytics.explanation() checked=Signal::derive(move || current().analytics) />
                <Switch
                    id_prefix="privacy"
                    name="sale_share_opt_out"
                    label="Do Not Sell or Share My Personal Information"
                    explanation=Category::SaleShare.explanation()
                    checked=Signal::derive(move || current().sale_share_opt_out)
                />
                <button type="submit" class=PRIMARY_BUTTON>"Save privacy settings"</button>
            </ActionForm>
        </section>
        <section aria-labelledby="history-title" class="mt-10">
            <h2 id="history-title" class="text-xl font-semibold">"Consent history"</h2>
            <p class="mt-2 max-w-prose text-sm text-slate-700 dark:text-slate-300">
                "Records are never changed or deleted; a new choice adds a new record. A receipt is a signed copy you can keep; "
                <A href="/privacy/verify-receipt" attr:class=LINK>"check a receipt"</A>
                " at any time."
            </p>
            <Suspense fallback=|| view! { <p role="status" class="mt-4">"Loading your history…"</p> }>
                {move || history.get().map(|result| match result {
                    Err(error) => view! { <LoadError error /> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <p class="mt-4">"No choices recorded yet."</p> }.into_any(),
                    Ok(rows) => view! {
                        <div class="mt-4 overflow-x-auto">
                            <table class="w-full text-left text-sm">
                                <caption class="sr-only">"Your consent records, newest first"</caption>
                                <thead>
                                    <tr class="border-b border-slate-300 dark:border-slate-700">
                                        <th scope="col" class="py-2 pr-4">"When"</th>
                                        <th scope="col" class="py-2 pr-4">"How"</th>
                                        <th scope="col" class="py-2 pr-4">"Allowed"</th>
                                        <th scope="col" class="py-2 pr-4">"Refused"</th>
                                        <th scope="col" class="py-2 pr-4">"Cookie policy"</th>
                                        <th scope="col" class="py-2">"Receipt"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {rows.into_iter().map(|row| view! {
                                        <tr class="border-b border-slate-200 dark:border-slate-800">
                                            <td class="py-2 pr-4">{row.recorded.clone()}</td>
                                            <td class="py-2 pr-4">{row.method.clone()}{row.gpc.then_some(" (GPC sent)")}</td>
                                            <td class="py-2 pr-4">{category_names(&row.granted)}</td>
                                            <td class="py-2 pr-4">{category_names(&row.denied)}</td>
                                            <td class="py-2 pr-4">{format!("version {}", row.policy_version)}</td>
                                            <td class="py-2">
                                                <a href=format!("/privacy/receipts/{}", row.id) rel="external" download="" class=LINK>
                                                    {format!("Download receipt of {}", row.recorded)}
                                                </a>
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                })}
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
        <section aria-labelledby="gpc-title" class="mt-8 max-w-prose rounded border border-slate-300 p-4 dark:border-slate-700">
            <h2 id="gpc-title" class="text-xl font-semibold">"Global Privacy Control"</h2>
            {move || if consent.with(|c| c.gpc) {
                view! {
                    <p class="mt-2"><strong>"Your browser sends GPC: honored."</strong>" We treat it as an opt-out of the sale or sharing of your personal information and of analytics, and we recorded it."</p>
                }.into_any()
            } else {
                view! {
                    <p class="mt-2">"Your browser does not send GPC. If it did, we would treat it as an opt-out of sale or sharing and of analytics."</p>
                }.into_any()
            }}
            <Show when=conflict>
                <p class="mt-2 font-medium text-amber-800 dark:text-amber-200">
                    "Your saved choice allows sale or sharing or analytics, but your browser's GPC signal says no: GPC wins, so both stay off while your browser sends it."
                </p>
            </Show>
        </section>
    }
}

/// `/policies/:document` (the version in force) and `/policies/:document/v/:version`.
#[component]
pub fn PolicyDocumentPage() -> impl IntoView {
    let params = use_params_map();
    let page = Resource::new(
        move || {
            let p = params.read();
            (
                p.get("document").unwrap_or_default(),
                p.get("version").and_then(|v| v.parse::<i32>().ok()),
            )
        },
        |(document, version)| policy_page(document, version),
    );
    view! {
        <Suspense fallback=|| view! { <p role="status">"Loading the policy…"</p> }>
            {move || page.get().map(|result| match result {
                Err(error) => {
                    crate::ui::answer_not_found();
                    view! { <Title text="Policy not found" /><h1 class="text-3xl font-bold">"Policy not found"</h1><LoadError error /> }.into_any()
                }
                Ok(policy) => {
                    let earlier = policy.version < policy.latest_version;
                    view! {
                        <Title text=policy.title.clone() />
                        <p class="text-sm text-slate-700 dark:text-slate-300">
                            {format!("Version {} · Last updated {}", policy.version, policy.published)}
                            {policy.material.then_some(" · Material change")}
                            " · "
                            <A href=format!("/policies/{}/history", policy.document) attr:class=LINK>"Earlier versions"</A>
                        </p>
                        <Show when=move || earlier>
                            <p role="note" class="mt-2 rounded border border-amber-700 bg-amber-50 px-4 py-2 dark:bg-slate-900">
                                "This is an earlier version. "
                                <A href=format!("/policies/{}", policy.document) attr:class=LINK>"Read the version in force"</A>
                            </p>
                        </Show>
                        <p class="mt-2 text-sm"><strong>"What changed: "</strong>{policy.summary.clone()}</p>
                        <article class="policy mt-6 max-w-prose" inner_html=policy.html.clone()></article>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

/// `/policies/:document/history`: every version, newest first.
#[component]
pub fn PolicyHistoryPage() -> impl IntoView {
    let params = use_params_map();
    let history = Resource::new(
        move || params.read().get("document").unwrap_or_default(),
        policy_history,
    );
    view! {
        <Suspense fallback=|| view! { <p role="status">"Loading the history…"</p> }>
            {move || history.get().map(|result| match result {
                Err(error) => {
                    crate::ui::answer_not_found();
                    view! { <Title text="Policy not found" /><h1 class="text-3xl font-bold">"Policy not found"</h1><LoadError error /> }.into_any()
                }
                Ok(history) => {
                    let title = format!("{}: all versions", history.title);
                    let document = history.document.clone();
                    view! {
                        <Title text=title.clone() />
                        <h1 class="text-3xl font-bold">{title}</h1>
                        <ol class="mt-6 flex flex-col gap-4">
                            {history.versions.into_iter().map(|v| view! {
                                <li>
                                    <A href=format!("/policies/{document}/v/{}", v.version) attr:class=LINK>
                                        {format!("Version {} of {}", v.version, v.published)}
                                    </A>
                                    {v.material.then_some(" (material change)")}
                                    <p class="text-sm text-slate-700 dark:text-slate-300">{v.summary}</p>
                                </li>
                            }).collect_view()}
                        </ol>
                    }.into_any()
                }
            })}
        </Suspense>
    }
}

/// `/privacy/verify-receipt`: anyone can check a receipt.
#[component]
pub fn VerifyReceiptPage() -> impl IntoView {
    let verify = ServerAction::<VerifyReceipt>::new();
    let error = action_error(verify);
    let field_error = move || error.get().and_then(|e| e.for_field("receipt"));
    let verdict = move || {
        match verify.value().get() {
        Some(Ok(ReceiptVerdict::Genuine { receipt_id, subject, recorded, method, granted, denied })) => view! {
            <div class="rounded border border-emerald-700 bg-emerald-50 p-4 dark:bg-emerald-950">
                <p class="font-bold">"Genuine: Custodian signed this receipt and nothing in it has changed."</p>
                <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-4 text-sm">
                    <dt>"Receipt"</dt><dd>{receipt_id}</dd>
                    <dt>"Subject"</dt><dd>{subject}</dd>
                    <dt>"Recorded"</dt><dd>{recorded}</dd>
                    <dt>"How"</dt><dd>{method}</dd>
                    <dt>"Allowed"</dt><dd>{category_names(&granted)}</dd>
                    <dt>"Refused"</dt><dd>{category_names(&denied)}</dd>
                </dl>
            </div>
        }.into_any(),
        Some(Ok(ReceiptVerdict::Tampered)) => view! {
            <p class="rounded border border-red-700 bg-red-50 p-4 font-bold text-red-800 dark:bg-red-950 dark:text-red-200">
                "Not genuine: this receipt was changed after it was signed, or Custodian did not sign it."
            </p>
        }.into_any(),
        Some(Ok(ReceiptVerdict::Malformed(why))) => view! {
            <p class="rounded border border-red-700 bg-red-50 p-4 text-red-800 dark:bg-red-950 dark:text-red-200">
                <strong>"This is not a readable receipt. "</strong>{why}
            </p>
        }.into_any(),
        _ => ().into_any(),
    }
    };
    view! {
        <Title text="Verify a receipt" />
        <h1 class="text-3xl font-bold">"Verify a consent receipt"</h1>
        <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
            "Paste a receipt downloaded from the Privacy page. We check its Ed25519 signature against our "
            <a href="/.well-known/consent-receipt-key.json" rel="external" class=LINK>"published public key"</a>
            "."
        </p>
        <ActionForm action=verify attr:class="mt-6 flex max-w-prose flex-col gap-3">
            <label for="receipt" class="font-medium">"Receipt"</label>
            <textarea
                id="receipt"
                name="receipt"
                rows="12"
                required
                aria-invalid=move || field_error().is_some().then_some("true")
                aria-describedby="receipt-error"
                class="rounded border border-slate-400 bg-white px-3 py-2 font-mono text-sm dark:bg-slate-900"
            ></textarea>
            <p id="receipt-error" role="alert" class="text-sm font-medium text-red-700 dark:text-red-300">{field_error}</p>
            <FormNotice error=Signal::derive(move || error.get().filter(|e| e.for_field("receipt").is_none())) />
            <button type="submit" class=PRIMARY_BUTTON>"Verify receipt"</button>
        </ActionForm>
        <div role="status" class="mt-6 max-w-prose">{verdict}</div>
    }
}
