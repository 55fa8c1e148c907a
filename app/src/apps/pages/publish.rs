//! "Publish to Discover" on an app's page, for its owner only: off by default; turning it on
//! opens a confirmation of what becomes public and what does not, asks for the app's name and
//! sudo, and shows the publish check's findings when they block it. Unpublishing is one click.
//! The receipts of each are listed for download.

use leptos::{html, prelude::*};

use crate::{
    apps::{
        api::{PublishApp, SetAppRemix, UnpublishApp},
        model::{
            discover_page, receipt_path, Finding, Publication, PublishOutcome, ReceiptRow,
            DISCOVER_CACHE_SECONDS,
        },
    },
    platform::ids::AppId,
    ui::{
        action_error, besides_sudo,
        kit::{FieldError, CAUTION, CELL, INPUT, QUIET_TEXT},
        resubmit, ButtonKind, DataTable, Field, FormNotice, Section, SubSection,
        Submit, SudoPrompt, LINK,
    },
};

#[component]
pub fn Publishing(id: AppId, name: String, files: usize, publication: Publication) -> impl IntoView {
    let receipts = publication.receipts.clone();
    view! {
        <Section id="publish" heading="Publish to Discover">
            {match publication.published.clone() {
                Some((day, author)) => {
                    view! { <Published id day author remix_allowed=publication.remix_allowed /> }
                        .into_any()
                }
                None => {
                    view! { <NotPublished id name files author=publication.author /> }.into_any()
                }
            }}
            <Receipts id receipts />
        </Section>
    }
}

#[component]
fn Published(id: AppId, day: String, author: String, remix_allowed: bool) -> impl IntoView {
    let unpublish = ServerAction::<UnpublishApp>::new();
    let unpublish_error = action_error(unpublish);
    let remix = ServerAction::<SetAppRemix>::new();
    let remix_error = action_error(remix);
    let remix_form = NodeRef::<html::Form>::new();
    view! {
        <p role="status" class="mt-2">
            {format!("On Discover since {day}, with {author} as its author. ")}
            <a href=discover_page(id) class=LINK>
                "Open its Discover page"
            </a>
        </p>
        <ActionForm action=unpublish attr:class="mt-3">
            <input type="hidden" name="id" value=id.to_string() />
            <p class=QUIET_TEXT>
                {format!(
                    "Unpublishing takes it off Discover and closes its public page at once; copies a browser kept of the gallery expire within {DISCOVER_CACHE_SECONDS} seconds. Remixes people already made stay theirs.",
                )}
            </p>
            <FormNotice error=unpublish_error />
            <button type="submit" class=format!("mt-2 {}", ButtonKind::Danger.class())>
                "Unpublish"
            </button>
        </ActionForm>
        <ActionForm action=remix node_ref=remix_form attr:class="mt-4">
            <input type="hidden" name="id" value=id.to_string() />
            <input type="hidden" name="allow" value=if remix_allowed { "off" } else { "on" } />
            <p class=QUIET_TEXT>
                {if remix_allowed {
                    "Remixing is allowed: signed-in people can copy the app's files (never its links, collaborators or secrets) into an app of their own. Stopping it keeps the copies already made."
                } else {
                    "Remixing is off: nobody can copy the app's files from Discover."
                }}
            </p>
            <FormNotice error=besides_sudo(remix_error) />
            <button type="submit" class=format!("mt-2 {}", ButtonKind::Quiet.class())>
                {if remix_allowed { "Stop remixing" } else { "Allow remixing" }}
            </button>
        </ActionForm>
        <SudoPrompt error=remix_error then=resubmit(remix_form) />
    }
}

