//! The "Secrets" section of an app's page. Its owner adds a secret, sees each without its value
//! (only its last 4 characters) and replaces, re-points or deletes it, each after confirming it
//! is them; a collaborator sees the names alone.

use leptos::{html, prelude::*};

use super::{
    api::{AddAppConnection, AddSecret, ChangeSecretHosts, DeleteSecret, DisconnectAppConnection, ReplaceSecret},
    model::{egress_path, Placement, SecretRow, EGRESS_HOST_HEADER, SECRETS_PER_APP},
};
use crate::{
    platform::ids::AppId,
    ui::{
        action_error, besides_sudo, clear_on_success,
        kit::{FieldError, CELL, INPUT, QUIET_TEXT},
        resubmit, ButtonKind, DataTable, Field, FormError, FormNotice, Section, SubSection,
        Submit, SudoPrompt,
    },
};

#[component]
pub fn Secrets(id: AppId, secrets: Vec<SecretRow>) -> impl IntoView {
    let example = secrets
        .first()
        .map_or_else(|| "OPENAI_API_KEY".to_owned(), |secret| secret.name.clone());
    view! {
        <Section id="secrets" heading="Secrets">
            <p class="mt-2 max-w-prose">
                "API keys the app uses without ever seeing them. A value is sealed with your account's own key the moment you save it and can never be shown again, to you, your collaborators or anyone else: only replaced. It is never exported, logged or mailed."
            </p>
            <p class=format!(
                "mt-2 max-w-prose {QUIET_TEXT}",
            )>
                {format!(
                    "The app's script calls fetch('{}v1/models'), relative to its page: the server opens the secret, sends the request to the secret's first host with the secret attached, and passes the answer back. To reach another of its hosts, the script sets the {EGRESS_HOST_HEADER} header to it. This works for everyone the app runs for: you, your collaborators, people with one of its links and, once it is published, Discover's visitors, so each of them can make the app use the secret, with the hosts you list and no others.",
                    egress_path(&example),
                )}
            </p>
            {(!secrets.is_empty()).then(|| view! { <SecretTable id secrets=secrets.clone() /> })}
            <AddSecretForm id />
            <AddConnectionForm id />
        </Section>
    }
}

#[component]
fn SecretTable(id: AppId, secrets: Vec<SecretRow>) -> impl IntoView {
    let changes = secrets.clone();
    view! {
        <DataTable
            caption="The app's secrets"
            headers=&[
                "Name",
                "Sent to",
                "How",
                "Value",
                "Added",
                "Replaced",
                "Last used",
                "Uses in 24 h",
            ]
        >
            {secrets
                .iter()
                .map(|secret| {
                    view! {
                        <tr class="border-b border-slate-200 align-top dark:border-slate-800">
                            <th scope="row" class=format!("{CELL} font-mono")>
                                {secret.name.clone()}
                            </th>
                            <td class=CELL>{secret.hosts.join(", ")}</td>
                            <td class=CELL>
                                {match &secret.connection {
                                    Some(connection) => {
                                        format!(
                                            "Connection (OAuth 2.0), bearer; token {}",
                                            connection
                                                .expires
                                                .as_ref()
                                                .map_or_else(
                                                    || "without an expiry".to_owned(),
                                                    |at| format!("expires {at}"),
                                                ),
                                        )
                                    }
                                    None => secret.placement.describe(),
                                }}
                            </td>
                            <td class=format!(
                                "{CELL} font-mono",
                            )>
                                {if secret.hint.is_empty() {
                                    "(hidden)".to_owned()
                                } else {
                                    format!("\u{2026}{}", secret.hint)
                                }}
                            </td>
                            <td class=CELL>{secret.created.clone()}</td>
                            <td class=CELL>{secret.rotated.clone()}</td>
                            <td class=CELL>
                                {secret.last_used.clone().unwrap_or_else(|| "Never".to_owned())}
                            </td>
                            <td class=CELL>{secret.uses_last_day}</td>
                        </tr>
                    }
                })
                .collect_view()}
        </DataTable>
        {changes.into_iter().map(|secret| view! { <ChangeSecret id secret /> }).collect_view()}
    }
}

#[component]
fn HostsField(
    id: String,
    #[prop(optional, into)] value: Option<String>,
    #[prop(into)] error: Signal<Option<FormError>>,
) -> impl IntoView {
    let message = Signal::derive(move || error.get().and_then(|e| e.for_field("hosts")));
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    view! {
        <div class="flex flex-col gap-1">
            <label for=id.clone() class="font-medium">
                "Hosts it may be sent to"
            </label>
            <textarea
                id=id
                name="hosts"
                rows="2"
                required
                aria-invalid=move || message.get().is_some().then_some("true")
                aria-describedby=format!("{hint_id} {error_id}")
                class=INPUT
            >
                {value}
            </textarea>
            <p id=hint_id class=QUIET_TEXT>
                "One per line, like https://api.example.com (a port is allowed, an IP address is not). The first is where the app's calls go."
            </p>
            <FieldError id=error_id message />
        </div>
    }
}

