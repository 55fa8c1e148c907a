//! The backup codes on the Security page: the set fresh from the server, shown once with copy
//! and download, and the section that counts what is left and makes a new set.

use leptos::{html, prelude::*, task::spawn_local};

use crate::{
    mfa::{
        api::RegenerateBackupCodes,
        browser,
        model::{Factors, BACKUP_CODES_LOW, BACKUP_CODE_SET_SIZE},
    },
    ui::{
        action_error, besides_sudo, kit::QUIET_TEXT, resubmit, ButtonKind, FormNotice, Section,
        SectionStyle, SudoPrompt,
    },
};

/// Backup codes fresh from the server, shown once, with copy and download.
#[component]
pub(super) fn FreshCodes(codes: Vec<String>) -> impl IntoView {
    let text = format!(
        "Custodian backup codes. Each works once.\n\n{}\n",
        codes.join("\n")
    );
    let download = format!("data:text/plain;charset=utf-8,{}", crate::ui::percent_encode(&text));
    let copied = RwSignal::new(None::<&'static str>);
    let copy = move |_| {
        let text = text.clone();
        spawn_local(async move {
            copied.set(Some(if browser::copy(&text).await {
                "Copied."
            } else {
                "The browser did not allow copying; select the codes instead."
            }));
        });
    };
    view! {
        <section
            aria-labelledby="fresh-codes"
            class="mt-6 max-w-2xl rounded border-2 border-amber-700 bg-amber-50 p-5 dark:bg-amber-950"
        >
            <h3 id="fresh-codes" class="text-lg font-semibold">
                "Your new backup codes"
            </h3>
            <p class="mt-1 text-sm">
                "Save them somewhere safe now: they are shown only this once. Each code signs you in once if you lose your passkey or phone."
            </p>
            <ol aria-label="Backup codes" class="mt-3 grid grid-cols-2 gap-2 font-mono text-lg">
                {codes.into_iter().map(|code| view! { <li>{code}</li> }).collect_view()}
            </ol>
            <div class="mt-4 flex gap-3">
                <button type="button" class=ButtonKind::Quiet.class() on:click=copy>
                    "Copy the codes"
                </button>
                <a
                    href=download
                    download="custodian-backup-codes.txt"
                    class=ButtonKind::Quiet.class()
                >
                    "Download as text"
                </a>
            </div>
            <p role="status" class="mt-2 text-sm">
                {move || copied.get()}
            </p>
        </section>
    }
}

#[component]
pub(super) fn BackupCodeSection(
    factors: Factors,
    regenerate: ServerAction<RegenerateBackupCodes>,
) -> impl IntoView {
    let error = action_error(regenerate);
    let form = NodeRef::<html::Form>::new();
    let status = match factors.backup_codes_left {
        None => view! {
            <p class="mt-2">
                {format!(
                    "You get {BACKUP_CODE_SET_SIZE} backup codes when you add your first passkey or authenticator app.",
                )}
            </p>
        }.into_any(),
        Some(left) => view! {
            <p class="mt-2">{format!("{left} of {BACKUP_CODE_SET_SIZE} unused.")}</p>
            {(left <= BACKUP_CODES_LOW)
                .then(|| {
                    view! {
                        <p
                            role="status"
                            class="mt-2 rounded border border-amber-700 bg-amber-50 px-3 py-2 font-medium dark:bg-amber-950"
                        >
                            {format!(
                                "Only {left} left. Create a new set so you are not locked out.",
                            )}
                        </p>
                    }
                })}
            <ActionForm action=regenerate node_ref=form attr:class="mt-3">
                <FormNotice error=besides_sudo(error) />
                <button type="submit" class=ButtonKind::Quiet.class()>
                    "Create new backup codes"
                </button>
                <p class=format!("mt-1 {QUIET_TEXT}")>"The old codes stop working."</p>
            </ActionForm>
            <SudoPrompt error=error then=resubmit(form) />
        }.into_any(),
    };
    view! {
        <Section id="backup" heading="Backup codes" style=SectionStyle::Card>
            {status}
        </Section>
    }
}
