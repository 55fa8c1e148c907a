//! What a page shows while its data loads, and when it could not be read.

use leptos::prelude::*;

use super::{form::FormError, kit::LINK};

/// What the page shows when the session has ended or the data could not be read.
#[component]
pub fn LoadError(error: FormError) -> impl IntoView {
    match error {
        FormError::SignedOut => view! {
            <p role="alert" class="mt-6">
                "You are signed out. "
                <a href="/signin" class=LINK>
                    "Sign in"
                </a>
                " to continue."
            </p>
        }
        .into_any(),
        other => view! {
            <p role="alert" class="mt-6 text-red-700 dark:text-red-300">
                {other.to_string()}
            </p>
        }
        .into_any(),
    }
}

/// The placeholder while a page's data is on its way, announced as a status.
#[component]
pub fn Loading(what: &'static str) -> impl IntoView {
    view! {
        <p role="status" class="mt-6">
            {what}
        </p>
    }
}
