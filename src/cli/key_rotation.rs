//! `custodian keys`: the operator's side of the key hierarchy (promise P9).

use app::{
    platform::{
        audit,
        clock::{Clock, SystemClock},
        config::Settings,
        db::TenantTx,
        directory,
        error::InfraError,
    },
    security::model::DATA_KEY_ROTATED,
};

use super::{app_regions, key_encryption_key, migrated_owner_pools, CliError};

/// Rotates one account's data key: a new version, and everything the account keeps sealed
/// sealed again with it, in one transaction with a security-log event. A value already sealed
/// with the newest key is left alone, so an interrupted run leaves nothing half done and a new
/// run simply rotates again.
pub async fn rotate_data_key(settings: &Settings, email: &str) -> Result<(), CliError> {
    let kek = key_encryption_key(settings)?;
    let owners = migrated_owner_pools(settings).await?;
    let regions = app_regions(settings, &owners, &kek).await?;
    let email = email.trim().to_lowercase();
    let outcome = async {
        let tenant = directory::route_of_address(regions.directory(), &kek, &email)
            .await?
            .ok_or_else(|| CliError::NoSuchAccount(email.clone()))?;
        let now = SystemClock.now();
        let mut tx = TenantTx::begin(&regions, tenant).await?;
        let (version, resealed) = app::server::rotate_data_key(&mut tx, &kek, now)
            .await
            .map_err(InfraError::from)?;
        let detail = format!(
            "by the operator; now version {version}; {resealed} sealed value(s) sealed again"
        );
        audit::record_unattributed(&mut tx, &kek, DATA_KEY_ROTATED, &detail, now)
            .await
            .map_err(InfraError::from)?;
        tx.commit().await?;
        Ok::<_, CliError>((version, resealed))
    }
    .await;
    owners.close().await;
    regions.close().await;
    let (version, resealed) = outcome?;
    println!("Rotated the data key of {email} to version {version}; {resealed} sealed value(s) sealed again.");
    Ok(())
}
