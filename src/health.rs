//! `GET /healthz`: 200 when the database answers, 503 when it does not.

use std::time::Duration;

use axum::{extract::State, http::StatusCode};
use sqlx::PgPool;

const DATABASE_DEADLINE: Duration = Duration::from_secs(2);

pub async fn healthz(State(pool): State<PgPool>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(DATABASE_DEADLINE, sqlx::query("SELECT 1").execute(&pool)).await {
        Ok(Ok(_)) => (StatusCode::OK, "ok"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
