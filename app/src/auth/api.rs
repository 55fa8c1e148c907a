//! Sign-up, sign-in, sign-out, address verification, password reset and re-authentication, as
//! server functions that plain HTML forms post to, and the types their pages share.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ui::form::FormError;

/// The data region chosen at sign-up (promise P11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Region {
    UsEast,
    EuWest,
}

impl Region {
    pub const ALL: [Region; 2] = [Region::UsEast, Region::EuWest];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsEast => "us-east",
            Self::EuWest => "eu-west",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::UsEast => "US-East",
            Self::EuWest => "EU-West",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

/// Why a session ended, carried to the sign-in page in its query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionEnd {
    Idle,
    Expired,
    Revoked,
}

impl SessionEnd {
    pub fn as_query(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Expired => "expired",
            Self::Revoked => "ended",
        }
    }

    pub fn from_query(value: &str) -> Option<Self> {
        [Self::Idle, Self::Expired, Self::Revoked]
            .into_iter()
            .find(|reason| reason.as_query() == value)
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::Idle => {
                "You were signed out after 30 minutes without activity. Sign in to continue."
            }
            Self::Expired => "Your session reached its time limit. Sign in to continue.",
            Self::Revoked => "Your session was ended. Sign in to continue.",
        }
    }
}

/// Where a sign-in leads: the page it was asked for when that is a path on this site (by the one
/// strict rule of `platform::paths`) other than the sign-in pages, else the Account page.
pub fn after_sign_in(next: Option<&str>) -> String {
    match next.and_then(crate::platform::paths::local_path) {
        Some(path) if !path.starts_with("/signin") => path.to_owned(),
        _ => "/account".to_owned(),
    }
}

/// The strength meter's reading of a password being typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrengthReading {
    /// 0 (very weak) to 4 (very strong).
    pub score: u8,
    pub acceptable: bool,
    pub advice: String,
}

#[server(endpoint = "signup")]
pub async fn sign_up(
    email: String,
    display_name: String,
    password: String,
    region: String,
    invite: String,
) -> Result<(), FormError> {
    use super::{accounts, guard};
    use crate::platform::rate_limit::Action;

    let region = Region::parse(&region)
        .ok_or_else(|| FormError::field("region", "Choose a data region."))?;
    let (state, client) = guard::limited(Action::Authenticate).await?;
    // A taken address is answered as a fresh one: its owner is mailed instead.
    accounts::sign_up(
        &state,
        accounts::SignUp {
            email,
            display_name,
            password,
            region,
            invite,
        },
        &client,
    )
    .await?;
    leptos_axum::redirect("/signin?notice=signed-up");
    Ok(())
}

#[server(endpoint = "signin")]
pub async fn sign_in(
    email: String,
    password: String,
    remember: Option<String>,
    next: Option<String>,
) -> Result<(), FormError> {
    use super::{guard, signin};
    use crate::platform::rate_limit::Action;

    if email.trim().is_empty() {
        return Err(FormError::field("email", "Enter your email address."));
    }
    if password.is_empty() {
        return Err(FormError::field("password", "Enter your password."));
    }
    let (state, client) = guard::limited(Action::Authenticate).await?;
    let session = guard::session()?;
    let outcome = signin::sign_in(
        &state,
        &session,
        &email,
        &password,
        remember.is_some(),
        &client,
    )
    .await?;
    let next = after_sign_in(next.as_deref());
    match outcome {
        signin::SignInOutcome::SignedIn(_) => leptos_axum::redirect(&next),
        signin::SignInOutcome::SecondFactorNeeded => leptos_axum::redirect(&format!(
            "/signin/verify?next={}",
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        )),
    }
    Ok(())
}

