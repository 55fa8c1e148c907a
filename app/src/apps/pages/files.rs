//! The parts of an app's page its owner and its collaborators share: the app running in its
//! sandboxed frame, and its files (with the upload form for those who may change them).

use leptos::prelude::*;

use crate::{
    apps::{
        api::{app_frame, DeleteAppFile},
        model::{upload_path, FileRow, UploadProblem, FRAME_SANDBOX},
    },
    platform::ids::AppId,
    ui::{
        action_error,
        kit::{FieldError, CELL, QUIET_TEXT},
        query_value, ButtonKind, DataTable, FormNotice, LoadError, Loading, Section,
    },
};

/// The app running in its frame: its own origin, sandboxed, opened by a token for its owner.
#[component]
pub fn Preview(id: AppId, hosts: Vec<String>) -> impl IntoView {
    let frame = Resource::new(move || id, app_frame);
    let connects = if hosts.is_empty() {
        "It may connect to its own origin only.".to_owned()
    } else {
        format!("It may connect to its own origin and to: {}.", hosts.join(", "))
    };
    view! {
        <Section id="preview" heading="Preview">
            <p class=QUIET_TEXT>
                {format!(
                    "The app runs sandboxed in its own origin: it cannot read your session, your other apps or this page. {connects}",
                )}
            </p>
            <Suspense fallback=|| {
                view! { <Loading what="Opening the app…" /> }
            }>
                {move || {
                    frame
                        .get()
                        .map(|result| match result {
                            Ok(src) => {
                                view! {
                                    <iframe
                                        src=src.clone()
                                        sandbox=FRAME_SANDBOX
                                        referrerpolicy="no-referrer"
                                        title="Your app, running sandboxed"
                                        class="mt-4 h-96 w-full rounded border border-slate-300 bg-white dark:border-slate-700"
                                    ></iframe>
                                    <a
                                        href=src
                                        target="_blank"
                                        rel="noopener noreferrer external"
                                        class=format!(
                                            "mt-2 inline-block {}",
                                            ButtonKind::Quiet.class(),
                                        )
                                    >
                                        "Open in a new tab"
                                    </a>
                                }
                                    .into_any()
                            }
                            Err(error) => view! { <LoadError error /> }.into_any(),
                        })
                }}
            </Suspense>
        </Section>
    }
}

/// The app's files; with `editable`, the upload form and a delete button for each.
#[component]
pub fn Files(id: AppId, files: Vec<FileRow>, editable: bool) -> impl IntoView {
    let delete = ServerAction::<DeleteAppFile>::new();
    let delete_error = action_error(delete);
    let upload_error = Signal::derive(move || {
        query_value("upload_error")
            .get()
            .and_then(|code| UploadProblem::parse(&code))
            .map(|problem| problem.text().to_owned())
    });
    view! {
        <Section id="files" heading="Files">
            {editable.then(|| view! { <UploadForm id upload_error /> })}
            <FormNotice error=delete_error />
            <DataTable caption="The app's files" headers=&["Path", "Type", "Size", ""]>
                {files
                    .into_iter()
                    .map(|file| {
                        let label = format!("Delete {}", file.path);
                        let path = file.path.clone();
                        view! {
                            <tr class="border-b border-slate-200 dark:border-slate-800">
                                <td class=CELL>
                                    <code>{file.path.clone()}</code>
                                </td>
                                <td class=CELL>{file.content_type.clone()}</td>
                                <td class=CELL>{file.size.clone()}</td>
                                <td class=CELL>
                                    {editable
                                        .then(|| {
                                            view! {
                                                <ActionForm action=delete>
                                                    <input type="hidden" name="id" value=id.to_string() />
                                                    <input type="hidden" name="path" value=path.clone() />
                                                    <button
                                                        type="submit"
                                                        aria-label=label.clone()
                                                        class=ButtonKind::Danger.class()
                                                    >
                                                        "Delete"
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
        </Section>
    }
}

/// The upload form: a plain multipart post, so it works without script.
#[component]
fn UploadForm(id: AppId, upload_error: Signal<Option<String>>) -> impl IntoView {
    view! {
        <form
            method="post"
            action=upload_path(id)
            enctype="multipart/form-data"
            class="mt-4 flex max-w-md flex-col gap-3"
        >
            <div class="flex flex-col gap-1">
                <label for="field-files" class="font-medium">
                    "Upload files or a zip"
                </label>
                <input
                    id="field-files"
                    name="files"
                    type="file"
                    multiple
                    required
                    aria-describedby="field-files-hint field-files-error"
                    aria-invalid=move || upload_error.get().is_some().then_some("true")
                />
                <p id="field-files-hint" class=QUIET_TEXT>
                    "A file replaces the one at the same path; a zip is unpacked. At most 500 files and 10 MB per app, 100 MB for all your apps."
                </p>
                <FieldError id="field-files-error".to_owned() message=upload_error />
            </div>
            <button type="submit" class=format!("self-start {}", ButtonKind::Primary.class())>
                "Upload"
            </button>
        </form>
    }
}
