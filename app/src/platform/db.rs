//! The database: creating and migrating it, the two connection pools, and the tenant-scoped
//! transaction through which every tenant table is read and written (promise P1).

use std::{ops::Deref, ops::DerefMut, str::FromStr, time::Duration};

use sqlx::{
    migrate::{MigrateDatabase, Migrator},
    postgres::{PgConnectOptions, PgPoolOptions},
    Executor, PgConnection, PgPool, Postgres, Transaction,
};
use thiserror::Error;
use uuid::Uuid;

/// Every migration in `migrations/`, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// The role the server's pool runs as; created by the first migration.
pub const APP_ROLE: &str = "custodian_app";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const PING_DEADLINE: Duration = Duration::from_secs(2);

#[derive(Debug, Error)]
pub enum DbError {
    #[error(
        "{which} is not a valid PostgreSQL URL ({reason}); use postgres://user@host:5432/database"
    )]
    InvalidUrl { which: &'static str, reason: String },
    #[error("cannot reach PostgreSQL at {target} ({reason}); start PostgreSQL or point DATABASE_URL at it")]
    Unreachable { target: String, reason: String },
    #[error("PostgreSQL at {target} refused the request: {reason}")]
    Refused { target: String, reason: String },
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the server's database role {role:?} is unsafe (superuser: {superuser}, bypasses RLS: \
         {bypass_rls}); it must be {APP_ROLE}, neither superuser nor BYPASSRLS"
    )]
    UnsafeAppRole {
        role: String,
        superuser: bool,
        bypass_rls: bool,
    },
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

/// Parses a PostgreSQL URL, naming the setting it came from in the error.
pub fn parse_url(which: &'static str, url: &str) -> Result<PgConnectOptions, DbError> {
    PgConnectOptions::from_str(url).map_err(|e| DbError::InvalidUrl {
        which,
        reason: e.to_string(),
    })
}

fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    )
}

fn classify(target: String, error: sqlx::Error) -> DbError {
    match error {
        sqlx::Error::Io(e) => DbError::Unreachable {
            target,
            reason: e.to_string(),
        },
        sqlx::Error::PoolTimedOut => DbError::Unreachable {
            target,
            reason: "timed out".to_owned(),
        },
        other => DbError::Refused {
            target,
            reason: other.to_string(),
        },
    }
}

/// Creates the database named in `url` when it does not exist yet, so that a fresh machine needs
/// no manual set-up.
pub async fn create_database_if_missing(url: &str) -> Result<(), DbError> {
    let target = describe(&parse_url("DATABASE_URL", url)?);
    let exists = tokio::time::timeout(CONNECT_TIMEOUT, Postgres::database_exists(url))
        .await
        .map_err(|_| classify(target.clone(), sqlx::Error::PoolTimedOut))?
        .map_err(|e| classify(target.clone(), e))?;
    if !exists {
        tracing::info!(database = %target, "creating database");
        Postgres::create_database(url)
            .await
            .map_err(|e| classify(target, e))?;
    }
    Ok(())
}

/// A small pool of the migration role, for migrations and operator commands only.
pub async fn connect_owner(url: &str) -> Result<PgPool, DbError> {
    let options = parse_url("DATABASE_URL", url)?;
    let target = describe(&options);
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|e| classify(target, e))
}

pub async fn migrate(owner: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(owner).await?;
    Ok(())
}

/// The server's pool. Every connection switches to `custodian_app` as it opens, and the pool is
/// refused if that role could bypass row-level security.
pub async fn connect_app(
    options: PgConnectOptions,
    max_connections: u32,
) -> Result<PgPool, DbError> {
    let target = describe(&options);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(CONNECT_TIMEOUT)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(format!("SET ROLE {APP_ROLE}").as_str())
                    .await?;
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|e| classify(target, e))?;
    verify_app_role(&pool).await?;
    Ok(pool)
}

async fn verify_app_role(pool: &PgPool) -> Result<(), DbError> {
    let (role, superuser, bypass_rls): (String, bool, bool) = sqlx::query_as(
        "SELECT rolname::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    if role != APP_ROLE || superuser || bypass_rls {
        return Err(DbError::UnsafeAppRole {
            role,
            superuser,
            bypass_rls,
        });
    }
    Ok(())
}

/// Whether the database answers a trivial query within two seconds.
pub async fn ping(pool: &PgPool) -> bool {
    matches!(
        tokio::time::timeout(PING_DEADLINE, sqlx::query("SELECT 1").execute(pool)).await,
        Ok(Ok(_))
    )
}

/// A transaction that acts for one browser not signed in: the consent ledger's anonymous rows
/// of that browser's consent id are visible and writable, and no others.
pub async fn begin_for_browser(
    pool: &PgPool,
    consent_id: Uuid,
) -> Result<Transaction<'static, Postgres>, DbError> {
    Ok(pool
        .begin_with(format!(
            "BEGIN; SELECT set_config('app.consent_id', '{consent_id}', true)"
        ))
        .await?)
}

/// A transaction in which only one tenant's rows are visible and writable. It is the only way
/// the server touches tenant tables: row-level security matches `owner_id` against the setting
/// made here, and outside such a transaction no tenant row matches at all.
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    owner_id: Uuid,
}

impl TenantTx {
    pub async fn begin(pool: &PgPool, owner_id: Uuid) -> Result<Self, DbError> {
        // One round trip for both. `true`: local to this transaction, so a pooled connection
        // never carries it over. A Uuid prints as hex digits and hyphens only, so it is safe to
        // place in the statement text.
        let tx = pool
            .begin_with(format!(
                "BEGIN; SELECT set_config('app.owner_id', '{owner_id}', true)"
            ))
            .await?;
        Ok(Self { tx, owner_id })
    }

    /// The tenant this transaction acts for.
    pub fn owner_id(&self) -> Uuid {
        self.owner_id
    }

    /// Acts for another tenant from here on, in the same transaction: for the rare change that
    /// belongs to two tenants at once (an invite used records an event for its inviter). Call
    /// it last, after everything written for the first tenant.
    pub async fn switch_tenant(&mut self, owner_id: Uuid) -> Result<(), DbError> {
        sqlx::query("SELECT set_config('app.owner_id', $1, true)")
            .bind(owner_id.to_string())
            .execute(&mut *self.tx)
            .await?;
        self.owner_id = owner_id;
        Ok(())
    }

    /// Also makes the anonymous consent records of the browser `consent_id` visible and
    /// writable in this transaction.
    pub async fn include_browser(&mut self, consent_id: Uuid) -> Result<(), DbError> {
        sqlx::query("SELECT set_config('app.consent_id', $1, true)")
            .bind(consent_id.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn commit(self) -> Result<(), DbError> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Deref for TenantTx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for TenantTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}
