//! Custodian's pages and server functions, compiled for the server (`ssr`) and the browser
//! (`hydrate`).

pub mod account;
pub mod auth;
pub mod home;
pub mod mfa;
#[cfg(feature = "ssr")]
pub mod platform;
pub mod security;
pub mod ui;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app. Every inline or external script carries the response's
/// CSP nonce.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <meta name="theme-color" content="#312e81" />
                <meta
                    name="description"
                    content="Your account, security and privacy center: every promise enforced by code."
                />
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="icon" type="image/png" sizes="192x192" href="/icons/icon-192.png" />
                <link rel="apple-touch-icon" href="/icons/icon-192.png" />
                <script src="/sw-register.js" defer nonce=use_nonce()></script>
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-white text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/custodian.css" />
        <Title formatter=|page: String| format!("{page} · Custodian") />
        <Router>
            <ui::Layout>
                <Routes fallback=ui::NotFound>
                    // In order: the status panel arrives resolved, so it reads right without JS.
                    <Route path=path!("") view=home::HomePage ssr=SsrMode::InOrder />
                    <Route path=path!("signup") view=auth::SignUpPage />
                    <Route path=path!("signin") view=auth::SignInPage />
                    <Route path=path!("signin/verify") view=mfa::SecondStepPage />
                    <Route path=path!("forgot-password") view=auth::ForgotPasswordPage />
                    <Route path=path!("reset-password") view=auth::ResetPasswordPage />
                    <Route path=path!("verify-email") view=auth::VerifyEmailPage />
                    <Route path=path!("confirm-email") view=account::ConfirmEmailPage />
                    // In order: signed-in pages arrive complete, so they read right without JS.
                    <Route path=path!("account") view=account::AccountPage ssr=SsrMode::InOrder />
                    <Route path=path!("security") view=security::SecurityLogPage ssr=SsrMode::InOrder />
                    <Route path=path!("security/sessions") view=security::SessionsPage ssr=SsrMode::InOrder />
                    <Route path=path!("security/factors") view=mfa::FactorsPage ssr=SsrMode::InOrder />
                </Routes>
            </ui::Layout>
        </Router>
    }
}
