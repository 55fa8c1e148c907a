//! The request path: tracing → security headers → session → current user → origin check →
//! route.

use app::{platform::state::AppState, shell, App};
use axum::{http::Request, middleware::from_fn_with_state, routing::get, Router};
use leptos::{nonce::Nonce, prelude::provide_context};
use leptos_axum::{file_and_error_handler_with_context, generate_route_list, LeptosRoutes};
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::{
    health,
    middleware::{consent, identify, reject_cross_site, security_headers, SitePolicy},
    privacy,
};

/// Gives Leptos the nonce that the security-headers middleware put in the request, so the
/// hydration scripts carry the same nonce as the CSP header.
fn provide_request_context(state: AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(state.clone());
        let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
        if let Some(nonce) = nonce {
            provide_context(nonce);
        }
    }
}

/// Every route of the site, wrapped in the middleware stack.
pub fn build(state: AppState, session_store: PostgresStore) -> Router {
    let context = provide_request_context(state.clone());
    let options = state.leptos_options.clone();
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/.well-known/gpc.json", get(privacy::gpc))
        .route(
            "/.well-known/consent-receipt-key.json",
            get(privacy::receipt_key),
        )
        .route("/privacy/receipts/{id}", get(privacy::download_receipt))
        .leptos_routes_with_context(
            &state,
            generate_route_list(App),
            context.clone(),
            move || shell(options.clone()),
        )
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
        .with_state(state.clone());
    with_middleware(routes, state, session_store)
}

/// The middleware stack, in request order: request id and tracing, compression, security
/// headers, the session, the current user, consent, then the cross-site check.
pub fn with_middleware(routes: Router, state: AppState, session_store: PostgresStore) -> Router {
    let policy = SitePolicy::new(&state.public_url);
    let sessions = SessionManagerLayer::new(session_store)
        .with_name(policy.session_cookie_name())
        .with_secure(policy.https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        // A browser-session cookie until sign-in sets the real lifetime; the server judges idle
        // and absolute expiry itself (app::auth::session).
        .with_expiry(Expiry::OnSessionEnd);

    routes.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path only: query strings can carry invite codes and tokens.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id,
                    )
                }),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(CompressionLayer::new())
            .layer(from_fn_with_state(policy.clone(), security_headers))
            .layer(sessions)
            .layer(from_fn_with_state(
                (state.clone(), policy.clone()),
                identify,
            ))
            .layer(from_fn_with_state(state, consent))
            .layer(from_fn_with_state(policy, reject_cross_site)),
    )
}
