//! `/apps/<id>`: one app. For its owner: the app running in its sandboxed frame, its details,
//! its files (upload and delete), its secrets, who has access (people and links), and the trash; for a
//! collaborator, their view (`member`).

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{
    files::{Files, Preview},
    member::SharedAppView,
    people::WhoHasAccess,
    publish::Publishing,
};
use crate::{
    apps::{
        api::{app_overview, RestoreApp, SaveApp, TrashApp},
        model::{AppDetail, AppPageData, TRASH_DAYS},
        secrets::pages::Secrets,
    },
    platform::ids::AppId,
    ui::{
        action_error,
        kit::{FieldError, CARD, INPUT, QUIET_TEXT},
        query_notice, ButtonKind, Field, FormNotice, LoadError, Loading,
        Notice, PageHeader, Section, Submit,
    },
};

#[component]
pub fn AppPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<AppId>().ok());
    let detail = Resource::new(
        move || (id(), query.read().get("notice")),
        |(id, _)| async move {
            match id {
                Some(id) => app_overview(id).await,
                None => Err(crate::ui::FormError::Page(
                    "That app does not exist or is not yours.".to_owned(),
                )),
            }
        },
    );
    view! {
        <Transition fallback=|| {
            view! { <Loading what="Loading the app…" /> }
        }>
            {move || {
                detail
                    .get()
                    .map(|result| match result {
                        Ok(AppPageData::Own(detail)) => view! { <AppView detail /> }.into_any(),
                        Ok(AppPageData::Shared(detail)) => {
                            view! { <SharedAppView detail /> }.into_any()
                        }
                        Err(error) => {
                            crate::ui::answer_not_found();
                            view! {
                                <PageHeader title="App" />
                                <LoadError error />
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn AppView(detail: AppDetail) -> impl IntoView {
    let id = detail.summary.id;
    let trashed = detail.summary.purge_on.clone();
    view! {
        <PageHeader title=detail.summary.name.clone() />
        <p class="mt-2 max-w-prose">{detail.summary.description.clone()}</p>
        {detail
            .publication
            .remixed_from
            .clone()
            .map(|from| view! { <p class=QUIET_TEXT>{format!("A remix of {from}.")}</p> })}
        <p class=QUIET_TEXT>
            {format!(
                "{} file(s), {} · changed {} · served only from its own origin, {}",
                detail.summary.files,
                detail.summary.size,
                detail.summary.updated,
                detail.origin,
            )}
        </p>
        <div class="mt-4 max-w-2xl">
            <Notice message=query_notice() />
        </div>
        {match trashed {
            Some(day) => view! { <Trashed id day /> }.into_any(),
            None => {
                view! {
                    <Preview id hosts=detail.connect_hosts.clone() />
                    <Details detail=detail.clone() />
                    <Files id files=detail.files.clone() editable=true />
                    <Secrets id secrets=detail.secrets.clone() />
                    <WhoHasAccess id members=detail.members.clone() links=detail.links.clone() />
                    <Publishing
                        id
                        name=detail.summary.name.clone()
                        files=usize::try_from(detail.summary.files).unwrap_or_default()
                        publication=(*detail.publication).clone()
                    />
                    <Trash id />
                }
                    .into_any()
            }
        }}
    }
}

#[component]
fn Details(detail: AppDetail) -> impl IntoView {
    let save = ServerAction::<SaveApp>::new();
    let error = action_error(save);
    let hosts_error = Signal::derive(move || error.get().and_then(|e| e.for_field("connect_hosts")));
    view! {
        <Section id="details" heading="Details">
            <ActionForm action=save attr:class="mt-4 flex max-w-md flex-col gap-5">
                <input type="hidden" name="id" value=detail.summary.id.to_string() />
                <Field
                    label="Name"
                    name="name"
                    autocomplete="off"
                    value=detail.summary.name.clone()
                    error
                />
                <Field
                    label="Description"
                    name="description"
                    autocomplete="off"
                    required=false
                    value=detail.summary.description.clone()
                    error
                />
                <div class="flex flex-col gap-1">
                    <label for="field-connect-hosts" class="font-medium">
                        "Hosts the app may connect to"
                    </label>
                    <textarea
                        id="field-connect-hosts"
                        name="connect_hosts"
                        rows="3"
                        aria-describedby="field-connect-hosts-hint field-connect-hosts-error"
                        class=INPUT
                    >
                        {detail.connect_hosts.join("\n")}
                    </textarea>
                    <p id="field-connect-hosts-hint" class=QUIET_TEXT>
                        "One per line, like https://api.example.com. Everyone who opens the app is shown this list."
                    </p>
                    <FieldError id="field-connect-hosts-error".to_owned() message=hosts_error />
                </div>
                <FormNotice error />
                <Submit label="Save" pending=save.pending() />
            </ActionForm>
        </Section>
    }
}

#[component]
fn Trash(id: AppId) -> impl IntoView {
    let trash = ServerAction::<TrashApp>::new();
    let error = action_error(trash);
    view! {
        <Section id="trash" heading="Delete the app">
            <p class=QUIET_TEXT>
                {format!(
                    "The app goes to the trash: its links stop working at once, and after {TRASH_DAYS} days it is deleted for good with its files and links. Until then you can restore it.",
                )}
            </p>
            <ActionForm action=trash attr:class="mt-3">
                <input type="hidden" name="id" value=id.to_string() />
                <FormNotice error />
                <button type="submit" class=ButtonKind::Danger.class()>
                    "Move to the trash"
                </button>
            </ActionForm>
        </Section>
    }
}

#[component]
fn Trashed(id: AppId, day: String) -> impl IntoView {
    let restore = ServerAction::<RestoreApp>::new();
    let error = action_error(restore);
    view! {
        <div class=CARD role="status">
            <h2 class="text-xl font-semibold">"In the trash"</h2>
            <p class="mt-2">
                {format!(
                    "This app and its files will be deleted for good on {day}. Its links do not work meanwhile.",
                )}
            </p>
            <ActionForm action=restore attr:class="mt-3">
                <input type="hidden" name="id" value=id.to_string() />
                <FormNotice error />
                <Submit label="Restore the app" pending=restore.pending() />
            </ActionForm>
        </div>
    }
}
