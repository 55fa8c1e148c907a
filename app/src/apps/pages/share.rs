//! `/s/<app>/<token>`: what a share link opens, signed in or not: the app in its sandboxed
//! frame on its own origin, after the link's password if it has one. A link that does not work
//! answers 404 with a plain message. The server sends these pages with `noindex` and no
//! referrer.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::{
    apps::{
        api::{open_shared_link, OpenSharedLink},
        model::{SharedView, FRAME_SANDBOX},
    },
    platform::ids::AppId,
    ui::{action_error, kit::{CAUTION, QUIET_TEXT}, Field, FormError, FormNotice, LoadError, Loading, PageHeader, Submit},
};

#[component]
pub fn SharedAppPage() -> impl IntoView {
    let params = use_params_map();
    let link = move || {
        let params = params.read();
        let app = params.get("app").and_then(|app| app.parse::<AppId>().ok());
        (app, params.get("token").unwrap_or_default())
    };
    let opened = Resource::new(link, |(app, token)| async move {
        match app {
            Some(app) => open_shared_link(app, token, None).await,
            None => {
                crate::ui::answer_not_found();
                Err(FormError::Page(
                    "This link does not work: it was revoked, it expired, or it never existed."
                        .to_owned(),
                ))
            }
        }
    });
    view! {
        <Transition fallback=|| {
            view! { <Loading what="Opening the shared app…" /> }
        }>
            {move || {
                opened
                    .get()
                    .map(|result| match result {
                        Ok(SharedView::Password) => {
                            let (app, token) = link();
                            view! { <PasswordAsked app token /> }.into_any()
                        }
                        Ok(view) => view! { <SharedFrame view /> }.into_any(),
                        Err(error) => {
                            view! {
                                <PageHeader title="Shared app" />
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
fn PasswordAsked(app: Option<AppId>, token: String) -> impl IntoView {
    let open = ServerAction::<OpenSharedLink>::new();
    let error = action_error(open);
    let opened = Signal::derive(move || open.value().get().and_then(Result::ok));
    let token = StoredValue::new(token);
    view! {
        {move || match opened.get() {
            Some(view) => view! { <SharedFrame view /> }.into_any(),
            None => {
                view! {
                    <PageHeader
                        title="Shared app"
                        lead="This link asks for a password. Its owner can tell it to you."
                    />
                    <ActionForm action=open attr:class="mt-6 flex max-w-md flex-col gap-5">
                        <input
                            type="hidden"
                            name="app"
                            value=app.map(|app| app.to_string()).unwrap_or_default()
                        />
                        <input type="hidden" name="token" value=token.get_value() />
                        <Field
                            label="Password"
                            name="password"
                            kind="password"
                            autocomplete="off"
                            error
                        />
                        <FormNotice error />
                        <Submit label="Open the app" pending=open.pending() />
                    </ActionForm>
                }
                    .into_any()
            }
        }}
    }
}

#[component]
fn SharedFrame(view: SharedView) -> impl IntoView {
    let SharedView::Open {
        name,
        description,
        frame,
        connect_hosts,
    } = view
    else {
        return ().into_any();
    };
    let connects = if connect_hosts.is_empty() {
        "It connects to nothing beyond its own origin.".to_owned()
    } else {
        format!("It may connect to: {}.", connect_hosts.join(", "))
    };
    view! {
        <p class=format!("mb-4 max-w-prose {CAUTION}") role="note">
            "Shared by a Custodian user: its content is theirs, not Custodian's. Custodian never asks for your password inside an app."
        </p>
        <PageHeader title=name.clone() />
        <p class="mt-2 max-w-prose">{description}</p>
        <p class=QUIET_TEXT>
            {format!(
                "Shared with you by link. The app runs sandboxed in its own origin: it cannot see your Custodian account. {connects}",
            )}
        </p>
        <iframe
            src=frame
            sandbox=FRAME_SANDBOX
            referrerpolicy="no-referrer"
            title=format!("{name}, shared app, running sandboxed")
            class="mt-4 h-[32rem] w-full rounded border border-slate-300 bg-white dark:border-slate-700"
        ></iframe>
    }
        .into_any()
}
