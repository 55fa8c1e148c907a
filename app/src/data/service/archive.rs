//! The archive of an export (promise P8): a zip written as it is read, never held whole in
//! memory. It holds one JSON file per kind of record, a JSON Schema for each, `README.html` (an
//! offline viewer), `manifest.json` (every file's size, record count and SHA-256, the snapshot
//! time and what is and is not included) and `manifest.sig` (an Ed25519 signature of the
//! manifest's exact bytes with the server's published key).
//!
//! Everything is read in the caller's transaction, which must be one REPEATABLE READ snapshot:
//! the archive reflects one moment.

use std::{
    io::{self, Write as _},
    path::Path,
};

use futures_util::TryStreamExt as _;
use serde_json::{json, Value};
use sqlx::PgConnection;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::{
    sink::{Entry, Listed, Sink, Written, CHUNK},
    viewer::{self, Section},
};
use crate::{
    data::store,
    platform::{
        clock::rfc3339,
        ids::OwnerId,
        portable::{self, FileSet, RecordKind, Signing, Withheld, FORMAT_VERSION},
        region::{Region, Tenant},
        signed,
    },
};

/// Records of each kind the viewer shows; the JSON file holds them all.
pub const VIEWER_ROWS: usize = 500;
/// Records written between two progress reports.
const REPORT_EVERY: i64 = 2_000;

/// Where the build is, for the progress bar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub stage: &'static str,
    pub files_done: i32,
    pub records: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the records could not be read: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the archive could not be written: {0}")]
    Write(#[from] io::Error),
    #[error("the archive could not be written: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("a record of {0} could not be read")]
    Unreadable(&'static str),
    #[error("the archive's writer stopped")]
    WriterStopped,
}

impl ArchiveError {
    /// The reason as the person reads it, without the server's internals.
    pub fn for_person(&self) -> &'static str {
        match self {
            Self::Write(error) if error.kind() == io::ErrorKind::StorageFull => {
                "The server ran out of disk space while writing the archive."
            }
            Self::Write(_) | Self::Zip(_) | Self::WriterStopped => {
                "The server could not write the archive."
            }
            Self::Database(_) | Self::Unreadable(_) => {
                "Your records could not be read from the database."
            }
        }
    }
}

/// What to put in the archive, and for whom.
pub struct Contents<'a> {
    pub owner: OwnerId,
    pub region: Region,
    pub kinds: Vec<&'static RecordKind>,
    pub file_sets: Vec<&'static FileSet>,
    pub withheld: Vec<&'static Withheld>,
    pub signing: Signing<'a>,
}

impl<'a> Contents<'a> {
    /// Every kind of record each area declares, and everything withheld, for `tenant`.
    pub fn everything(tenant: Tenant, signing: Signing<'a>) -> Self {
        Self {
            owner: tenant.owner_id,
            region: tenant.region,
            kinds: crate::server::exports().collect(),
            file_sets: crate::server::file_sets().collect(),
            withheld: crate::server::withheld().collect(),
            signing,
        }
    }

