//! Custodian's pages and server functions, compiled for the server (`ssr`) and the browser
//! (`hydrate`).

pub mod account;
pub mod auth;
pub mod home;
pub mod mfa;
pub mod platform;
pub mod privacy;
pub mod security;
pub mod ui;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute, SsrMode,
};

/// The HTML document around the app. Every inline or external script carries the response's
/// CSP nonce.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en" class=privacy::theme_class()>
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
                    <Route path=path!("signup") view={Lazy::<SignUpRoute>::new()} />
                    <Route path=path!("signin") view={Lazy::<SignInRoute>::new()} />
                    <Route path=path!("signin/verify") view={Lazy::<SecondStepRoute>::new()} />
                    <Route path=path!("forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} />
                    <Route path=path!("reset-password") view={Lazy::<ResetPasswordRoute>::new()} />
                    <Route path=path!("not-me") view={Lazy::<NotMeRoute>::new()} />
                    <Route path=path!("verify-email") view={Lazy::<VerifyEmailRoute>::new()} />
                    <Route path=path!("confirm-email") view={Lazy::<ConfirmEmailRoute>::new()} />
                    // In order: signed-in pages arrive complete, so they read right without JS.
                    <Route path=path!("account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("security") view={Lazy::<SecurityLogRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("security/sessions") view={Lazy::<SessionsRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("security/factors") view={Lazy::<FactorsRoute>::new()} ssr=SsrMode::InOrder />
                    // In order: the consent history reads right without JS.
                    <Route path=path!("privacy") view={Lazy::<PrivacyRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("privacy/verify-receipt") view={Lazy::<VerifyReceiptRoute>::new()} />
                    // Async: the whole policy is known before the answer starts, so an unknown
                    // document or version is answered 404.
                    <Route path=path!("policies/:document") view={Lazy::<PolicyRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("policies/:document/v/:version") view={Lazy::<PolicyRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("policies/:document/history") view={Lazy::<PolicyHistoryRoute>::new()} ssr=SsrMode::Async />
                </Routes>
            </ui::Layout>
        </Router>
    }
}

/// A route whose page the browser loads only when it is visited: its code is a WASM chunk of
/// its own (cargo-leptos `--split`), so the first page needs only the shell and its own code.
macro_rules! lazy_page {
    ($route:ident, $page:path) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    };
}

lazy_page!(SignUpRoute, auth::SignUpPage);
lazy_page!(SignInRoute, auth::SignInPage);
lazy_page!(SecondStepRoute, mfa::SecondStepPage);
lazy_page!(ForgotPasswordRoute, auth::ForgotPasswordPage);
lazy_page!(ResetPasswordRoute, auth::ResetPasswordPage);
lazy_page!(NotMeRoute, auth::NotMePage);
lazy_page!(VerifyEmailRoute, auth::VerifyEmailPage);
lazy_page!(ConfirmEmailRoute, account::ConfirmEmailPage);
lazy_page!(AccountRoute, account::AccountPage);
lazy_page!(SecurityLogRoute, security::SecurityLogPage);
lazy_page!(SessionsRoute, security::SessionsPage);
lazy_page!(FactorsRoute, mfa::FactorsPage);
lazy_page!(PrivacyRoute, privacy::PrivacyPage);
lazy_page!(VerifyReceiptRoute, privacy::VerifyReceiptPage);
lazy_page!(PolicyRoute, privacy::PolicyDocumentPage);
lazy_page!(PolicyHistoryRoute, privacy::PolicyHistoryPage);
