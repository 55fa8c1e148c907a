//! Consent on every request that acts for a person (promise P6): reads the signed consent
//! cookie, the theme and `Sec-GPC`; records GPC once per subject and policy version (giving a
//! browser without one a consent id); applies what holds for a signed-in account on every
//! device (a GPC signal from another of its browsers, P15); hands pages what the banner needs;
//! and counts a page view only with analytics consent, no GPC and no restriction of processing.

use axum::{
    extract::{Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::Response,
};
use tower_sessions::Session;
use uuid::Uuid;

use super::service::{
    analytics::{self, PageRoutes},
    consent::{consent_cookie, set_cookie, ConsentCookie, ConsentRequest},
    ledger::{self, Subject},
    policies,
};
use crate::platform::{
    client::ClientInfo,
    context::Visitor,
    http::{is_html, RequestKind},
    rate_limit::Action,
    restriction,
    session::CurrentUser,
    state::AppState,
};

pub async fn consent(
    State((state, routes)): State<(AppState, PageRoutes)>,
    mut request: Request,
    next: Next,
) -> Response {
    let kind = request.extensions().get::<RequestKind>().copied();
    let (Some(kind), Some(client), Some(session)) = (
        kind.filter(|kind| kind.for_person),
        request.extensions().get::<ClientInfo>().cloned(),
        request.extensions().get::<Session>().cloned(),
    ) else {
        return next.run(request).await;
    };
    let https = state.public_url.scheme() == "https";
    let mut consent = ConsentRequest::read(
        request.headers(),
        request.uri().query(),
        &state.key_encryption_key,
        https,
    );
    let user = request.extensions().get::<CurrentUser>().cloned();
    let Ok(mut visitor) = Visitor::new(&state, client, session, user.clone()) else {
        // Only a signed-in person of a region this server does not serve; the request is
        // refused further on.
        return next.run(request).await;
    };
    let mut new_cookie = None;
    // A browser new to the server gets a consent id for its GPC record, within the network's
    // limit: beyond it, GPC is still honored, just not recorded, so cookieless requests cannot
    // add rows without bound.
    let may_mint = consent.gpc
        && kind.page_view
        && consent.cookie.is_none()
        && visitor.count(Action::Consent).await.is_ok();
    if may_mint {
        let minted = ConsentCookie {
            id: Uuid::new_v4(),
            policy_version: 0,
            choice: None,
        };
        consent.cookie = Some(minted);
        new_cookie = set_cookie(
            &state,
            consent_cookie(https),
            &minted.encode(&state.key_encryption_key),
        );
    }
    let consent_id = consent.cookie.map(|c| c.id);
    if let Some(client) = request.extensions_mut().get_mut::<ClientInfo>() {
        client.consent_id = consent_id;
        if let Ok(with_consent_id) =
            Visitor::new(&state, client.clone(), visitor.session().clone(), user.clone())
        {
            visitor = with_consent_id;
        }
    }
    if kind.page_view {
        if consent.gpc {
            let subject = match (&user, consent_id) {
                (Some(user), _) => Some(Subject::Account(user.tenant())),
                (None, Some(id)) => Some(Subject::Browser(id)),
                (None, None) => None,
            };
            if let Some(subject) = subject {
                let choice = consent.cookie.and_then(|c| c.choice);
                if let Err(error) = ledger::record_gpc(&visitor, subject, choice).await {
                    tracing::warn!(%error, "could not record the GPC signal");
                }
            }
        }
        let reviews = match &user {
            Some(user) => {
                let account = account_state(&visitor, user).await;
                consent.account = account.signals;
                consent.restricted = account.restricted;
                account.reviews
            }
            None => Vec::new(),
        };
        request.extensions_mut().insert(consent.page(reviews));
    }
    request.extensions_mut().insert(consent);
    let path = request.uri().path().to_owned();

    let mut response = next.run(request).await;
    let route = routes.route_of(&path);
    if let (true, Some(route)) = (
        kind.page_view
            && consent.analytics_allowed()
            && response.status() == StatusCode::OK
            && is_html(response.headers()),
        route,
    ) {
        let day = state.clock.now().date();
        if let Err(error) = analytics::count_view(&state.pool, route, day).await {
            tracing::warn!(%error, "could not count a page view");
        }
    }
    if let Some(cookie) = new_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// What a signed-in person's pages need of their account: the policy changes still to review,
/// what applies on every device (GPC, sale or sharing), and whether processing is restricted.
struct AccountState {
    reviews: Vec<super::model::PolicyNotice>,
    signals: ledger::AccountSignals,
    restricted: bool,
}

/// The account's state in one transaction; when it cannot be read, no reviews (the banner waits
/// for the next page rather than failing this one) and, to be safe, not counted.
async fn account_state(visitor: &Visitor, user: &CurrentUser) -> AccountState {
    let state = async {
        let mut tx = visitor.begin(user.tenant()).await?;
        let reviews = policies::pending_reviews(&mut tx).await?;
        let signals = ledger::account_signals(&mut tx, visitor.now()).await?;
        let restricted = restriction::of(&mut tx, user.tenant().owner_id)
            .await?
            .is_some();
        tx.commit().await?;
        Ok::<_, super::service::PrivacyError>(AccountState {
            reviews,
            signals,
            restricted,
        })
    };
    state.await.unwrap_or_else(|error| {
        tracing::warn!(%error, "could not read the account's consent state");
        AccountState {
            reviews: Vec::new(),
            signals: ledger::AccountSignals::default(),
            restricted: true,
        }
    })
}
