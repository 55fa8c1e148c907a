//! The Account page: display name, email address, password, data region, invites.

pub mod api;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    auth::{besides_sudo, query_value, resubmit, NewPasswordField, SignOutButton, SudoPrompt},
    ui::{
        form::{action_error, query_notice, Field, FormError, FormNotice, Notice, Submit},
        LINK,
    },
};
use api::{
    account_overview, AccountSummary, ChangeDisplayName, ChangeEmail, ChangePassword,
    ConfirmEmailChange, CreateInvite, ResendVerification,
};

const SECTION: &str = "mt-10 border-t border-slate-200 pt-6 dark:border-slate-800";
const FORM: &str = "mt-4 flex max-w-md flex-col gap-5";

/// What the page shows when the session has ended or the data could not be read.
#[component]
pub fn LoadError(error: FormError) -> impl IntoView {
    match error {
        FormError::SignedOut => view! {
            <p role="alert" class="mt-6">
                "You are signed out. "
                <a href="/signin" class=LINK>"Sign in"</a>
                " to continue."
            </p>
        }
        .into_any(),
        other => view! { <p role="alert" class="mt-6 text-red-700 dark:text-red-300">{other.to_string()}</p> }.into_any(),
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let query = use_query_map();
    let overview = Resource::new(move || query.read().get("notice"), |_| account_overview());
    view! {
        <Title text="Account" />
        <div class="flex flex-wrap items-center justify-between gap-4">
            <h1 class="text-3xl font-bold">"Account"</h1>
            <SignOutButton />
        </div>
        <div class="mt-4 max-w-md">
            <Notice message=query_notice() />
        </div>
        <Suspense fallback=|| view! { <p role="status" class="mt-6">"Loading your account…"</p> }>
            {move || {
                overview
                    .get()
                    .map(|result| match result {
                        Ok(account) => view! { <AccountSections account /> }.into_any(),
                        Err(error) => view! { <LoadError error /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn AccountSections(account: AccountSummary) -> impl IntoView {
    let verified = account.email_verified;
    view! {
        {(!verified).then(|| view! { <UnverifiedBanner email=account.email.clone() /> })}
        <dl class="mt-6 grid max-w-xl grid-cols-[max-content_1fr] gap-x-6 gap-y-2">
            <dt class="font-medium">"Email address"</dt>
            <dd>{account.email.clone()} {if verified { " (verified)" } else { " (not verified)" }}</dd>
            <dt class="font-medium">"Data region"</dt>
            <dd>{account.region.clone()}</dd>
            <dt class="font-medium">"Member since"</dt>
            <dd>{account.created_on.clone()}</dd>
        </dl>
        <DisplayNameSection current=account.display_name.clone() />
        <EmailSection />
        <PasswordSection email=account.email.clone() name=account.display_name.clone() />
        <InvitesSection account />
    }
}

#[component]
fn UnverifiedBanner(email: String) -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    view! {
        <div role="status" class="mt-6 max-w-xl rounded border border-amber-700 bg-amber-50 p-4 dark:bg-amber-950">
            <p>
                "Please verify your email address: we sent a link to " <strong>{email}</strong>
                ". Until then you cannot invite anyone."
            </p>
            <ActionForm action=resend attr:class="mt-2">
                <button type="submit" class=LINK>
                    "Send the link again"
                </button>
            </ActionForm>
        </div>
    }
}

#[component]
fn DisplayNameSection(current: String) -> impl IntoView {
    let action = ServerAction::<ChangeDisplayName>::new();
    let error = action_error(action);
    view! {
        <section class=SECTION aria-labelledby="name-heading">
            <h2 id="name-heading" class="text-xl font-semibold">"Display name"</h2>
            <ActionForm action=action attr:class=FORM attr:novalidate="true">
                <FormNotice error=error />
                <Field label="Display name" name="display_name" autocomplete="name" value=current error=error />
                <Submit label="Save name" pending=action.pending() />
            </ActionForm>
        </section>
    }
}

#[component]
fn EmailSection() -> impl IntoView {
    let action = ServerAction::<ChangeEmail>::new();
    let error = action_error(action);
    let form = NodeRef::<html::Form>::new();
    view! {
        <section class=SECTION aria-labelledby="email-heading">
            <h2 id="email-heading" class="text-xl font-semibold">"Change email address"</h2>
            <p class="mt-1 text-sm text-slate-700 dark:text-slate-300">
                "We send a link to the new address; it changes when you open it. The old address is told."
            </p>
            <ActionForm action=action node_ref=form attr:class=FORM attr:novalidate="true">
                <Field label="New email address" name="email" kind="email" autocomplete="email" error=error />
                <Submit label="Send confirmation link" pending=action.pending() />
            </ActionForm>
            <SudoPrompt error then=resubmit(form) />
            <div class="mt-3 max-w-md">
                <FormNotice error=besides_sudo(error) />
            </div>
        </section>
    }
}

#[component]
fn PasswordSection(email: String, name: String) -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let error = action_error(action);
    let form = NodeRef::<html::Form>::new();
    view! {
        <section class=SECTION aria-labelledby="password-heading">
            <h2 id="password-heading" class="text-xl font-semibold">"Change password"</h2>
            <p class="mt-1 text-sm text-slate-700 dark:text-slate-300">
                "Your other sessions are signed out when the password changes."
            </p>
            <ActionForm action=action node_ref=form attr:class=FORM attr:novalidate="true">
                <Field
                    label="Current password"
                    name="current_password"
                    kind="password"
                    autocomplete="current-password"
                    error=error
                />
                <NewPasswordField error=error context=Signal::derive(move || (email.clone(), name.clone())) />
                <Field
                    label="New password again"
                    name="confirm"
                    kind="password"
                    autocomplete="new-password"
                    error=error
                />
                <Submit label="Change password" pending=action.pending() />
            </ActionForm>
            <SudoPrompt error then=resubmit(form) />
            <div class="mt-3 max-w-md">
                <FormNotice error=besides_sudo(error) />
            </div>
        </section>
    }
}

#[component]
fn InvitesSection(account: AccountSummary) -> impl IntoView {
    let action = ServerAction::<CreateInvite>::new();
    let error = action_error(action);
    let created = move || action.value().get().and_then(Result::ok);
    view! {
        <section class=SECTION aria-labelledby="invites-heading">
            <h2 id="invites-heading" class="text-xl font-semibold">"Invites"</h2>
            <p class="mt-1 text-sm text-slate-700 dark:text-slate-300">
                {format!("You can invite {} more people. Each invite works once, for 7 days.", account.invites_left)}
            </p>
            <ActionForm action=action attr:class=FORM>
                <FormNotice error=error />
                <Submit label="Create an invite" pending=action.pending() />
            </ActionForm>
            {move || {
                created()
                    .map(|invite| {
                        view! {
                            <div role="status" class="mt-4 max-w-xl rounded border border-emerald-700 p-4">
                                <p>"Send this link to the person you invite (it is shown only once):"</p>
                                <p class="mt-2 break-all font-mono">{invite.link}</p>
                                <p class="mt-2 text-sm">{format!("Expires {}.", invite.expires)}</p>
                            </div>
                        }
                    })
            }}
            {(!account.invites.is_empty())
                .then(|| {
                    view! {
                        <table class="mt-4 w-full max-w-xl text-left text-sm">
                            <caption class="sr-only">"Invites you created"</caption>
                            <thead>
                                <tr>
                                    <th scope="col" class="py-1 pr-4">"Created"</th>
                                    <th scope="col" class="py-1">"Status"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {account
                                    .invites
                                    .iter()
                                    .map(|invite| {
                                        view! {
                                            <tr>
                                                <td class="py-1 pr-4">{invite.created.clone()}</td>
                                                <td class="py-1">{invite.status.clone()}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                })}
        </section>
        <p class="mt-10">
            <A href="/security/sessions" attr:class=LINK>
                "See where you are signed in"
            </A>
        </p>
    }
}

/// The link mailed to a new address leads here; the change happens on POST.
#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let action = ServerAction::<ConfirmEmailChange>::new();
    let error = action_error(action);
    let token = query_value("token");
    view! {
        <Title text="Confirm your new email address" />
        <h1 class="text-3xl font-bold">"Confirm your new email address"</h1>
        <ActionForm action=action attr:class=FORM>
            <FormNotice error=error />
            <input type="hidden" name="token" value=move || token.get().unwrap_or_default() />
            <Submit label="Use this address" pending=action.pending() />
        </ActionForm>
    }
}
