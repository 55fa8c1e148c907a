//! Helpers shared by the integration tests. Each test gets its own database from #[sqlx::test],
//! whose pool is the migration role (a superuser); the server's code runs on `app_pool`.
#![allow(dead_code)]

pub mod browser;
pub mod factors;

use std::sync::Arc;

use app::{
    auth::{
        accounts::{self, SignUp},
        api::Region,
        invites,
    },
    platform::{
        audit,
        client::ClientInfo,
        clock::{Clock, ManualClock},
        config::Settings,
        db,
        hashing::HashingSlots,
        keys,
        rate_limit::Limits,
        session_store::SessionRecords,
        state::AppState,
    },
};
use axum::{
    body::Body,
    http::{Request, Response},
    Router,
};
use custodian::startup;
use http_body_util::BodyExt;
use sqlx::PgPool;
use tower::ServiceExt;
use tower_sessions::Session;
use url::Url;
use uuid::Uuid;

/// The state the server would build, on `pool`, with `clock`; the directory holds the key.
pub fn state(
    pool: PgPool,
    public_url: &str,
    clock: Arc<dyn Clock>,
) -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let key = keys::load_or_create(&dir.path().join("kek.key")).unwrap();
    let settings =
        Settings::from_args(["custodian", "--site-root", dir.path().to_str().unwrap()]).unwrap();
    let state = AppState {
        leptos_options: startup::leptos_options(&settings),
        pool,
        public_url: Url::parse(public_url).unwrap(),
        key_encryption_key: Arc::new(key),
        clock,
        limits: Limits { per_address: 1_000 },
        // Tests send bursts on purpose; they wait for hashing rather than being told to retry.
        hashing: HashingSlots::new(2, std::time::Duration::from_secs(300)),
        sudo_window: app::auth::session::SUDO_WINDOW,
        trusted_proxies: Arc::from([]),
    };
    (state, dir)
}

pub const PASSWORD: &str = "violet kettle drums at midnight";

/// The token of the (first) mailed link in a mail's body.
pub fn token_in(body: &str) -> String {
    body.split("token=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a link with a token in the mail")
        .to_owned()
}

/// The server's state on an app-role pool, a clock the test moves, and one browser's client.
pub struct World {
    pub owner: PgPool,
    pub state: AppState,
    pub clock: ManualClock,
    pub client: ClientInfo,
    dir: tempfile::TempDir,
}

/// The public URL the tests' server has: a domain name, as WebAuthn needs.
pub const SITE: &str = "http://localhost:3000";

pub async fn world(owner: PgPool) -> World {
    app::privacy::policies::sync_bundled(&owner).await.unwrap();
    let clock = ManualClock::starting_now();
    let pool = app_pool(&owner, 4).await;
    let (state, dir) = state(pool, SITE, Arc::new(clock.clone()));
    World {
        owner,
        state,
        clock,
        client: ClientInfo {
            ip: "203.0.113.7".parse().unwrap(),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
                .to_owned(),
            consent_id: None,
        },
        dir,
    }
}

impl World {
    /// The key file the world's server uses, for commands that need the same key.
    pub fn key_file(&self) -> std::path::PathBuf {
        self.dir.path().join("kek.key")
    }

    /// The migration role's URL of the world's database, as an operator's command gets it.
    pub fn database_url(&self) -> String {
        let options = self.owner.connect_options();
        format!(
            "postgres://postgres@127.0.0.1:5432/{}",
            options.get_database().unwrap_or("postgres")
        )
    }

    pub async fn invite(&self) -> String {
        invites::create(&self.owner, 7, None).await.unwrap().code
    }

    pub async fn sign_up(&self, email: &str) -> Uuid {
        let invite = self.invite().await;
        let created = accounts::sign_up(
            &self.state,
            SignUp {
                email: email.to_owned(),
                display_name: "Ada".to_owned(),
                password: PASSWORD.to_owned(),
                region: Region::EuWest,
                invite,
            },
            &self.client,
        )
        .await
        .unwrap();
        created.expect("a fresh address gets an account")
    }

