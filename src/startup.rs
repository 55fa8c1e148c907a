//! Start-up: check every setting and resource, then serve. Each failure is one line saying what
//! is wrong and what to do.

use std::{fs, io::ErrorKind, net::SocketAddr, sync::Arc};

use app::{
    auth::invites::{self, InviteError},
    platform::{
        clock::{Clock, SystemClock},
        config::{ConfigError, MailTransport, Settings},
        db::{self, DbError},
        hashing::HashingSlots,
        keys::{self, Derived, KeyEncryptionKey, KeyError},
        mail::{MailError, Mailer},
        rate_limit::Limits,
        session_store::SessionRecords,
        state::AppState,
    },
    privacy::{policies, service::PrivacyError},
};
use axum::serve::ListenerExt;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use thiserror::Error;
use tokio::net::TcpListener;

use crate::{jobs, router};

const APP_POOL_SIZE: u32 = 10;
const FIRST_INVITE_DAYS: u32 = 7;

#[derive(Debug, Error)]
pub enum StartupError {
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
    Bind { addr: SocketAddr, reason: String },
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
}

/// Creates the data directory (and the mail folder when mail goes to files, readable by the
/// server's user alone: mail holds single-use links) and proves each can be written to.
fn prepare_data_dir(settings: &Settings) -> Result<(), StartupError> {
    use std::os::unix::fs::PermissionsExt;

    let mut dirs = vec![(settings.data_dir.clone(), None)];
    if let MailTransport::Directory(mail) = settings.mail_transport()? {
        dirs.push((mail, Some(0o700)));
    }
    for (dir, mode) in dirs {
        let fail = |source| StartupError::DataDir {
            path: dir.display().to_string(),
            source,
        };
        fs::create_dir_all(&dir).map_err(fail)?;
        if let Some(mode) = mode {
            fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).map_err(fail)?;
        }
        let probe = dir.join(".write-check");
        fs::write(&probe, b"").map_err(fail)?;
        fs::remove_file(&probe).map_err(fail)?;
    }
    Ok(())
}

async fn migrated_owner_pool(settings: &Settings) -> Result<PgPool, StartupError> {
    db::create_database_if_missing(&settings.database_url).await?;
    let owner = db::connect_owner(&settings.database_url).await?;
    db::migrate(&owner).await?;
    policies::sync_bundled(&owner)
        .await
        .map_err(|e| StartupError::Database(e.into()))?;
    Ok(owner)
}

pub async fn migrate(settings: &Settings) -> Result<(), StartupError> {
    migrated_owner_pool(settings).await?;
    println!("The database is up to date.");
    Ok(())
}

pub async fn create_invite(settings: &Settings, expires_in_days: u32) -> Result<(), StartupError> {
    let public_url = settings.public_url()?;
    invites::validate_expiry(expires_in_days)?;
    let owner = migrated_owner_pool(settings).await?;
    let invite = invites::create(&owner, expires_in_days, None).await?;
    println!("Invite code: {}", invite.code);
    println!("Sign up at:  {}", invite.signup_url(&public_url));
    println!("Expires:     {}", invite.expires_on());
    Ok(())
}

