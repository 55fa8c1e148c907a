//! `custodian policy publish`: the next version of a policy from a Markdown file.

use std::{fs, path::Path};

use app::{
    auth::service::accounts,
    platform::{
        clock::{Clock, SystemClock},
        config::Settings,
    },
    privacy::{
        service::policies::{self, Recipient},
        store::policies::NewVersion,
    },
};

use super::{migrated_owner_pools, CliError};

/// Publishes the next version of a policy; a material change asks every signed-in person to
/// review it and mails every account.
pub async fn publish(
    settings: &Settings,
    document: &str,
    file: &Path,
    summary: &str,
    material: bool,
) -> Result<(), CliError> {
    let public_url = settings.public_url()?;
    policies::title(document)?;
    let body = fs::read_to_string(file).map_err(|source| CliError::PolicyFile {
        path: file.display().to_string(),
        source,
    })?;
    if body.trim().is_empty() {
        return Err(CliError::EmptyPolicy);
    }
    let summary = summary.trim();
    if summary.is_empty() || summary.chars().count() > 500 {
        return Err(CliError::BadSummary);
    }
    let new = NewVersion {
        document,
        published_at: SystemClock.now(),
        material,
        summary,
        body: &body,
    };
    // Every region keeps the policies its people consent to, so each gets the new version; each
    // region's accounts are mailed from their own region.
    let owners = migrated_owner_pools(settings).await?;
    let mut version = 0;
    for (_, owner) in &owners.regions {
        let recipients = if material {
            accounts::directory(owner)
                .await?
                .into_iter()
                .map(|(email, account)| Recipient { account, email })
                .collect()
        } else {
            Vec::new()
        };
        version = policies::publish(owner, &new, &recipients, &public_url).await?;
    }
    owners.close().await;
    println!(
        "Published version {version} of {document}{}.",
        if material {
            "; signed-in people will be asked to review it, and every account is emailed"
        } else {
            ""
        }
    );
    Ok(())
}
