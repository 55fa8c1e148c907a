//! The rights pages (promise P15): the "Your rights" section of Your data (the restriction
//! notice, each request with its rights' status, due date and days left, the closure receipt,
//! product news), the form that makes a request, and the public yearly report.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    api::{default_regime, my_rights, requests_report, ChangeProductNews, LiftRestriction, MakeRequest},
    model::{RequestView, RightView, RightsOverview, Status, PURPOSES},
};
use crate::ui::{
    action_error,
    kit::{CELL, QUIET_TEXT},
    ButtonKind, DataTable, Field, FormNotice, LoadError, Loading, PageHeader, Section, Submit,
    LINK,
};

/// Where the form that makes a request lives.
pub const NEW_REQUEST_PAGE: &str = "/data/requests/new";

/// "Your rights" on the Your data page.
#[component]
pub fn RightsSection() -> impl IntoView {
    let overview = Resource::new(|| (), |_| my_rights());
    view! {
        <Section id="rights" heading="Your rights">
            <p class="mt-2 max-w-prose">
                "Ask us to correct what you cannot edit yourself, to restrict or stop a use of your data, or for a copy of it. Each right has its own due date, counted as the law counts it; you see where each one is here."
            </p>
            <p class="mt-3">
                <a href=NEW_REQUEST_PAGE class=ButtonKind::Primary.class()>
                    "Make a request"
                </a>
            </p>
            <Transition fallback=|| {
                view! { <Loading what="Loading your requests…" /> }
            }>
                {move || {
                    overview
                        .get()
                        .map(|loaded| match loaded {
                            Ok(overview) => view! { <RightsOverviewView overview /> }.into_any(),
                            Err(error) => view! { <LoadError error /> }.into_any(),
                        })
                }}
            </Transition>
        </Section>
    }
}

#[component]
fn RightsOverviewView(overview: RightsOverview) -> impl IntoView {
    let can_lift = overview
        .requests
        .iter()
        .flat_map(|request| &request.rights)
        .any(|right| right.can_lift);
    let restriction = overview.restriction.clone().map(|line| {
        view! {
            <div
                role="status"
                class="mt-4 max-w-prose rounded border border-amber-700 bg-amber-50 p-4 text-amber-900 dark:bg-amber-950 dark:text-amber-100"
            >
                <p class="font-medium">{line}</p>
                <p class="mt-1 text-sm">
                    "Your data is stored but used only for storage, legal claims and security: no analytics, no product news, no publishing to Discover."
                </p>
                {can_lift.then(|| view! { <LiftForm /> })}
            </div>
        }
    });
    let requests = if overview.requests.is_empty() {
        view! { <p class=format!("mt-4 {QUIET_TEXT}")>"You have made no requests."</p> }
            .into_any()
    } else {
        overview
            .requests
            .into_iter()
            .map(|request| view! { <RequestCard request /> })
            .collect_view()
            .into_any()
    };
    view! {
        {restriction}
        {requests}
        <ProductNews on=overview.product_news />
    }
}

#[component]
fn LiftForm() -> impl IntoView {
    let lift = ServerAction::<LiftRestriction>::new();
    let error = action_error(lift);
    view! {
        <ActionForm action=lift attr:class="mt-3">
            <FormNotice error />
            <Submit label="Lift the restriction" pending=lift.pending() />
        </ActionForm>
    }
}

#[component]
fn RequestCard(request: RequestView) -> impl IntoView {
    let caption = format!(
        "Request of {} (under {}), reference {}",
        request.received,
        request.regime.short(),
        request.id
    );
    let receipt = request.closed.clone().map(|closed| {
        let path = request.receipt_path();
        view! {
            <p class="mt-2 text-sm">
                {format!("Closed {closed}. ")}
                <a href=path class=LINK download="closure-receipt.json">
                    "Download the closure receipt"
                </a> " (check it on the " <a href="/privacy/verify-receipt" class=LINK>
                    "verify page"
                </a> ")."
            </p>
        }
    });
    view! {
        <div class="mt-6 max-w-3xl">
            <DataTable caption headers=&["Right", "What you asked", "Status", "Due", "Days left"]>
                {request
                    .rights
                    .into_iter()
                    .map(|right| view! { <RightRow right /> })
                    .collect_view()}
            </DataTable>
            {receipt}
        </div>
    }
}

