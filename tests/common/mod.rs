//! Helpers shared by the integration tests. Each test gets its own database from #[sqlx::test],
//! whose pool is the migration role (a superuser); the server's code runs on `app_pool`.
#![allow(dead_code)]

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
        db, keys,
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
use tower_sessions_sqlx_store::PostgresStore;
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
        auth_rate_limit: 1_000,
        sudo_window: app::auth::session::SUDO_WINDOW,
        trusted_proxies: Arc::from([]),
    };
    (state, dir)
}

pub const PASSWORD: &str = "violet kettle drums at midnight";

/// The server's state on an app-role pool, a clock the test moves, and one browser's client.
pub struct World {
    pub owner: PgPool,
    pub state: AppState,
    pub clock: ManualClock,
    pub client: ClientInfo,
    _dir: tempfile::TempDir,
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
        _dir: dir,
    }
}

impl World {
    pub async fn invite(&self) -> String {
        invites::create(&self.owner, 7, None).await.unwrap().code
    }

    pub async fn sign_up(&self, email: &str) -> Uuid {
        let invite = self.invite().await;
        accounts::sign_up(
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
        .unwrap()
    }

    /// Every body queued for `to`, oldest first.
    pub async fn mail_to(&self, to: &str) -> Vec<String> {
        sqlx::query_scalar("SELECT body FROM mail_outbox WHERE recipient = $1 ORDER BY created_at")
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
        Session::new(
            None,
            Arc::new(PostgresStore::new(self.state.pool.clone())),
            None,
        )
    }
}

/// A pool for the same database that runs as custodian_app, as the server does.
pub async fn app_pool(owner: &PgPool, max_connections: u32) -> PgPool {
    db::connect_app((*owner.connect_options()).clone(), max_connections)
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
