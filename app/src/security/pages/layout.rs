//! The frame of the Security pages: their navigation, then the page.

use leptos::prelude::*;
use leptos_router::components::{Outlet, A};

#[component]
pub fn SecurityLayout() -> impl IntoView {
    view! {
        <nav aria-label="Security" class="mb-6">
            <ul class="flex gap-6">
                <li>
                    <A href="/security" exact=true attr:class="aria-[current=page]:font-bold">
                        "Security log"
                    </A>
                </li>
                <li>
                    <A href="/security/sessions" attr:class="aria-[current=page]:font-bold">
                        "Sessions"
                    </A>
                </li>
                <li>
                    <A href="/security/factors" attr:class="aria-[current=page]:font-bold">
                        "Two-step sign-in"
                    </A>
                </li>
                <li>
                    <A href="/security/encryption" attr:class="aria-[current=page]:font-bold">
                        "Encryption key"
                    </A>
                </li>
            </ul>
        </nav>
        <Outlet />
    }
}
