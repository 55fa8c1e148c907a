//! The binary's commands: serving the site, and the operator's commands. Each failure is one
//! line saying what is wrong and what to do.

pub mod audit;
pub mod backup;
pub mod deletion;
pub mod export;
pub mod invite;
pub mod key_rotation;
pub mod policy;
pub mod requests;
pub mod serve;
pub mod tenant;

use app::{
    auth::service::invites::InviteError,
    platform::{
        config::{ConfigError, Settings},
        db::{self, DbError},
        error::InfraError,
        keys::{self, Derived, KeyEncryptionKey, KeyError},
        mail::MailError,
        region::Region,
        regions::Regions,
    },
    privacy::service::{policies, PrivacyError},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use thiserror::Error;

const APP_POOL_SIZE: u32 = 10;

#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Invite(#[from] InviteError),
    #[error(transparent)]
    Outbound(#[from] app::platform::outbound::OutboundError),
    #[error("WRAPPING_KEY_FILE {0} is the key-encryption key's own file; give the wrapping key a file of its own")]
    WrappingKeyFile(String),
    #[error("data keys in the {region} database are wrapped by {ids}, not by this server's wrapping key {current}; finish the rotation with `custodian keys rotate-kek --new-key-file` (the key being installed), or install the wrapping key they need")]
    OtherWrappingKeys {
        region: String,
        ids: String,
        current: String,
    },
    #[error("MAIL_TRANSPORT cannot be used: {0}")]
    Mail(#[from] MailError),
    #[error("data directory {path} is not usable ({source}); fix its permissions or choose another with --data-dir or DATA_DIR")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {addr} ({reason}); stop the program using it or choose another with --site-addr or SITE_ADDR")]
    Bind {
        addr: std::net::SocketAddr,
        reason: String,
    },
    #[error("cannot publish the policy: {0}")]
    Policy(#[from] PrivacyError),
    #[error("cannot read {path}: {source}")]
    PolicyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the policy text must not be empty")]
    EmptyPolicy,
    #[error("{0}")]
    Rights(#[from] app::data::rights::service::RightsError),
    #[error("{0:?} is not a right; use correction, restriction, objection, access or opt_out")]
    UnknownRight(String),
    #[error("the news needs a subject and a body")]
    EmptyNews,
    #[error("the retention sweep failed: {0}")]
    Sweep(String),
    #[error("the summary must be 1 to 500 characters")]
    BadSummary,
    #[error("the server stopped unexpectedly: {0}")]
    Serve(#[source] std::io::Error),
    #[error("no account has the address {0}")]
    NoSuchAccount(String),
    #[error("that account is already in {0}")]
    AlreadyInRegion(&'static str),
    #[error(
        "a move of that account to {0} is under way; run the same command with --to to finish it"
    )]
    MoveUnderWay(&'static str),
    #[error("the copy did not match ({0}); it was removed and the account stays where it was")]
    MoveMismatch(String),
    #[error("another run is moving that account right now; wait for it to end")]
    MoveRunning,
    #[error("that account is scheduled for deletion; it is not moved (cancelling the deletion makes it movable)")]
    DeletionScheduled,
    #[error("both regions are one database here; there is nothing to move")]
    SameDatabase,
    #[error("{0} security log(s) failed to verify")]
    AuditBroken(usize),
    #[error("the security log could not be read: {0}")]
    Audit(#[from] app::platform::audit::AuditError),
    #[error("the export could not be built: {}", .0.for_person())]
    Export(app::data::service::job::BuildError),
    #[error("cannot write {path}: {source}")]
    ExportFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("backup: {0}")]
    Backup(#[from] backup::BackupFailure),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl From<sqlx::Error> for CliError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error.into())
    }
}

/// The directory's database and each region's, created when missing and migrated, each with a
/// small pool of the migration role.
pub struct OwnerPools {
    pub directory: PgPool,
    pub regions: Vec<(Region, PgPool)>,
}

impl OwnerPools {
    /// The migration role's pool of `region`, which configuration always includes.
    pub fn region(&self, region: Region) -> Result<&PgPool, CliError> {
        self.regions
            .iter()
            .find(|(served, _)| *served == region)
            .map(|(_, pool)| pool)
            .ok_or(CliError::Database(DbError::RegionNotServed(region)))
    }

    pub async fn close(self) {
        self.directory.close().await;
        for (_, pool) in self.regions {
            pool.close().await;
        }
    }
}

async fn migrated_owner_pool(url: &str) -> Result<PgPool, CliError> {
    db::create_database_if_missing(url).await?;
    let owner = db::connect_owner(url).await?;
    db::migrate(&owner).await?;
    policies::sync_bundled(&owner).await?;
    Ok(owner)
}

/// Every database this server uses, created and migrated: the directory and each region's.
pub async fn migrated_owner_pools(settings: &Settings) -> Result<OwnerPools, CliError> {
    let directory = migrated_owner_pool(&settings.database_url).await?;
    let mut regions = Vec::new();
    for (region, url) in settings.region_urls()? {
        regions.push((region, migrated_owner_pool(&url).await?));
    }
    Ok(OwnerPools { directory, regions })
}

/// Creates and migrates every database when needed (`custodian migrate`).
pub async fn migrate(settings: &Settings) -> Result<(), CliError> {
    migrated_owner_pools(settings).await?.close().await;
    println!("The databases are up to date.");
    Ok(())
}

/// The key-encryption key: from KEY_ENCRYPTION_KEY, else from the key file (created on first
/// start).
pub fn key_encryption_key(settings: &Settings) -> Result<KeyEncryptionKey, CliError> {
    let key = match &settings.key_encryption_key {
        Some(configured) => keys::from_setting(configured)?,
        None => keys::load_or_create(&settings.key_file())?,
    };
    Ok(keys::with_wrapping_file(
        key,
        &settings.wrapping_key_file(),
    )?)
}

/// The account an operator names by its address, wherever its region is.
pub async fn account_of(
    regions: &Regions,
    kek: &KeyEncryptionKey,
    email: &str,
) -> Result<app::platform::region::Tenant, CliError> {
    let email = email.trim().to_lowercase();
    app::platform::directory::route_of_address(regions.directory(), kek, &email)
        .await?
        .ok_or(CliError::NoSuchAccount(email))
}

/// The app role's password when the server gives the role its login itself: derived from the
/// key-encryption key, so it is never stored anywhere else.
pub fn app_role_password(key: &KeyEncryptionKey) -> String {
    URL_SAFE_NO_PAD.encode(key.derive(Derived::AppDatabasePassword))
}

/// A pool of the app role on the database of `url` (a migration role's URL): APP_DATABASE_URL's
/// login when set, else a login the server gives the role with a password from the key.
async fn app_pool(
    settings: &Settings,
    owner: &PgPool,
    url: &str,
    key: &KeyEncryptionKey,
) -> Result<PgPool, CliError> {
    let options = match &settings.app_database_url {
        Some(app_url) if url == settings.database_url => {
            db::parse_url("APP_DATABASE_URL", app_url)?
        }
        Some(app_url) => db::parse_url("APP_DATABASE_URL", &with_login_of(url, app_url))?,
        None => {
            let password = app_role_password(key);
            db::ensure_app_login(owner, &password).await?;
            db::app_login(&db::parse_url("DATABASE_URL", url)?, &password)
        }
    };
    Ok(db::connect_app(options, APP_POOL_SIZE).await?)
}

/// `url` with the user and password of `login` (APP_DATABASE_URL's login, used on every region's
/// database); unparseable input is returned as it is, for the URL parser to refuse by name.
fn with_login_of(url: &str, login: &str) -> String {
    let (Ok(mut target), Ok(login)) = (url::Url::parse(url), url::Url::parse(login)) else {
        return login.to_owned();
    };
    if target.set_username(login.username()).is_err()
        || target.set_password(login.password()).is_err()
    {
        return login.to_string();
    }
    target.to_string()
}

/// The app role's pools of the directory and of every region: what the server routes among.
pub async fn app_regions(
    settings: &Settings,
    owners: &OwnerPools,
    key: &KeyEncryptionKey,
) -> Result<Regions, CliError> {
    let directory = app_pool(settings, &owners.directory, &settings.database_url, key).await?;
    let mut cells = Vec::new();
    for (region, url) in settings.region_urls()? {
        cells.push((
            region,
            app_pool(settings, owners.region(region)?, &url, key).await?,
        ));
    }
    Ok(Regions::new(directory, cells))
}

pub fn leptos_options(settings: &Settings) -> LeptosOptions {
    LeptosOptions::builder()
        // The bundle name cargo-leptos uses: `name` in [[workspace.metadata.leptos]].
        .output_name("custodian")
        .site_root(settings.site_root.to_string_lossy().into_owned())
        .site_addr(settings.site_addr)
        .build()
}