#[component]
fn RightRow(right: RightView) -> impl IntoView {
    let status = match (right.status, right.reason.is_empty()) {
        (Status::PartlyDone | Status::Refused, false) => {
            format!("{}: {}", right.status.label(), right.reason)
        }
        _ => right.status.label().to_owned(),
    };
    let due = match &right.extension_reason {
        Some(why) => format!("{} (extended: {why})", right.due_on),
        None => right.due_on.clone(),
    };
    let confirm = right
        .confirm_by
        .as_ref()
        .map(|by| format!("Receipt confirmed by mail (due by {by})."));
    let days_left = match right.days_left {
        Some(days) if days < 0 => format!("{} overdue", -days),
        Some(days) => days.to_string(),
        None => right.closed_on.clone().map_or_else(String::new, |on| format!("Closed {on}")),
    };
    view! {
        <tr class="border-b border-slate-200 align-top dark:border-slate-800">
            <th scope="row" class=format!("{CELL} font-medium")>
                {right.right.label()}
            </th>
            <td class=CELL>{right.asked}</td>
            <td class=CELL>{status}</td>
            <td class=CELL>
                {due}
                {confirm
                    .map(|line| view! { <span class=format!("block {QUIET_TEXT}")>{line}</span> })}
            </td>
            <td class=CELL>{days_left}</td>
        </tr>
    }
}

#[component]
fn ProductNews(on: bool) -> impl IntoView {
    let change = ServerAction::<ChangeProductNews>::new();
    let error = action_error(change);
    view! {
        <ActionForm action=change attr:class="mt-8 flex max-w-prose flex-col gap-2">
            <h3 class="text-lg font-semibold">"Product news by mail"</h3>
            <label class="flex items-center gap-2">
                <input type="checkbox" name="wanted" value="on" checked=on />
                "Mail me product news (at most monthly). Off unless you turn it on."
            </label>
            <FormNotice error />
            <div>
                <Submit label="Save" pending=change.pending() />
            </div>
        </ActionForm>
    }
}

/// `/data/requests/new`: one request, several rights.
#[component]
pub fn NewRequestPage() -> impl IntoView {
    let make = ServerAction::<MakeRequest>::new();
    let error = action_error(make);
    let regime = Resource::new(|| (), |_| default_regime());
    let field_error = move |name: &'static str| {
        Signal::derive(move || error.get().and_then(|e| e.for_field(name)))
    };
    view! {
        <Title text="Make a request" />
        <PageHeader
            title="Make a request"
            lead="Choose one or more rights. Each gets its own due date; we mail you a confirmation at once, and again when something happens."
        />
        <Transition fallback=|| {
            view! { <Loading what="Loading…" /> }
        }>
            {move || {
                regime
                    .get()
                    .map(|loaded| {
                        let default = loaded.ok();
                        view! {
                            <ActionForm action=make attr:class="mt-6 flex max-w-2xl flex-col gap-6">
                                <FormNotice error=Signal::derive(move || {
                                    error.get().filter(|e| e.for_page().is_some())
                                }) />
                                <RegimeChoice default />
                                <p
                                    id="regime-error"
                                    role="alert"
                                    class="empty:hidden text-sm font-medium text-red-700 dark:text-red-300"
                                >
                                    {move || field_error("regime").get()}
                                </p>
                                <fieldset class="rounded border border-slate-300 p-4 dark:border-slate-700">
                                    <legend class="px-1 font-semibold">"Correction"</legend>
                                    <label class="flex items-center gap-2">
                                        <input type="checkbox" name="correction" value="on" />
                                        "Correct something I cannot edit myself"
                                    </label>
                                    <div class="mt-3 flex flex-col gap-3">
                                        <Field
                                            label="Which data"
                                            name="correction_data"
                                            required=false
                                            error
                                        />
                                        <Field
                                            label="What is wrong"
                                            name="correction_wrong"
                                            required=false
                                            error
                                        />
                                        <Field
                                            label="What it should be"
                                            name="correction_should"
                                            required=false
                                            error
                                        />
                                    </div>
                                </fieldset>
                                <fieldset class="rounded border border-slate-300 p-4 dark:border-slate-700">
                                    <legend class="px-1 font-semibold">
                                        "Restriction of processing"
                                    </legend>
                                    <label class="flex items-center gap-2">
                                        <input type="checkbox" name="restriction" value="on" />
                                        "Keep my data stored, but use it for nothing else"
                                    </label>
                                    <div class="mt-3">
                                        <Field
                                            label="Why (optional)"
                                            name="restriction_reason"
                                            required=false
                                            error
                                        />
                                    </div>
                                </fieldset>
                                <fieldset class="rounded border border-slate-300 p-4 dark:border-slate-700">
                                    <legend class="px-1 font-semibold">"Objection"</legend>
                                    <label class="flex items-center gap-2">
                                        <input type="checkbox" name="objection" value="on" />
                                        "Object to a use of my data"
                                    </label>
                                    <label for="objection_purpose" class="mt-3 block font-medium">
                                        "Purpose"
                                    </label>
                                    <select
                                        id="objection_purpose"
                                        name="objection_purpose"
                                        aria-describedby="objection_purpose-error"
                                        class="mt-1 rounded border border-slate-400 bg-white px-3 py-2 dark:bg-slate-900"
                                    >
                                        {PURPOSES
                                            .iter()
                                            .map(|(key, label)| {
                                                view! { <option value=*key>{*label}</option> }
                                            })
                                            .collect_view()}
                                    </select>
                                    <p
                                        id="objection_purpose-error"
                                        role="alert"
                                        class="text-sm font-medium text-red-700 dark:text-red-300"
                                    >
                                        {move || field_error("objection_purpose").get()}
                                    </p>
                                </fieldset>
                                <fieldset class="rounded border border-slate-300 p-4 dark:border-slate-700">
                                    <legend class="px-1 font-semibold">"Access and opt-out"</legend>
                                    <label class="flex items-center gap-2">
                                        <input type="checkbox" name="access" value="on" />
                                        "A copy of my data (answered by a data export, which you start on Your data)"
                                    </label>
                                    <label class="mt-2 flex items-center gap-2">
                                        <input type="checkbox" name="opt_out" value="on" />
                                        "Do Not Sell or Share My Personal Information (takes effect at once)"
                                    </label>
                                </fieldset>
                                <div>
                                    <Submit label="Send the request" pending=make.pending() />
                                </div>
                            </ActionForm>
                        }
                    })
            }}
        </Transition>
        <p class="mt-6">
            <a href="/data#rights" class=LINK>
                "Back to Your data"
            </a>
        </p>
    }
}

