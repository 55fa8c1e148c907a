//! `custodian backup create | prune | restore` (promise P8: deleted accounts do not come back).
//!
//! - `create` dumps each database (the directory and each region's) with `pg_dump` and writes it
//!   encrypted, as it streams, into `DATA_DIR/backups/`.
//! - `prune` deletes backups older than BACKUP_RETENTION_DAYS, so that with the deletion grace
//!   period no copy of a deleted account outlives 30 days.
//! - `restore FILE` restores into a new database, then replays the erasure ledger (the file in
//!   the data directory and every live database's, all kept outside the backups): every tenant
//!   purged after the backup was taken is purged again. Only then does the restored database
//!   take the live one's name, so the server never serves it unreplayed. Any failure drops the
//!   new database and leaves the live one as it was.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    process::Stdio,
};

use app::{
    data::service::purge,
    platform::{
        backup::{self, BackupError, Header},
        clock::{Clock, SystemClock},
        config::Settings,
        db::{self, TenantTx},
        erasure::{self, FileLine, Schedule},
        jobs,
        keys::{hex, KeyEncryptionKey},
        region::{Region, Tenant},
    },
};
use sqlx::{Connection as _, PgConnection};
use thiserror::Error;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt as _;

use super::{key_encryption_key, CliError};

/// The directory database's name in backups.
const DIRECTORY: &str = "directory";
/// PostgreSQL's longest name; a longer one would be cut silently.
const MAX_NAME: usize = 63;
/// What a database being restored is called after, until it is complete.
const STAGING: &str = "_restoring";

#[derive(Debug, Error)]
pub enum BackupFailure {
    #[error(transparent)]
    File(#[from] BackupError),
    #[error("{tool} failed: {detail}")]
    Tool { tool: &'static str, detail: String },
    #[error("the backup names the database {0:?}, which this server does not use")]
    UnknownDatabase(String),
    #[error("{0} is not a database URL with a database name")]
    BadUrl(String),
}

/// Every database to back up, by its name in backups, each URL once.
fn databases(settings: &Settings) -> Result<Vec<(String, String)>, CliError> {
    let mut named = vec![(DIRECTORY.to_owned(), settings.database_url.clone())];
    for (region, url) in settings.region_urls()? {
        if named.iter().all(|(_, known)| *known != url) {
            named.push((region.as_str().to_owned(), url));
        }
    }
    Ok(named)
}

/// `custodian backup create`: one encrypted file per database; prints each.
pub async fn create(settings: &Settings) -> Result<(), CliError> {
    let key = key_encryption_key(settings)?;
    let folder = backup::folder(&settings.data_dir);
    for path in create_at(settings, &key, &folder, SystemClock.now()).await? {
        println!("Wrote {}", path.display());
    }
    Ok(())
}

/// Backs up every database into `folder` as of `now`.
pub async fn create_at(
    settings: &Settings,
    key: &KeyEncryptionKey,
    folder: &Path,
    now: OffsetDateTime,
) -> Result<Vec<std::path::PathBuf>, CliError> {
    tokio::fs::create_dir_all(folder)
        .await
        .map_err(|source| data_dir_error(folder, source))?;
    let mut written = Vec::new();
    for (name, url) in databases(settings)? {
        let header = Header {
            database: name.clone(),
            created_at: now,
            key_id: backup::key_id(key),
        };
        let path = folder.join(backup::file_name(&name, now));
        dump_into(&url, key, &header, &path).await?;
        written.push(path);
    }
    Ok(written)
}

fn data_dir_error(path: &Path, source: std::io::Error) -> CliError {
    CliError::DataDir {
        path: path.display().to_string(),
        source,
    }
}

/// `pg_dump` of `url`, encrypted into `path` (written under a temporary name, renamed once
/// complete, mode 0600).
async fn dump_into(
    url: &str,
    key: &KeyEncryptionKey,
    header: &Header,
    path: &Path,
) -> Result<(), CliError> {
    let partial = path.with_extension("partial");
    let mut child = tokio::process::Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--dbname", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| tool_failure("pg_dump", e.to_string()))?;
    let mut dump = child
        .stdout
        .take()
        .ok_or_else(|| tool_failure("pg_dump", "no output".to_owned()))?;
    let mut file = private_file(&partial).await?;
    let written = backup::write_encrypted(key, header, &mut dump, &mut file).await;
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| tool_failure("pg_dump", e.to_string()))?;
    let outcome = match written {
        Err(error) => Err(CliError::Backup(error.into())),
        Ok(()) if !output.status.success() => Err(tool_failure(
            "pg_dump",
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        )),
        Ok(()) => file
            .sync_all()
            .await
            .map_err(|e| CliError::Backup(BackupError::from(e).into())),
    };
    if let Err(error) = outcome {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(error);
    }
    tokio::fs::rename(&partial, path)
        .await
        .map_err(|e| CliError::Backup(BackupError::from(e).into()))
}

async fn private_file(path: &Path) -> Result<tokio::fs::File, CliError> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true).mode(0o600);
    options
        .open(path)
        .await
        .map_err(|e| CliError::Backup(BackupError::from(e).into()))
}

