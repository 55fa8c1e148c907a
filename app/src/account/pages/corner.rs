//! The header's account corner: the signed-in person's name with "Sign out", or "Sign in" and
//! how to join for a visitor. It follows navigation, so a sign-in or sign-out shows at once.

use leptos::{prelude::*, server::SharedValue};
use leptos_router::{components::A, hooks::use_location};

use crate::{account::api::whoami, signin::pages::SignOutButton, ui::LINK};

/// Whether the request that rendered the page was signed in (the browser reads the server's
/// answer from the page).
fn signed_in_at_load() -> bool {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>().is_some_and(|parts| {
            parts
                .extensions
                .get::<crate::platform::session::CurrentUser>()
                .is_some()
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        false
    }
}

#[component]
pub fn AccountCorner() -> impl IntoView {
    let signed_in = SharedValue::new(signed_in_at_load).into_inner();
    let location = use_location();
    let viewer = Resource::new(move || location.pathname.get(), |_| whoami());
    let until_known = move || {
        if signed_in {
            view! { <SignedInCorner name="Your account".to_owned() /> }.into_any()
        } else {
            view! { <SignedOutCorner /> }.into_any()
        }
    };
    view! {
        <Transition fallback=until_known>
            {move || {
                viewer
                    .get()
                    .map(|answer| match answer {
                        Ok(Some(viewer)) => {
                            view! { <SignedInCorner name=viewer.display_name /> }.into_any()
                        }
                        Ok(None) => view! { <SignedOutCorner /> }.into_any(),
                        Err(_) => until_known(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn SignedInCorner(name: String) -> impl IntoView {
    view! {
        <p>
            <span class="sr-only">"Signed in as "</span>
            <A href="/account" attr:class=LINK>
                {name}
            </A>
        </p>
        <SignOutButton />
    }
}

#[component]
fn SignedOutCorner() -> impl IntoView {
    view! {
        <A href="/signin" attr:class=LINK>
            "Sign in"
        </A>
        <A href="/signup" attr:class=LINK>
            "Join with an invite"
        </A>
    }
}
