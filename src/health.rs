//! `GET /healthz`: 200 when the database answers, 503 when it does not.

use app::platform::db;
use axum::{extract::State, http::StatusCode};
use sqlx::PgPool;

pub async fn healthz(State(pool): State<PgPool>) -> (StatusCode, &'static str) {
    if db::ping(&pool).await {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}
