//! The share links of an app, on its page: make one (shown once), see each with its use, and
//! revoke one or all.

use leptos::{html, prelude::*};

use crate::{
    apps::{
        api::{CreateShareLink, RevokeShareLink},
        model::{LinkExpiry, LinkRow, LinkState},
    },
    platform::ids::AppId,
    ui::{
        action_error,
        kit::{CARD, CELL, INPUT, QUIET_TEXT},
        ButtonKind, DataTable, Field, FormNotice, SubSection, Submit,
    },
};

/// A new link joins the list at once (its address is shown once), without reloading the page
/// and the app's frame.
#[component]
pub fn ShareLinks(id: AppId, links: Vec<LinkRow>) -> impl IntoView {
    let create = ServerAction::<CreateShareLink>::new();
    let error = action_error(create);
    let rows = RwSignal::new(links);
    let form = NodeRef::<html::Form>::new();
    let made = Signal::derive(move || create.value().get().and_then(Result::ok));
    Effect::new(move |_| {
        if let Some(link) = made.get() {
            // The label and password typed for this link are not the next one's.
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
            rows.update(|rows| {
                if !rows.iter().any(|row| row.id == link.row.id) {
                    rows.insert(0, link.row);
                }
            });
        }
    });
    view! {
        <SubSection id="links" heading="Share links">
            <p class=QUIET_TEXT>
                "Anyone with a link can open the app (not its files list, details or your account) until the link expires or you revoke it. Pages opened by a link are not indexed by search engines."
            </p>
            <ActionForm action=create node_ref=form attr:class="mt-4 flex max-w-md flex-col gap-5">
                <input type="hidden" name="id" value=id.to_string() />
                <Field label="Label" name="label" autocomplete="off" error />
                <div class="flex flex-col gap-1">
                    <label for="field-expiry" class="font-medium">
                        "Expires after"
                    </label>
                    <select id="field-expiry" name="expiry" class=INPUT>
                        {LinkExpiry::ALL
                            .into_iter()
                            .map(|expiry| {
                                view! {
                                    <option
                                        value=expiry.code()
                                        selected=expiry == LinkExpiry::default()
                                    >
                                        {expiry.label()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <Field
                    label="Password (optional)"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    required=false
                    hint="At least 8 characters. Three wrong tries lock the link for 30 minutes."
                    error
                />
                <FormNotice error />
                <Submit label="Make a link" pending=create.pending() />
            </ActionForm>
            {move || {
                made.get()
                    .map(|link| {
                        view! {
                            <div class=CARD role="status">
                                <p class="font-semibold">
                                    {format!("Your new link \u{201c}{}\u{201d}", link.row.label)}
                                </p>
                                <label for="new-link" class=QUIET_TEXT>
                                    "Copy it now: it is shown only once."
                                </label>
                                <input
                                    id="new-link"
                                    readonly
                                    value=link.url
                                    class=format!("mt-1 w-full {INPUT}")
                                />
                            </div>
                        }
                    })
            }}
            <LinkTable id rows />
        </SubSection>
    }
}

#[component]
fn LinkTable(id: AppId, rows: RwSignal<Vec<LinkRow>>) -> impl IntoView {
    let revoke = ServerAction::<RevokeShareLink>::new();
    let error = action_error(revoke);
    move || {
        let links = rows.get();
        link_table(id, links, revoke, error)
    }
}

fn link_table(
    id: AppId,
    links: Vec<LinkRow>,
    revoke: ServerAction<RevokeShareLink>,
    error: Signal<Option<crate::ui::FormError>>,
) -> AnyView {
    if links.is_empty() {
        return view! { <p class=format!("mt-4 {QUIET_TEXT}")>"No link yet: only you can open the app."</p> }
            .into_any();
    }
    let any_working = links.iter().any(|link| link.state == LinkState::Active);
    view! {
        <FormNotice error />
        <DataTable
            caption="Who has access through links"
            headers=&["Label", "Status", "Expires", "Password", "Uses", "Last used", ""]
        >
            {links
                .into_iter()
                .map(|link| {
                    let label = format!("Revoke the link {}", link.label);
                    let last = match (&link.last_used, &link.last_network) {
                        (Some(at), Some(network)) => format!("{at} from {network}"),
                        (Some(at), None) => at.clone(),
                        _ => "Never".to_owned(),
                    };
                    let revocable = link.state != LinkState::Revoked;
                    view! {
                        <tr class="border-b border-slate-200 dark:border-slate-800">
                            <td class=CELL>{link.label.clone()}</td>
                            <td class=CELL>{link.state.label()}</td>
                            <td class=CELL>
                                {link.expires.clone().unwrap_or_else(|| "Never".to_owned())}
                            </td>
                            <td class=CELL>{if link.password { "Yes" } else { "No" }}</td>
                            <td class=CELL>{link.uses}</td>
                            <td class=CELL>{last}</td>
                            <td class=CELL>
                                {revocable
                                    .then(|| {
                                        view! {
                                            <ActionForm action=revoke>
                                                <input type="hidden" name="id" value=id.to_string() />
                                                <input
                                                    type="hidden"
                                                    name="link"
                                                    value=link.id.to_string()
                                                />
                                                <button
                                                    type="submit"
                                                    aria-label=label
                                                    class=ButtonKind::Danger.class()
                                                >
                                                    "Revoke"
                                                </button>
                                            </ActionForm>
                                        }
                                    })}
                            </td>
                        </tr>
                    }
                })
                .collect_view()}
        </DataTable>
        {any_working
            .then(|| {
                view! {
                    <ActionForm action=revoke attr:class="mt-3">
                        <input type="hidden" name="id" value=id.to_string() />
                        <button type="submit" class=ButtonKind::Danger.class()>
                            "Revoke every link"
                        </button>
                    </ActionForm>
                }
            })}
    }
        .into_any()
}