    /// Files the progress bar counts: each kind's, each set of files as one, the viewer and
    /// the manifest.
    pub fn files_total(&self) -> i32 {
        i32::try_from(self.kinds.len() + self.file_sets.len() + 2).unwrap_or(i32::MAX)
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Summary {
    pub manifest_sha256: String,
    pub size_bytes: i64,
    pub records: i64,
    pub snapshot_at: OffsetDateTime,
}

/// Writes the whole archive to `out` (created or emptied), reporting progress on the way.
pub async fn write(
    conn: &mut PgConnection,
    contents: &Contents<'_>,
    out: &Path,
    progress: &watch::Sender<Progress>,
) -> Result<Summary, ArchiveError> {
    let snapshot_at = store::snapshot_time(conn).await?;
    let sink = Sink::open(out)?;
    let mut sections = Vec::new();
    let mut total_records = 0;
    let mut read = Ok(());
    for (done, kind) in contents.kinds.iter().enumerate() {
        progress.send_replace(Progress {
            stage: kind.title,
            files_done: i32::try_from(done).unwrap_or(i32::MAX),
            records: total_records,
        });
        match write_kind(conn, contents, kind, &sink, progress, &mut total_records).await {
            Ok(section) => sections.push(section),
            Err(error) => {
                read = Err(error);
                break;
            }
        }
    }
    for (done, set) in contents.file_sets.iter().enumerate() {
        if read.is_err() {
            break;
        }
        progress.send_replace(Progress {
            stage: set.title,
            files_done: i32::try_from(contents.kinds.len() + done).unwrap_or(i32::MAX),
            records: total_records,
        });
        read = write_files(conn, contents, set, &sink).await;
    }
    // The writer's own failure, if it stopped, says more than the closed channel.
    let Written { mut zip, mut listed } = match (read, sink.close().await) {
        (Err(ArchiveError::WriterStopped), Err(writer)) => return Err(writer),
        (Err(reading), written) => {
            // Dropping the zip finishes and flushes it: blocking work, off the runtime.
            tokio::task::spawn_blocking(move || drop(written));
            return Err(reading);
        }
        (Ok(()), written) => written?,
    };
    for kind in &contents.kinds {
        let mut entry = Entry::start(&mut zip, &kind.schema_file())?;
        serde_json::to_writer_pretty(&mut entry, &kind.schema()).map_err(io::Error::from)?;
        listed.push(entry.done(&kind.schema_file(), None, None));
    }
    progress.send_replace(Progress {
        stage: "Writing the viewer",
        files_done: contents.files_total() - 2,
        records: total_records,
    });
    let completeness = completeness(contents);
    let mut entry = Entry::start(&mut zip, "README.html")?;
    entry.write_all(viewer::render(&sections, &completeness, snapshot_at).as_bytes())?;
    listed.push(entry.done("README.html", None, None));

    progress.send_replace(Progress {
        stage: "Signing the manifest",
        files_done: contents.files_total() - 1,
        records: total_records,
    });
    let manifest = manifest(contents, &listed, &completeness, snapshot_at);
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(io::Error::from)?;
    let mut entry = Entry::start(&mut zip, "manifest.json")?;
    entry.write_all(&manifest_bytes)?;
    let manifest_sha256 = entry.done("manifest.json", None, None).sha256;
    let signature = signed::sign_bytes(contents.signing.key, &manifest_bytes);
    let mut entry = Entry::start(&mut zip, "manifest.sig")?;
    serde_json::to_writer_pretty(&mut entry, &signature).map_err(io::Error::from)?;
    // Finishing and syncing the file are the last blocking steps: off the async runtime too.
    let size_bytes = tokio::task::spawn_blocking(move || -> Result<u64, ArchiveError> {
        let file = zip.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(file.metadata()?.len())
    })
    .await
    .map_err(|_| ArchiveError::WriterStopped)??;
    Ok(Summary {
        manifest_sha256,
        size_bytes: i64::try_from(size_bytes).unwrap_or(i64::MAX),
        records: total_records,
        snapshot_at,
    })
}

/// Writes one kind's file: a JSON array, one record per line, read as it arrives and sent to
/// the writer in chunks.
async fn write_kind(
    conn: &mut PgConnection,
    contents: &Contents<'_>,
    kind: &'static RecordKind,
    sink: &Sink,
    progress: &watch::Sender<Progress>,
    total_records: &mut i64,
) -> Result<Section, ArchiveError> {
    sink.start(kind.file).await?;
    let select = kind.select();
    let mut rows = portable::records(conn, &select, contents.owner);
    let mut records: i64 = 0;
    let mut preview = Vec::new();
    let mut chunk = Vec::with_capacity(CHUNK);
    chunk.push(b'[');
    while let Some(row) = rows.try_next().await? {
        let row = match kind.documents {
            Some(documents) => {
                let value: Value = serde_json::from_str(&row).map_err(io::Error::from)?;
                (documents.reshape)(&contents.signing, value)
                    .ok_or(ArchiveError::Unreadable(kind.file))?
                    .to_string()
            }
            None => row,
        };
        chunk.extend_from_slice(if records == 0 { b"\n" } else { b",\n" });
        chunk.extend_from_slice(row.as_bytes());
        if preview.len() < VIEWER_ROWS {
            preview.push(row);
        }
        records += 1;
        *total_records += 1;
        if chunk.len() >= CHUNK {
            sink.data(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                .await?;
        }
        if records % REPORT_EVERY == 0 {
            progress.send_modify(|now| now.records = *total_records);
        }
    }
    chunk.extend_from_slice(if records == 0 { b"]\n" } else { b"\n]\n" });
    sink.data(chunk).await?;
    sink.end(Some(records), Some(kind.schema_file())).await?;
    Ok(Section {
        kind,
        records,
        preview,
    })
}

/// Writes each file of a set as it is, under its path.
async fn write_files(
    conn: &mut PgConnection,
    contents: &Contents<'_>,
    set: &'static FileSet,
    sink: &Sink,
) -> Result<(), ArchiveError> {
    let mut files = portable::files(conn, set, contents.owner);
    while let Some((path, bytes)) = files.try_next().await? {
        sink.start(&path).await?;
        sink.data(bytes).await?;
        sink.end(None, None).await?;
    }
    Ok(())
}

/// Every kind of personal data Custodian holds: included (in which file) or not, and why.
fn completeness(contents: &Contents<'_>) -> Vec<Value> {
    let included = contents.kinds.iter().map(|kind| {
        json!({
            "data": kind.title,
            "status": "included",
            "file": kind.file,
            "tables": kind.tables,
        })
    });
    let file_sets = contents.file_sets.iter().map(|set| {
        json!({
            "data": set.title,
            "status": "included",
            "folder": set.folder,
            "tables": set.tables,
        })
    });
    let withheld = contents.withheld.iter().map(|withheld| {
        json!({
            "data": withheld.what,
            "status": "not included",
            "because": withheld.reason,
            "tables": [withheld.table],
        })
    });
    included.chain(file_sets).chain(withheld).collect()
}

fn manifest(
    contents: &Contents<'_>,
    listed: &[Listed],
    completeness: &[Value],
    snapshot_at: OffsetDateTime,
) -> Value {
    let base = contents.signing.public_url.as_str().trim_end_matches('/');
    json!({
        "format": "custodian-export",
        "format_version": FORMAT_VERSION,
        "account_id": contents.owner.to_string(),
        "region": contents.region.as_str(),
        "snapshot_at": rfc3339(snapshot_at),
        "snapshot": "Every file was read in one REPEATABLE READ transaction: the archive shows one moment.",
        "files": listed.iter().map(|file| json!({
            "path": file.path,
            "bytes": file.bytes,
            "records": file.records,
            "sha256": file.sha256,
            "schema": file.schema,
        })).collect::<Vec<_>>(),
        "completeness": completeness,
        "signature": {
            "file": "manifest.sig",
            "alg": "Ed25519",
            "covers": "the exact bytes of manifest.json",
            "public_key": format!("{base}/.well-known/consent-receipt-key.json"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_named_as_such_and_no_failure_shows_internals() {
        let full = ArchiveError::Write(io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(
            full.for_person(),
            "The server ran out of disk space while writing the archive."
        );
        let other = ArchiveError::Write(io::Error::other("/srv/data/exports/secret/path"));
        assert!(!other.for_person().contains('/'));
    }
}