#[component]
fn AddSecretForm(id: AppId) -> impl IntoView {
    let add = ServerAction::<AddSecret>::new();
    let error = action_error(add);
    let form = NodeRef::<html::Form>::new();
    clear_on_success(add, form);
    view! {
        <SubSection id="add-secret" heading="Add a secret">
            <ActionForm action=add node_ref=form attr:class="mt-4 flex max-w-md flex-col gap-5">
                <input type="hidden" name="id" value=id.to_string() />
                <Field
                    autocomplete="off"
                    id="secret-new-name".to_owned()
                    label="Secret name"
                    name="name"
                    hint="Capitals, digits and underscores, like OPENAI_API_KEY: the app calls it by this name."
                    error
                />
                <Field
                    autocomplete="off"
                    id="secret-new-value".to_owned()
                    label="Value"
                    name="value"
                    kind="password"
                    hint="Up to 8 KB. Sealed when you save it; only its last 4 characters are ever shown."
                    error
                />
                <HostsField id="secret-new-hosts".to_owned() error />
                <div class="flex flex-col gap-1">
                    <label for="secret-new-placement" class="font-medium">
                        "How it is sent"
                    </label>
                    <select id="secret-new-placement" name="placement" class=INPUT>
                        {Placement::KINDS
                            .into_iter()
                            .map(|(code, label)| view! { <option value=code>{label}</option> })
                            .collect_view()}
                    </select>
                </div>
                <Field
                    autocomplete="off"
                    id="secret-new-placement-name".to_owned()
                    label="Header or parameter name"
                    name="placement_name"
                    required=false
                    hint="For a header of its own (like X-Api-Key) or a query parameter (like api_key); left out for Authorization: Bearer."
                    error
                />
                <FormNotice error=besides_sudo(error) />
                <Submit label="Add the secret" pending=add.pending() />
            </ActionForm>
            <SudoPrompt error then=resubmit(form) />
            <p class=QUIET_TEXT>{format!("An app holds at most {SECRETS_PER_APP} secrets.")}</p>
        </SubSection>
    }
}

/// Replacing the value, changing the hosts or deleting one secret, behind a disclosure.
#[component]
fn ChangeSecret(id: AppId, secret: SecretRow) -> impl IntoView {
    let replace = ServerAction::<ReplaceSecret>::new();
    let replace_error = action_error(replace);
    let replace_form = NodeRef::<html::Form>::new();
    clear_on_success(replace, replace_form);
    let hosts = ServerAction::<ChangeSecretHosts>::new();
    let hosts_error = action_error(hosts);
    let hosts_form = NodeRef::<html::Form>::new();
    let delete = ServerAction::<DeleteSecret>::new();
    let delete_error = action_error(delete);
    let delete_form = NodeRef::<html::Form>::new();
    let name = secret.name;
    let is_connection = secret.connection.is_some();
    let field = |what: &str| format!("secret-{}-{what}", name.to_lowercase());
    let (value_id, hosts_id) = (field("value"), field("hosts"));
    let (summary, value_label, delete_label) = (
        format!("Change {name}\u{2026}"),
        format!("New value of {name}"),
        format!("Delete {name}"),
    );
    let (replace_name, hosts_name, delete_name) = (name.clone(), name.clone(), name);
    view! {
        <details class="mt-4">
            <summary class=format!(
                "inline-block cursor-pointer {}",
                ButtonKind::Quiet.class(),
            )>{summary}</summary>
            <div class="mt-4 flex max-w-md flex-col gap-6">
                {(!is_connection)
                    .then(|| {
                        view! {
                            <ActionForm
                                action=replace
                                node_ref=replace_form
                                attr:class="flex flex-col gap-3"
                            >
                                <input type="hidden" name="id" value=id.to_string() />
                                <input type="hidden" name="name" value=replace_name />
                                <Field
                                    autocomplete="off"
                                    id=value_id
                                    label=value_label
                                    name="value"
                                    kind="password"
                                    hint="The old value is gone once you save; the app uses the new one from its next call."
                                    error=replace_error
                                />
                                <FormNotice error=besides_sudo(replace_error) />
                                <Submit label="Replace the value" pending=replace.pending() />
                            </ActionForm>
                            <SudoPrompt error=replace_error then=resubmit(replace_form) />
                        }
                    })}
                <ActionForm action=hosts node_ref=hosts_form attr:class="flex flex-col gap-3">
                    <input type="hidden" name="id" value=id.to_string() />
                    <input type="hidden" name="name" value=hosts_name />
                    <HostsField id=hosts_id value=secret.hosts.join("\n") error=hosts_error />
                    <FormNotice error=besides_sudo(hosts_error) />
                    <Submit label="Save the hosts" pending=hosts.pending() />
                </ActionForm> <SudoPrompt error=hosts_error then=resubmit(hosts_form) />
                {match secret.connection {
                    Some(connection) => {
                        view! { <Disconnect id name=delete_name revocable=connection.revocable /> }
                            .into_any()
                    }
                    None => {
                        view! {
                            <ActionForm action=delete node_ref=delete_form>
                                <input type="hidden" name="id" value=id.to_string() />
                                <input type="hidden" name="name" value=delete_name />
                                <FormNotice error=besides_sudo(delete_error) />
                                <button type="submit" class=ButtonKind::Danger.class()>
                                    {delete_label}
                                </button>
                            </ActionForm>
                            <SudoPrompt error=delete_error then=resubmit(delete_form) />
                        }
                            .into_any()
                    }
                }}
            </div>
        </details>
    }
}

