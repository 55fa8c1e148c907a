//! Where archives lie: `DATA_DIR/exports/<region>/<owner id>/<export id>.zip`, each region's in
//! a folder of its own (a region's files stay with its cell). An archive is written as
//! `<export id>.<attempt>.part` and renamed once complete, so a half-written file never has the
//! name a download reads.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::platform::{ids::OwnerId, region::Region, state::AppState};

/// The folder of one region's archives, under the server's data directory.
pub fn region_root(data_dir: &Path, region: Region) -> PathBuf {
    data_dir.join("exports").join(region.as_str())
}

/// The folder of `region`'s archives on this server.
pub fn root(state: &AppState, region: Region) -> PathBuf {
    region_root(&state.data_dir, region)
}

pub fn owner_dir(root: &Path, owner: OwnerId) -> PathBuf {
    root.join(owner.to_string())
}

/// The finished archive.
pub fn archive(root: &Path, owner: OwnerId, id: Uuid) -> PathBuf {
    owner_dir(root, owner).join(format!("{id}.zip"))
}

/// The file one attempt writes before it is complete.
pub fn part(root: &Path, owner: OwnerId, id: Uuid, attempt: i32) -> PathBuf {
    owner_dir(root, owner).join(format!("{id}.{attempt}.part"))
}

/// The export a file in an owner's folder belongs to, and whether it is complete.
pub fn export_of(file_name: &str) -> Option<(Uuid, bool)> {
    if let Some(id) = file_name.strip_suffix(".zip") {
        return id.parse().ok().map(|id| (id, true));
    }
    let (id, _attempt) = file_name.strip_suffix(".part")?.split_once('.')?;
    id.parse().ok().map(|id| (id, false))
}

/// Removes every file of an export (the archive and any partial attempt). A file already gone
/// is no failure; any other failure is logged and left to the sweep.
pub async fn remove_export(root: &Path, owner: OwnerId, id: Uuid) {
    remove_files_of(root, owner, id, true).await;
}

/// Removes every file of an account (an erased one): its whole folder. An error other than
/// "not there" is returned, for the purge to try again.
pub async fn remove_all_of(root: &Path, owner: OwnerId) -> std::io::Result<()> {
    match tokio::fs::remove_dir_all(owner_dir(root, owner)).await {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Removes the partial attempts of an export, keeping its archive.
pub async fn remove_parts(root: &Path, owner: OwnerId, id: Uuid) {
    remove_files_of(root, owner, id, false).await;
}

async fn remove_files_of(root: &Path, owner: OwnerId, id: Uuid, archive_too: bool) {
    let Ok(mut entries) = tokio::fs::read_dir(owner_dir(root, owner)).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let of_export = export_of(&entry.file_name().to_string_lossy())
            .is_some_and(|(of, complete)| of == id && (archive_too || !complete));
        if of_export {
            remove_file(&entry.path()).await;
        }
    }
}

/// Removes a file, logging a failure other than its being gone already.
pub async fn remove_file(path: &Path) {
    if let Err(error) = tokio::fs::remove_file(path).await {
        if error.kind() != std::io::ErrorKind::NotFound {
            // The path names the account: the error's kind says enough.
            tracing::warn!(error = %error.kind(), "could not remove an export file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_name_their_export_and_whether_they_are_complete() {
        let id = Uuid::new_v4();
        assert_eq!(export_of(&format!("{id}.zip")), Some((id, true)));
        assert_eq!(export_of(&format!("{id}.3.part")), Some((id, false)));
        assert_eq!(export_of("notes.txt"), None);
        assert_eq!(export_of("../x.zip"), None);
    }
}
