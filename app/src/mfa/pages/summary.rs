//! The factors at a glance, for the top of the Security log.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    mfa::{
        api::list_factors,
        model::{TotpState, BACKUP_CODES_LOW},
    },
    ui::LINK,
};

/// The factors at a glance, for the top of the Security log.
#[component]
pub fn FactorSummary() -> impl IntoView {
    let summary = Resource::new(|| (), |()| list_factors());
    view! {
        <Suspense fallback=|| ()>
            {move || {
                summary
                    .get()
                    .and_then(Result::ok)
                    .map(|f| {
                        let totp = match f.totp {
                            TotpState::On => "on",
                            _ => "off",
                        };
                        let backup = f
                            .backup_codes_left
                            .map(|n| format!(" · Backup codes: {n} left"));
                        let low = f.backup_codes_left.is_some_and(|n| n <= BACKUP_CODES_LOW);
                        view! {
                            <p class="mt-4 rounded border border-slate-300 px-4 py-3 dark:border-slate-700">
                                <strong>
                                    {if f.any() {
                                        "Two-step sign-in is on. "
                                    } else {
                                        "Two-step sign-in is off. "
                                    }}
                                </strong>
                                {format!(
                                    "Passkeys: {} · Authenticator app: {totp}",
                                    f.passkeys.len(),
                                )}
                                {backup}
                                {low
                                    .then(|| {
                                        view! {
                                            <strong class="ml-1 text-amber-800 dark:text-amber-300">
                                                "(running low)"
                                            </strong>
                                        }
                                    })}
                                " "
                                <A href="/security/factors" attr:class=LINK>
                                    "Manage"
                                </A>
                            </p>
                        }
                    })
            }}
        </Suspense>
    }
}
