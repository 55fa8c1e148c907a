//! `/data`: export everything and delete the account (promise P8). The page asks for an export (sudo), shows its
//! stage and a progress bar that updates live with JavaScript (and on reload without it), and
//! lists finished exports with their size, dates, download and delete.

pub mod deletion;

pub use deletion::{DeleteAccountPage, DeletionPage, DeletionScheduledPage};

use leptos::{html, prelude::*};
use leptos_router::hooks::use_query_map;

use crate::{
    data::{
        api::{export_overview, DeleteExport, RequestExport},
        model::{DataOverview, ExportRow, ExportState, DELETE_PAGE, KEEP_DAYS},
    },
    ui::{
        action_error, besides_sudo,
        kit::{CARD, QUIET_TEXT},
        query_notice, resubmit, ButtonKind, FormError, FormNotice, LoadError, Loading, Notice,
        PageHeader, Section, Submit, SudoPrompt,
    },
};

/// How often the page asks for progress while an export is being built.
const POLL_MS: u64 = 1_000;

#[component]
pub fn DataPage() -> impl IntoView {
    let query = use_query_map();
    let tick = RwSignal::new(0_u32);
    let overview = Resource::new(
        move || (query.read().get("notice"), tick.get()),
        |_| export_overview(),
    );
    // While an export is being built, ask again a second after each answer.
    Effect::new(move |_| {
        let building = overview
            .get()
            .and_then(Result::ok)
            .is_some_and(|overview| overview.building());
        if building {
            set_timeout(
                move || tick.update(|n| *n = n.wrapping_add(1)),
                std::time::Duration::from_millis(POLL_MS),
            );
        }
    });
    view! {
        <PageHeader
            title="Your data"
            lead="Take a copy of everything Custodian holds about you: complete, signed, and readable without any tool."
        />
        <div class="mt-4 max-w-2xl">
            <Notice message=query_notice() />
        </div>
        <DownloadConfirmation />
        <Transition fallback=|| {
            view! { <Loading what="Loading your exports…" /> }
        }>
            {move || {
                overview
                    .get()
                    .map(|result| match result {
                        Ok(overview) => view! { <Exports overview /> }.into_any(),
                        Err(error) => view! { <LoadError error /> }.into_any(),
                    })
            }}
        </Transition>
        <crate::data::rights::pages::RightsSection />
    }
}

/// After a download was refused for want of sudo mode: the prompt, then the download.
#[component]
fn DownloadConfirmation() -> impl IntoView {
    let query = use_query_map();
    let wanted = move || query.read().get("download").filter(|id| id.parse::<uuid::Uuid>().is_ok());
    // Once confirmed, the prompt goes and the download starts (the page stays).
    let confirmed = RwSignal::new(false);
    let start_download = Callback::new(move |()| {
        confirmed.set(true);
        if let Some(id) = wanted() {
            let _ = window().location().set_href(&format!("/data/exports/{id}/archive"));
        }
    });
    let asked = Signal::derive(move || {
        wanted()
            .filter(|_| !confirmed.get())
            .map(|_| FormError::SudoRequired)
    });
    view! { <SudoPrompt error=asked then=start_download /> }
}

#[component]
fn Exports(overview: DataOverview) -> impl IntoView {
    let request = ServerAction::<RequestExport>::new();
    let request_error = action_error(request);
    let form = NodeRef::<html::Form>::new();
    let building = overview.building();
    let limit = overview.next_allowed.clone();
    view! {
        <Section id="export" heading="Export all my data">
            <p class=QUIET_TEXT>
                {format!(
                    "One zip file: a JSON file per kind of record (account, security log, consent records and receipts, earlier exports), a schema for each, a manifest with every file's SHA-256 signed with our published key, and README.html to read it all in a browser. We mail you when it is ready; it is kept for {KEEP_DAYS} days.",
                )}
            </p>
            {match limit {
                Some(at) => {
                    view! {
                        <p class="mt-4 font-medium" role="status">
                            {format!(
                                "You have made 3 exports in the last 24 hours. The next one can start at {at}.",
                            )}
                        </p>
                    }
                        .into_any()
                }
                None if building => {
                    view! {
                        <p class="mt-4" role="status">
                            "An export is being built; its progress is below."
                        </p>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <ActionForm action=request node_ref=form attr:class="mt-4">
                            <Submit label="Export all my data" pending=request.pending() />
                        </ActionForm>
                    }
                        .into_any()
                }
            }}
            <div class="mt-3 max-w-md">
                <FormNotice error=besides_sudo(request_error) />
            </div>
            <SudoPrompt error=request_error then=resubmit(form) />
        </Section>
        <Section id="exports" heading="Your exports">
            <ExportList rows=overview.exports />
        </Section>
        <Section id="delete" heading="Delete my account">
            <p class=QUIET_TEXT>
                "Lock your account now and delete everything of it for good after a grace period in which you can still cancel. The next page says exactly what happens, and when."
            </p>
            <a href=DELETE_PAGE class=format!("mt-3 inline-block {}", ButtonKind::Danger.class())>
                "Delete my account"
            </a>
        </Section>
    }
}

