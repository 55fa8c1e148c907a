//! SQL of the page-view counter: `page_views` (not a tenant table: counts per route and day,
//! about no one).

use sqlx::PgPool;
use time::Date;

/// Adds one view of the page `route` on `day`.
pub async fn count_view(pool: &PgPool, route: &str, day: Date) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO page_views (path, day, views) VALUES ($1, $2, 1) \
         ON CONFLICT (path, day) DO UPDATE SET views = page_views.views + 1",
        route,
        day
    )
    .execute(pool)
    .await
    .map(drop)
}
