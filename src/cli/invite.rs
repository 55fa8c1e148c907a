//! `custodian invite create`: a single-use invite code and its sign-up link.

use app::{
    auth::service::invites,
    platform::{config::Settings, region::Region},
};

use super::{migrated_owner_pools, CliError};

pub async fn create(settings: &Settings, expires_in_days: u32) -> Result<(), CliError> {
    let public_url = settings.public_url()?;
    invites::validate_expiry(expires_in_days)?;
    // An operator's invite is kept in the default region, where an unrouted code is looked up.
    let owners = migrated_owner_pools(settings).await?;
    let invite = invites::create(owners.region(Region::DEFAULT)?, expires_in_days, None).await?;
    owners.close().await;
    println!("Invite code: {}", invite.code);
    println!("Sign up at:  {}", invite.signup_url(&public_url));
    println!("Expires:     {}", invite.expires_on());
    Ok(())
}