    /// Sets a new password from a reset link.
    pub async fn reset(
        &self,
        token: &str,
        new_password: &str,
    ) -> Result<(), app::auth::accounts::AuthError> {
        app::auth::recovery::reset_password(
            &self.state,
            app::auth::recovery::Reset {
                token,
                new_password,
                confirm: new_password,
                remove_factors: false,
            },
            &self.client,
        )
        .await
    }

    /// Signs in on a fresh session, not remembered.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Session, app::auth::accounts::AuthError> {
        let session = self.session();
        app::auth::signin::sign_in(&self.state, &session, email, password, false, &self.client)
            .await
            .map(|_| session)
    }

    /// Signs up and opens the verification link, as a person who reads their mail does.
    pub async fn sign_up_verified(&self, email: &str) -> Uuid {
        let owner_id = self.sign_up(email).await;
        let body: String = sqlx::query_scalar(
            "SELECT body FROM mail_outbox WHERE recipient = $1 \
             AND subject = 'Verify your email address' ORDER BY created_at DESC LIMIT 1",
        )
        .bind(email)
        .fetch_one(&self.owner)
        .await
        .unwrap();
        accounts::verify_email(&self.state, &token_in(&body), &self.client)
            .await
            .unwrap();
        owner_id
    }

    /// Every body queued for `to`, oldest first.
    pub async fn mail_to(&self, to: &str) -> Vec<String> {
        sqlx::query_scalar("SELECT body FROM mail_outbox WHERE recipient = $1 ORDER BY created_at")
            .bind(to)
            .fetch_all(&self.owner)
            .await
            .unwrap()
    }

    /// The subject of every mail queued for `to`, oldest first.
    pub async fn subjects_to(&self, to: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT subject FROM mail_outbox WHERE recipient = $1 ORDER BY created_at",
        )
        .bind(to)
        .fetch_all(&self.owner)
        .await
        .unwrap()
    }

    /// The tenant's security log as `kind:detail`, newest first.
    pub async fn kinds(&self, owner_id: Uuid) -> Vec<String> {
        let mut tx = db::TenantTx::begin(&self.state.pool, owner_id)
            .await
            .unwrap();
        audit::page(&mut tx, None, None, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| format!("{}:{}", e.kind, e.detail))
            .collect()
    }

    /// A fresh browser session in the server's store.
    pub fn session(&self) -> Session {
        self.reopen(None)
    }

    /// The session a browser sending the cookie of `id` would have on its next request.
    pub fn reopen(&self, id: Option<tower_sessions::session::Id>) -> Session {
        Session::new(
            id,
            Arc::new(SessionRecords::new(self.state.pool.clone())),
            None,
        )
    }

    /// The signed-in person of `session`, as the server's middleware finds them.
    pub async fn user(&self, session: &Session) -> app::auth::session::CurrentUser {
        match app::auth::session::authenticate(&self.state, session, true)
            .await
            .unwrap()
        {
            app::auth::session::Authentication::SignedIn(user) => user,
            _ => panic!("the session is not signed in"),
        }
    }

    /// The tenant's security log, verified with the server's key.
    pub async fn chain_break(&self, owner_id: Uuid) -> Option<audit::ChainBreak> {
        let mut tx = db::TenantTx::begin(&self.state.pool, owner_id)
            .await
            .unwrap();
        audit::verify_chain(&mut tx, &self.state.key_encryption_key)
            .await
            .unwrap()
    }
}

/// A signed-in person of `owner_id` as a service sees them, without a browser session.
pub fn user_of(w: &World, owner_id: Uuid) -> app::auth::session::CurrentUser {
    app::auth::session::CurrentUser {
        signed_in: app::auth::session::SignedIn::new(
            owner_id,
            Uuid::new_v4(),
            false,
            w.clock.now(),
            w.state.sudo_window,
        ),
        store_id: String::new(),
    }
}

/// Signs `email` in on a fresh session and returns the signed-in person the server sees.
pub async fn signed_in_user(w: &World, email: &str) -> app::auth::session::CurrentUser {
    let session = w.session();
    app::auth::signin::sign_in(&w.state, &session, email, PASSWORD, false, &w.client)
        .await
        .unwrap();
    w.user(&w.reopen(session.id())).await
}

