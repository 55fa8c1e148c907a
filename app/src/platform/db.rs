//! The database: creating and migrating it, the two connection pools, and the tenant-scoped
//! transaction through which every tenant table is read and written (promise P1).
//!
//! Owns: `tenants` (each tenant's region and creation time).

use std::{ops::Deref, ops::DerefMut, str::FromStr, time::Duration};

use sqlx::{
    migrate::{MigrateDatabase, Migrator},
    postgres::{PgConnectOptions, PgPoolOptions},
    Executor, PgConnection, PgPool, Postgres, Transaction,
};
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    ids::OwnerId,
    region::{Region, Tenant},
    regions::Regions,
};

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
        "the server's database login {role:?} is unsafe ({reason}); it must log in as \
         {APP_ROLE}, which is neither superuser nor BYPASSRLS and owns no table"
    )]
    UnsafeAppRole { role: String, reason: &'static str },
    #[error(
        "cannot give {APP_ROLE} its login ({0}); let DATABASE_URL's role manage roles, or \
         create a login for {APP_ROLE} yourself and set APP_DATABASE_URL"
    )]
    AppLogin(sqlx::Error),
    #[error("this server does not serve the data region {0:?}")]
    RegionNotServed(Region),
    /// The tenant's data is being moved to another region; it is frozen until the move ends.
    #[error("the tenant is moving between regions")]
    TenantMoving,
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

/// The SCRAM-SHA-256 verifier PostgreSQL stores for `password`: given to ALTER ROLE instead of
/// the password, so no statement log or statistics view ever holds the password itself. The
/// salt is derived from the password (itself random), so the verifier is the same every time.
pub fn scram_verifier(password: &str) -> String {
    use sha2::{Digest, Sha256};

    let salt = Sha256::digest(format!("custodian app role salt\n{password}"));
    scram_verifier_with(password, &salt[..16], 4096)
}

fn scram_verifier_with(password: &str, salt: &[u8], iterations: u32) -> String {
    use base64::{engine::general_purpose::STANDARD, Engine as _};
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};

    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
    let keyed = |label: &[u8]| {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&salted)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(label);
        mac.finalize().into_bytes()
    };
    let stored_key = Sha256::digest(keyed(b"Client Key"));
    let server_key = keyed(b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    )
}

/// Gives the app role a login with `password` (generated from the key-encryption key, so it is
/// kept with the keys), for a server configured with the migration role's URL alone. Roles are
/// shared by every database of the cluster, so concurrent starts may collide; they retry.
pub async fn ensure_app_login(owner: &PgPool, password: &str) -> Result<(), DbError> {
    // ALTER ROLE takes no parameters; a verifier holds only base64 and punctuation, no quote.
    let verifier = scram_verifier(password);
    let statement = format!("ALTER ROLE {APP_ROLE} LOGIN PASSWORD '{verifier}'");
    let mut attempt = 0;
    loop {
        match owner.execute(statement.as_str()).await {
            Ok(_) => return Ok(()),
            // "tuple concurrently updated": another process altered the role at the same time.
            Err(error)
                if attempt < 5
                    && error.as_database_error().and_then(|e| e.code()).as_deref()
                        == Some("XX000") =>
            {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
            }
            Err(error) => return Err(DbError::AppLogin(error)),
        }
    }
}

/// The options of `owner_options` with the app role's login in place of the owner's.
pub fn app_login(owner_options: &PgConnectOptions, password: &str) -> PgConnectOptions {
    owner_options.clone().username(APP_ROLE).password(password)
}

/// The server's pool. It logs in as the app role itself: a pool that logged in as a superuser
/// and switched role could switch back (`RESET ROLE`) out of row-level security. The pool is
/// refused unless its login is that role, is neither superuser nor BYPASSRLS, owns no table,
/// and cannot become a role that does.
pub async fn connect_app(
    options: PgConnectOptions,
    max_connections: u32,
) -> Result<PgPool, DbError> {
    let target = describe(&options);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|e| classify(target, e))?;
    verify_app_role(&pool).await?;
    Ok(pool)
}

