//! `custodian audit verify`: checks the security logs.

use app::{
    auth::service::accounts,
    platform::{
        audit,
        clock::{Clock, SystemClock},
        config::Settings,
        db::TenantTx,
    },
};

use super::{app_pool, key_encryption_key, migrated_owner_pool, CliError};

/// Checks the security log of one account (`email`) or of every account: its keyed hash chain
/// and its signed checkpoints. Prints a line per account; fails when any log does not verify.
pub async fn verify(settings: &Settings, email: Option<&str>) -> Result<(), CliError> {
    let key = key_encryption_key(settings)?;
    let owner = migrated_owner_pool(settings).await?;
    audit::rekey_legacy_chains(&owner, &key, SystemClock.now()).await?;
    let accounts = match email {
        Some(email) => {
            let email = email.trim().to_lowercase();
            let found = accounts::directory_entry(&owner, &email).await?;
            vec![(email.clone(), found.ok_or(CliError::NoSuchAccount(email))?)]
        }
        None => accounts::directory(&owner).await?,
    };
    // The app role reads the log, so row-level security keeps each check to its own tenant.
    let pool = app_pool(settings, &owner, &key).await?;
    let mut broken = 0;
    for (email, owner_id) in accounts {
        let mut tx = TenantTx::begin(&pool, owner_id).await?;
        match audit::verify(&mut tx, &key).await? {
            Ok(summary) => println!(
                "{email}: intact, {} events, {} signed checkpoints",
                summary.events, summary.checkpoints
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
