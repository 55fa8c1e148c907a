//! `/account`: the address, the name, the password and invites.

use leptos::{html, prelude::*};
use leptos_router::{components::A, hooks::use_query_map};

use crate::{
    account::{
        api::{
            account_overview, ChangeDisplayName, ChangeEmail, ChangePassword, CreateInvite,
            ResendVerification,
        },
        model::AccountSummary,
    },
    auth::{model::INVITE_DAYS, pages::NewPasswordField},
    ui::{
        action_error, besides_sudo,
        kit::{CELL, FORM, QUIET_TEXT},
        query_notice, resubmit, DataTable, Field, FormNotice, LoadError, Loading, Notice,
        PageHeader, Section, Submit, SudoPrompt, LINK,
    },
};

#[component]
pub fn AccountPage() -> impl IntoView {
    let query = use_query_map();
    let overview = Resource::new(move || query.read().get("notice"), |_| account_overview());
    view! {
        <PageHeader title="Account" />
        <div class="mt-4 max-w-md">
            <Notice message=query_notice() />
        </div>
        <Suspense fallback=|| {
            view! { <Loading what="Loading your account…" /> }
        }>
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
        {account
            .restriction
            .clone()
            .map(|line| {
                view! {
                    <div
                        role="status"
                        class="mt-6 max-w-xl rounded border border-amber-700 bg-amber-50 p-4 text-amber-900 dark:bg-amber-950 dark:text-amber-100"
                    >
                        <p class="font-medium">{line}</p>
                        <p class="mt-1 text-sm">
                            "Your data is kept but used only for storage, legal claims and security. "
                            <a href="/data#rights" class="underline">
                                "See your requests"
                            </a>
                        </p>
                    </div>
                }
            })}
        <dl class="mt-6 grid max-w-xl grid-cols-[max-content_1fr] gap-x-6 gap-y-2">
            <dt class="font-medium">"Email address"</dt>
            <dd>
                {account.email.clone()} {if verified { " (verified)" } else { " (not verified)" }}
            </dd>
            <dt class="font-medium">"Member since"</dt>
            <dd>{account.created_on.clone()}</dd>
        </dl>
        <DisplayNameSection current=account.display_name.clone() />
        <EmailSection />
        <PasswordSection email=account.email.clone() name=account.display_name.clone() />
        <super::region::RegionSection account=account.clone() />
        <InvitesSection account />
    }
}

#[component]
fn UnverifiedBanner(email: String) -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    view! {
        <div
            role="status"
            class="mt-6 max-w-xl rounded border border-amber-700 bg-amber-50 p-4 dark:bg-amber-950"
        >
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
        <Section id="name" heading="Display name">
            <ActionForm action=action attr:class=FORM attr:novalidate="true">
                <FormNotice error=error />
                <Field
                    label="Display name"
                    name="display_name"
                    autocomplete="name"
                    value=current
                    error=error
                />
                <Submit label="Save name" pending=action.pending() />
            </ActionForm>
        </Section>
    }
}

#[component]
fn EmailSection() -> impl IntoView {
    let action = ServerAction::<ChangeEmail>::new();
    let error = action_error(action);
    let form = NodeRef::<html::Form>::new();
    view! {
        <Section id="email" heading="Change email address">
            <p class=format!(
                "mt-1 {QUIET_TEXT}",
            )>
                "We send a link to the new address; it changes when you open it. The old address is told."
            </p>
            <ActionForm action=action node_ref=form attr:class=FORM attr:novalidate="true">
                <Field
                    label="New email address"
                    name="email"
                    kind="email"
                    autocomplete="email"
                    error=error
                />
                <Submit label="Send confirmation link" pending=action.pending() />
            </ActionForm>
            <SudoPrompt error then=resubmit(form) />
            <div class="mt-3 max-w-md">
                <FormNotice error=besides_sudo(error) />
            </div>
        </Section>
    }
}

#[component]
fn PasswordSection(email: String, name: String) -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let error = action_error(action);
    let form = NodeRef::<html::Form>::new();
    view! {
        <Section id="password" heading="Change password">
            <p class=format!(
                "mt-1 {QUIET_TEXT}",
            )>"Your other sessions are signed out when the password changes."</p>
            <ActionForm action=action node_ref=form attr:class=FORM attr:novalidate="true">
                <Field
                    label="Current password"
                    name="current_password"
                    kind="password"
                    autocomplete="current-password"
                    error=error
                />
                <NewPasswordField
                    error=error
                    context=Signal::derive(move || (email.clone(), name.clone()))
                />
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
        </Section>
    }
}

#[component]
fn InvitesSection(account: AccountSummary) -> impl IntoView {
    let action = ServerAction::<CreateInvite>::new();
    let error = action_error(action);
    let created = move || action.value().get().and_then(Result::ok);
    view! {
        <Section id="invites" heading="Invites">
            <p class=format!(
                "mt-1 {QUIET_TEXT}",
            )>
                {format!(
                    "You can invite {} more people. Each invite works once, for {INVITE_DAYS} days.",
                    account.invites_left,
                )}
            </p>
            <ActionForm action=action attr:class=FORM>
                <FormNotice error=error />
                <Submit label="Create an invite" pending=action.pending() />
            </ActionForm>
            {move || {
                created()
                    .map(|invite| {
                        view! {
                            <div
                                role="status"
                                class="mt-4 max-w-xl rounded border border-emerald-700 p-4"
                            >
                                <p>
                                    "Send this link to the person you invite (it is shown only once):"
                                </p>
                                <p class="mt-2 break-all font-mono">{invite.link}</p>
                                <p class="mt-2 text-sm">{format!("Expires {}.", invite.expires)}</p>
                            </div>
                        }
                    })
            }}
            {(!account.invites.is_empty())
                .then(|| {
                    view! {
                        <DataTable
                            caption="Invites you created"
                            caption_hidden=true
                            headers=&["Created", "Status"]
                        >
                            {account
                                .invites
                                .iter()
                                .map(|invite| {
                                    view! {
                                        <tr>
                                            <td class=CELL>{invite.created.clone()}</td>
                                            <td class=CELL>{invite.status.clone()}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </DataTable>
                    }
                })}
        </Section>
        <p class="mt-10">
            <A href="/security/sessions" attr:class=LINK>
                "See where you are signed in"
            </A>
        </p>
    }
}
