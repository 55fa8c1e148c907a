//! `custodian invite create`: a single-use invite code and its sign-up link.

use app::{auth::service::invites, platform::config::Settings};

use super::{migrated_owner_pool, CliError};

pub async fn create(settings: &Settings, expires_in_days: u32) -> Result<(), CliError> {
    let public_url = settings.public_url()?;
    invites::validate_expiry(expires_in_days)?;
    let owner = migrated_owner_pool(settings).await?;
    let invite = invites::create(&owner, expires_in_days, None).await?;
    println!("Invite code: {}", invite.code);
    println!("Sign up at:  {}", invite.signup_url(&public_url));
    println!("Expires:     {}", invite.expires_on());
    Ok(())
}
