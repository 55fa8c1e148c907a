//! The binary's commands: serving the site, and the operator's commands. Each failure is one
//! line saying what is wrong and what to do.

pub mod audit;
pub mod invite;
pub mod policy;
pub mod serve;

use app::{
    auth::service::invites::InviteError,
    platform::{
        config::{ConfigError, Settings},
        db::{self, DbError},
        error::InfraError,
        keys::{self, Derived, KeyEncryptionKey, KeyError},
        mail::MailError,
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
    #[error("the summary must be 1 to 500 characters")]
    BadSummary,
    #[error("the server stopped unexpectedly: {0}")]
    Serve(#[source] std::io::Error),
    #[error("no account has the address {0}")]
    NoSuchAccount(String),
    #[error("{0} security log(s) failed to verify")]
    AuditBroken(usize),
    #[error("the security log could not be read: {0}")]
    Audit(#[from] app::platform::audit::AuditError),
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// The migration role's pool, with the database created and migrated and the bundled policies
/// in place.
pub async fn migrated_owner_pool(settings: &Settings) -> Result<PgPool, CliError> {
    db::create_database_if_missing(&settings.database_url).await?;
    let owner = db::connect_owner(&settings.database_url).await?;
    db::migrate(&owner).await?;
    policies::sync_bundled(&owner).await?;
    Ok(owner)
}

/// `custodian migrate`.
pub async fn migrate(settings: &Settings) -> Result<(), CliError> {
    migrated_owner_pool(settings).await?;
    println!("The database is up to date.");
    Ok(())
}

/// The key-encryption key, from configuration or its file (created on first start).
pub fn key_encryption_key(settings: &Settings) -> Result<KeyEncryptionKey, CliError> {
    Ok(match &settings.key_encryption_key {
        Some(configured) => keys::from_setting(configured)?,
        None => keys::load_or_create(&settings.key_file())?,
    })
}

/// The password of the app role's generated login: derived from the key-encryption key, so it
/// is kept, backed up and replaced with the keys, and every server sharing the key agrees on it.
pub fn app_role_password(key: &KeyEncryptionKey) -> String {
    URL_SAFE_NO_PAD.encode(key.derive(Derived::AppDatabasePassword))
}

/// The server's pool, logged in as the app role: APP_DATABASE_URL when given; otherwise the
/// migration role gives the app role a login with a generated password, and the pool uses it.
pub async fn app_pool(
    settings: &Settings,
    owner: &PgPool,
    key: &KeyEncryptionKey,
) -> Result<PgPool, CliError> {
    let options = match &settings.app_database_url {
        Some(url) => db::parse_url("APP_DATABASE_URL", url)?,
        None => {
            let password = app_role_password(key);
            db::ensure_app_login(owner, &password).await?;
            db::app_login(
                &db::parse_url("DATABASE_URL", &settings.database_url)?,
                &password,
            )
        }
    };
    Ok(db::connect_app(options, APP_POOL_SIZE).await?)
}

pub fn leptos_options(settings: &Settings) -> LeptosOptions {
    LeptosOptions::builder()
        // The bundle name cargo-leptos uses: `name` in [[workspace.metadata.leptos]].
        .output_name("custodian")
        .site_root(settings.site_root.to_string_lossy().into_owned())
        .site_addr(settings.site_addr)
        .build()
}
