//! The test harness every integration test shares. `TestApp` is the server as it runs, on the
//! test's own database (from #[sqlx::test], whose pool is the migration role): an app-role pool,
//! a clock the test moves, the key, one browser's client, the router, and ways to act as a
//! visitor or a signed-in person. `browser` drives the router with a cookie jar; `factors` makes
//! accounts with second factors.
#![allow(dead_code)]

pub(crate) mod browser;
pub(crate) mod factors;
pub(crate) mod regions;
pub(crate) mod upstream;

use std::sync::Arc;

use app::{
    auth::service::{
        accounts::{self, SignUp},
        invites,
    },
    platform::{
        audit,
        client::ClientInfo,
        clock::{Clock, ManualClock},
        config::{Retention, Settings},
        context::{Reauthenticated, SignedIn, Visitor},
        db::{self, TenantTx},
        hashing::HashingSlots,
        ids::{AccountSessionId, OwnerId},
        jobs::JobContext,
        keys,
        mail::Mailer,
        outbound::{Outbound, OutboundSettings},
        rate_limit::Limits,
        region::{Region, Tenant},
        regions::Regions,
        session::{self, Authentication, CurrentUser, SessionRecord, SessionRecords, SUDO_WINDOW},
        state::AppState,
    },
    privacy::service::policies,
    signin::service::{
        password_step,
        recovery::{self, Reset},
        SignInError,
    },
};
use axum::{
    body::Body,
    http::{Request, Response},
    Router,
};
use custodian::{cli, router};
use http_body_util::BodyExt;
use sqlx::PgPool;
use tower::ServiceExt;
use tower_sessions::Session;
use url::Url;

pub(crate) const PASSWORD: &str = "violet kettle drums at midnight";

/// The public URL the tests' server has: a domain name, as WebAuthn needs.
pub(crate) const SITE: &str = "http://localhost:3000";

/// The token of the (first) mailed link in a mail's body.
pub(crate) fn token_in(body: &str) -> String {
    body.split("token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a link with a token in the mail")
        .to_owned()
}

/// A transaction for `owner` in the default region, on `pool` (a test's database).
pub(crate) async fn tenant_tx(pool: &PgPool, owner: OwnerId) -> TenantTx {
    TenantTx::begin(
        &Regions::single(pool.clone()),
        Tenant::new(owner, Region::DEFAULT),
    )
    .await
    .unwrap()
}

/// The state the server would build, on `pool`, with `clock`; the directory holds the key.
pub(crate) fn state(
    pool: PgPool,
    public_url: &str,
    clock: Arc<dyn Clock>,
) -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let key = keys::load_or_create(&dir.path().join("kek.key")).unwrap();
    let settings =
        Settings::from_args(["custodian", "--site-root", dir.path().to_str().unwrap()]).unwrap();
    let state = AppState {
        leptos_options: cli::leptos_options(&settings),
        regions: Regions::single(pool.clone()),
        pool,
        public_url: Url::parse(public_url).unwrap(),
        app_hosts: settings
            .app_hosts(&Url::parse(public_url).unwrap())
            .unwrap(),
        key_encryption_key: Arc::new(key),
        clock,
        limits: Limits { per_address: 1_000 },
        // Tests send bursts on purpose; they wait for hashing rather than being told to retry.
        hashing: HashingSlots::new(2, std::time::Duration::from_secs(300)),
        sudo_window: SUDO_WINDOW,
        retention: Retention::default(),
        trusted_proxies: Arc::from([]),
        mail_origin: Arc::from("this server (tests)"),
        data_dir: Arc::from(dir.path()),
        outbound: Outbound::new(&OutboundSettings::default()).unwrap(),
    };
    (state, dir)
}

/// The server on a test's database.
pub(crate) struct TestApp {
    /// The migration role: for looking behind the app's back.
    pub(crate) owner: PgPool,
    pub(crate) state: AppState,
    pub(crate) clock: ManualClock,
    /// The browser the test acts from.
    pub(crate) client: ClientInfo,
    dir: tempfile::TempDir,
}