fn tool_failure(tool: &'static str, detail: String) -> CliError {
    CliError::Backup(BackupFailure::Tool { tool, detail })
}

/// `custodian backup prune`: deletes backups older than BACKUP_RETENTION_DAYS.
pub async fn prune(settings: &Settings) -> Result<(), CliError> {
    let retention = settings.retention()?;
    let removed = backup::prune(
        &backup::folder(&settings.data_dir),
        SystemClock.now(),
        time::Duration::days(retention.backup_days.into()),
    )
    .await
    .map_err(|e| CliError::Backup(e.into()))?;
    println!(
        "Deleted {} backup(s) older than {} days.",
        removed.len(),
        retention.backup_days
    );
    Ok(())
}

/// `custodian backup restore FILE [--into URL]`: restores the backup over its database (or into
/// `into`), with the erasure ledger replayed first.
pub async fn restore(settings: &Settings, file: &Path, into: Option<&str>) -> Result<(), CliError> {
    let key = key_encryption_key(settings)?;
    let header = {
        let mut input = tokio::fs::File::open(file)
            .await
            .map_err(|e| CliError::Backup(BackupError::from(e).into()))?;
        backup::read_header(&mut input)
            .await
            .map_err(|e| CliError::Backup(e.into()))?
            .0
    };
    let target = match into {
        Some(url) => url.to_owned(),
        None => databases(settings)?
            .into_iter()
            .find(|(name, _)| *name == header.database)
            .map(|(_, url)| url)
            .ok_or_else(|| {
                CliError::Backup(BackupFailure::UnknownDatabase(header.database.clone()))
            })?,
    };
    let ledger = ledger(settings).await?;
    let live = live_schedules(&target).await;
    let purged = restore_into(&key, file, &target, &ledger, &live).await?;
    println!(
        "Restored the {} database from {} ({}); {purged} account(s) deleted since were removed again.",
        header.database,
        file.display(),
        app::platform::clock::to_minute(header.created_at),
    );
    Ok(())
}

/// Every purge known: the data directory's file (which must read whole) and every live
/// database's ledger (a database that is gone, the reason to restore, adds none).
async fn ledger(settings: &Settings) -> Result<Vec<FileLine>, CliError> {
    let mut lines: HashMap<uuid::Uuid, FileLine> = erasure::read_file(&settings.data_dir)
        .await
        .map_err(|e| CliError::Backup(BackupError::from(e).into()))?
        .into_iter()
        .map(|line| (line.id, line))
        .collect();
    for (name, url) in databases(settings)? {
        let Ok(pool) = db::connect_owner(&url).await else {
            eprintln!("note: the {name} database cannot be reached; its ledger is not read");
            continue;
        };
        let entries = erasure::entries(&pool).await;
        pool.close().await;
        for line in entries?.iter().filter_map(FileLine::of) {
            lines.entry(line.id).or_insert(line);
        }
    }
    Ok(lines.into_values().collect())
}

/// The deletion schedules of the database a restore replaces, when it can still be read: the
/// requests and cancellations made since the backup are kept.
async fn live_schedules(target: &str) -> Vec<Schedule> {
    let Ok(pool) = db::connect_owner(target).await else {
        eprintln!(
            "note: the database being replaced cannot be reached; deletion requests and \
             cancellations made since the backup are not known"
        );
        return Vec::new();
    };
    let schedules = erasure::schedules(&pool).await;
    pool.close().await;
    schedules.unwrap_or_else(|error| {
        eprintln!(
            "note: the deletion schedules of the database being replaced are unreadable ({error})"
        );
        Vec::new()
    })
}

