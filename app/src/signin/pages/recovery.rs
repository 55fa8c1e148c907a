//! Getting back in: asking for a reset link, choosing a new password, and the "this wasn't me"
//! page.

use leptos::prelude::*;

use crate::{
    auth::pages::NewPasswordField,
    signin::api::{NotMe, RequestPasswordReset, ResetPassword},
    ui::{
        action_error, kit::FORM, query_notice, query_value, Field, FormNotice, Notice, PageHeader,
        Submit,
    },
};

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = action_error(action);
    view! {
        <PageHeader title="Reset your password" />
        <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
            "Enter the address of your account. We will mail you a link to choose a new password."
        </p>
        <div class="mt-4 max-w-md">
            <Notice message=query_notice() />
        </div>
        <ActionForm action=action attr:class=FORM attr:novalidate="true">
            <FormNotice error=error />
            <Field
                label="Email address"
                name="email"
                kind="email"
                autocomplete="email"
                error=error
            />
            <Submit label="Send the link" pending=action.pending() />
        </ActionForm>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let error = action_error(action);
    let token = query_value("token");
    let after_not_me = query_value("after").get_untracked().as_deref() == Some("not-me");
    view! {
        <PageHeader title="Choose a new password" />
        {after_not_me
            .then(|| {
                view! {
                    <p
                        role="status"
                        class="mt-4 max-w-prose rounded border border-emerald-700 bg-emerald-50 px-4 py-3 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100"
                    >
                        "Every session of your account was signed out. Choose a new password now, and remove the sign-in methods you did not add."
                    </p>
                }
            })}
        <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
            "Every session of your account will be signed out."
        </p>
        <ActionForm action=action attr:class=FORM attr:novalidate="true">
            <FormNotice error=error />
            <input type="hidden" name="token" value=move || token.get().unwrap_or_default() />
            <NewPasswordField
                error=error
                context=Signal::derive(|| (String::new(), String::new()))
            />
            <Field
                label="New password again"
                name="confirm"
                kind="password"
                autocomplete="new-password"
                error=error
            />
            <div class="flex items-start gap-2">
                <input
                    type="checkbox"
                    id="remove-factors"
                    name="remove_factors"
                    value="on"
                    checked=after_not_me
                    class="mt-1"
                />
                <label for="remove-factors">
                    "Also remove all passkeys and authenticator apps"
                    <span class="block text-sm text-slate-700 dark:text-slate-300">
                        "If someone else got into your account, they may have added their own. You can add yours again afterwards."
                    </span>
                </label>
            </div>
            <Submit label="Set the new password" pending=action.pending() />
        </ActionForm>
    }
}

/// The page a mailed "this wasn't me" link opens: a button that signs out every session (on POST,
/// never on GET) and goes on to choose a new password.
#[component]
pub fn NotMePage() -> impl IntoView {
    let action = ServerAction::<NotMe>::new();
    let error = action_error(action);
    let token = query_value("token");
    view! {
        <PageHeader title="This wasn't me" />
        <p class="mt-2 max-w-prose text-slate-700 dark:text-slate-300">
            "If you did not make the change we mailed you about, someone else may be signed in to your account. This signs out every session of your account at once; then you choose a new password and can remove the sign-in methods you did not add."
        </p>
        <ActionForm action=action attr:class=FORM>
            <FormNotice error=error />
            <input type="hidden" name="token" value=move || token.get().unwrap_or_default() />
            <Submit label="Sign out everywhere and secure my account" pending=action.pending() />
        </ActionForm>
    }
}
