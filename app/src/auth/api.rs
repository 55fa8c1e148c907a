//! The accounts area's server functions: sign-up, the password-strength meter and address
//! verification. Plain HTML forms post to them.

use leptos::prelude::*;

use super::model::StrengthReading;
use crate::ui::FormError;

#[server(endpoint = "signup")]
pub async fn sign_up(
    email: String,
    display_name: String,
    password: String,
    region: String,
    invite: String,
) -> Result<(), FormError> {
    use super::{
        model::{AuthNotice, Region},
        service::accounts::{self, SignUp},
    };
    use crate::platform::{context::Visitor, rate_limit::Action};

    let region = Region::parse(&region)
        .ok_or_else(|| FormError::field("region", "Choose a data region."))?;
    let visitor = Visitor::limited(Action::Authenticate).await?;
    // A taken address is answered as a fresh one: its owner is mailed instead.
    let sign_up = SignUp {
        email,
        display_name,
        password,
        region,
        invite,
    };
    accounts::sign_up(&visitor, sign_up).await?;
    leptos_axum::redirect(&AuthNotice::SignedUp.at("/signin"));
    Ok(())
}

#[server(endpoint = "password-strength")]
pub async fn password_strength(
    password: String,
    email: String,
    display_name: String,
) -> Result<StrengthReading, FormError> {
    use super::{
        model::{DISPLAY_NAME_MAX_CHARS, PASSWORD_MAX_CHARS},
        service::password::{self, PasswordError},
    };
    use crate::platform::{context::Visitor, error::InfraError, rate_limit::Action};

    let visitor = Visitor::limited(Action::StrengthCheck).await?;
    if password.chars().count() > PASSWORD_MAX_CHARS {
        return Ok(StrengthReading {
            score: 0,
            acceptable: false,
            advice: PasswordError::TooLong.to_string(),
        });
    }
    // The context only adds words to try; longer than any valid address or name is noise.
    let email: String = email.chars().take(254).collect();
    let display_name: String = display_name.chars().take(DISPLAY_NAME_MAX_CHARS).collect();
    let reading = visitor
        .state()
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
        .map_err(InfraError::from)?;
    Ok(reading)
}

#[server(endpoint = "verify-email")]
pub async fn verify_email(token: String) -> Result<(), FormError> {
    use super::{model::AuthNotice, service::accounts};
    use crate::platform::context::Visitor;

    let visitor = Visitor::current()?;
    accounts::verify_email(&visitor, &token).await?;
    let page = if visitor.user().is_some() {
        "/account"
    } else {
        "/signin"
    };
    leptos_axum::redirect(&AuthNotice::EmailVerified.at(page));
    Ok(())
}
