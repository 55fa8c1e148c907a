//! The rights pages' server functions (promise P15).

#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use super::model::{Regime, ReportRow, RightsOverview};
use crate::ui::FormError;

#[server(endpoint = "data/rights")]
pub async fn my_rights() -> Result<RightsOverview, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::overview(&SignedIn::current()?).await?)
}

/// The law a new request of the person is answered under unless they pick another (from their
/// data region).
#[server(endpoint = "data/rights/regime")]
pub async fn default_regime() -> Result<Regime, FormError> {
    use crate::platform::context::SignedIn;

    Ok(super::service::default_regime(SignedIn::current()?.tenant().region))
}

/// Makes a request of one or more rights; lands on Your data, where it is listed. Every field
/// is optional: a checkbox left off is absent, and the service says what is missing.
#[server(endpoint = "data/rights/request")]
pub async fn make_request(
    regime: Option<String>,
    correction: Option<String>,
    correction_data: Option<String>,
    correction_wrong: Option<String>,
    correction_should: Option<String>,
    restriction: Option<String>,
    restriction_reason: Option<String>,
    objection: Option<String>,
    objection_purpose: Option<String>,
    access: Option<String>,
    opt_out: Option<String>,
) -> Result<(), FormError> {
    use super::model::RequestForm;
    use crate::{data::model::DataNotice, platform::context::SignedIn};

    let form = RequestForm {
        regime: regime.unwrap_or_default(),
        correction: correction.is_some(),
        correction_data: correction_data.unwrap_or_default(),
        correction_wrong: correction_wrong.unwrap_or_default(),
        correction_should: correction_should.unwrap_or_default(),
        restriction: restriction.is_some(),
        restriction_reason: restriction_reason.unwrap_or_default(),
        objection: objection.is_some(),
        objection_purpose: objection_purpose.unwrap_or_default(),
        access: access.is_some(),
        opt_out: opt_out.is_some(),
    };
    super::service::make(&SignedIn::current()?, &form).await?;
    leptos_axum::redirect(&DataNotice::RequestMade.at("/data"));
    Ok(())
}

/// Lifts the person's granted restriction of processing.
#[server(endpoint = "data/rights/lift")]
pub async fn lift_restriction() -> Result<(), FormError> {
    use crate::{data::model::DataNotice, platform::context::SignedIn};

    super::service::lift(&SignedIn::current()?).await?;
    leptos_axum::redirect(&DataNotice::RestrictionLifted.at("/data"));
    Ok(())
}

/// Turns product news by mail on or off.
#[server(endpoint = "data/rights/product-news")]
pub async fn change_product_news(wanted: Option<String>) -> Result<(), FormError> {
    use crate::{data::model::DataNotice, platform::context::SignedIn};

    super::service::set_product_news(&SignedIn::current()?, wanted.is_some()).await?;
    leptos_axum::redirect(&DataNotice::ProductNewsChanged.at("/data"));
    Ok(())
}

/// The public yearly report.
#[server(endpoint = "privacy/requests-report")]
pub async fn requests_report() -> Result<Vec<ReportRow>, FormError> {
    use crate::platform::{context::Visitor, rate_limit::Action};

    let visitor = Visitor::limited(Action::Report).await?;
    Ok(super::report::report(&visitor.state().regions).await?)
}