/// Publishes the next version of a policy from a Markdown file; a material change asks every
/// signed-in person to review it and mails every account.
pub async fn publish_policy(
    settings: &Settings,
    document: &str,
    file: &std::path::Path,
    summary: &str,
    material: bool,
) -> Result<(), StartupError> {
    let public_url = settings.public_url()?;
    policies::title(document)?;
    let body = fs::read_to_string(file).map_err(|source| StartupError::PolicyFile {
        path: file.display().to_string(),
        source,
    })?;
    if body.trim().is_empty() {
        return Err(StartupError::EmptyPolicy);
    }
    let summary = summary.trim();
    if summary.is_empty() || summary.chars().count() > 500 {
        return Err(StartupError::BadSummary);
    }
    let owner = migrated_owner_pool(settings).await?;
    let now = SystemClock.now();
    let version =
        policies::publish(&owner, document, &body, summary, material, &public_url, now).await?;
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

/// Checks the security log of one account (`email`) or of every account: its keyed hash chain
/// and its signed checkpoints. Prints a line per account; fails when any log does not verify.
pub async fn verify_audit(settings: &Settings, email: Option<&str>) -> Result<(), StartupError> {
    let key = key_encryption_key(settings)?;
    let owner = migrated_owner_pool(settings).await?;
    app::platform::audit::rekey_legacy_chains(&owner, &key, SystemClock.now()).await?;
    let accounts: Vec<(String, uuid::Uuid)> = match email {
        Some(email) => {
            let email = email.trim().to_lowercase();
            let found: Option<uuid::Uuid> =
                sqlx::query_scalar("SELECT account FROM email_directory WHERE email = $1")
                    .bind(&email)
                    .fetch_optional(&owner)
                    .await
                    .map_err(DbError::from)?;
            vec![(
                email.clone(),
                found.ok_or(StartupError::NoSuchAccount(email))?,
            )]
        }
        None => sqlx::query_as("SELECT email, account FROM email_directory ORDER BY email")
            .fetch_all(&owner)
            .await
            .map_err(DbError::from)?,
    };
    // The app role reads the log, so row-level security keeps each check to its own tenant.
    let pool = app_pool(settings, &owner, &key).await?;
    let mut broken = 0;
    for (email, owner_id) in accounts {
        let mut tx = db::TenantTx::begin(&pool, owner_id).await?;
        match app::platform::audit::verify(&mut tx, &key).await? {
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
        return Err(StartupError::AuditBroken(broken));
    }
    Ok(())
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| StartupError::Bind {
            addr,
            reason: match e.kind() {
                ErrorKind::AddrInUse => "the address is already in use".to_owned(),
                ErrorKind::PermissionDenied => "permission denied".to_owned(),
                _ => e.to_string(),
            },
        })
}

/// The key-encryption key, from configuration or its file (created on first start).
pub fn key_encryption_key(settings: &Settings) -> Result<KeyEncryptionKey, StartupError> {
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
async fn app_pool(
    settings: &Settings,
    owner: &PgPool,
    key: &KeyEncryptionKey,
) -> Result<PgPool, StartupError> {
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

pub async fn serve(settings: Settings) -> Result<(), StartupError> {
    let public_url = settings.public_url()?;
    let trusted_proxies = settings.trusted_proxies()?;
    let mailer = Mailer::new(&settings.mail_transport()?)?;
    prepare_data_dir(&settings)?;
    let key_encryption_key = key_encryption_key(&settings)?;
    let listener = bind(settings.site_addr).await?;

    let owner = migrated_owner_pool(&settings).await?;
    app::platform::audit::rekey_legacy_chains(&owner, &key_encryption_key, SystemClock.now())
        .await?;
    let pool = app_pool(&settings, &owner, &key_encryption_key).await?;
    if let Some(invite) = invites::create_first(&owner, FIRST_INVITE_DAYS).await? {
        println!("First start: sign up at {}", invite.signup_url(&public_url));
        println!("(the invite code expires {})", invite.expires_on());
    }
    owner.close().await;

    let session_store = SessionRecords::new(pool.clone());
    let state = AppState {
        leptos_options: leptos_options(&settings),
        pool,
        public_url: public_url.clone(),
        key_encryption_key: Arc::new(key_encryption_key),
        clock: Arc::new(SystemClock),
        limits: Limits {
            per_address: settings.auth_rate_limit,
        },
        hashing: HashingSlots::per_core(),
        sudo_window: settings.sudo_window(),
        trusted_proxies: trusted_proxies.into(),
    };
    jobs::spawn(
        state.pool.clone(),
        session_store.clone(),
        mailer,
        state.clock.clone(),
    );
    let app = router::build(state, session_store);
    // Without TCP_NODELAY, a response written in pieces waits for the client's delayed ACK
    // (about 40 ms) on every kept-alive request.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    tracing::info!(addr = %settings.site_addr, public_url = %public_url, "serving");
    if public_url.domain().is_none() {
        tracing::warn!(
            public_url = %public_url,
            "passkeys need a domain name in PUBLIC_URL (an IP address cannot be a WebAuthn relying party)"
        );
    }
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(StartupError::Serve)?;
    tracing::info!("stopped");
    Ok(())
}

pub fn leptos_options(settings: &Settings) -> LeptosOptions {
    LeptosOptions::builder()
        // The bundle name cargo-leptos uses: `name` in [[workspace.metadata.leptos]].
        .output_name("custodian")
        .site_root(settings.site_root.to_string_lossy().into_owned())
        .site_addr(settings.site_addr)
        .build()
}

/// Resolves on SIGTERM or Ctrl-C; in-flight requests then finish before the server exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
