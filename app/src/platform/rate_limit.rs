//! Fixed-window rate limits kept in PostgreSQL, so every server process counts together.

use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

const WINDOW: Duration = Duration::minutes(1);

/// Counts one hit for `bucket` in the current minute; false when that exceeds `limit`.
pub async fn allow(
    pool: &PgPool,
    bucket: &str,
    limit: u32,
    now: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let window_start = now
        .replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(now);
    let hits: i32 = sqlx::query_scalar(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 \
         RETURNING hits",
    )
    .bind(bucket)
    .bind(window_start)
    .fetch_one(pool)
    .await?;
    Ok(i64::from(hits) <= i64::from(limit))
}

/// Drops windows that can no longer matter.
pub async fn sweep(pool: &PgPool, now: OffsetDateTime) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(now - WINDOW * 2)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
