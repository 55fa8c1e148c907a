//! The server's pool is no superuser session (issue 11 finding 8): it logs in as the app role
//! itself, cannot switch back out of row-level security, and start-up refuses a login that
//! could bypass it.

use app::platform::db::{self, DbError, MIGRATOR};
use sqlx::PgPool;

use crate::support::{app_pool, refusal};

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_pool_logs_in_as_the_app_role_and_cannot_leave_it(owner: PgPool) {
    let pool = app_pool(&owner, 1).await;
    let mut conn = pool.acquire().await.unwrap();
    let who: (String, String) = sqlx::query_as("SELECT session_user::text, current_user::text")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        who,
        ("custodian_app".to_owned(), "custodian_app".to_owned())
    );
    // RESET ROLE goes back to the login role, which is the app role itself.
    sqlx::query("RESET ROLE").execute(&mut *conn).await.unwrap();
    let current: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(current, "custodian_app");
    assert_eq!(
        refusal(&mut conn, "SET ROLE postgres").await.as_deref(),
        Some("42501")
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(rows, 0, "outside a tenant transaction no row is visible");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn start_up_refuses_a_login_that_could_bypass_row_level_security(owner: PgPool) {
    // The migration role (a superuser here) is refused, however the pool is configured.
    let refused = db::connect_app((*owner.connect_options()).clone(), 1).await;
    assert!(
        matches!(refused, Err(DbError::UnsafeAppRole { ref role, .. }) if role == "postgres"),
        "{refused:?}"
    );
    // The app role itself, once it owns a table in this database, is refused too.
    sqlx::query("CREATE TABLE owned_by_app (x int)")
        .execute(&owner)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE owned_by_app OWNER TO custodian_app")
        .execute(&owner)
        .await
        .unwrap();
    db::ensure_app_login(&owner, "custodian-tests")
        .await
        .unwrap();
    let refused = db::connect_app(
        db::app_login(&owner.connect_options(), "custodian-tests"),
        1,
    )
    .await;
    assert!(
        matches!(refused, Err(DbError::UnsafeAppRole { reason, .. }) if reason == "it owns tables"),
        "{refused:?}"
    );
}