/// The password the tests give the app role's login; the local cluster trusts every login, so
/// it only has to be the same everywhere.
const APP_ROLE_PASSWORD: &str = "custodian-tests";

/// A pool for the same database that logs in as custodian_app, as the server does.
pub async fn app_pool(owner: &PgPool, max_connections: u32) -> PgPool {
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
pub async fn tenant_tables(owner: &PgPool) -> Vec<String> {
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

/// Writes one row for `owner_id` into every tenant table, bypassing RLS as the superuser.
/// A new tenant table needs a line here, or the isolation tests fail for want of a row.
pub async fn seed_tenant(owner: &PgPool, owner_id: Uuid) {
    let zeros = vec![0u8; 32];
    let statements = [
        "INSERT INTO tenants (owner_id, region) VALUES ($1, 'eu-west')",
        "INSERT INTO accounts (owner_id, email, display_name, password_hash, password_changed_at, created_at) \
         VALUES ($1, $1::text || '@example.com', 'Seed', '$argon2id$seed', now(), now())",
        "INSERT INTO account_sessions (owner_id, id, store_id, created_at, last_seen_at, expires_at, remember, user_agent, ip_prefix) \
         VALUES ($1, gen_random_uuid(), $1::text, now(), now(), now() + interval '1 hour', false, 'seed', '192.0.2.0/24')",
        "INSERT INTO known_devices (owner_id, fingerprint, first_seen_at) VALUES ($1, $2, now())",
        "INSERT INTO account_tokens (owner_id, secret_sha256, purpose, created_at, expires_at) \
         VALUES ($1, $2, 'verify_email', now(), now() + interval '1 hour')",
        "INSERT INTO audit_events (owner_id, seq, occurred_at, kind, detail, ip_prefix, user_agent, prev_hash, hash) \
         VALUES ($1, 1, now(), 'seed', '', '', '', $2, $2)",
        "INSERT INTO data_keys (owner_id, version, wrapped_key, created_at) VALUES ($1, 1, $2, now())",
        "INSERT INTO totp_factors (owner_id, sealed_secret, created_at) VALUES ($1, $2, now())",
        "INSERT INTO backup_codes (owner_id, code_digest, created_at) VALUES ($1, $2, now())",
        "INSERT INTO passkeys (owner_id, id, credential_id, name, credential, created_at) \
         VALUES ($1, gen_random_uuid(), $2, 'Seed', '{}', now())",
        "INSERT INTO consent_records (owner_id, id, granted, denied, policy_version, method, gpc, recorded_at, user_agent) \
         VALUES ($1, gen_random_uuid(), '{essential}', '{analytics}', 1, 'banner', false, now(), 'seed')",
        "INSERT INTO consent_links (owner_id, consent_id, linked_at) VALUES ($1, gen_random_uuid(), now())",
        "INSERT INTO policy_versions (document, version, published_at, material, summary, body) \
         VALUES ('terms', 1, now(), false, 'Seed', 'Seed') ON CONFLICT DO NOTHING",
        "INSERT INTO policy_acknowledgments (owner_id, document, version, acknowledged_at) \
         VALUES ($1, 'terms', 1, now())",
        "INSERT INTO pending_sign_ins (owner_id, id, created_at) VALUES ($1, gen_random_uuid(), now())",
        "INSERT INTO audit_checkpoints (owner_id, seq, hash, signed_at, signature) \
         VALUES ($1, 1, $2, now(), $2 || $2)",
    ];
    for statement in statements {
        sqlx::query(statement)
            .bind(owner_id)
            .bind(&zeros)
            .execute(owner)
            .await
            .unwrap_or_else(|e| panic!("seed failed: {statement}: {e}"));
    }
}

/// The SQLSTATE with which PostgreSQL refused `statement`; None when it went through.
pub async fn refusal(conn: &mut sqlx::PgConnection, statement: &str) -> Option<String> {
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
pub async fn send(app: &Router, request: Request<Body>) -> (Response<Body>, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        Response::from_parts(parts, Body::empty()),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

pub fn header<'a>(response: &'a Response<Body>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}
