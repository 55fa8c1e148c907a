//! Erasing a tenant (the groundwork of account deletion, promise P8): each area's `erase`
//! removes every row of the tenant from the tables it owns (and its traces in shared ones:
//! queued mail, invites, linked browsers' records), and nothing of anyone else. A new
//! tenant table without an area to seed and erase it fails here.

use app::platform::{db::MIGRATOR, ids::OwnerId, server_parts::PLATFORM};
use sqlx::PgPool;

use crate::support::{seed_tenant, tenant_tables, tenant_tx};

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

/// What of `tenant` is left outside the tenant tables: queued mail and its jobs, invites that
/// name the account, and the records of browsers linked to it (seeded under its own id).
async fn traces_of(owner: &PgPool, tenant: OwnerId) -> Vec<(&'static str, i64)> {
    let checks = [
        (
            "mail_outbox",
            "SELECT count(*) FROM mail_outbox WHERE account = $1",
        ),
        (
            "jobs",
            "SELECT count(*) FROM jobs WHERE payload->>'message' IN \
             (SELECT id::text FROM mail_outbox WHERE account = $1) \
             OR dedupe_key IN (SELECT 'mail:' || id FROM mail_outbox WHERE account = $1)",
        ),
        (
            "invites",
            "SELECT count(*) FROM invites WHERE used_by = $1 OR invited_by = $1 \
             OR used_by_email = $1::text || '@example.com'",
        ),
        (
            "anonymous_consents",
            "SELECT count(*) FROM anonymous_consents WHERE consent_id = $1",
        ),
    ];
    let mut found = Vec::new();
    for (what, query) in checks {
        let count: i64 = sqlx::query_scalar(query)
            .bind(tenant)
            .fetch_one(owner)
            .await
            .unwrap();
        found.push((what, count));
    }
    found
}

/// Runs each area's erase for `tenant` in one transaction; the platform's last, when asked.
async fn erase(owner: &PgPool, tenant: OwnerId, platform_too: bool) {
    let mut tx = tenant_tx(owner, tenant).await;
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
    let before = traces_of(&owner, a).await;
    assert!(
        before.iter().all(|(_, n)| *n > 0),
        "every trace seeded: {before:?}"
    );
    let others = traces_of(&owner, b).await;

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
        "public.audit_cuts",
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
    assert!(
        traces_of(&owner, a).await.iter().all(|(_, n)| *n == 0),
        "traces left: {:?}",
        traces_of(&owner, a).await
    );
    assert_eq!(
        traces_of(&owner, b).await,
        others,
        "the other tenant keeps its traces"
    );
    assert_eq!(
        rows_of(&owner, b).await.len(),
        tables.len(),
        "the other tenant keeps every row"
    );
}
