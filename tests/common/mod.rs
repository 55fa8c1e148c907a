//! Helpers shared by the integration tests. Each test gets its own database from #[sqlx::test],
//! whose pool is the migration role (a superuser); the server's code runs on `app_pool`.
#![allow(dead_code)]

use app::platform::db;
use sqlx::PgPool;
use uuid::Uuid;

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
    sqlx::query("INSERT INTO tenants (owner_id, region) VALUES ($1, 'eu-west')")
        .bind(owner_id)
        .execute(owner)
        .await
        .expect("seed tenants");
}
