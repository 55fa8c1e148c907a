//! The privacy area's SQL, the only SQL for the tables it owns: the tenant tables
//! `consent_records`, `consent_links` and `policy_acknowledgments`; `anonymous_consents` (a
//! browser's records, visible only with its consent id); and `policy_versions` and `page_views`
//! (about no one).
//!
//! Owns: `consent_records`, `consent_links`, `policy_acknowledgments`, `anonymous_consents`,
//! `policy_versions`, `page_views`.

pub mod analytics;
pub mod export;
pub mod ledger;
pub mod policies;

use sqlx::PgConnection;

use crate::platform::{db::TenantTx, ids::OwnerId, jobs::BoxFuture, server_parts::for_owner};

/// Deletes the tenant's rows from the tenant tables above.
pub fn erase(tx: &mut TenantTx) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let owner_id = tx.owner_id();
        for_owner(tx, owner_id, &[
            // The records of the browsers the person signed in on go with theirs, unless
            // someone else signed in on the same browser.
            "DELETE FROM anonymous_consents WHERE consent_id IN \
             (SELECT consent_id FROM consent_links WHERE owner_id = $1) \
             AND consent_id NOT IN (SELECT consent_id FROM consent_links WHERE owner_id <> $1)",
            "DELETE FROM consent_records WHERE owner_id = $1",
            "DELETE FROM consent_links WHERE owner_id = $1",
            "DELETE FROM policy_acknowledgments WHERE owner_id = $1",
        ])
        .await
    })
}

/// One row of `owner` in each tenant table above.
pub fn seed(conn: &mut PgConnection, owner: OwnerId) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        for_owner(conn, owner, &[
            "INSERT INTO consent_records (owner_id, id, granted, denied, policy_version, method, gpc, recorded_at, user_agent) \
             VALUES ($1, gen_random_uuid(), '{essential}', '{analytics}', 1, 'banner', false, now(), 'seed')",
            "INSERT INTO consent_links (owner_id, consent_id, linked_at) VALUES ($1, $1, now())",
            "INSERT INTO anonymous_consents (consent_id, id, granted, denied, policy_version, method, gpc, recorded_at, user_agent) \
             VALUES ($1, gen_random_uuid(), '{essential}', '{analytics}', 1, 'banner', false, now(), 'seed')",
            "INSERT INTO policy_versions (document, version, published_at, material, summary, body) \
             VALUES ('terms', 1, now(), false, 'Seed', 'Seed') ON CONFLICT DO NOTHING",
            "INSERT INTO policy_acknowledgments (owner_id, document, version, acknowledged_at) \
             VALUES ($1, 'terms', 1, now())",
        ])
        .await
    })
}
