//! Forms: the error every server function returns to a form, and the labelled fields that show
//! it next to the input it is about.

use leptos::{
    prelude::*,
    server_fn::{codec::JsonEncoding, error::FromServerFnError},
};
use serde::{Deserialize, Serialize};

use super::kit::{ButtonKind, FieldError, FieldHint};

/// Why a form was refused, as the person should read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum FormError {
    /// About one field, shown next to it.
    #[error("{message}")]
    Field { field: String, message: String },
    /// About the whole form, shown above it.
    #[error("{0}")]
    Page(String),
    /// The session has ended; the page offers to sign in again.
    #[error("You are signed out. Sign in to continue.")]
    SignedOut,
    /// The action needs the password again (sudo mode).
    #[error("Confirm your password to continue.")]
    SudoRequired,
    /// Our fault, not the person's; the details are in the server's log.
    #[error("Something went wrong on our side. Please try again.")]
    Failed,
    /// Too much work at once (every password-hashing slot stayed busy); try again shortly.
    #[error("The server is busy. Try again in a few seconds.")]
    Busy,
}

impl FormError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Field {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The message when it concerns `field`.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            Self::Field { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }

    /// The message when it concerns no single field.
    pub fn for_page(&self) -> Option<String> {
        match self {
            Self::Field { .. } => None,
            other => Some(other.to_string()),
        }
    }
}

impl FromServerFnError for FormError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            E::Request(_) | E::Response(_) => Self::Page(
                "The server could not be reached. Check your connection and try again.".to_owned(),
            ),
            E::Args(_) | E::MissingArg(_) => {
                Self::Page("The form was incomplete. Please fill it in again.".to_owned())
            }
            _ => Self::Failed,
        }
    }

    /// On the server, also answers a script's call with a status that says whose problem it is
    /// (the framework would say 500 for every refusal). A plain form post keeps the redirect
    /// back to its page.
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            let plain_form = use_context::<axum::http::request::Parts>().is_some_and(|parts| {
                parts
                    .headers
                    .get(axum::http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("text/html"))
            });
            if !plain_form {
                response.set_status(self.status());
            }
            if *self == Self::Busy {
                response.insert_header(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("5"),
                );
            }
        }
        <JsonEncoding as leptos::server_fn::Encodes<Self>>::encode(self).unwrap_or_default()
    }
}

#[cfg(feature = "ssr")]
impl From<crate::platform::error::InfraError> for FormError {
    fn from(error: crate::platform::error::InfraError) -> Self {
        use crate::platform::error::InfraError;
        match error {
            InfraError::Busy => Self::Busy,
            InfraError::Database(crate::platform::db::DbError::TenantMoving) => Self::Page(
                "Your data is moving to another region. Sign-in and links wait until the move ends; try again in a few minutes."
                    .to_owned(),
            ),
            other => {
                tracing::error!(error = %other, "a request failed on our side");
                Self::Failed
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl From<crate::platform::context::ContextError> for FormError {
    fn from(error: crate::platform::context::ContextError) -> Self {
        use crate::platform::context::ContextError;
        match error {
            ContextError::SignedOut => Self::SignedOut,
            ContextError::SudoRequired => Self::SudoRequired,
            ContextError::Infra(infra) => infra.into(),
            refusal @ (ContextError::Unavailable | ContextError::RateLimited) => {
                Self::Page(refusal.to_string())
            }
        }
    }
}

#[cfg(feature = "ssr")]
impl FormError {
    fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            Self::Field { .. } | Self::Page(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::SignedOut => StatusCode::UNAUTHORIZED,
            Self::SudoRequired => StatusCode::FORBIDDEN,
            Self::Failed => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The latest error of an action, if its last run failed.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<FormError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = FormError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(Result::err))
}

/// Empties `form` once `action` succeeds, so that what was typed (a secret's value above all)
/// does not stay in the page after it was saved.
pub fn clear_on_success<I, O>(action: ServerAction<I>, form: NodeRef<leptos::html::Form>)
where
    I: leptos::server_fn::ServerFn<Output = O, Error = FormError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(_))) {
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
        }
    });
}

/// A labelled input. Its error is announced (role=alert) and tied to it with aria-describedby.
/// Its id is `field-<name>` unless a form that repeats on a page gives one of its own.
#[component]
pub fn Field(
    #[prop(into)] label: String,
    name: &'static str,
    #[prop(optional)] id: Option<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(default = true)] required: bool,
    #[prop(into)] error: Signal<Option<FormError>>,
    #[prop(optional)] on_input: Option<Callback<String>>,
) -> impl IntoView {
    let id = id.unwrap_or_else(|| format!("field-{name}"));
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let message = move || error.get().and_then(|e| e.for_field(name));
    let has_hint = hint.is_some();
    let described_by = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if message().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="flex flex-col gap-1">
            <label for=id.clone() class="font-medium">
                {label}
            </label>
            <input
                id=id
                name=name
                type=kind
                value=value
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                required=required
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=described_by
                on:input=move |ev| {
                    if let Some(callback) = on_input {
                        callback.run(event_target_value(&ev));
                    }
                }
                class="rounded border border-slate-400 bg-white px-3 py-2 text-slate-900 focus:outline-none focus:ring-2 focus:ring-indigo-600 aria-[invalid=true]:border-red-700 dark:bg-slate-900 dark:text-slate-100"
            />
            {hint.map(|text| view! { <FieldHint id=hint_id text /> })}
            <FieldError id=error_id message=Signal::derive(message) />
        </div>
    }
}

/// A message above a form: an error (alert) or a confirmation (status).
#[component]
pub fn FormNotice(#[prop(into)] error: Signal<Option<FormError>>) -> impl IntoView {
    view! {
        <div
            role="alert"
            class="empty:hidden rounded border border-red-700 bg-red-50 px-4 py-3 text-red-800 dark:bg-red-950 dark:text-red-200"
        >
            {move || error.get().and_then(|e| e.for_page())}
        </div>
    }
}

/// A confirmation shown after a successful action.
#[component]
pub fn Notice(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <div
            role="status"
            class="empty:hidden rounded border border-emerald-700 bg-emerald-50 px-4 py-3 text-emerald-900 dark:bg-emerald-950 dark:text-emerald-100"
        >
            {move || message.get()}
        </div>
    }
}

/// The form's submit button; it says it is working while the action runs.
#[component]
pub fn Submit(label: &'static str, #[prop(into)] pending: Signal<bool>) -> impl IntoView {
    view! {
        <button
            type="submit"
            aria-busy=move || pending.get().then_some("true")
            class=format!("self-start {}", ButtonKind::Primary.class())
        >
            {move || if pending.get() { "Working…" } else { label }}
        </button>
    }
}
