//! The request path: tracing → security headers → limits on time and size → cross-site check →
//! signed form errors → session → current user → consent → route.

use std::{sync::Arc, time::Duration};

use app::apps::{
    http::{serve_app, serve_app_nowhere},
    model::loggable_path,
};
use app::{
    catalog,
    platform::{session::SessionRecords, state::AppState},
    privacy::{middleware::consent, service::analytics::PageRoutes},
    shell, App,
};
use axum::{
    body::Body,
    extract::State,
    http::{header, Request, StatusCode},
    middleware::{from_fn_with_state, Next},
    response::Response,
    routing::get,
    Router,
};
use leptos::{nonce::Nonce, prelude::provide_context};
use leptos_axum::{file_and_error_handler_with_context, generate_route_list, LeptosRoutes};
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower_http::{
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

use crate::{
    health,
    middleware::{
        identify, limit_body, reject_cross_site, security_headers, signed_form_errors, BodyLimits,
        SitePolicy,
    },
};

/// Uploads the server reads at once (each up to an app's worth of files, held in memory).
const UPLOADS_AT_ONCE: usize = 4;

/// How much a request may send and how long it may take.
#[derive(Clone, Copy)]
pub struct RequestLimits {
    /// The largest request body; the longest form (a pasted receipt) is 64 KiB.
    pub body_bytes: usize,
    /// The largest body of an app's upload (an app's worth of files).
    pub upload_bytes: usize,
    /// A request still unanswered after this is answered 408.
    pub timeout: Duration,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            body_bytes: 256 * 1024,
            upload_bytes: app::apps::model::UPLOAD_BODY_BYTES,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Gives pages and server functions the state and the catalog of every area, and Leptos the
/// nonce that the security-headers middleware put in the request, so the hydration scripts carry
/// the same nonce as the CSP header.
fn provide_request_context(state: AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let catalog = catalog();
    move || {
        provide_context(state.clone());
        provide_context(catalog.clone());
        let nonce = leptos::prelude::use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
        if let Some(nonce) = nonce {
            provide_context(nonce);
        }
    }
}

/// Every route of the site, wrapped in the middleware stack.
pub fn build(state: AppState, session_store: SessionRecords) -> Router {
    let context = provide_request_context(state.clone());
    let options = state.leptos_options.clone();
    let pages = generate_route_list(App);
    let page_routes = PageRoutes::new(pages.iter().map(|page| page.path().to_owned()));
    let routes = Router::new()
        .route("/healthz", get(health::healthz))
        .merge(app::server::routes())
        .leptos_routes_with_context(&state, pages, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
        .with_state(state.clone());
    with_middleware(
        routes,
        state,
        session_store,
        page_routes,
        RequestLimits::default(),
    )
}

/// The middleware stack, in request order: request id and tracing, compression, security
/// headers, limits on time and size, the cross-site check (before any session work, so a refused request costs
/// no database round trip), signed form errors, the session, the current user, then consent.
pub fn with_middleware(
    routes: Router,
    state: AppState,
    session_store: SessionRecords,
    page_routes: PageRoutes,
    limits: RequestLimits,
) -> Router {
    let policy = SitePolicy::new(&state.public_url, &state.app_hosts);
    let sessions = SessionManagerLayer::new(session_store)
        .with_name(policy.session_cookie_name())
        .with_secure(policy.https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        // A browser-session cookie until sign-in sets the real lifetime; the server judges idle
        // and absolute expiry itself (app::auth::session).
        .with_expiry(Expiry::OnSessionEnd);

    routes
        .layer(
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
                            path = %loggable_path(request.uri().path()),
                            request_id,
                        )
                    }),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CompressionLayer::new())
                .layer(from_fn_with_state(policy.clone(), security_headers))
                // Inside the security headers, so a refusal for size or time carries them too.
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    limits.timeout,
                ))
                .layer(from_fn_with_state(
                    BodyLimits {
                        any: limits.body_bytes,
                        upload: limits.upload_bytes,
                        uploads_at_once: Arc::new(Semaphore::new(UPLOADS_AT_ONCE)),
                        policy: policy.clone(),
                    },
                    limit_body,
                ))
                .layer(from_fn_with_state(policy.clone(), reject_cross_site))
                .layer(from_fn_with_state(state.clone(), signed_form_errors))
                .layer(sessions)
                .layer(from_fn_with_state((state.clone(), policy), identify))
                .layer(from_fn_with_state((state.clone(), page_routes), consent)),
        )
        // Outermost: an app's origin shares nothing of the site's stack (no session, no cookie).
        .layer(from_fn_with_state(state, app_origins))
}

/// Answers every request to an app's own origin (by its Host) with the app's content alone;
/// any other request goes on to the site.
async fn app_origins(
    State(state): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(|authority| authority.as_str())
        })
        .unwrap_or_default()
        .to_owned();
    if !state.app_hosts.is_apps_host(&host) {
        return next.run(request).await;
    }
    match state.app_hosts.app_of_host(&host) {
        Some(app) => serve_app(state, app, request).await,
        None => serve_app_nowhere(request).await,
    }
}
