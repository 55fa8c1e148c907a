//! Deleting the account (promise P8): the page that says what will happen and asks
//! (`/data/delete`), the page a person lands on once it is scheduled (`/deletion-scheduled`),
//! and the one page a scheduled account reaches when signed in (`/data/deletion`).

use leptos::{html, prelude::*};
use leptos_router::hooks::use_query_map;

use crate::{
    data::{
        api::{
            scheduled_deletion, sealed_deletion_day, what_deletion_does, CancelDeletion,
            RequestDeletion,
        },
        model::{DeletionPlan, DELETE_PAGE},
    },
    signin::pages::SignOutButton,
    ui::{
        action_error, besides_sudo,
        kit::{CARD, QUIET_TEXT},
        resubmit, ButtonKind, Field, FormNotice, LoadError, Loading, PageHeader, Section,
        SudoPrompt,
    },
};

#[component]
pub fn DeleteAccountPage() -> impl IntoView {
    let plan = Resource::new(|| (), |()| what_deletion_does());
    view! {
        <PageHeader
            title="Delete my account"
            lead="Read what happens before you decide: after the grace period nothing can bring your account back."
        />
        <Transition fallback=|| {
            view! { <Loading what="Loading what deletion would do…" /> }
        }>
            {move || {
                plan.get()
                    .map(|result| match result {
                        Ok(plan) => view! { <DeletionRequest plan /> }.into_any(),
                        Err(error) => view! { <LoadError error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn DeletionRequest(plan: DeletionPlan) -> impl IntoView {
    let request = ServerAction::<RequestDeletion>::new();
    let error = action_error(request);
    let form = NodeRef::<html::Form>::new();
    let sessions = match plan.sessions {
        1 => "Your session ends, including this one: you are signed out everywhere.".to_owned(),
        n => format!("All {n} of your sessions end, including this one: you are signed out everywhere."),
    };
    let export = if plan.export_under_way {
        "The export being built now is cancelled and its files deleted."
    } else {
        "Any export being built would be cancelled (none is now)."
    };
    let reminders = if plan.reminders_on.is_empty() {
        String::new()
    } else {
        format!(" We mail you a reminder on {}.", plan.reminders_on.join(" and "))
    };
    view! {
        <Section id="what-happens" heading="What happens">
            <h3 class="mt-2 font-semibold">"At once"</h3>
            <ul class="mt-1 list-disc pl-6">
                <li>
                    "Your account is locked: signing in shows only the page to cancel the deletion."
                </li>
                <li>{sessions}</li>
                <li>"Sign-ins waiting for their second step end."</li>
                <li>{export}</li>
                <li>"We mail you the date of the hard delete and how to cancel."</li>
            </ul>
            <h3 class="mt-4 font-semibold">
                {format!("On {} (in {} days)", plan.hard_delete_on, plan.grace_days)}
            </h3>
            <p class="mt-1">
                {format!(
                    "Everything is deleted for good: every row of your account in every table, the encryption keys of your data (so any copy of it can never be read again), your export archives and files, and your address, which becomes free to sign up with again. You get a signed deletion receipt by mail, the last mail we send you.{reminders}",
                )}
            </p>
            <h3 class="mt-4 font-semibold">"Backups"</h3>
            <p class="mt-1">
                {format!(
                    "Backups are kept at most {} days, so no copy of your account outlives {} days after today. A backup restored later has your account removed before it is used.",
                    plan.backup_days,
                    u16::from(plan.grace_days) + u16::from(plan.backup_days),
                )}
            </p>
            <p class="mt-4">
                "Want a copy first? "
                <a
                    href="/data#export"
                    class="font-medium text-indigo-800 underline dark:text-indigo-300"
                >
                    "Export my data first"
                </a>
            </p>
        </Section>
        <Section id="confirm" heading="Confirm">
            <ActionForm action=request node_ref=form attr:class="mt-2 flex max-w-md flex-col gap-3">
                <Field
                    label="Type your email address to confirm"
                    name="email"
                    kind="email"
                    autocomplete="off"
                    hint=format!("Your address is {}.", plan.email)
                    error
                />
                <FormNotice error=besides_sudo(error) />
                <button
                    type="submit"
                    class=format!("self-start {}", ButtonKind::DangerPrimary.class())
                >
                    {move || {
                        if request.pending().get() { "Working…" } else { "Delete my account" }
                    }}
                </button>
            </ActionForm>
            <SudoPrompt error then=resubmit(form) />
        </Section>
    }
}

/// Where a person lands right after asking: signed out, told the date and how to cancel. The
/// date comes from the address only when the server sealed it there.
#[component]
pub fn DeletionScheduledPage() -> impl IntoView {
    let query = use_query_map();
    let day = Resource::new(
        move || {
            let query = query.read();
            (query.get("on").unwrap_or_default(), query.get("seal").unwrap_or_default())
        },
        |(on, seal)| sealed_deletion_day(on, seal),
    );
    let said = move || match day.get().and_then(Result::ok).flatten() {
        Some(day) => format!("Your account will be deleted for good on {day}."),
        None => "Your account will be deleted for good at the end of the grace period.".to_owned(),
    };
    view! {
        <PageHeader
            title="Your account is scheduled for deletion"
            lead="You are signed out, everywhere."
        />
        <div class=format!("mt-6 max-w-2xl {CARD}")>
            <Transition fallback=|| ()>
                <p role="status">{said}</p>
            </Transition>
            <p class="mt-2">
                "Changed your mind? Sign in before then and choose “Cancel deletion”. We also mailed you the date and how to cancel."
            </p>
            <a href="/signin" class=format!("mt-4 inline-block {}", ButtonKind::Quiet.class())>
                "Sign in to cancel"
            </a>
        </div>
    }
}

/// The one page a signed-in person whose account is scheduled for deletion reaches.
#[component]
pub fn DeletionPage() -> impl IntoView {
    let status = Resource::new(|| (), |()| scheduled_deletion());
    let cancel = ServerAction::<CancelDeletion>::new();
    let error = action_error(cancel);
    let form = NodeRef::<html::Form>::new();
    view! {
        <PageHeader title="Account deletion" />
        <Transition fallback=|| {
            view! { <Loading what="Loading your account's status…" /> }
        }>
            {move || {
                status
                    .get()
                    .map(|result| match result {
                        Ok(status) => {
                            match status.hard_delete_at {
                                Some(at) => {
                                    view! {
                                        <div class=format!("mt-6 max-w-2xl {CARD}")>
                                            <p role="status" class="font-medium">
                                                {format!("Your account is scheduled for deletion on {at}.")}
                                            </p>
                                            <p class=format!(
                                                "mt-2 {QUIET_TEXT}",
                                            )>
                                                {format!(
                                                    "Asked for on {}. Until then it is locked: nothing else of it can be reached. Cancelling restores it as it was.",
                                                    status.requested.unwrap_or_default(),
                                                )}
                                            </p>
                                            <FormNotice error=besides_sudo(error) />
                                            <div class="mt-4 flex flex-wrap items-center gap-3">
                                                <ActionForm action=cancel node_ref=form>
                                                    <button type="submit" class=ButtonKind::Primary.class()>
                                                        "Cancel deletion"
                                                    </button>
                                                </ActionForm>
                                                <SignOutButton />
                                            </div>
                                            <SudoPrompt error then=resubmit(form) />
                                        </div>
                                    }
                                        .into_any()
                                }
                                None => {
                                    view! {
                                        <p class="mt-6">
                                            "Your account is not scheduled for deletion. "
                                            <a href=DELETE_PAGE class="underline">
                                                "Delete my account"
                                            </a>
                                        </p>
                                    }
                                        .into_any()
                                }
                            }
                        }
                        Err(error) => view! { <LoadError error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}
