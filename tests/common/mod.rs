//! Helpers shared by the integration tests. Each test gets its own database from #[sqlx::test],
//! whose pool is the migration role (a superuser); the server's code runs on `app_pool`.
#![allow(dead_code)]

use std::sync::Arc;

use app::platform::{clock::Clock, config::Settings, db, keys, state::AppState};
use axum::{
    body::Body,
    http::{Request, Response},
    Router,
};
use custodian::startup;
use http_body_util::BodyExt;
use sqlx::PgPool;
use tower::ServiceExt;
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
        trusted_proxies: Arc::from([]),
    };
    (state, dir)
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