pub(crate) async fn test_app(owner: PgPool) -> TestApp {
    test_app_at(owner, SITE).await
}

/// The server answering at `public_url`.
pub(crate) async fn test_app_at(owner: PgPool, public_url: &str) -> TestApp {
    policies::sync_bundled(&owner).await.unwrap();
    let clock = ManualClock::starting_now();
    let pool = app_pool(&owner, 4).await;
    let (state, dir) = state(pool, public_url, Arc::new(clock.clone()));
    TestApp {
        owner,
        state,
        clock,
        client: ClientInfo {
            ip: "203.0.113.7".parse().unwrap(),
            user_agent: browser::FIREFOX.to_owned(),
            consent_id: None,
        },
        dir,
    }
}

impl TestApp {
    /// The whole site, through the middleware, on this app's state.
    pub(crate) fn router(&self) -> Router {
        router::build(
            self.state.clone(),
            SessionRecords::new(self.state.regions.clone()),
        )
    }

    /// The context the server's runner gives jobs of the default region, delivering mail with
    /// `mailer`.
    pub(crate) fn job_context(&self, mailer: Mailer) -> JobContext {
        JobContext::of_region(&self.state, mailer, Region::DEFAULT).unwrap()
    }

    /// The key file the server uses, for commands that need the same key.
    pub(crate) fn key_file(&self) -> std::path::PathBuf {
        self.dir.path().join("kek.key")
    }

    /// The migration role's URL of the database, as an operator's command gets it.
    pub(crate) fn database_url(&self) -> String {
        let options = self.owner.connect_options();
        format!(
            "postgres://postgres@127.0.0.1:5432/{}",
            options.get_database().unwrap_or("postgres")
        )
    }