#[component]
fn ExportList(rows: Vec<ExportRow>) -> impl IntoView {
    let delete = ServerAction::<DeleteExport>::new();
    let delete_error = action_error(delete);
    let last_delete = StoredValue::new(None::<DeleteExport>);
    Effect::new(move |_| {
        if let Some(input) = delete.input().get() {
            last_delete.set_value(Some(input));
        }
    });
    let delete_again = Callback::new(move |()| {
        if let Some(input) = last_delete.get_value() {
            delete.dispatch(input);
        }
    });
    if rows.is_empty() {
        return view! { <p class=format!("mt-2 {QUIET_TEXT}")>"You have not exported your data yet."</p> }
            .into_any();
    }
    view! {
        <FormNotice error=besides_sudo(delete_error) />
        <SudoPrompt error=delete_error then=delete_again />
        <ul class="flex flex-col" aria-label="Exports">
            {rows.into_iter().map(|row| view! { <ExportItem row delete /> }).collect_view()}
        </ul>
    }
        .into_any()
}

#[component]
fn ExportItem(row: ExportRow, delete: ServerAction<DeleteExport>) -> impl IntoView {
    let title = format!("Export of {}", row.requested);
    let progress = row.state.in_progress().then(|| {
        let label = format!("Progress of the export of {}", row.requested);
        let files = if row.files_total > 0 {
            format!("{} of {} files", row.files_done, row.files_total)
        } else {
            "waiting for the server".to_owned()
        };
        view! {
            <progress class="mt-2 w-full" max="100" value=row.percent() aria-label=label></progress>
            <p class=QUIET_TEXT aria-live="polite">
                {format!("{}: {files}, {} records written", row.stage, row.records)}
            </p>
        }
    });
    let ready = (row.state == ExportState::Ready).then(|| {
        let label = format!("Download the export of {}", row.requested);
        view! {
            <p class=QUIET_TEXT>
                {format!(
                    "{} · made {} · kept until {}",
                    row.size.clone().unwrap_or_default(),
                    row.finished.clone().unwrap_or_default(),
                    row.expires.clone().unwrap_or_default(),
                )}
            </p>
            <a
                class=format!("mt-2 inline-block {}", ButtonKind::Primary.class())
                href=row.download_path()
                rel="external"
                aria-label=label
            >
                "Download"
            </a>
        }
    });
    let failed = row.failure.clone().map(|why| view! { <p class="text-red-800 dark:text-red-300">{why}</p> });
    let removable = matches!(row.state, ExportState::Ready | ExportState::Queued | ExportState::Building);
    let delete_label = format!("Delete the export of {}", row.requested);
    view! {
        <li class=CARD>
            <h3 class="font-semibold">{title}</h3>
            <p>{format!("Status: {}", row.state.label())}</p>
            {progress}
            {ready}
            {failed}
            {removable
                .then(|| {
                    view! {
                        <ActionForm action=delete attr:class="mt-3">
                            <input type="hidden" name="id" value=row.id.to_string() />
                            <button
                                type="submit"
                                aria-label=delete_label
                                class=ButtonKind::Danger.class()
                            >
                                "Delete this export"
                            </button>
                        </ActionForm>
                    }
                })}
        </li>
    }
}
