//! Erasing a tenant (the groundwork of account deletion, promise P8): each area's `erase`
//! removes every row of the tenant from the tables it owns, and nothing of anyone else. A new
//! tenant table without an area to seed and erase it fails here.

use app::platform::{db::TenantTx, db::MIGRATOR, ids::OwnerId, server_parts::PLATFORM};
use sqlx::PgPool;

use crate::support::{seed_tenant, tenant_tables};

/// The rows of `owner` in each tenant table that has any.
async fn rows_of(owner: &PgPool, tenant: OwnerId) -> Vec<(String, i64)> {
    let mut found = Vec::new();
    for table in tenant_tables(owner).await {
        let count: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE owner_id = $1"))
                .bind(tenant)
                .fetch_one(owner)
                .await
                .unwrap();
        if count > 0 {
            found.push((table, count));
        }
    }
    found
}

/// Runs each area's erase for `tenant` in one transaction; the platform's last, when asked.
async fn erase(owner: &PgPool, tenant: OwnerId, platform_too: bool) {
    let mut tx = TenantTx::begin(owner, tenant).await.unwrap();
    for erase in app::AREAS.iter().filter_map(|area| area.server.erase) {
        erase(&mut tx).await.unwrap();
    }
    if platform_too {
        (PLATFORM.erase.expect("the platform erases its tables"))(&mut tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn each_area_erases_its_rows_of_one_tenant_and_no_one_elses(owner: PgPool) {
    let (a, b) = (OwnerId::random(), OwnerId::random());
    seed_tenant(&owner, a).await;
    seed_tenant(&owner, b).await;
    let tables = tenant_tables(&owner).await;
    assert_eq!(
        rows_of(&owner, a).await.len(),
        tables.len(),
        "every table seeded"
    );

    erase(&owner, a, false).await;
    // Only the platform's own tables still hold the tenant: its account and log.
    let left: Vec<String> = rows_of(&owner, a)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    let platform_tables = [
        "public.account_sessions",
        "public.audit_checkpoints",
        "public.audit_events",
        "public.data_keys",
        "public.tenants",
    ];
    assert!(
        left.iter()
            .all(|table| platform_tables.contains(&table.as_str())),
        "an area left rows behind: {left:?}"
    );

    erase(&owner, a, true).await;
    assert_eq!(rows_of(&owner, a).await, Vec::<(String, i64)>::new());
    assert_eq!(
        rows_of(&owner, b).await.len(),
        tables.len(),
        "the other tenant keeps every row"
    );
}
