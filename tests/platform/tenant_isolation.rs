//! Promise P1: no tenant can read or change another tenant's rows, even by guessing ids.

use app::platform::{
    db::{APP_ROLE, MIGRATOR},
    ids::OwnerId,
};
use futures::{stream, StreamExt};
use sqlx::{PgPool, Row};

use crate::support::{app_pool, seed_tenant, tenant_tables, tenant_tx};

/// The policies that let one tenant reach another's rows, each named here on purpose (promise
/// P10: an app's collaborators): (table, policy). Any other policy beside a table's isolation
/// fails the check.
const CROSS_TENANT_POLICIES: &[(&str, &str)] = &[
    ("public.apps", "discover_reads r"),
    ("public.apps", "members_read r"),
    ("public.app_files", "discover_reads r"),
    ("public.app_files", "members_read r"),
    ("public.app_files", "editors_add a"),
    ("public.app_files", "editors_change w"),
    ("public.app_files", "editors_remove d"),
    ("public.app_members", "member_sees_own r"),
    ("public.app_members", "member_leaves d"),
    // The table owner's, while `custodian.cross_tenant` is on: the retention sweep, the rights
    // report and the restriction rule (SECURITY DEFINER functions) and operators' commands.
    ("public.account_sessions", "cross_tenant_definer *"),
    ("public.apps", "cross_tenant_definer *"),
    ("public.audit_checkpoints", "cross_tenant_definer *"),
    ("public.audit_cuts", "cross_tenant_definer *"),
    ("public.audit_events", "cross_tenant_definer *"),
    ("public.marketing_preferences", "cross_tenant_definer *"),
    ("public.rights_items", "cross_tenant_definer *"),
    ("public.rights_requests", "cross_tenant_definer *"),
];

/// Every way a tenant table (or the app role) can fall short of P1, as readable sentences.
async fn rls_violations(owner: &PgPool) -> Vec<String> {
    let rows = sqlx::query(
        "SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relrowsecurity, c.relforcerowsecurity, \
           EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polcmd = '*' \
                   AND p.polname = 'tenant_isolation' \
                   AND p.polqual IS NOT NULL AND p.polwithcheck IS NOT NULL \
                   AND pg_get_expr(p.polqual, p.polrelid) LIKE '%owner_id = custodian_current_owner()%' \
                   AND pg_get_expr(p.polwithcheck, p.polrelid) LIKE '%owner_id = custodian_current_owner()%' \
                   AND p.polpermissive) \
             AS isolated, \
           ARRAY(SELECT p.polname::text || ' ' || p.polcmd::text || \
                   CASE WHEN p.polpermissive THEN '' ELSE ' restrictive' END FROM pg_policy p \
                 WHERE p.polrelid = c.oid AND p.polname <> 'tenant_isolation' ORDER BY 1) AS others \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid \
                       AND a.attname = 'owner_id' AND NOT a.attisdropped)",
    )
    .fetch_all(owner)
    .await
    .unwrap();
    let mut violations = Vec::new();
    for row in rows {
        let name: String = row.get("name");
        if !row.get::<bool, _>("relrowsecurity") {
            violations.push(format!("{name}: row level security not enabled"));
        }
        if !row.get::<bool, _>("relforcerowsecurity") {
            violations.push(format!("{name}: row level security not forced"));
        }
        if !row.get::<bool, _>("isolated") {
            violations.push(format!(
                "{name}: needs exactly one policy for all commands with USING and WITH CHECK on owner_id"
            ));
        }
        for other in row.get::<Vec<String>, _>("others") {
            if !CROSS_TENANT_POLICIES.contains(&(name.as_str(), other.as_str())) {
                violations.push(format!(
                    "{name}: policy {other} is not a declared cross-tenant policy"
                ));
            }
        }
    }
    let owned: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1",
    )
    .bind(APP_ROLE)
    .fetch_all(owner)
    .await
    .unwrap();
    violations.extend(
        owned
            .into_iter()
            .map(|t| format!("{t}: owned by {APP_ROLE}")),
    );
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1")
            .bind(APP_ROLE)
            .fetch_one(owner)
            .await
            .unwrap();
    if superuser || bypass {
        violations.push(format!("{APP_ROLE}: superuser or BYPASSRLS"));
    }
    violations
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn every_tenant_table_is_protected_by_forced_rls(owner: PgPool) {
    every_table_is_protected(&owner).await;
}