#[component]
fn RegimeChoice(default: Option<super::model::Regime>) -> impl IntoView {
    use super::model::Regime;

    let default = default.unwrap_or(Regime::Both);
    view! {
        <fieldset class="rounded border border-slate-300 p-4 dark:border-slate-700">
            <legend class="px-1 font-semibold">"The law your request is answered under"</legend>
            <p class=QUIET_TEXT>
                "Chosen from your data region; change it if another applies to you."
            </p>
            {Regime::ALL
                .into_iter()
                .map(|regime| {
                    view! {
                        <label class="mt-2 flex items-center gap-2">
                            <input
                                type="radio"
                                name="regime"
                                value=regime.as_str()
                                checked=move || regime == default
                            />
                            {regime.label()}
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

/// `/privacy/requests-report`: per right and year, counted from the data.
#[component]
pub fn RequestsReportPage() -> impl IntoView {
    let report = Resource::new(|| (), |_| requests_report());
    view! {
        <Title text="Rights requests report" />
        <PageHeader
            title="Rights requests, per year"
            lead="How many requests we received for each right, how we answered them, and the median number of days to answer (as the CCPA regulations §7102 ask). Counted from our records when you load this page; it names no one."
        />
        <Transition fallback=|| {
            view! { <Loading what="Counting…" /> }
        }>
            {move || {
                report
                    .get()
                    .map(|loaded| match loaded {
                        Ok(rows) if rows.is_empty() => {
                            view! { <p class="mt-6">"No requests have been received yet."</p> }
                                .into_any()
                        }
                        Ok(rows) => {
                            view! {
                                <DataTable
                                    caption="Requests per right and year"
                                    headers=&[
                                        "Year",
                                        "Right",
                                        "Received",
                                        "Done",
                                        "Partly done",
                                        "Refused",
                                        "Median days to answer",
                                    ]
                                >
                                    {rows
                                        .into_iter()
                                        .map(|row| {
                                            view! {
                                                <tr class="border-b border-slate-200 dark:border-slate-800">
                                                    <td class=CELL>{row.year.to_string()}</td>
                                                    <th scope="row" class=format!("{CELL} font-medium")>
                                                        {row.right.label()}
                                                    </th>
                                                    <td class=CELL>{row.received.to_string()}</td>
                                                    <td class=CELL>{row.done.to_string()}</td>
                                                    <td class=CELL>{row.partly_done.to_string()}</td>
                                                    <td class=CELL>{row.refused.to_string()}</td>
                                                    <td class=CELL>
                                                        {row
                                                            .median_days
                                                            .map_or_else(|| "—".to_owned(), |d| format!("{d:.1}"))}
                                                    </td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </DataTable>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <LoadError error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}
