//! `custodian audit verify`: checks the security logs.

use app::{
    auth::service::accounts,
    platform::{
        audit,
        clock::{Clock, SystemClock},
        config::Settings,
        db::TenantTx,
        region::Tenant,
    },
};

use super::{app_regions, key_encryption_key, migrated_owner_pools, CliError};

/// Checks the security log of one account (`email`) or of every account: its keyed hash chain
/// and its signed checkpoints. Prints a line per account; fails when any log does not verify.
pub async fn verify(settings: &Settings, email: Option<&str>) -> Result<(), CliError> {
    let key = key_encryption_key(settings)?;
    let owners = migrated_owner_pools(settings).await?;
    let regions = app_regions(settings, &owners, &key).await?;
    let email = email.map(|email| email.trim().to_lowercase());
    let mut accounts = Vec::new();
    for (region, owner) in &owners.regions {
        audit::rekey_legacy_chains(owner, &key, SystemClock.now()).await?;
        let found = match &email {
            Some(email) => accounts::directory_entry(owner, email)
                .await?
                .map(|owner_id| vec![(email.clone(), owner_id)])
                .unwrap_or_default(),
            None => accounts::directory(owner).await?,
        };
        accounts.extend(
            found
                .into_iter()
                .map(|(email, owner_id)| (email, Tenant::new(owner_id, *region))),
        );
    }
    owners.close().await;
    if let (Some(email), true) = (email, accounts.is_empty()) {
        return Err(CliError::NoSuchAccount(email));
    }
    let mut broken = 0;
    for (email, tenant) in accounts {
        let mut tx = TenantTx::begin(&regions, tenant).await?;
        match audit::verify(&mut tx, &key).await? {
            Ok(summary) => println!(
                "{email} ({}): intact, {} events, {} signed checkpoints",
                tenant.region.label(),
                summary.events,
                summary.checkpoints
            ),
            Err(breach) => {
                broken += 1;
                println!("{email}: DOES NOT VERIFY: {breach:?}");
            }
        }
        tx.commit().await?;
    }
    if broken > 0 {
        return Err(CliError::AuditBroken(broken));
    }
    Ok(())
}
