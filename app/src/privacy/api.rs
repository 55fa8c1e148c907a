//! The privacy area's server functions (promises P6, P7).

use leptos::prelude::*;

use super::model::{AcknowledgedPolicy, Choices, DataLocations, ConsentRow, PolicyText, PolicyVersions, ReceiptVerdict};
use crate::ui::FormError;

/// Records a choice from the banner or the privacy page and makes it take effect at once.
/// `choice` is "accept", "reject" or "custom" (then the three switches count); `back` is the
/// page to return to.
#[server(endpoint = "privacy/consent")]
pub async fn save_consent(
    choice: String,
    method: String,
    functional: Option<String>,
    analytics: Option<String>,
    sale_share_opt_out: Option<String>,
    back: Option<String>,
) -> Result<Choices, FormError> {
    use super::service::{consent, ledger::Method};
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::limited(Action::Consent).await?;
    let choices = consent::parse_choice(
        &choice,
        functional.is_some(),
        analytics.is_some(),
        sale_share_opt_out.is_some(),
    )?;
    let method = Method::from_form(&method)?;
    consent::save_from_request(&visitor, choices, method).await?;
    leptos_axum::redirect(&consent::back_path(back.as_deref()));
    Ok(choices)
}

/// Applies a theme. It is remembered (a functional cookie) only with functional consent;
/// otherwise it lasts for the page. Returns whether it was remembered.
#[server(endpoint = "privacy/theme")]
pub async fn save_theme(theme: String, back: Option<String>) -> Result<bool, FormError> {
    use super::{model::Theme, service::consent};
    use crate::platform::context::Visitor;

    let theme = Theme::parse(&theme)
        .ok_or_else(|| FormError::field("theme", "Choose one of the themes listed."))?;
    let remembered = consent::save_theme(&Visitor::current()?, theme);
    let back = consent::back_path(back.as_deref());
    if remembered {
        leptos_axum::redirect(&back);
    } else {
        // Without the cookie, a page loaded without JavaScript learns the theme from its address.
        let separator = if back.contains('?') { '&' } else { '?' };
        leptos_axum::redirect(&format!("{back}{separator}theme={}", theme.as_str()));
    }
    Ok(remembered)
}

/// The consent history of this browser, or of the signed-in person (with the records of the
/// browsers they signed in on).
#[server(endpoint = "privacy/history")]
pub async fn consent_history() -> Result<Vec<ConsentRow>, FormError> {
    use crate::platform::context::Visitor;

    Ok(super::service::ledger::history(&Visitor::current()?).await?)
}

/// Where data is kept, from the configuration the router uses.
#[server(endpoint = "privacy/locations")]
pub async fn where_data_lives() -> Result<DataLocations, FormError> {
    use crate::platform::context::Visitor;

    let visitor = Visitor::current()?;
    let state = visitor.state();
    Ok(DataLocations {
        regions: state
            .regions
            .cells()
            .map(|(region, _)| region.label().to_owned())
            .collect(),
        yours: visitor.user().map(|user| user.tenant().region.label().to_owned()),
        mail_origin: state.mail_origin.to_string(),
        deletion_grace_days: state.retention.deletion_grace_days,
        backup_days: state.retention.backup_days,
    })
}

#[server(endpoint = "policies/page")]
pub async fn policy_page(document: String, version: Option<i32>) -> Result<PolicyText, FormError> {
    use crate::platform::context::Visitor;

    let visitor = Visitor::current()?;
    Ok(super::service::policies::page(&visitor.state().pool, &document, version).await?)
}

#[server(endpoint = "policies/history")]
pub async fn policy_history(document: String) -> Result<PolicyVersions, FormError> {
    use crate::platform::context::Visitor;

    let visitor = Visitor::current()?;
    Ok(super::service::policies::history(&visitor.state().pool, &document).await?)
}

/// Records that the signed-in person has seen the named version of a policy.
#[server(endpoint = "policies/acknowledge")]
pub async fn acknowledge_policy(
    document: String,
    version: i32,
    back: Option<String>,
) -> Result<AcknowledgedPolicy, FormError> {
    use super::service::{consent::back_path, policies};
    use crate::platform::context::SignedIn;

    policies::acknowledge(&SignedIn::current()?, &document, version).await?;
    leptos_axum::redirect(&back_path(back.as_deref()));
    Ok(AcknowledgedPolicy { document, version })
}

#[server(endpoint = "privacy/verify-receipt")]
pub async fn verify_receipt(receipt: String) -> Result<ReceiptVerdict, FormError> {
    use super::{model::MAX_RECEIPT_LEN, service::receipts};
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::limited(Action::ReceiptCheck).await?;
    if receipt.trim().is_empty() {
        return Err(FormError::field("receipt", "Paste a receipt to check."));
    }
    if receipt.len() > MAX_RECEIPT_LEN {
        return Err(FormError::field(
            "receipt",
            "That is far longer than any receipt; paste the receipt file's text only.",
        ));
    }
    Ok(receipts::verify(visitor.state(), &receipt))
}
