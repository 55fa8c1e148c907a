//! The component kit every page is built from: buttons by kind, page headers, sections, tables,
//! and the hint and error lines under a field. An area writes no class strings of its own for
//! these; a change of look is a change here.

use leptos::prelude::*;
use leptos_meta::Title;

/// How a link in running text looks, on every page.
pub const LINK: &str = "font-medium text-indigo-800 underline dark:text-indigo-300";

/// The column a form's fields stand in.
pub const FORM: &str = "mt-6 flex max-w-md flex-col gap-5";

/// Secondary text: hints, explanations, dates.
pub const QUIET_TEXT: &str = "text-sm text-slate-700 dark:text-slate-300";

/// A paragraph of explanation under a heading.
pub const LEAD: &str = "mt-2 max-w-prose text-slate-700 dark:text-slate-300";

/// A caution that must stand out from what surrounds it (content someone else wrote).
pub const CAUTION: &str = "rounded border border-amber-600 bg-amber-50 px-4 py-2 text-sm text-amber-950 dark:bg-amber-950 dark:text-amber-100";

/// A text input outside `Field` (a select, an inline rename).
pub const INPUT: &str = "rounded border border-slate-400 bg-white px-3 py-2 dark:bg-slate-900";

/// What a button does, which decides how it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonKind {
    /// The one main action of a form.
    Primary,
    /// A secondary action (copy, rename, sign out).
    Quiet,
    /// An action that removes or ends something.
    Danger,
    /// The one main action of a form, when it ends or removes something.
    DangerPrimary,
    /// One of several equal choices (the cookie banner's three).
    Choice,
}

impl ButtonKind {
    pub const fn class(self) -> &'static str {
        match self {
            Self::Primary => "rounded bg-indigo-700 px-4 py-2 font-semibold text-white hover:bg-indigo-800 focus:outline-none focus:ring-2 focus:ring-indigo-600 focus:ring-offset-2 disabled:opacity-60",
            Self::Quiet => "rounded border border-slate-400 px-3 py-1 text-sm font-medium hover:bg-slate-100 dark:hover:bg-slate-800",
            Self::DangerPrimary => "rounded bg-red-700 px-4 py-2 font-semibold text-white hover:bg-red-800 focus:outline-none focus:ring-2 focus:ring-red-600 focus:ring-offset-2",
            Self::Danger => "rounded border border-red-700 px-3 py-1 text-sm font-medium text-red-800 hover:bg-red-50 dark:text-red-300 dark:hover:bg-red-950",
            Self::Choice => "inline-flex cursor-pointer items-center rounded border-2 border-indigo-800 bg-white px-4 py-2 font-semibold text-indigo-900 hover:bg-indigo-50 focus:outline-none focus:ring-2 focus:ring-indigo-600 focus:ring-offset-2 dark:border-indigo-300 dark:bg-slate-900 dark:text-indigo-100 dark:hover:bg-slate-800",
        }
    }
}

/// The page's title (in the tab and as its one h1) and an optional lead paragraph.
#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(optional)] lead: Option<&'static str>,
) -> impl IntoView {
    view! {
        <Title text=title.clone() />
        <h1 class="text-3xl font-bold">{title}</h1>
        {lead.map(|lead| view! { <p class=LEAD>{lead}</p> })}
    }
}

/// How a section stands apart from the rest of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SectionStyle {
    /// Separated by a rule above it.
    #[default]
    Ruled,
    /// In a bordered card.
    Card,
}

/// A bordered card, for a part of a page that is not a `Section` (a disclosure, say).
pub const CARD: &str = "mt-8 max-w-2xl rounded border border-slate-300 p-5 dark:border-slate-700";

/// A titled part of a page, labelled by its heading for assistive tools.
#[component]
pub fn Section(
    /// Unique on the page: the heading's id.
    id: &'static str,
    heading: &'static str,
    #[prop(optional)] style: SectionStyle,
    children: Children,
) -> impl IntoView {
    let heading_id = format!("{id}-heading");
    let class = match style {
        SectionStyle::Ruled => "mt-10 border-t border-slate-200 pt-6 dark:border-slate-800",
        SectionStyle::Card => CARD,
    };
    view! {
        <section aria-labelledby=heading_id.clone() class=class>
            <h2 id=heading_id.clone() class="text-xl font-semibold">
                {heading}
            </h2>
            {children()}
        </section>
    }
}

/// A titled part of a `Section`, labelled by its heading for assistive tools.
#[component]
pub fn SubSection(
    /// Unique on the page: the heading's id.
    id: &'static str,
    heading: &'static str,
    children: Children,
) -> impl IntoView {
    let heading_id = format!("{id}-heading");
    view! {
        <section aria-labelledby=heading_id.clone() class="mt-6">
            <h3 id=heading_id.clone() class="text-lg font-semibold">
                {heading}
            </h3>
            {children()}
        </section>
    }
}

/// A table with a caption (read by screen readers, hidden on screen when `caption_hidden`) and
/// column headers; the rows are the children.
#[component]
pub fn DataTable(
    #[prop(into)] caption: String,
    #[prop(optional)] caption_hidden: bool,
    headers: &'static [&'static str],
    children: Children,
) -> impl IntoView {
    view! {
        <table class="mt-4 w-full text-left text-sm">
            <caption class=if caption_hidden {
                "sr-only"
            } else {
                "mb-2 text-left font-medium"
            }>{caption}</caption>
            <thead>
                <tr class="border-b border-slate-300 dark:border-slate-700">
                    {headers
                        .iter()
                        .map(|header| {
                            view! {
                                <th scope="col" class="py-2 pr-4">
                                    {*header}
                                </th>
                            }
                        })
                        .collect_view()}
                </tr>
            </thead>
            <tbody>{children()}</tbody>
        </table>
    }
}

/// The cell class of a `DataTable` row.
pub const CELL: &str = "py-2 pr-4";

/// The hint under a field, which the field names in aria-describedby.
#[component]
pub fn FieldHint(id: String, text: String) -> impl IntoView {
    view! {
        <p id=id class=QUIET_TEXT>
            {text}
        </p>
    }
}

/// The error line under a field: announced when it appears (role=alert), empty otherwise.
#[component]
pub fn FieldError(
    #[prop(optional)] id: Option<String>,
    #[prop(into)] message: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <p id=id role="alert" class="text-sm font-medium text-red-700 dark:text-red-300">
            {move || message.get()}
        </p>
    }
}
