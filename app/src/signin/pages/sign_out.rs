//! Signing out.

use leptos::prelude::*;

use crate::{signin::api::SignOut, ui::ButtonKind};

/// Sign-out, as a button that posts (nothing changes on GET).
#[component]
pub fn SignOutButton() -> impl IntoView {
    let action = ServerAction::<SignOut>::new();
    view! {
        <ActionForm action=action>
            <button type="submit" class=ButtonKind::Quiet.class()>
                "Sign out"
            </button>
        </ActionForm>
    }
}
