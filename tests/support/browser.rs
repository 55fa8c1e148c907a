//! A browser for tests that go through the real router: a cookie jar that keeps what responses
//! set and remembers every cookie name it saw, with form posts as a same-origin page sends them.

use std::{collections::BTreeSet, sync::Arc};

use app::{
    auth::service::invites,
    platform::{clock::ManualClock, regions::Regions, session::SessionRecords, state::AppState},
    privacy::service::policies,
};
use axum::{
    body::Body,
    http::{Request, Response, StatusCode},
    Router,
};
use custodian::router;
use sqlx::PgPool;

use super::{send, PASSWORD};

pub(crate) const FIREFOX: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
/// The origin the test site answers at.
pub(crate) const ORIGIN: &str = "http://127.0.0.1:3000";

/// The whole site on a fresh app-role pool, with a clock the test moves.
pub(crate) async fn site_with_clock(
    owner: &PgPool,
    clock: &ManualClock,
) -> (Router, AppState, tempfile::TempDir) {
    policies::sync_bundled(owner).await.unwrap();
    let pool = super::app_pool(owner, 4).await;
    let (state, dir) = super::state(pool.clone(), ORIGIN, Arc::new(clock.clone()));
    (
        router::build(state.clone(), SessionRecords::new(Regions::single(pool))),
        state,
        dir,
    )
}

/// The site on a test world's state (its pool, key and clock), for tests that mix service calls
/// and requests.
pub(crate) fn router(state: &AppState) -> Router {
    router::build(state.clone(), SessionRecords::new(state.regions.clone()))
}

pub(crate) async fn site(owner: &PgPool) -> (Router, AppState, tempfile::TempDir) {
    site_with_clock(owner, &ManualClock::starting_now()).await
}

/// A browser's cookie jar that also remembers the name of every cookie any response set.
#[derive(Default, Clone)]
pub(crate) struct Browser {
    pub(crate) jar: Vec<(String, String)>,
    pub(crate) gpc: bool,
    pub(crate) seen: BTreeSet<String>,
}

impl Browser {
    pub(crate) fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) fn keep(&mut self, response: &Response<Body>) {
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.seen.insert(name.to_owned());
            self.jar.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.jar.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    /// Signs up as ada@example.com with a fresh invite, then signs in.
    pub(crate) async fn join_as_ada(&mut self, app: &Router, owner: &PgPool, remember: bool) {
        let code = invites::create(owner, 7, None).await.unwrap().code;
        let password = PASSWORD.replace(' ', "+");
        let body = format!(
            "email=ada%40example.com&display_name=Ada&password={password}&region=eu-west&invite={code}"
        );
        self.post(app, "/api/signup", &body).await;
        let remember = if remember { "&remember=on" } else { "" };
        let body = format!("email=ada%40example.com&password={password}{remember}");
        let (response, _) = self.post(app, "/api/signin", &body).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{response:?}");
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.jar.iter().any(|(k, _)| k == name)
    }

    pub(crate) async fn page(&mut self, app: &Router, path: &str) -> (Response<Body>, String) {
        let mut request = Request::get(path)
            .header("accept", "text/html")
            .header("user-agent", FIREFOX)
            .header("cookie", self.cookie_header());
        if self.gpc {
            request = request.header("sec-gpc", "1");
        }
        let (response, body) = send(app, request.body(Body::empty()).unwrap()).await;
        self.keep(&response);
        (response, body)
    }

    pub(crate) async fn post(
        &mut self,
        app: &Router,
        path: &str,
        body: &str,
    ) -> (Response<Body>, String) {
        self.post_from(app, "/", path, body).await
    }

    /// Posts a form the way the page at `from` sends it without JavaScript.
    pub(crate) async fn post_from(
        &mut self,
        app: &Router,
        from: &str,
        path: &str,
        body: &str,
    ) -> (Response<Body>, String) {
        let mut request = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .header("accept", "text/html")
            .header("referer", format!("{ORIGIN}{from}"))
            .header("user-agent", FIREFOX)
            .header("cookie", self.cookie_header());
        if self.gpc {
            request = request.header("sec-gpc", "1");
        }
        let (response, body) = send(app, request.body(Body::from(body.to_owned())).unwrap()).await;
        self.keep(&response);
        (response, body)
    }
}

impl Browser {
    /// Signs in through the sign-in form; returns where it leads.
    pub(crate) async fn sign_in(&mut self, app: &Router, email: &str, remember: bool) -> String {
        let remember = if remember { "&remember=on" } else { "" };
        let body = format!(
            "email={}&password={}{remember}",
            email.replace('@', "%40"),
            PASSWORD.replace(' ', "+")
        );
        let (response, _) = self.post(app, "/api/signin", &body).await;
        super::header(&response, "location").to_owned()
    }

    /// The session cookie's value: the session's store id.
    pub(crate) fn session_id(&self) -> Option<String> {
        self.jar
            .iter()
            .find(|(k, _)| k == "custodian_session")
            .map(|(_, v)| v.clone())
    }

    /// Whether the Account page opens for this browser (rather than sending it to sign in).
    pub(crate) async fn is_signed_in(&mut self, app: &Router) -> bool {
        let (response, _) = self.page(app, "/account").await;
        response.status() == StatusCode::OK
    }
}

impl Browser {
    /// Posts as a page's script does (the answer is the server function's JSON with a status
    /// that says whose problem it is, not a redirect back to the form).
    pub(crate) async fn post_json(
        &mut self,
        app: &Router,
        path: &str,
        body: &str,
    ) -> (Response<Body>, String) {
        let request = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .header("accept", "application/json")
            .header("user-agent", FIREFOX)
            .header("cookie", self.cookie_header())
            .body(Body::from(body.to_owned()))
            .unwrap();
        let (response, body) = send(app, request).await;
        self.keep(&response);
        (response, body)
    }
}