async fn verify_app_role(pool: &PgPool) -> Result<(), DbError> {
    let (role, current, superuser, bypass_rls, manages_roles, owns_tables, can_become_powerful): (
        String,
        String,
        bool,
        bool,
        bool,
        bool,
        bool,
    ) = sqlx::query_as(
        "SELECT session_user::text, current_user::text, r.rolsuper, r.rolbypassrls, \
         r.rolcreaterole, \
         EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid), \
         EXISTS (SELECT 1 FROM pg_roles o WHERE o.oid <> r.oid \
                 AND pg_has_role(r.oid, o.oid, 'MEMBER') \
                 AND (o.rolsuper OR o.rolbypassrls \
                      OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = o.oid))) \
         FROM pg_roles r WHERE r.rolname = session_user",
    )
    .fetch_one(pool)
    .await?;
    let reason = if role != APP_ROLE {
        Some("it is not the app role")
    } else if current != role {
        Some("it switched to another role")
    } else if superuser {
        Some("superuser")
    } else if bypass_rls {
        Some("BYPASSRLS")
    } else if manages_roles {
        Some("CREATEROLE: it could give itself another role")
    } else if owns_tables {
        Some("it owns tables")
    } else if can_become_powerful {
        Some("it can become a role that bypasses row-level security")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(DbError::UnsafeAppRole { role, reason }),
        None => Ok(()),
    }
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

/// A read-only transaction for no tenant and no browser: no tenant row matches in it except
/// those a policy opens to anyone (apps published to Discover and their files).
pub async fn begin_public(pool: &PgPool) -> Result<Transaction<'static, Postgres>, DbError> {
    Ok(pool
        .begin_with("BEGIN READ ONLY; SELECT set_config('app.owner_id', '', true)")
        .await?)
}

/// Makes every transaction that asks for `key` wait until this one ends (an advisory lock held
/// to commit or rollback): for limits counted by one change at a time.
pub async fn lock_until_commit(conn: &mut PgConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .execute(conn)
        .await
        .map(drop)
}

/// `lock_until_commit`, but false at once when another transaction holds `key`.
pub async fn try_lock_until_commit(
    conn: &mut PgConnection,
    key: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(key)
        .fetch_one(conn)
        .await
}

/// A transaction in which only one tenant's rows are visible and writable. It is the only way
/// the server touches tenant tables: row-level security matches `owner_id` against the setting
/// made here, and outside such a transaction no tenant row matches at all.
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    tenant: Tenant,
}

impl TenantTx {
    /// Begins a transaction for `tenant` in its region's database: the only way an area reaches
    /// a tenant's rows, so no area holds a pool or can pick a region of its own.
    pub async fn begin(regions: &Regions, tenant: Tenant) -> Result<Self, DbError> {
        Self::begin_on(regions.pool(tenant.region)?, tenant).await
    }

    /// Begins a transaction for `tenant` on the pool of its region, which the caller picked:
    /// the session store (routed by the session id) and operator commands (the migration
    /// role's pool of one region).
    pub async fn begin_on(pool: &PgPool, tenant: Tenant) -> Result<Self, DbError> {
        let owner_id = tenant.owner_id;
        // One round trip for both. `true`: local to this transaction, so a pooled connection
        // never carries it over. A Uuid prints as hex digits and hyphens only, so it is safe to
        // place in the statement text.
        let tx = pool
            .begin_with(format!(
                "BEGIN; SELECT set_config('app.owner_id', '{owner_id}', true)"
            ))
            .await?;
        Ok(Self { tx, tenant })
    }

