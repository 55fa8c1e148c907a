//! Who has access to an app, in one place on its owner's page: the people it is shared with
//! (invite by address with a role, send again, remove) and its share links.

use leptos::prelude::*;

use super::links::ShareLinks;
use crate::{
    apps::{
        api::{InviteMember, RemoveMember},
        model::{LinkRow, MemberRole, MemberRow, INVITE_DAYS},
    },
    platform::ids::AppId,
    ui::{
        action_error,
        kit::{CELL, INPUT, QUIET_TEXT},
        ButtonKind, DataTable, Field, FormNotice, Section, SubSection, Submit,
    },
};

#[component]
pub fn WhoHasAccess(id: AppId, members: Vec<MemberRow>, links: Vec<LinkRow>) -> impl IntoView {
    view! {
        <Section id="access" heading="Who has access">
            <p class=QUIET_TEXT>
                "You, and only the people and links below. Only you change who has access or delete the app."
            </p>
            <People id members />
            <ShareLinks id links />
        </Section>
    }
}

#[component]
fn People(id: AppId, members: Vec<MemberRow>) -> impl IntoView {
    let invite = ServerAction::<InviteMember>::new();
    let error = action_error(invite);
    view! {
        <SubSection id="people" heading="People">
            <ActionForm action=invite attr:class="mt-4 flex max-w-md flex-col gap-5">
                <input type="hidden" name="id" value=id.to_string() />
                <Field
                    label="Invite by email address"
                    name="email"
                    kind="email"
                    autocomplete="off"
                    hint=format!(
                        "We mail them a link that works for {INVITE_DAYS} days, and only for an account whose verified address is this one.",
                    )
                    error
                />
                <RoleChoice />
                <FormNotice error />
                <Submit label="Send the invitation" pending=invite.pending() />
            </ActionForm>
            <MemberTable id members />
        </SubSection>
    }
}

#[component]
fn RoleChoice() -> impl IntoView {
    view! {
        <div class="flex flex-col gap-1">
            <label for="field-role" class="font-medium">
                "Role"
            </label>
            <select id="field-role" name="role" class=INPUT>
                {MemberRole::ALL
                    .into_iter()
                    .map(|role| {
                        view! {
                            <option value=role.code() selected=role == MemberRole::default()>
                                {role.means()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </div>
    }
}

#[component]
fn MemberTable(id: AppId, members: Vec<MemberRow>) -> impl IntoView {
    let remove = ServerAction::<RemoveMember>::new();
    let again = ServerAction::<InviteMember>::new();
    let error = Signal::derive(move || action_error(remove).get().or(action_error(again).get()));
    if members.is_empty() {
        return view! { <p class=format!("mt-4 {QUIET_TEXT}")>"Not shared with anyone."</p> }
            .into_any();
    }
    view! {
        <FormNotice error />
        <DataTable caption="People with access" headers=&["Address", "Role", "Status", "", ""]>
            {members
                .into_iter()
                .map(|member| {
                    let status = match (&member.joined, member.invitation_expired) {
                        (Some(since), _) => format!("Joined {since}"),
                        (None, true) => "Invitation expired".to_owned(),
                        (None, false) => format!("Invited, until {}", member.invitation_expires),
                    };
                    let remove_label = format!("Remove {}", member.email);
                    let again_label = format!("Send the invitation to {} again", member.email);
                    view! {
                        <tr class="border-b border-slate-200 dark:border-slate-800">
                            <td class=CELL>{member.email.clone()}</td>
                            <td class=CELL>{member.role.label()}</td>
                            <td class=CELL>{status}</td>
                            <td class=CELL>
                                {member
                                    .joined
                                    .is_none()
                                    .then(|| {
                                        view! {
                                            <ActionForm action=again>
                                                <input type="hidden" name="id" value=id.to_string() />
                                                <input
                                                    type="hidden"
                                                    name="email"
                                                    value=member.email.clone()
                                                />
                                                <input type="hidden" name="role" value=member.role.code() />
                                                <button
                                                    type="submit"
                                                    aria-label=again_label
                                                    class=ButtonKind::Quiet.class()
                                                >
                                                    "Send again"
                                                </button>
                                            </ActionForm>
                                        }
                                    })}
                            </td>
                            <td class=CELL>
                                <ActionForm action=remove>
                                    <input type="hidden" name="id" value=id.to_string() />
                                    <input
                                        type="hidden"
                                        name="member"
                                        value=member.id.to_string()
                                    />
                                    <button
                                        type="submit"
                                        aria-label=remove_label
                                        class=ButtonKind::Danger.class()
                                    >
                                        "Remove"
                                    </button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                })
                .collect_view()}
        </DataTable>
    }
        .into_any()
}
