//! `/security/encryption`: the account's own data key (promise P9), and rotating it.

use leptos::{html, prelude::*};
use leptos_router::hooks::use_query_map;

use crate::{
    security::{
        api::{my_data_key, RotateDataKey},
        model::DataKeyStatus,
    },
    ui::{
        action_error, besides_sudo, kit::QUIET_TEXT, query_notice, resubmit, ButtonKind,
        FormNotice, LoadError, Loading, Notice, PageHeader, SudoPrompt,
    },
};

#[component]
pub fn EncryptionPage() -> impl IntoView {
    let query = use_query_map();
    let status = Resource::new(move || query.read().get("notice"), |_| my_data_key());
    view! {
        <PageHeader title="Encryption key" />
        <div class="mt-4 max-w-md">
            <Notice message=query_notice() />
        </div>
        <Suspense fallback=|| {
            view! { <Loading what="Loading your key…" /> }
        }>
            {move || {
                status
                    .get()
                    .map(|result| match result {
                        Ok(status) => view! { <KeyStatus status /> }.into_any(),
                        Err(error) => view! { <LoadError error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn KeyStatus(status: DataKeyStatus) -> impl IntoView {
    let rotate = ServerAction::<RotateDataKey>::new();
    let error = action_error(rotate);
    let form = NodeRef::<html::Form>::new();
    view! {
        <p class="mt-2 max-w-prose">
            "Your authenticator secret and your apps' secrets are sealed with a key of your own account's, which the server keeps encrypted under its key for your region. Nobody reads them without both."
        </p>
        <p class="mt-4" role="status">
            {format!("Your key is version {}, made {}.", status.version, status.created)}
        </p>
        <ActionForm action=rotate node_ref=form attr:class="mt-4 max-w-md">
            <p class=QUIET_TEXT>
                "Rotating makes a new key and seals everything again with it, at once; nothing changes for you or your apps. It protects what is sealed from now on if your key itself could have leaked. If a secret could have leaked, replace the secret too."
            </p>
            <FormNotice error=besides_sudo(error) />
            <button
                type="submit"
                aria-busy=move || rotate.pending().get().then_some("true")
                class=format!("mt-3 {}", ButtonKind::Quiet.class())
            >
                "Rotate my key"
            </button>
        </ActionForm>
        <SudoPrompt error then=resubmit(form) />
    }
}