    /// A read-only REPEATABLE READ transaction for `tenant`: every statement in it sees the same
    /// snapshot, taken at its first statement (an export reads one consistent moment), and
    /// writes instants in UTC.
    pub async fn begin_snapshot(pool: &PgPool, tenant: Tenant) -> Result<Self, DbError> {
        let owner_id = tenant.owner_id;
        let tx = pool
            .begin_with(format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL TimeZone = 'UTC'; \
                 SELECT set_config('app.owner_id', '{owner_id}', true)"
            ))
            .await?;
        Ok(Self { tx, tenant })
    }

    /// The tenant this transaction acts for.
    pub fn owner_id(&self) -> OwnerId {
        self.tenant.owner_id
    }

    /// The tenant this transaction acts for, and its region.
    pub fn tenant(&self) -> Tenant {
        self.tenant
    }

    /// Creates the tenant this transaction acts for, in its region (sign-up).
    pub async fn create_tenant(&mut self, now: OffsetDateTime) -> Result<(), DbError> {
        sqlx::query("INSERT INTO tenants (owner_id, region, created_at) VALUES ($1, $2, $3)")
            .bind(self.tenant.owner_id)
            .bind(self.tenant.region.as_str())
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Records in the tenant's row the region this transaction runs in (after a move). Names the
    /// tenant itself, so it is right on the migration role's pool too.
    pub async fn record_region(&mut self) -> Result<(), DbError> {
        sqlx::query("UPDATE tenants SET region = $2 WHERE owner_id = $1")
            .bind(self.tenant.owner_id)
            .bind(self.tenant.region.as_str())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Whether the tenant exists yet (its creation may still be in flight in another
    /// transaction: the directory claims an address before the account is committed).
    pub async fn tenant_exists(&mut self) -> Result<bool, DbError> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants)")
            .fetch_one(&mut *self.tx)
            .await?)
    }

    /// Whether the tenant's row exists, on any pool (the migration role's included).
    pub async fn tenant_row_exists(&mut self) -> Result<bool, DbError> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE owner_id = $1)")
                .bind(self.tenant.owner_id)
                .fetch_one(&mut *self.tx)
                .await?,
        )
    }

    /// When the tenant was created.
    pub async fn created_at(&mut self) -> Result<OffsetDateTime, DbError> {
        Ok(sqlx::query_scalar("SELECT created_at FROM tenants")
            .fetch_one(&mut *self.tx)
            .await?)
    }

    /// The tenant's deletion schedule (requested, due), locking its row until the transaction
    /// ends: a request, a cancellation and the purge each see the others' outcome.
    pub async fn lock_deletion_schedule(
        &mut self,
    ) -> Result<Option<(OffsetDateTime, OffsetDateTime)>, DbError> {
        let row: Option<(Option<OffsetDateTime>, Option<OffsetDateTime>)> = sqlx::query_as(
            "SELECT deletion_requested_at, deletion_due_at FROM tenants WHERE owner_id = $1 FOR UPDATE",
        )
        .bind(self.tenant.owner_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.and_then(|(requested, due)| requested.zip(due)))
    }

    /// Whether the tenant is scheduled for deletion (its account is locked), without locking.
    pub async fn deletion_scheduled(&mut self) -> Result<bool, DbError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM tenants \
             WHERE owner_id = $1 AND deletion_requested_at IS NOT NULL)",
        )
        .bind(self.tenant.owner_id)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    /// Schedules the tenant's deletion (which locks the account) for `due`.
    pub async fn schedule_deletion(
        &mut self,
        requested: OffsetDateTime,
        due: OffsetDateTime,
    ) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE tenants SET deletion_requested_at = $2, deletion_due_at = $3 WHERE owner_id = $1",
        )
        .bind(self.tenant.owner_id)
        .bind(requested)
        .bind(due)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Clears the tenant's deletion schedule (which unlocks the account).
    pub async fn clear_deletion(&mut self) -> Result<(), DbError> {
        sqlx::query(
            "UPDATE tenants SET deletion_requested_at = NULL, deletion_due_at = NULL \
             WHERE owner_id = $1",
        )
        .bind(self.tenant.owner_id)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Acts for another tenant of the same region from here on, in the same transaction: for
    /// the rare change that belongs to two tenants at once (an invite used records an event for
    /// its inviter). Call it last, after everything written for the first tenant.
    pub async fn switch_tenant(&mut self, owner_id: OwnerId) -> Result<(), DbError> {
        sqlx::query("SELECT set_config('app.owner_id', $1, true)")
            .bind(owner_id.to_string())
            .execute(&mut *self.tx)
            .await?;
        self.tenant.owner_id = owner_id;
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

    /// Ends the transaction now, undoing it. Dropping one rolls it back too, but only once its
    /// connection is next used: until then its locks stay held.
    pub async fn rollback(self) -> Result<(), DbError> {
        self.tx.rollback().await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verifier_is_postgres_scram_for_the_password() {
        use base64::{engine::general_purpose::STANDARD, Engine as _};
        // Computed independently (Python's hashlib and hmac) for "pencil" and RFC 7677's salt.
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        assert_eq!(
            scram_verifier_with("pencil", &salt, 4096),
            "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$\
             WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:\
             wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
        );
        let verifier = scram_verifier("pencil");
        assert!(verifier.starts_with("SCRAM-SHA-256$4096:"));
        assert!(!verifier.contains("pencil") && !verifier.contains('\''));
        assert_eq!(verifier, scram_verifier("pencil"), "the same every time");
    }
}
