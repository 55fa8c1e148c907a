//! Copying one tenant's rows from one region's database to another's (promise P11: a move
//! between regions), as the migration role: every tenant table in an order that keeps foreign
//! keys satisfied, the tenant's traces in shared tables, a count and a checksum per table to
//! verify the copy, and the data keys re-wrapped with the target region's key.
//!
//! Both databases have the same schema (the same migrations), so a table's rows travel as
//! PostgreSQL's binary COPY format, column for column.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt as _;
use sqlx::{postgres::PgPoolCopyExt as _, PgConnection, PgPool};

use super::{crypto, ids::OwnerId, keys::KeyEncryptionKey, region::Tenant};

/// Rows of a tenant outside the tenant tables, as a condition on the table's rows where
/// `{owner}` stands for the tenant's id: queued mail, and the records of browsers it signed in
/// on. Each goes after the tenant tables.
const SHARED: &[(&str, &str)] = &[
    ("mail_outbox", "account = '{owner}'"),
    ("email_directory", "account = '{owner}'"),
    ("invites", "invited_by = '{owner}'"),
    // A browser's records travel only when it is linked to this tenant alone: a shared
    // browser's stay with the others who signed in on it.
    (
        "anonymous_consents",
        "consent_id IN (SELECT consent_id FROM consent_links WHERE owner_id = '{owner}') \
         AND consent_id NOT IN (SELECT consent_id FROM consent_links WHERE owner_id <> '{owner}')",
    ),
];

/// Data keys are re-wrapped rather than copied: each region wraps with its own key.
const DATA_KEYS: &str = "public.data_keys";

/// A table's share of one tenant, to compare source and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    pub table: String,
    pub rows: i64,
    /// MD5 of the rows' text, in a fixed order; None for data keys, which differ by design.
    pub checksum: Option<String>,
}

/// Every table with an `owner_id`, each after the tables it references.
pub async fn tenant_tables_in_order(owner: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'owner_id' AND NOT a.attisdropped \
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_all(owner)
    .await?;
    let edges: Vec<(String, String)> = sqlx::query_as(
        "SELECT format('%I.%I', fn.nspname, f.relname), format('%I.%I', rn.nspname, r.relname) \
         FROM pg_constraint k \
         JOIN pg_class f ON f.oid = k.conrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace \
         JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace \
         WHERE k.contype = 'f' AND k.conrelid <> k.confrelid",
    )
    .fetch_all(owner)
    .await?;
    Ok(in_dependency_order(&tables, &edges))
}

/// `tables` ordered so that each comes after those it references (`edges`: referencing,
/// referenced); ties by name, so the order is the same every time.
fn in_dependency_order(tables: &[String], edges: &[(String, String)]) -> Vec<String> {
    let known: BTreeSet<&String> = tables.iter().collect();
    let mut needs: BTreeMap<&String, BTreeSet<&String>> =
        tables.iter().map(|t| (t, BTreeSet::new())).collect();
    for (from, to) in edges {
        if known.contains(from) && known.contains(to) {
            needs.entry(from).or_default().insert(to);
        }
    }
    let mut ordered = Vec::new();
    while !needs.is_empty() {
        let ready: Vec<&String> = needs
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(table, _)| *table)
            .collect();
        // A cycle cannot be ordered: what is left goes by name (none exists in the schema).
        let ready = if ready.is_empty() {
            needs.keys().copied().collect()
        } else {
            ready
        };
        for table in ready {
            needs.remove(table);
            for deps in needs.values_mut() {
                deps.remove(table);
            }
            ordered.push(table.clone());
        }
    }
    ordered
}

fn condition(table: &str, owner_id: OwnerId) -> String {
    let table = table.trim_start_matches("public.");
    SHARED
        .iter()
        .find(|(shared, _)| *shared == table)
        .map_or_else(
            || format!("owner_id = '{owner_id}'"),
            |(_, condition)| condition.replace("{owner}", &owner_id.to_string()),
        )
}

/// Every table a tenant's rows are in, in copy order: the tenant tables, then shared ones.
pub async fn tables_of_a_tenant(owner: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let mut tables = tenant_tables_in_order(owner).await?;
    tables.extend(SHARED.iter().map(|(table, _)| format!("public.{table}")));
    Ok(tables)
}