/// Disconnecting a connection: its tokens go at once, and the service is asked to revoke them.
#[component]
fn Disconnect(id: AppId, name: String, revocable: bool) -> impl IntoView {
    let disconnect = ServerAction::<DisconnectAppConnection>::new();
    let error = action_error(disconnect);
    let form = NodeRef::<html::Form>::new();
    let label = format!("Disconnect {name}");
    view! {
        <ActionForm action=disconnect node_ref=form>
            <input type="hidden" name="id" value=id.to_string() />
            <input type="hidden" name="name" value=name />
            <p class=QUIET_TEXT>
                {if revocable {
                    "Its tokens are deleted at once, and the service is asked to revoke them."
                } else {
                    "Its tokens are deleted at once. The service offers no revocation: revoke the access in its own settings too."
                }}
            </p>
            <FormNotice error=besides_sudo(error) />
            <button type="submit" class=format!("mt-2 {}", ButtonKind::Danger.class())>
                {label}
            </button>
        </ActionForm>
        <SudoPrompt error then=resubmit(form) />
    }
}

/// Connecting an outside service over OAuth 2.0, with tokens it issued to the owner.
#[component]
fn AddConnectionForm(id: AppId) -> impl IntoView {
    let add = ServerAction::<AddAppConnection>::new();
    let error = action_error(add);
    let form = NodeRef::<html::Form>::new();
    clear_on_success(add, form);
    view! {
        <SubSection id="add-connection" heading="Connect a service (OAuth 2.0)">
            <p class=QUIET_TEXT>
                "A connection is a secret whose value is an access token. The app uses it like any secret, as a bearer token; a minute before the token expires, the server gets a new one with the refresh token."
            </p>
            <ActionForm action=add node_ref=form attr:class="mt-4 flex max-w-md flex-col gap-5">
                <input type="hidden" name="id" value=id.to_string() />
                <Field
                    autocomplete="off"
                    id="connection-name".to_owned()
                    label="Connection name"
                    name="name"
                    hint="Capitals, digits and underscores, like CALENDAR: the app calls it by this name."
                    error
                />
                <HostsField id="connection-hosts".to_owned() error />
                <Field
                    autocomplete="off"
                    id="connection-access".to_owned()
                    label="Access token"
                    name="access_token"
                    kind="password"
                    error
                />
                <Field
                    autocomplete="off"
                    id="connection-expires".to_owned()
                    label="Minutes until it expires"
                    name="expires_in"
                    required=false
                    hint="As the service said (expires_in, in minutes); empty if it did not."
                    error
                />
                <Field
                    autocomplete="off"
                    id="connection-refresh".to_owned()
                    label="Refresh token"
                    name="refresh_token"
                    kind="password"
                    error
                />
                <Field
                    autocomplete="off"
                    id="connection-token-url".to_owned()
                    label="Token endpoint"
                    name="token_url"
                    hint="Where the service issues tokens, like https://auth.example.com/oauth/token."
                    error
                />
                <Field
                    autocomplete="off"
                    id="connection-revocation-url".to_owned()
                    label="Revocation endpoint (optional)"
                    name="revocation_url"
                    required=false
                    hint="Where the service revokes tokens (RFC 7009), asked when you disconnect."
                    error
                />
                <Field
                    autocomplete="off"
                    id="connection-client-id".to_owned()
                    label="Client id"
                    name="client_id"
                    error
                />
                <Field
                    autocomplete="off"
                    id="connection-client-secret".to_owned()
                    label="Client secret (optional)"
                    name="client_secret"
                    kind="password"
                    required=false
                    error
                />
                <FormNotice error=besides_sudo(error) />
                <Submit label="Connect" pending=add.pending() />
            </ActionForm>
            <SudoPrompt error then=resubmit(form) />
        </SubSection>
    }
}

/// What a collaborator sees: the names, and that only the owner sees more.
#[component]
pub fn SecretNames(names: Vec<String>) -> impl IntoView {
    (!names.is_empty())
        .then(|| {
            view! {
                <Section id="secrets" heading="Secrets">
                    <p class="mt-2 max-w-prose">
                        {format!(
                            "The app uses these secrets: {}. Only its owner can change them, and nobody can see their values.",
                            names.join(", "),
                        )}
                    </p>
                </Section>
            }
        })
}