#[server(endpoint = "signout")]
pub async fn sign_out() -> Result<(), FormError> {
    use super::{guard, signin};

    let (state, client) = guard::request()?;
    if let Ok(user) = guard::user() {
        signin::sign_out(&state, &guard::session()?, &user.signed_in, &client).await?;
    }
    // Whatever this browser kept of the account goes with the session: cookies (also the consent
    // id, so the next person here starts afresh) and storage.
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            axum::http::HeaderName::from_static("clear-site-data"),
            axum::http::HeaderValue::from_static("\"cookies\", \"storage\""),
        );
    }
    crate::privacy::consent::forget_browser(&state);
    leptos_axum::redirect("/signin?notice=signed-out");
    Ok(())
}

#[server(endpoint = "password-strength")]
pub async fn password_strength(
    password: String,
    email: String,
    display_name: String,
) -> Result<StrengthReading, FormError> {
    use super::{accounts::AuthError, guard, password};
    use crate::platform::rate_limit::Action;

    let (state, _) = guard::limited(Action::StrengthCheck).await?;
    if password.chars().count() > password::MAX_CHARS {
        return Ok(StrengthReading {
            score: 0,
            acceptable: false,
            advice: password::PasswordError::TooLong.to_string(),
        });
    }
    // The context only adds words to try; longer than any valid address or name is noise.
    let email: String = email.chars().take(254).collect();
    let display_name: String = display_name.chars().take(100).collect();
    let reading = state
        .hashing
        .run(move || {
            let strength = password::strength(&password, &[&email, &display_name]);
            let checked = password::check_new(&password, &[&email, &display_name]);
            StrengthReading {
                score: strength.score,
                acceptable: checked.is_ok(),
                advice: match checked {
                    Ok(()) => strength.advice.unwrap_or_default(),
                    Err(error) => error.to_string(),
                },
            }
        })
        .await
        .map_err(|error| AuthError::Password(error.into()))?;
    Ok(reading)
}

#[server(endpoint = "verify-email")]
pub async fn verify_email(token: String) -> Result<(), FormError> {
    use super::{accounts, guard};

    let (state, client) = guard::request()?;
    accounts::verify_email(&state, &token, &client).await?;
    leptos_axum::redirect(if guard::user().is_ok() {
        "/account?notice=email-verified"
    } else {
        "/signin?notice=email-verified"
    });
    Ok(())
}

#[server(endpoint = "forgot-password")]
pub async fn request_password_reset(email: String) -> Result<(), FormError> {
    use super::{guard, recovery};

    let (state, client) = guard::limited(crate::platform::rate_limit::Action::Authenticate).await?;
    recovery::request_password_reset(&state, &email, &client).await?;
    leptos_axum::redirect("/forgot-password?notice=sent");
    Ok(())
}

#[server(endpoint = "reset-password")]
pub async fn reset_password(
    token: String,
    password: String,
    confirm: String,
    remove_factors: Option<String>,
) -> Result<(), FormError> {
    use super::{guard, recovery};

    let (state, client) = guard::limited(crate::platform::rate_limit::Action::Authenticate).await?;
    recovery::reset_password(
        &state,
        recovery::Reset {
            token: &token,
            new_password: &password,
            confirm: &confirm,
            remove_factors: remove_factors.is_some(),
        },
        &client,
    )
    .await?;
    leptos_axum::redirect("/signin?notice=password-reset");
    Ok(())
}

/// Uses a mailed "this wasn't me" link: every session ends, then the page to choose a new
/// password (and to remove the sign-in methods someone else may have added).
#[server(endpoint = "not-me")]
pub async fn not_me(token: String) -> Result<(), FormError> {
    use super::{guard, recovery};

    let (state, client) = guard::limited(crate::platform::rate_limit::Action::Authenticate).await?;
    let reset = recovery::not_me(&state, &token, &client).await?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", &reset)
        .append_pair("after", "not-me")
        .finish();
    leptos_axum::redirect(&format!("/reset-password?{query}"));
    Ok(())
}

/// Re-authentication for sudo mode: the password again, then ten minutes of sensitive actions.
#[server(endpoint = "sudo")]
pub async fn confirm_sudo(sudo_password: String) -> Result<(), FormError> {
    use super::guard;

    guard::grant_sudo(&sudo_password).await
}
