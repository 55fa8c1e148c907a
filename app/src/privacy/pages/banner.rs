//! What every page carries of the privacy area: the cookie banner, the policy-review banner and
//! the footer's controls, all driven by the consent state the server computed for the request.

use leptos::{prelude::*, server::SharedValue};
use leptos_router::{
    components::A,
    hooks::{use_location, use_query_map},
};

use crate::{
    privacy::{
        api::{AcknowledgePolicy, SaveConsent, SaveTheme},
        model::{Category, PageConsent, PolicyNotice, Theme},
    },
    ui::{action_error, ButtonKind, FormNotice, LINK},
};

/// Accept, reject and customize look alike: neither answer is easier to give than the other.
const CHOICE_BUTTON: &str = ButtonKind::Choice.class();

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
pub(super) fn here() -> Signal<String> {
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
pub(super) fn save_consent_action(consent: RwSignal<PageConsent>) -> ServerAction<SaveConsent> {
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
pub(super) fn Switch(
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
                <label for=id class="font-medium">
                    {label}
                </label>
                <p id=hint class="text-sm text-slate-700 dark:text-slate-300">
                    {explanation}
                </p>
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
    let show = move || consent.with(PageConsent::asks) || reopened();
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
                    <h2 id="cookie-banner-title" class="text-lg font-bold">
                        "Cookies on Custodian"
                    </h2>
                    <p class="mt-2 max-w-prose">
                        "Essential cookies keep the site working and remember this choice. With your permission we also remember your theme (functional) and count page views in aggregate (analytics). Nothing is shared with anyone. "
                        <A href="/policies/cookies" attr:class=LINK>
                            "Read the cookie policy"
                        </A>
                    </p>
                    <FormNotice error />
                    <ActionForm action=save attr:class="mt-4 flex flex-wrap gap-3">
                        <input type="hidden" name="method" value="banner" />
                        <input type="hidden" name="back" value=back />
                        <button type="submit" name="choice" value="accept" class=CHOICE_BUTTON>
                            "Accept all"
                        </button>
                        <button type="submit" name="choice" value="reject" class=CHOICE_BUTTON>
                            "Reject all"
                        </button>
                    </ActionForm>
                    <details class="mt-3">
                        <summary class=CHOICE_BUTTON>"Customize"</summary>
                        <ActionForm action=save attr:class="mt-4 flex flex-col gap-4">
                            <input type="hidden" name="method" value="banner" />
                            <input type="hidden" name="choice" value="custom" />
                            <input type="hidden" name="back" value=back />
                            <fieldset class="flex flex-col gap-3">
                                <legend class="font-semibold">"Cookie categories"</legend>
                                <Switch
                                    id_prefix="banner"
                                    name="essential"
                                    label=Category::Essential.label()
                                    explanation=Category::Essential.explanation()
                                    checked=true
                                    disabled=true
                                />
                                <Switch
                                    id_prefix="banner"
                                    name="functional"
                                    label=Category::Functional.label()
                                    explanation=Category::Functional.explanation()
                                    checked=Signal::derive(move || current().functional)
                                />
                                <Switch
                                    id_prefix="banner"
                                    name="analytics"
                                    label=Category::Analytics.label()
                                    explanation=Category::Analytics.explanation()
                                    checked=Signal::derive(move || current().analytics)
                                />
                            </fieldset>
                            <button type="submit" class=ButtonKind::Primary.class()>
                                "Save my choices"
                            </button>
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
    // The notice goes only once the server has recorded the review, so a reload never brings
    // back one the person saw disappear.
    Effect::new(move |_| {
        if let Some(Ok(done)) = acknowledge.value().get() {
            consent.update(|c| {
                c.reviews
                    .retain(|r| !(r.document == done.document && r.version == done.version))
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
            <section
                aria-label=region
                class="border-b-2 border-amber-700 bg-amber-50 dark:bg-slate-900"
            >
                <div class="mx-auto flex max-w-5xl flex-wrap items-center gap-4 px-4 py-4">
                    <p class="max-w-prose">
                        <strong>{headline}</strong>
                        {detail}
                        <a href=read_href class=LINK>
                            {read_label}
                        </a>
                    </p>
                    <ActionForm action=acknowledge>
                        <input type="hidden" name="document" value=review.document />
                        <input type="hidden" name="version" value=review.version />
                        <input type="hidden" name="back" value=back />
                        <button type="submit" class=ButtonKind::Primary.class()>
                            {button}
                        </button>
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
                    <li>
                        <a href=settings_href class=LINK>
                            "Cookie settings"
                        </a>
                    </li>
                    <li>
                        <A href="/privacy" attr:class=LINK>
                            "Privacy settings"
                        </A>
                    </li>
                    <li>
                        <A href="/policies/privacy" attr:class=LINK>
                            "Privacy policy"
                        </A>
                    </li>
                    <li>
                        <A href="/policies/cookies" attr:class=LINK>
                            "Cookie policy"
                        </A>
                    </li>
                    <li>
                        <A href="/policies/terms" attr:class=LINK>
                            "Terms"
                        </A>
                    </li>
                    <li>
                        <A href="/policies/subprocessors" attr:class=LINK>
                            "Sub-processors"
                        </A>
                    </li>
                    <li>
                        <A href="/privacy/verify-receipt" attr:class=LINK>
                            "Verify a receipt"
                        </A>
                    </li>
                </ul>
            </nav>
            <ActionForm action=save attr:class="flex flex-wrap items-end gap-3">
                <input type="hidden" name="back" value=back />
                <div class="flex flex-col gap-1">
                    <label for="theme" class="font-medium">
                        "Theme"
                    </label>
                    <select
                        id="theme"
                        name="theme"
                        class="rounded border border-slate-400 bg-white px-3 py-2 dark:bg-slate-900"
                    >
                        {Theme::ALL
                            .into_iter()
                            .map(|t| {
                                view! {
                                    <option value=t.as_str() selected=move || theme() == t>
                                        {t.label()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <button type="submit" class=CHOICE_BUTTON>
                    "Apply theme"
                </button>
                <p role="status" class="empty:hidden basis-full">
                    {outcome}
                </p>
            </ActionForm>
        </div>
    }
}
