//! A collaborator's side: an app shared with them (its frame, its files, and for an editor the
//! forms that change them), leaving it, and the page an invitation's link opens.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::files::{Files, Preview};
use crate::{
    apps::{
        api::{AcceptInvitation, LeaveApp, SaveSharedApp},
        model::{MemberRole, SharedDetail},
        secrets::pages::SecretNames,
    },
    platform::ids::AppId,
    ui::{
        action_error, kit::QUIET_TEXT, query_notice, ButtonKind, Field, FormNotice, Notice,
        PageHeader, Section, Submit,
    },
};

#[component]
pub fn SharedAppView(detail: SharedDetail) -> impl IntoView {
    let app = detail.app;
    let editor = app.role == MemberRole::Editor;
    let can = if editor {
        "you can change its files, name and description"
    } else {
        "you can open it and see its files"
    };
    view! {
        <PageHeader title=app.name.clone() />
        <p class="mt-2 max-w-prose">{app.description.clone()}</p>
        <p class=QUIET_TEXT>
            {format!(
                "Shared with you as {}: {can}. Only its owner changes who has access. Served only from its own origin, {}",
                app.role.label(),
                detail.origin,
            )}
        </p>
        <div class="mt-4 max-w-2xl">
            <Notice message=query_notice() />
        </div>
        <Preview id=app.id hosts=detail.connect_hosts />
        {editor
            .then(|| {
                view! {
                    <SharedDetails
                        id=app.id
                        name=app.name.clone()
                        description=app.description.clone()
                    />
                }
            })}
        <Files id=app.id files=detail.files editable=editor />
        <SecretNames names=detail.secret_names />
        <Leave id=app.id />
    }
}

#[component]
fn SharedDetails(id: AppId, name: String, description: String) -> impl IntoView {
    let save = ServerAction::<SaveSharedApp>::new();
    let error = action_error(save);
    view! {
        <Section id="details" heading="Details">
            <ActionForm action=save attr:class="mt-4 flex max-w-md flex-col gap-5">
                <input type="hidden" name="id" value=id.to_string() />
                <Field label="Name" name="name" autocomplete="off" value=name error />
                <Field
                    label="Description"
                    name="description"
                    autocomplete="off"
                    required=false
                    value=description
                    error
                />
                <FormNotice error />
                <Submit label="Save" pending=save.pending() />
            </ActionForm>
        </Section>
    }
}

#[component]
fn Leave(id: AppId) -> impl IntoView {
    let leave = ServerAction::<LeaveApp>::new();
    let error = action_error(leave);
    view! {
        <Section id="leave" heading="Leave the app">
            <p class=QUIET_TEXT>
                "It will no longer be shared with you. Its owner can invite you again."
            </p>
            <ActionForm action=leave attr:class="mt-3">
                <input type="hidden" name="id" value=id.to_string() />
                <FormNotice error />
                <button type="submit" class=ButtonKind::Danger.class()>
                    "Leave this app"
                </button>
            </ActionForm>
        </Section>
    }
}

/// `/apps/join/<app>/<token>`: the invitation's link, for the signed-in person to accept.
#[component]
pub fn JoinPage() -> impl IntoView {
    let params = use_params_map();
    let app = move || params.read().get("app").unwrap_or_default();
    let token = move || params.read().get("token").unwrap_or_default();
    let accept = ServerAction::<AcceptInvitation>::new();
    let error = action_error(accept);
    view! {
        <PageHeader
            title="An app was shared with you"
            lead="Accept to open it here. The invitation works only for the account whose verified address it was sent to."
        />
        <ActionForm action=accept attr:class="mt-6 flex max-w-md flex-col gap-5">
            <input type="hidden" name="app" value=app />
            <input type="hidden" name="token" value=token />
            <FormNotice error />
            <Submit label="Accept the invitation" pending=accept.pending() />
        </ActionForm>
    }
}