    /// The settings an operator's command gets on the test's server: every database is the
    /// test's (the directory and both regions), with the test's key and data directory, and
    /// `extra` arguments.
    pub(crate) fn operator_settings(&self, extra: &[&str]) -> Settings {
        let url = self.database_url();
        let regions = format!("us-east={url},eu-west={url}");
        let key_file = self.key_file();
        let mut args = vec![
            "custodian",
            "--database-url",
            &url,
            "--region-database-urls",
            &regions,
            "--key-file",
            key_file.to_str().unwrap(),
            "--data-dir",
            self.state.data_dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        Settings::from_args(args).unwrap()
    }

    /// A fresh browser session in the server's store.
    pub(crate) fn session(&self) -> Session {
        self.reopen(None)
    }

    /// The session a browser sending the cookie of `id` would have on its next request.
    pub(crate) fn reopen(&self, id: Option<tower_sessions::session::Id>) -> Session {
        Session::new(
            id,
            Arc::new(SessionRecords::new(self.state.regions.clone())),
            None,
        )
    }

    /// A visitor with a fresh session, not signed in.
    pub(crate) fn visitor(&self) -> Visitor {
        self.visitor_on(&self.session())
    }

    /// A visitor on `session`, taken as it is (no look at whether it is signed in).
    pub(crate) fn visitor_on(&self, session: &Session) -> Visitor {
        Visitor::for_tests(
            self.state.clone(),
            self.client.clone(),
            session.clone(),
            None,
        )
        .unwrap()
    }

    /// A visitor signed in as `owner` (as `as_owner` makes them) or not, whose browser carries
    /// the consent id `consent_id`.
    pub(crate) fn visitor_as(
        &self,
        owner: Option<OwnerId>,
        consent_id: Option<uuid::Uuid>,
    ) -> Visitor {
        let mut client = self.client.clone();
        client.consent_id = consent_id;
        let user = owner.map(|owner| self.as_owner(owner).user().clone());
        Visitor::for_tests(self.state.clone(), client, self.session(), user).unwrap()
    }

    /// The visitor the next request with `session`'s cookie would be, as the middleware finds
    /// it: signed in when its session is.
    pub(crate) async fn visitor_of(&self, session: &Session) -> Visitor {
        let session = self.reopen(session.id());
        let user = match session::authenticate(&self.state, &session, true)
            .await
            .unwrap()
        {
            Authentication::SignedIn(user) => Some(user),
            _ => None,
        };
        Visitor::for_tests(self.state.clone(), self.client.clone(), session, user).unwrap()
    }

    /// The signed-in person of `session`, as the next request finds them.
    pub(crate) async fn signed_in(&self, session: &Session) -> SignedIn {
        self.visitor_of(session)
            .await
            .signed_in()
            .expect("the session is signed in")
    }

    /// The signed-in person of `session`, as the middleware finds them.
    pub(crate) async fn user(&self, session: &Session) -> CurrentUser {
        self.signed_in(session).await.user().clone()
    }

    /// `owner_id` as a person who just re-authenticated, without a listed browser session behind
    /// it: for calling services that need sudo or a re-authentication.
    pub(crate) fn as_owner(&self, owner_id: OwnerId) -> Reauthenticated {
        self.as_owner_on(owner_id, &self.session())
    }

    /// `as_owner`, in `session` (a passkey ceremony keeps its state there).
    pub(crate) fn as_owner_on(&self, owner_id: OwnerId, session: &Session) -> Reauthenticated {
        let now = self.clock.now();
        let record = SessionRecord::new(
            Tenant::new(owner_id, Region::DEFAULT),
            AccountSessionId::random(),
            false,
            now,
            self.state.sudo_window,
        )
        .with_sudo_until(now + self.state.sudo_window);
        let user = CurrentUser::for_tests(record, String::new());
        Visitor::for_tests(
            self.state.clone(),
            self.client.clone(),
            session.clone(),
            Some(user),
        )
        .unwrap()
        .signed_in()
        .and_then(SignedIn::reauthenticated)
        .unwrap_or_else(|_| unreachable!("a fresh re-authentication holds"))
    }

    pub(crate) async fn invite(&self) -> String {
        invites::create(&self.owner, 7, None).await.unwrap().code
    }

    pub(crate) fn sign_up_as(&self, email: &str, invite: String) -> SignUp {
        SignUp {
            email: email.to_owned(),
            display_name: "Ada".to_owned(),
            password: PASSWORD.to_owned(),
            region: Region::UsEast,
            invite,
        }
    }

    pub(crate) async fn sign_up(&self, email: &str) -> OwnerId {
        let invite = self.invite().await;
        let created = accounts::sign_up(&self.visitor(), self.sign_up_as(email, invite))
            .await
            .unwrap();
        created.expect("a fresh address gets an account")
    }

    /// Signs up and opens the verification link, as a person who reads their mail does.
    pub(crate) async fn sign_up_verified(&self, email: &str) -> OwnerId {
        let owner_id = self.sign_up(email).await;
        let body: String = sqlx::query_scalar(
            "SELECT body FROM mail_outbox WHERE recipient = $1 \
             AND subject = 'Verify your email address' ORDER BY created_at DESC LIMIT 1",
        )
        .bind(email)
        .fetch_one(&self.owner)
        .await
        .unwrap();
        accounts::verify_email(&self.visitor(), &token_in(&body))
            .await
            .unwrap();
        owner_id
    }

    /// Signs in on a fresh session, not remembered.
    pub(crate) async fn sign_in(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Session, SignInError> {
        let session = self.session();
        password_step::sign_in(&self.visitor_on(&session), email, password, false)
            .await
            .map(|_| session)
    }

    /// Signs `email` in on a fresh session and returns the signed-in person the server sees.
    pub(crate) async fn signed_in_as(&self, email: &str) -> SignedIn {
        let session = self.sign_in(email, PASSWORD).await.unwrap();
        self.signed_in(&session).await
    }

    /// Sets a new password from a reset link.
    pub(crate) async fn reset(&self, token: &str, new_password: &str) -> Result<(), SignInError> {
        let reset = Reset {
            token,
            new_password,
            confirm: new_password,
            remove_factors: false,
        };
        recovery::reset_password(&self.visitor(), reset).await
    }

    /// Every body queued for `to`, oldest first.
    pub(crate) async fn mail_to(&self, to: &str) -> Vec<String> {
        sqlx::query_scalar("SELECT body FROM mail_outbox WHERE recipient = $1 ORDER BY created_at")
            .bind(to)
            .fetch_all(&self.owner)
            .await
            .unwrap()
    }

    /// The subject of every mail queued for `to`, oldest first.
    pub(crate) async fn subjects_to(&self, to: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT subject FROM mail_outbox WHERE recipient = $1 ORDER BY created_at",
        )
        .bind(to)
        .fetch_all(&self.owner)
        .await
        .unwrap()
    }

    /// The tenant's security log as `kind:detail`, newest first.
    pub(crate) async fn kinds(&self, owner_id: OwnerId) -> Vec<String> {
        let mut tx = tenant_tx(&self.state.pool, owner_id).await;
        audit::page(&mut tx, None, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{}:{}", e.kind, e.detail))
            .collect()
    }

    /// The tenant's security log, verified with the server's key.
    pub(crate) async fn chain_break(&self, owner_id: OwnerId) -> Option<audit::ChainBreak> {
        let mut tx = tenant_tx(&self.state.pool, owner_id).await;
        audit::verify_chain(&mut tx, &self.state.key_encryption_key)
            .await
            .unwrap()
    }
}

/// The password the tests give the app role's login; the local cluster trusts every login, so
/// it only has to be the same everywhere.
const APP_ROLE_PASSWORD: &str = "custodian-tests";

/// A pool for the same database that logs in as custodian_app, as the server does.
pub(crate) async fn app_pool(owner: &PgPool, max_connections: u32) -> PgPool {
    db::ensure_app_login(owner, APP_ROLE_PASSWORD)
        .await
        .expect("the app role gets its login");
    db::connect_app(
        db::app_login(&owner.connect_options(), APP_ROLE_PASSWORD),
        max_connections,
    )
    .await
    .expect("the app role pool connects")
}

/// Every table that has an owner_id column, i.e. every tenant table.
pub(crate) async fn tenant_tables(owner: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'owner_id' AND NOT a.attisdropped \
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY 1",
    )
    .fetch_all(owner)
    .await
    .expect("catalog query")
}

/// Writes one row for `owner_id` into every tenant table, through each area's `seed` (and the
/// platform's), as the migration role. A table no area seeds fails the isolation tests.
pub(crate) async fn seed_tenant(owner: &PgPool, owner_id: OwnerId) {
    let mut conn = owner.acquire().await.unwrap();
    let seeds = std::iter::once(app::platform::server_parts::PLATFORM.seed)
        .chain(app::AREAS.iter().map(|area| area.server.seed))
        .flatten();
    for seed in seeds {
        seed(&mut conn, owner_id)
            .await
            .unwrap_or_else(|e| panic!("seeding failed: {e}"));
    }
}

/// The SQLSTATE with which PostgreSQL refused `statement`; None when it went through.
pub(crate) async fn refusal(conn: &mut sqlx::PgConnection, statement: &str) -> Option<String> {
    match sqlx::query(statement).execute(conn).await {
        Ok(_) => None,
        Err(error) => Some(
            error
                .as_database_error()
                .and_then(|e| e.code())
                .map_or_else(|| error.to_string(), |code| code.into_owned()),
        ),
    }
}

/// Sends a request through the router; returns the response head and the body as text.
pub(crate) async fn send(app: &Router, request: Request<Body>) -> (Response<Body>, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        Response::from_parts(parts, Body::empty()),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

pub(crate) fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

pub(crate) fn header<'a>(response: &'a Response<Body>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}
