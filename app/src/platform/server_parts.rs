//! The server-side part of an area's manifest, and the platform's own: plain axum routes,
//! background jobs, erasing a tenant's rows (account deletion), seeding a row into each table
//! the area owns (the isolation tests check every one of them), and what an export holds of them.

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::{
    crypto::CryptoError,
    db::TenantTx,
    ids::OwnerId,
    jobs::{BoxFuture, Job, JobContext, JobError, JobKind},
    keys::KeyEncryptionKey,
    mail,
    portable::{FileSet, RecordKind, Withheld, PLATFORM_EXPORTS, PLATFORM_WITHHELD},
    rate_limit, session,
    state::AppState,
};

/// Deletes every row of the transaction's tenant from the tables an area owns.
pub type Erase = for<'a> fn(&'a mut TenantTx) -> BoxFuture<'a, Result<(), sqlx::Error>>;

/// Seals every value an area keeps sealed again with the tenant's newest data key (after a
/// rotation); values already sealed with it are left as they are. Returns how many changed.
pub type Reseal = for<'a> fn(
    &'a mut TenantTx,
    &'a KeyEncryptionKey,
    OffsetDateTime,
) -> BoxFuture<'a, Result<usize, CryptoError>>;

/// Writes one row for `owner` into every tenant table an area owns (as the migration role).
pub type Seed = for<'a> fn(&'a mut PgConnection, OwnerId) -> BoxFuture<'a, Result<(), sqlx::Error>>;

pub struct ServerParts {
    /// Routes outside Leptos (files, well-known documents).
    pub routes: Option<fn() -> axum::Router<AppState>>,
    pub jobs: &'static [JobKind],
    pub erase: Option<Erase>,
    pub seed: Option<Seed>,
    /// The kinds of records an export holds of the tables the area owns.
    pub exports: &'static [RecordKind],
    /// What those tables hold of a person and never export, with the reason.
    pub withheld: &'static [Withheld],
    /// Files an export holds as they are (an app's own files), beside the records.
    pub files: &'static [FileSet],
    /// Removes what the transaction's tenant left in other tenants' rows of one database (its
    /// memberships of their apps): run in every region when its account is purged.
    pub leave: Option<Erase>,
    pub reseal: Option<Reseal>,
}

impl ServerParts {
    /// An area with no server parts beyond its pages and server functions.
    pub const NONE: Self = Self {
        routes: None,
        jobs: &[],
        erase: None,
        seed: None,
        exports: &[],
        withheld: &[],
        files: &[],
        leave: None,
        reseal: None,
    };
}

/// Runs each statement with `owner` as `$1`: the lists of the erase and seed functions.
pub async fn for_owner(
    conn: &mut PgConnection,
    owner: OwnerId,
    statements: &[&str],
) -> Result<(), sqlx::Error> {
    for statement in statements {
        sqlx::query(statement)
            .bind(owner)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

const SWEEP_PERIOD: Duration = Duration::minutes(5);

fn sweep<'a>(context: &'a JobContext, _: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async move {
        session::delete_expired_in(&context.pool).await?;
        rate_limit::sweep(&context.pool, context.clock.now()).await?;
        Ok(())
    })
}

/// Deletes expired session records and old rate-limit windows.
const SWEEP: JobKind = JobKind {
    name: "sweep_sessions_and_limits",
    run: sweep,
    max_attempts: 3,
    every: Some(SWEEP_PERIOD),
};

fn erase<'a>(tx: &'a mut TenantTx) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    Box::pin(async move {
        // Mail still waiting for the account goes with it, and its jobs; the tenant row last.
        let owner_id = tx.owner_id();
        for_owner(tx, owner_id, &[
            "DELETE FROM jobs WHERE kind = 'deliver_mail' AND payload->>'message' IN \
             (SELECT id::text FROM mail_outbox WHERE account = $1)",
            "DELETE FROM mail_outbox WHERE account = $1",
            "DELETE FROM tower_sessions.session WHERE id IN (SELECT store_id FROM account_sessions WHERE owner_id = $1)",
            "DELETE FROM account_sessions WHERE owner_id = $1",
            "DELETE FROM data_keys WHERE owner_id = $1",
            "DELETE FROM audit_checkpoints WHERE owner_id = $1",
            "DELETE FROM audit_cuts WHERE owner_id = $1",
            "DELETE FROM audit_events WHERE owner_id = $1",
            "DELETE FROM tenants WHERE owner_id = $1",
        ])
        .await
    })
}

fn seed<'a>(conn: &'a mut PgConnection, owner: OwnerId) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    Box::pin(async move {
        for_owner(conn, owner, &[
            "INSERT INTO tenants (owner_id, region) VALUES ($1, 'eu-west')",
            "INSERT INTO account_sessions (owner_id, id, store_id, created_at, last_seen_at, expires_at, remember, user_agent, ip_prefix) \
             VALUES ($1, gen_random_uuid(), $1::text, now(), now(), now() + interval '1 hour', false, 'seed', '192.0.2.0/24')",
            "INSERT INTO audit_events (owner_id, seq, occurred_at, kind, detail, ip_prefix, user_agent, prev_hash, hash) \
             VALUES ($1, 1, now(), 'seed', '', '', '', decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'))",
            "INSERT INTO audit_checkpoints (owner_id, seq, hash, signed_at, signature) \
             VALUES ($1, 1, decode(repeat('00', 32), 'hex'), now(), decode(repeat('00', 32), 'hex') || decode(repeat('00', 32), 'hex'))",
            "INSERT INTO audit_cuts (owner_id, seq, hash, cut_at, signature) \
             VALUES ($1, 0, decode(repeat('00', 32), 'hex'), now(), decode(repeat('00', 64), 'hex'))",
            "INSERT INTO data_keys (owner_id, version, wrapped_key, created_at) VALUES ($1, 1, decode(repeat('00', 32), 'hex'), now())",
            "INSERT INTO mail_outbox (id, account, recipient, subject, body, created_at, essential) \
             VALUES (gen_random_uuid(), $1, 'seed@example.com', 'Seed', 'Seed', now(), true)",
            "INSERT INTO jobs (id, kind, payload, dedupe_key, run_at, created_at) \
             SELECT gen_random_uuid(), 'deliver_mail', jsonb_build_object('message', id), \
                    'mail:' || id, now(), now() FROM mail_outbox WHERE account = $1",
        ])
        .await
    })
}

/// The platform's own share: mail delivery and the sweeps, and its tenant tables.
pub const PLATFORM: ServerParts = ServerParts {
    routes: None,
    jobs: &[mail::DELIVERY, SWEEP, super::retention::SWEEP],
    erase: Some(erase),
    seed: Some(seed),
    exports: PLATFORM_EXPORTS,
    withheld: PLATFORM_WITHHELD,
    files: &[],
    leave: None,
    reseal: None,
};
