//! `custodian export`: an operator answers an access request with the same archive the Your
//! data page builds (promise P8), by the same code, on the account's region as the app role.

use std::path::Path;

use app::{
    data::service::{
        archive::{Contents, Progress},
        job,
    },
    platform::{config::Settings, portable::Signing},
};
use tokio::sync::watch;

use super::{account_of, app_regions, key_encryption_key, migrated_owner_pools, CliError};

pub async fn export(settings: &Settings, email: &str, out: &Path) -> Result<(), CliError> {
    let kek = key_encryption_key(settings)?;
    let public_url = settings.public_url()?;
    let owners = migrated_owner_pools(settings).await?;
    let regions = app_regions(settings, &owners, &kek).await?;
    let outcome = async {
        let tenant = account_of(&regions, &kek, email).await?;
        let signing = Signing::new(&kek, &public_url);
        let contents = Contents::everything(tenant, signing);
        // Written beside the target under a name of its own and renamed: a failed run leaves
        // no half archive, and no file that was there is overwritten by one.
        let name = out
            .file_name()
            .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
        let part = out.with_file_name(format!(".{name}.{}.part", uuid::Uuid::new_v4()));
        let (progress, _) = watch::channel(Progress::default());
        let written =
            job::write_snapshot(regions.pool(tenant.region)?, &contents, &part, &progress).await;
        let summary = match written {
            Ok(summary) => summary,
            Err(error) => {
                let _ = std::fs::remove_file(&part);
                return Err(CliError::Export(error));
            }
        };
        if let Err(source) = std::fs::rename(&part, out) {
            let _ = std::fs::remove_file(&part);
            return Err(CliError::ExportFile {
                path: out.display().to_string(),
                source,
            });
        }
        Ok(summary)
    }
    .await;
    owners.close().await;
    regions.close().await;
    let summary = outcome?;
    println!(
        "Wrote {} ({} records, {} bytes, manifest SHA-256 {}).",
        out.display(),
        summary.records,
        summary.size_bytes,
        summary.manifest_sha256
    );
    Ok(())
}
