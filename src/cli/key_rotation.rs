//! `custodian keys`: the operator's side of the key hierarchy (promise P9).

use std::path::Path;

use app::{
    platform::{
        audit,
        clock::{Clock, SystemClock},
        config::Settings,
        crypto,
        db::TenantTx,
        error::InfraError,
        keys,
    },
    security::model::DATA_KEY_ROTATED,
};

use super::{account_of, app_regions, key_encryption_key, migrated_owner_pools, CliError};

/// Rotates one account's data key: a new version, and everything the account keeps sealed
/// sealed again with it, in one transaction with a security-log event. A value already sealed
/// with the newest key is left alone, so an interrupted run leaves nothing half done and a new
/// run simply rotates again.
pub async fn rotate_data_key(settings: &Settings, email: &str) -> Result<(), CliError> {
    let kek = key_encryption_key(settings)?;
    let owners = migrated_owner_pools(settings).await?;
    let regions = app_regions(settings, &owners, &kek).await?;
    let outcome = async {
        let tenant = account_of(&regions, &kek, email).await?;
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
    println!(
        "Rotated the data key of {} to version {version}; {resealed} sealed value(s) sealed again.",
        email.trim()
    );
    Ok(())
}

/// Rotates the key that wraps every tenant's data key: each region's data keys are wrapped
/// again with `new_key_file`'s key, one transaction per database, then that key is installed as
/// the wrapping key. The old wrapping key opens data keys until its database's transaction
/// commits, and nothing after. Run it with the server stopped (it reads its keys at start);
/// run it again after an interruption: what is already wrapped by the new key is left alone.
pub async fn rotate_kek(settings: &Settings, new_key_file: &Path) -> Result<(), CliError> {
    let installed = settings.wrapping_key_file();
    if installed == settings.key_file() {
        return Err(CliError::WrappingKeyFile(installed.display().to_string()));
    }
    let current = key_encryption_key(settings)?;
    let new_key = keys::read_key_file(new_key_file)?;
    let next = current.with_wrapping(new_key);
    let owners = migrated_owner_pools(settings).await?;
    let outcome = async {
        let mut rewrapped = 0;
        for (_, pool) in &owners.regions {
            let mut tx = pool.begin().await.map_err(InfraError::from)?;
            rewrapped += crypto::rewrap_database(&mut tx, &current, &next)
                .await
                .map_err(InfraError::from)?;
            tx.commit().await.map_err(InfraError::from)?;
        }
        // The key it replaces stays beside it: backups taken under it still need it.
        if let (Ok(old), false) = (
            keys::read_key_file(&installed),
            current.wrapping_id() == next.wrapping_id(),
        ) {
            let retired = installed.with_file_name(format!(
                "data-key-wrapping.{}.retired.key",
                current.wrapping_id()
            ));
            keys::install_key_file(&retired, &old)?;
        }
        keys::install_key_file(&installed, &new_key)?;
        Ok::<_, CliError>(rewrapped)
    }
    .await;
    owners.close().await;
    let rewrapped = outcome?;
    println!(
        "Wrapped {rewrapped} data key(s) with the new key {}; it is installed at {}. Back it up: the data keys open with it alone (a key it replaced is kept beside it, for older backups).",
        next.wrapping_id(),
        installed.display()
    );
    Ok(())
}
