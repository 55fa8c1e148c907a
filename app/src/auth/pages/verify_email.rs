//! `/verify-email`: the page a verification link opens.

use leptos::prelude::*;

use crate::{
    auth::api::VerifyEmail,
    ui::{action_error, kit::FORM, query_value, FormNotice, PageHeader, Submit},
};

/// Opening a mailed link shows a button: the change happens on POST, never on GET.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let action = ServerAction::<VerifyEmail>::new();
    let error = action_error(action);
    let token = query_value("token");
    view! {
        <PageHeader title="Verify your email address" />
        <ActionForm action=action attr:class=FORM>
            <FormNotice error=error />
            <input type="hidden" name="token" value=move || token.get().unwrap_or_default() />
            <Submit label="Verify my address" pending=action.pending() />
        </ActionForm>
    }
}
