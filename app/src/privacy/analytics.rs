//! First-party analytics (promise P6): a page-view counter per path and day. It stores no
//! person, browser, address or time of day, and counts only visits with analytics consent and
//! without Global Privacy Control (the middleware decides; this only counts).

use sqlx::PgPool;
use time::Date;

const MAX_PATH: usize = 200;

/// Adds one view of `path` on `day`.
pub async fn count_view(pool: &PgPool, path: &str, day: Date) -> Result<(), sqlx::Error> {
    let path: String = path.chars().take(MAX_PATH).collect();
    sqlx::query(
        "INSERT INTO page_views (path, day, views) VALUES ($1, $2, 1) \
         ON CONFLICT (path, day) DO UPDATE SET views = page_views.views + 1",
    )
    .bind(path)
    .bind(day)
    .execute(pool)
    .await?;
    Ok(())
}