/// The catalog check, on one database (each region's has its own).
pub(crate) async fn every_table_is_protected(owner: &PgPool) {
    assert!(!tenant_tables(owner).await.is_empty());
    assert_eq!(rls_violations(owner).await, Vec::<String>::new());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn the_catalog_check_catches_an_unprotected_table(owner: PgPool) {
    sqlx::query("CREATE TABLE careless (owner_id uuid PRIMARY KEY)")
        .execute(&owner)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE half_done (owner_id uuid PRIMARY KEY)")
        .execute(&owner)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE half_done ENABLE ROW LEVEL SECURITY")
        .execute(&owner)
        .await
        .unwrap();
    sqlx::query(
        "CREATE POLICY reads_only ON half_done USING (owner_id = custodian_current_owner())",
    )
    .execute(&owner)
    .await
    .unwrap();
    sqlx::query("CREATE POLICY peek ON apps FOR SELECT USING (true)")
        .execute(&owner)
        .await
        .unwrap();
    let violations = rls_violations(&owner).await;
    assert!(violations
        .contains(&"public.apps: policy peek r is not a declared cross-tenant policy".to_owned()));
    assert!(violations.contains(&"public.careless: row level security not enabled".to_owned()));
    assert!(violations.contains(&"public.half_done: row level security not forced".to_owned()));
    assert_eq!(
        violations
            .iter()
            .filter(|v| v.contains("needs exactly one policy"))
            .count(),
        2
    );
}

/// Runs one statement in its own tenant transaction and returns the rows it touched or the
/// SQLSTATE it failed with.
async fn as_tenant(
    app: &PgPool,
    tenant: OwnerId,
    sql: &str,
    bind: Option<&serde_json::Value>,
) -> Result<u64, String> {
    let mut tx = tenant_tx(app, tenant).await;
    let mut query = sqlx::query(sql);
    if let Some(value) = bind {
        query = query.bind(value);
    }
    match query.execute(&mut *tx).await {
        Ok(done) => {
            tx.commit().await.unwrap();
            Ok(done.rows_affected())
        }
        Err(sqlx::Error::Database(e)) => Err(e.code().unwrap_or_default().into_owned()),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_tenant_cannot_touch_another_tenants_rows_in_any_table(owner: PgPool) {
    no_tenant_reaches_another(&owner).await;
}

/// Two tenants seeded into every table of one database; neither reads, changes, deletes or
/// takes over a row of the other.
pub(crate) async fn no_tenant_reaches_another(owner: &PgPool) {
    let owner = owner.clone();
    let app = app_pool(&owner, 2).await;
    let (a, b) = (OwnerId::random(), OwnerId::random());
    seed_tenant(&owner, a).await;
    seed_tenant(&owner, b).await;

    for table in tenant_tables(&owner).await {
        let rows_of = |tenant: OwnerId| {
            let sql = format!("SELECT count(*) FROM {table} WHERE owner_id = $1");
            let owner = owner.clone();
            async move {
                sqlx::query_scalar::<_, i64>(&sql)
                    .bind(tenant)
                    .fetch_one(&owner)
                    .await
                    .unwrap()
            }
        };
        let b_before = rows_of(b).await;
        assert!(
            b_before > 0 && rows_of(a).await > 0,
            "{table}: seed_tenant must write a row here"
        );
        let b_row: serde_json::Value = sqlx::query_scalar(&format!(
            "SELECT to_jsonb(t) FROM {table} t WHERE owner_id = $1 LIMIT 1"
        ))
        .bind(b)
        .fetch_one(&owner)
        .await
        .unwrap();
        let guessed = format!("owner_id = '{b}'");

        // Reading: B's rows are invisible, even named exactly.
        let visible: i64 = {
            let mut tx = tenant_tx(&app, a).await;
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE {guessed}"))
                .fetch_one(&mut *tx)
                .await
                .unwrap()
        };
        assert_eq!(visible, 0, "{table}: A read B's rows");
        let all_visible_are_a: bool = {
            let mut tx = tenant_tx(&app, a).await;
            sqlx::query_scalar(&format!(
                "SELECT bool_and(owner_id = '{a}') AND count(*) > 0 FROM {table}"
            ))
            .fetch_one(&mut *tx)
            .await
            .unwrap()
        };
        assert!(all_visible_are_a, "{table}: A sees rows that are not A's");

        // Changing: updates and deletes by guessed id touch nothing (or, on append-only
        // tables, are not permitted at all).
        let touched_nothing =
            |outcome: Result<u64, String>| outcome == Ok(0) || outcome == Err("42501".to_owned());
        let update = format!("UPDATE {table} SET owner_id = owner_id WHERE {guessed}");
        assert!(
            touched_nothing(as_tenant(&app, a, &update, None).await),
            "{table}: A updated B's rows"
        );
        let delete = format!("DELETE FROM {table} WHERE {guessed}");
        assert!(
            touched_nothing(as_tenant(&app, a, &delete, None).await),
            "{table}: A deleted B's rows"
        );

        // Writing as B: inserting B's row, or moving A's row to B, is refused (42501).
        let insert =
            format!("INSERT INTO {table} SELECT * FROM jsonb_populate_record(NULL::{table}, $1)");
        assert_eq!(
            as_tenant(&app, a, &insert, Some(&b_row)).await,
            Err("42501".to_owned()),
            "{table}: A inserted a row owned by B"
        );
        let hand_over = format!("UPDATE {table} SET owner_id = '{b}'");
        assert_eq!(
            as_tenant(&app, a, &hand_over, None).await,
            Err("42501".to_owned()),
            "{table}: A moved its row to B"
        );

        assert_eq!(rows_of(b).await, b_before, "{table}: B's rows changed");
    }
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn without_a_tenant_transaction_no_tenant_row_is_visible_or_writable(owner: PgPool) {
    let app = app_pool(&owner, 1).await;
    seed_tenant(&owner, OwnerId::random()).await;
    let role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&app)
        .await
        .unwrap();
    assert_eq!(role, APP_ROLE);
    for table in tenant_tables(&owner).await {
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&app)
            .await
            .unwrap();
        assert_eq!(count, 0, "{table} is readable without a tenant");
    }
    let insert = sqlx::query("INSERT INTO tenants (owner_id) VALUES ($1)")
        .bind(OwnerId::random())
        .execute(&app)
        .await;
    assert!(insert.is_err(), "a tenant row was written without a tenant");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn interleaved_transactions_on_a_small_pool_never_leak_rows(owner: PgPool) {
    let app = app_pool(&owner, 2).await;
    let tenants: Vec<OwnerId> = (0..10).map(|_| OwnerId::random()).collect();
    for tenant in &tenants {
        seed_tenant(&owner, *tenant).await;
    }

    let leaks = stream::iter(0..1000usize)
        .map(|i| {
            let app = app.clone();
            let tenant = tenants[(i * 7) % tenants.len()];
            async move {
                let mut tx = tenant_tx(&app, tenant).await;
                let mut seen: Vec<OwnerId> = sqlx::query_scalar("SELECT owner_id FROM tenants")
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
                seen.extend(
                    sqlx::query_scalar::<_, OwnerId>("SELECT owner_id FROM tenants")
                        .fetch_all(&mut *tx)
                        .await
                        .unwrap(),
                );
                // Half commit, half roll back: neither may leave the setting on the connection.
                if i % 2 == 0 {
                    tx.commit().await.unwrap();
                } else {
                    drop(tx);
                }
                let after: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
                    .fetch_one(&app)
                    .await
                    .unwrap();
                let wrong = seen.iter().filter(|o| **o != tenant).count() + after as usize;
                (seen.len() == 2, wrong)
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;

    assert_eq!(leaks.len(), 1000);
    assert!(
        leaks.iter().all(|(saw_own, _)| *saw_own),
        "a tenant did not see its own row"
    );
    assert_eq!(
        leaks.iter().map(|(_, wrong)| wrong).sum::<usize>(),
        0,
        "rows leaked across tenants"
    );
}