#[component]
fn NotPublished(id: AppId, name: String, files: usize, author: String) -> impl IntoView {
    let publish = ServerAction::<PublishApp>::new();
    let error = action_error(publish);
    let form = NodeRef::<html::Form>::new();
    let findings = Signal::derive(move || match publish.value().get() {
        Some(Ok(PublishOutcome::Blocked(findings))) => findings,
        _ => Vec::new(),
    });
    let blocked = move || !findings.get().is_empty();
    let reason_error = Signal::derive(move || error.get().and_then(|e| e.for_field("reason")));
    view! {
        <p class="mt-2">
            "Not published: only you, your collaborators and people with one of its links can open it."
        </p>
        <details class="mt-4">
            <summary class=format!(
                "inline-block cursor-pointer {}",
                ButtonKind::Quiet.class(),
            )>"Publish to Discover…"</summary>
            <div class="mt-4 max-w-2xl">
                <SubSection id="public" heading="What becomes public">
                    <ul class="mt-2 list-disc pl-6">
                        <li>
                            {format!("The app's name, \u{201c}{name}\u{201d}, and its description")}
                        </li>
                        <li>"The author name you give below, as its author"</li>
                        <li>
                            {format!(
                                "All of its files ({files}) and anything they load from the hosts it may connect to",
                            )}
                        </li>
                    </ul>
                </SubSection>
                <SubSection id="private" heading="What stays private">
                    <ul class="mt-2 list-disc pl-6">
                        <li>"Your other apps"</li>
                        <li>"Prompts and secrets"</li>
                        <li>"Your collaborators"</li>
                        <li>"Your share links and how they were used"</li>
                        <li>"Your email address and the rest of your account"</li>
                    </ul>
                </SubSection>
                <SubSection id="consequences" heading="What it means">
                    <ul class="mt-2 list-disc pl-6">
                        <li>
                            "Anyone can open the app without an account, and search engines may list its Discover page."
                        </li>
                        <li>
                            "Unpublishing takes it down at once, but cannot take back what visitors already saw or copied."
                        </li>
                        <li>
                            "If you allow remixing, signed-in people can copy its files into apps of their own; those copies stay theirs when you stop remixing or unpublish."
                        </li>
                        <li>
                            "Before anything becomes public, the files are checked for secrets and for addresses of this site."
                        </li>
                    </ul>
                </SubSection>
                <ActionForm
                    action=publish
                    node_ref=form
                    attr:class="mt-6 flex max-w-md flex-col gap-5"
                >
                    <input type="hidden" name="id" value=id.to_string() />
                    <div class="flex items-center gap-2">
                        <input type="checkbox" id="field-remix" name="remix" value="on" />
                        <label for="field-remix">"Allow remixing"</label>
                    </div>
                    <Field
                        label="Author name shown"
                        name="author"
                        autocomplete="off"
                        value=author
                        hint="Your display name, or any name you would rather publish under."
                        error
                    />
                    <Field
                        label="Type the app's name to confirm"
                        name="confirm_name"
                        autocomplete="off"
                        error
                    />
                    <Show when=blocked>
                        <Findings findings />
                        <div class="flex flex-col gap-1">
                            <label for="field-reason" class="font-medium">
                                "Reason to publish anyway"
                            </label>
                            <textarea
                                id="field-reason"
                                name="reason"
                                rows="3"
                                aria-describedby="field-reason-hint field-reason-error"
                                class=INPUT
                            ></textarea>
                            <p id="field-reason-hint" class=QUIET_TEXT>
                                "Fix the files and publish again, or say why these are safe to publish (10 to 500 characters). The reason is kept in your security log and your receipt."
                            </p>
                            <FieldError id="field-reason-error".to_owned() message=reason_error />
                        </div>
                    </Show>
                    <FormNotice error=besides_sudo(error) />
                    <Submit label="Publish" pending=publish.pending() />
                </ActionForm>
                <SudoPrompt error then=resubmit(form) />
            </div>
        </details>
    }
}

#[component]
fn Findings(findings: Signal<Vec<Finding>>) -> impl IntoView {
    view! {
        <div class=CAUTION role="alert">
            <p class="font-semibold">
                "Not published: the check found what looks like secrets or addresses of this site."
            </p>
            <DataTable
                caption="What the check found"
                headers=&["File", "Line", "What it looks like"]
            >
                {move || {
                    findings
                        .get()
                        .into_iter()
                        .map(|finding| {
                            view! {
                                <tr>
                                    <td class=CELL>{finding.path}</td>
                                    <td class=CELL>{finding.line}</td>
                                    <td class=CELL>{finding.what}</td>
                                </tr>
                            }
                        })
                        .collect_view()
                }}
            </DataTable>
        </div>
    }
}

#[component]
fn Receipts(id: AppId, receipts: Vec<ReceiptRow>) -> impl IntoView {
    (!receipts.is_empty())
        .then(|| {
            view! {
                <SubSection id="receipts" heading="Publication receipts">
                    <p class=QUIET_TEXT>
                        "Signed records of each time the app was published or taken down. Anyone can check one on the verify page."
                    </p>
                    <DataTable
                        caption="Receipts"
                        caption_hidden=true
                        headers=&["What", "When", "Receipt"]
                    >
                        {receipts
                            .into_iter()
                            .map(|receipt| {
                                let what = if receipt.published {
                                    "Published"
                                } else {
                                    "Unpublished"
                                };
                                view! {
                                    <tr>
                                        <td class=CELL>{what}</td>
                                        <td class=CELL>{receipt.at.clone()}</td>
                                        <td class=CELL>
                                            <a
                                                href=receipt_path(id, receipt.id)
                                                download
                                                rel="external"
                                                class=LINK
                                                aria-label=format!(
                                                    "Download the receipt: {what}, {}",
                                                    receipt.at,
                                                )
                                            >
                                                "Download"
                                            </a>
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </DataTable>
                </SubSection>
            }
        })
}
