//! `custodian deletion run-due --as-of TIME`: runs the deletion reminders and purges (and the
//! mail they send) that are due at TIME, in every region, by the same jobs the server runs.
//! What the server does on its own when TIME comes; run earlier, it honours a request to delete
//! at once (and lets a browser test see the end of a grace period without waiting for it).

use std::sync::Arc;

use app::{
    data::service::purge,
    platform::{
        clock::{Clock, ManualClock, SystemClock},
        config::Settings,
        jobs::{JobContext, Runner},
        mail::{self, Mailer},
    },
};
use time::OffsetDateTime;

use super::{app_regions, key_encryption_key, migrated_owner_pools, CliError};

pub async fn run_due(settings: &Settings, as_of: OffsetDateTime) -> Result<(), CliError> {
    let kek = Arc::new(key_encryption_key(settings)?);
    let public_url = settings.public_url()?;
    let mailer = Mailer::new(&settings.mail_transport()?)?;
    let owners = migrated_owner_pools(settings).await?;
    let regions = app_regions(settings, &owners, &kek).await?;
    owners.close().await;
    let clock = ManualClock::starting_now();
    clock.advance(as_of - SystemClock.now());
    let mut ran = 0;
    for (region, pool) in regions.cells() {
        let context = JobContext {
            pool: pool.clone(),
            clock: Arc::new(clock.clone()),
            mailer: mailer.clone(),
            region,
            directory: regions.directory().clone(),
            data_dir: settings.data_dir.clone().into(),
            key_encryption_key: kek.clone(),
            public_url: public_url.clone(),
            regions: regions.clone(),
        };
        let runner = Runner::new(context, [&purge::REMIND, &purge::PURGE, &mail::DELIVERY]);
        ran += runner.run_due().await?;
    }
    regions.close().await;
    println!(
        "Ran {ran} deletion job(s) and mail deliveries due by {}.",
        app::platform::clock::to_minute(as_of)
    );
    Ok(())
}
