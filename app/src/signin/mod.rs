//! The sign-in area: signing in with a password and a second factor or a passkey, the session
//! that follows and its end (promise P4), re-authentication (sudo mode), and getting back in
//! (password reset, "this wasn't me"). It combines the accounts and second-factor areas, so
//! neither needs the other.

pub mod api;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod store;

use crate::platform::area::{pages, Area};

pages! {
    Anyone "signin" => SignInRoute(pages::SignInPage);
    Anyone "signin/verify" => SecondStepRoute(pages::SecondStepPage);
    Anyone "forgot-password" => ForgotPasswordRoute(pages::ForgotPasswordPage);
    Anyone "reset-password" => ResetPasswordRoute(pages::ResetPasswordPage);
    Anyone "not-me" => NotMeRoute(pages::NotMePage);
}

pub const AREA: Area = Area {
    name: "signin",
    pages: PAGES,
    routes,
    nav: None,
    notices: model::NOTICES,
    events: model::EVENTS,
    #[cfg(feature = "ssr")]
    server: crate::platform::server_parts::ServerParts {
        routes: None,
        jobs: &[],
        erase: Some(store::erase),
        seed: Some(store::seed),
        exports: store::EXPORTS,
        withheld: store::WITHHELD,
        files: &[],
        leave: None,
        reseal: None,
    },
};
