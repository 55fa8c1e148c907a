//! `/apps`: the person's apps, private unless they choose otherwise (promise P10), and making a
//! new one. Each app's page (`app`) and the page a share link opens (`share`) are beside it.

pub mod app;
pub mod files;
pub mod links;
pub mod member;
pub mod people;
pub mod publish;
pub mod share;

pub use app::AppPage;
pub use member::JoinPage;
pub use share::SharedAppPage;

use leptos::prelude::*;

use crate::{
    apps::{
        api::{apps_shared_with_me, list_apps, CreateApp},
        model::{app_page, AppSummary},
    },
    ui::{
        action_error,
        kit::{CARD, LINK, QUIET_TEXT},
        Field, FormNotice, LoadError, Loading, PageHeader, Section, Submit,
    },
};

#[component]
pub fn AppsPage() -> impl IntoView {
    let apps = Resource::new(|| (), |()| list_apps());
    view! {
        <PageHeader
            title="Apps"
            lead="Your apps are private: only you can see them until you share a link. Each runs in its own sandboxed origin, with no access to your account."
        />
        <Section id="your-apps" heading="Your apps">
            <Transition fallback=|| {
                view! { <Loading what="Loading your apps…" /> }
            }>
                {move || {
                    apps.get()
                        .map(|result| match result {
                            Ok(apps) => view! { <AppList apps /> }.into_any(),
                            Err(error) => view! { <LoadError error /> }.into_any(),
                        })
                }}
            </Transition>
        </Section>
        <SharedWithMe />
        <NewApp />
    }
}

/// The apps other people shared with this person.
#[component]
fn SharedWithMe() -> impl IntoView {
    let shared = Resource::new(|| (), |()| apps_shared_with_me());
    view! {
        <Section id="shared-with-you" heading="Shared with you">
            <Transition fallback=|| {
                view! { <Loading what="Loading the apps shared with you…" /> }
            }>
                {move || {
                    shared
                        .get()
                        .map(|result| match result {
                            Ok(apps) if apps.is_empty() => {
                                view! {
                                    <p class=format!(
                                        "mt-2 {QUIET_TEXT}",
                                    )>"No one has shared an app with you."</p>
                                }
                                    .into_any()
                            }
                            Ok(apps) => {
                                view! {
                                    <ul class="flex flex-col" aria-label="Apps shared with you">
                                        {apps
                                            .into_iter()
                                            .map(|app| {
                                                view! {
                                                    <li class=CARD>
                                                        <h3 class="font-semibold">
                                                            <a href=app_page(app.id) class=LINK>
                                                                {app.name.clone()}
                                                            </a>
                                                        </h3>
                                                        <p>{app.description.clone()}</p>
                                                        <p class=QUIET_TEXT>
                                                            {format!("You are its {}", app.role.label().to_lowercase())}
                                                        </p>
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            }
                            Err(error) => view! { <LoadError error /> }.into_any(),
                        })
                }}
            </Transition>
        </Section>
    }
}

#[component]
fn AppList(apps: Vec<AppSummary>) -> impl IntoView {
    if apps.is_empty() {
        return view! { <p class=format!("mt-2 {QUIET_TEXT}")>"You have no apps yet. Make one below."</p> }
            .into_any();
    }
    view! {
        <ul class="flex flex-col" aria-label="Your apps">
            {apps
                .into_iter()
                .map(|app| {
                    let status = match &app.purge_on {
                        Some(day) => format!("In the trash: deleted for good on {day}"),
                        None => "Private".to_owned(),
                    };
                    view! {
                        <li class=CARD>
                            <h3 class="font-semibold">
                                <a href=app_page(app.id) class=LINK>
                                    {app.name.clone()}
                                </a>
                            </h3>
                            <p>{app.description.clone()}</p>
                            <p class=QUIET_TEXT>
                                {format!(
                                    "{status} · {} file(s), {} · changed {}",
                                    app.files,
                                    app.size,
                                    app.updated,
                                )}
                            </p>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
        .into_any()
}

#[component]
fn NewApp() -> impl IntoView {
    let create = ServerAction::<CreateApp>::new();
    let error = action_error(create);
    view! {
        <Section id="new-app" heading="Make an app">
            <ActionForm action=create attr:class="mt-4 flex max-w-md flex-col gap-5">
                <Field label="Name" name="name" autocomplete="off" error />
                <Field
                    label="Description"
                    name="description"
                    autocomplete="off"
                    required=false
                    error
                />
                <fieldset class="flex flex-col gap-2">
                    <legend class="font-medium">"Start with"</legend>
                    <label class="flex items-center gap-2">
                        <input type="radio" name="start" value="starter" checked />
                        "The starter: a page, its style and a script to edit"
                    </label>
                    <label class="flex items-center gap-2">
                        <input type="radio" name="start" value="empty" />
                        "Nothing: I will upload my files or a zip"
                    </label>
                </fieldset>
                <FormNotice error />
                <Submit label="Make the app" pending=create.pending() />
            </ActionForm>
        </Section>
    }
}
