//! A browser's consent records follow it into its account's region (promise P11).
//!
//! Records of a browser not signed in are kept in the default region. When the browser is
//! linked to an account of another region (sign-up, sign-in), its records are copied into the
//! account's transaction, marked with the region they came from, and removed from the default
//! region once that transaction has committed. Copying is idempotent, so a server stopped in
//! between leaves a copy that the next link removes, never a record lost.

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    platform::{
        client::ClientInfo,
        db::{self, TenantTx},
        error::InfraError,
        region::Region,
        state::AppState,
    },
    privacy::store::ledger as store,
};

/// Records copied into an account's region, still to be removed where they were kept.
#[must_use = "the records stay in their old region until `remove_from_source` runs"]
pub struct BroughtRecords {
    source: PgPool,
    consent_id: Uuid,
    /// Only the records copied: one written meanwhile stays until the next link brings it.
    ids: Vec<Uuid>,
}

impl BroughtRecords {
    /// Removes the records from the region they were kept in; call once the account's
    /// transaction has committed.
    pub async fn remove_from_source(self) -> Result<(), InfraError> {
        let mut tx = db::begin_for_browser(&self.source, self.consent_id).await?;
        store::remove_moved_browser_records(&mut tx, &self.ids).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Copies the browser's records into `tx` (an account's transaction) when they are kept in
/// another region's database; None when there was nothing to bring.
pub async fn bring(
    state: &AppState,
    tx: &mut TenantTx,
    client: &ClientInfo,
) -> Result<Option<BroughtRecords>, InfraError> {
    let Some(consent_id) = client.consent_id else {
        return Ok(None);
    };
    let (kept_in, region) = (Region::DEFAULT, tx.tenant().region);
    if state.regions.same_database(kept_in, region).await? {
        return Ok(None);
    }
    let source = state.regions.pool(kept_in)?.clone();
    let mut from = db::begin_for_browser(&source, consent_id).await?;
    let records = store::browser_records(&mut from, consent_id).await?;
    from.commit().await?;
    if records.is_empty() {
        return Ok(None);
    }
    tx.include_browser(consent_id).await?;
    for record in &records {
        store::insert_moved(tx, consent_id, record, kept_in.as_str()).await?;
    }
    Ok(Some(BroughtRecords {
        source,
        consent_id,
        ids: records.iter().map(|record| record.id).collect(),
    }))
}

/// Finishes a move after the account's transaction committed; a failure only leaves a copy
/// behind, which the browser's next link removes.
pub async fn finish(brought: Option<BroughtRecords>) {
    if let Some(brought) = brought {
        if let Err(error) = brought.remove_from_source().await {
            tracing::warn!(%error, "consent records were copied but not yet removed from their old region");
        }
    }
}