/// Restores `file` into a new database next to `target`, replays `ledger` there and applies the
/// `live` deletion schedules, then gives it `target`'s name. Returns how many tenants were
/// purged again.
pub async fn restore_into(
    key: &KeyEncryptionKey,
    file: &Path,
    target: &str,
    ledger: &[FileLine],
    live: &[Schedule],
) -> Result<usize, CliError> {
    let mut target_url = url::Url::parse(target)
        .map_err(|_| CliError::Backup(BackupFailure::BadUrl(target.to_owned())))?;
    let name = target_url.path().trim_start_matches('/').to_owned();
    if name.is_empty()
        || name.len() > MAX_NAME
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(CliError::Backup(BackupFailure::BadUrl(target.to_owned())));
    }
    let staging = format!(
        "{}{STAGING}",
        &name[..name.len().min(MAX_NAME - STAGING.len())]
    );
    let mut maintenance_url = target_url.clone();
    maintenance_url.set_path("/postgres");
    target_url.set_path(&format!("/{staging}"));
    let mut maintenance = PgConnection::connect(maintenance_url.as_str()).await?;
    backup::drop_database(&mut maintenance, &staging).await?;
    backup::create_database(&mut maintenance, &staging).await?;
    let restored = async {
        pg_restore(key, file, target_url.as_str()).await?;
        let purged = replay(target_url.as_str(), key, ledger).await?;
        keep_schedules(target_url.as_str(), live).await?;
        Ok(purged)
    }
    .await;
    let purged = match restored {
        Ok(purged) => purged,
        Err(error) => {
            backup::drop_database(&mut maintenance, &staging).await?;
            return Err(error);
        }
    };
    backup::drop_database(&mut maintenance, &name).await?;
    backup::rename_database(&mut maintenance, &staging, &name).await?;
    maintenance.close().await?;
    Ok(purged)
}

/// Decrypts `file` into `pg_restore` on the database `url`.
async fn pg_restore(key: &KeyEncryptionKey, file: &Path, url: &str) -> Result<(), CliError> {
    let mut input = tokio::fs::File::open(file)
        .await
        .map_err(|e| CliError::Backup(BackupError::from(e).into()))?;
    let mut child = tokio::process::Command::new("pg_restore")
        .args(["--exit-on-error", "--no-owner", "--dbname", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| tool_failure("pg_restore", e.to_string()))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| tool_failure("pg_restore", "no input".to_owned()))?;
    let decrypted = backup::decrypt(key, &mut input, &mut stdin).await;
    let _ = stdin.shutdown().await;
    drop(stdin);
    let output = child
        .wait_with_output()
        .await
        .map_err(|e| tool_failure("pg_restore", e.to_string()))?;
    decrypted.map_err(|e| CliError::Backup(e.into()))?;
    if !output.status.success() {
        return Err(tool_failure(
            "pg_restore",
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    Ok(())
}

/// Purges again, in the restored database, every tenant the ledger says was purged, and writes
/// the ledger's entries into it. Returns how many tenants were found and purged.
async fn replay(url: &str, key: &KeyEncryptionKey, ledger: &[FileLine]) -> Result<usize, CliError> {
    let erased: HashSet<&str> = ledger
        .iter()
        .map(|line| line.tenant_hash.as_str())
        .collect();
    let mut conn = PgConnection::connect(url).await?;
    let mut tx = conn.begin().await?;
    let mut purged = 0;
    for owner_id in erasure::tenant_ids_named(&mut tx).await? {
        if !erased.contains(hex(&erasure::tenant_hash(key, owner_id)).as_str()) {
            continue;
        }
        // Its rate-limit windows are older than the backup, keyed, and swept within hours.
        erasure::erase_everywhere(&mut tx, owner_id, &[]).await?;
        purged += 1;
    }
    for line in ledger {
        erasure::insert_missing(&mut tx, line).await?;
    }
    tx.commit().await?;
    conn.close().await?;
    Ok(purged)
}

/// Gives each tenant of the restored database the deletion schedule the live one had: a request
/// made since the backup is scheduled again (with its purge and reminders), a cancellation made
/// since is kept.
async fn keep_schedules(url: &str, live: &[Schedule]) -> Result<(), CliError> {
    let pool = db::connect_owner(url).await?;
    let now = SystemClock.now();
    let outcome = async {
        for (owner_id, region, requested, due) in live {
            let Some(region) = Region::parse(region) else {
                continue;
            };
            let mut tx = TenantTx::begin_on(&pool, Tenant::new(*owner_id, region)).await?;
            if !tx.tenant_row_exists().await? {
                continue;
            }
            match requested.zip(*due) {
                Some((requested, due)) => {
                    tx.schedule_deletion(requested, due).await?;
                    purge::schedule(&mut tx, due, now).await?;
                }
                None => {
                    tx.clear_deletion().await?;
                    jobs::cancel_prefixed(&mut tx, &purge::key_prefix(*owner_id)).await?;
                }
            }
            tx.commit().await?;
        }
        Ok::<(), CliError>(())
    }
    .await;
    pool.close().await;
    outcome
}