/// Copies the tenant's rows of `table` from `source` into the target transaction `target`.
/// A Uuid prints as hex digits and hyphens only, and table names come from the catalog, so the
/// statements carry no outside text.
pub async fn copy_table(
    source: &PgPool,
    target: &mut PgConnection,
    table: &str,
    owner_id: OwnerId,
) -> Result<u64, sqlx::Error> {
    let mut rows = source
        .copy_out_raw(&format!(
            "COPY (SELECT * FROM {table} WHERE {}) TO STDOUT (FORMAT binary)",
            condition(table, owner_id)
        ))
        .await?;
    let mut copy_in = target
        .copy_in_raw(&format!("COPY {table} FROM STDIN (FORMAT binary)"))
        .await?;
    while let Some(chunk) = rows.try_next().await? {
        copy_in.send(chunk).await?;
    }
    copy_in.finish().await
}

/// Writes the tenant's data keys into `target`, unwrapped with the source region's key and
/// wrapped again with the target's.
pub async fn rewrap_data_keys(
    source: &PgPool,
    target: &mut PgConnection,
    kek: &KeyEncryptionKey,
    from: Tenant,
    to: Tenant,
) -> Result<u64, crypto::CryptoError> {
    let keys: Vec<(i32, String, Vec<u8>, time::OffsetDateTime)> = sqlx::query_as(
        "SELECT version, kek_id, wrapped_key, created_at FROM data_keys WHERE owner_id = $1",
    )
    .bind(from.owner_id)
    .fetch_all(source)
    .await?;
    for (version, kek_id, wrapped_key, created_at) in &keys {
        let stored = crypto::WrappedKey {
            version: *version,
            kek_id: kek_id.clone(),
            wrapped_key: wrapped_key.clone(),
        };
        let (rewrapped, kek_id) = crypto::rewrap_data_key(kek, kek, from, to, &stored)?;
        sqlx::query(
            "INSERT INTO data_keys (owner_id, version, wrapped_key, created_at, kek_id) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(to.owner_id)
        .bind(version)
        .bind(rewrapped)
        .bind(created_at)
        .bind(kek_id)
        .execute(&mut *target)
        .await?;
    }
    Ok(keys.len() as u64)
}

/// The tenant's share of `table`, counted and summed the same way in any region.
pub async fn digest(
    conn: &mut PgConnection,
    table: &str,
    owner_id: OwnerId,
) -> Result<TableDigest, sqlx::Error> {
    let (rows, checksum): (i64, String) = sqlx::query_as(&format!(
        "SELECT count(*), coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') \
         FROM {table} AS t WHERE {}",
        condition(table, owner_id)
    ))
    .fetch_one(conn)
    .await?;
    Ok(TableDigest {
        table: table.to_owned(),
        rows,
        checksum: (table != DATA_KEYS).then_some(checksum),
    })
}

/// Whether `table` is the tenants table, whose row names the tenant's region (and so differs
/// between the regions once a copy is recorded as moved).
pub fn names_region(table: &str) -> bool {
    table == "public.tenants"
}

/// Whether `table` is the one whose rows are re-wrapped instead of copied.
pub fn is_data_keys(table: &str) -> bool {
    table == DATA_KEYS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_come_after_what_they_reference_and_in_a_fixed_order() {
        let tables: Vec<String> = ["c", "a", "tenants", "b"].map(String::from).to_vec();
        let edges: Vec<(String, String)> =
            [("a", "tenants"), ("b", "a"), ("c", "tenants"), ("x", "a")]
                .map(|(f, t)| (f.to_owned(), t.to_owned()))
                .to_vec();
        assert_eq!(
            in_dependency_order(&tables, &edges),
            ["tenants", "a", "c", "b"]
        );
    }

    #[test]
    fn shared_tables_select_by_their_own_column() {
        let owner = OwnerId::from_uuid(uuid::Uuid::nil());
        assert_eq!(
            condition("public.mail_outbox", owner),
            "account = '00000000-0000-0000-0000-000000000000'"
        );
        assert!(condition("public.accounts", owner).starts_with("owner_id = '0000"));
    }
}
