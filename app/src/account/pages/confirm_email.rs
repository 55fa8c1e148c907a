//! `/confirm-email`: the page the link mailed to a new address opens.

use leptos::prelude::*;

use crate::{
    account::api::ConfirmEmailChange,
    ui::{action_error, kit::FORM, query_value, FormNotice, PageHeader, Submit},
};

/// The link mailed to a new address leads here; the change happens on POST.
#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let action = ServerAction::<ConfirmEmailChange>::new();
    let error = action_error(action);
    let token = query_value("token");
    view! {
        <PageHeader title="Confirm your new email address" />
        <ActionForm action=action attr:class=FORM>
            <FormNotice error=error />
            <input type="hidden" name="token" value=move || token.get().unwrap_or_default() />
            <Submit label="Use this address" pending=action.pending() />
        </ActionForm>
    }
}
