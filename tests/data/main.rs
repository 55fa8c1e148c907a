//! Integration tests of the Your data area: exports (promise P8).

#[path = "../support/mod.rs"]
mod support;

mod apps_archive;
mod archive;
mod backups;
mod deletion;
mod delivery;
mod jobs;
mod locked;
mod retention;
mod rights;
mod secret_values;

use std::{
    collections::BTreeMap,
    io::Read,
    path::{Path, PathBuf},
};

use app::{
    data::service::{self, files},
    platform::{
        ids::OwnerId,
        jobs::{JobKind, Runner},
        mail::Mailer,
        region::Region,
    },
};
use uuid::Uuid;

use support::TestApp;

/// The server's job runner on a test app, delivering mail into a folder.
pub(crate) struct Worker {
    pub(crate) runner: Runner,
    /// Where the runner delivers mail.
    mail: tempfile::TempDir,
}

impl Worker {
    pub(crate) fn new(w: &TestApp) -> Self {
        Self::with_kinds(w, app::server::jobs().collect())
    }

    pub(crate) fn with_kinds(w: &TestApp, kinds: Vec<&'static JobKind>) -> Self {
        let mail = tempfile::tempdir().unwrap();
        let runner = Runner::new(
            w.job_context(Mailer::Directory(mail.path().to_owned())),
            kinds,
        );
        Self { runner, mail }
    }

    pub(crate) async fn run(&self) -> usize {
        self.runner.run_due().await.unwrap()
    }

    /// Every message delivered so far, as sent.
    pub(crate) fn delivered(&self) -> String {
        std::fs::read_dir(self.mail.path())
            .unwrap()
            .flatten()
            .map(|entry| std::fs::read_to_string(entry.path()).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Asks for an export as `owner` and lets the worker build it.
pub(crate) async fn exported(w: &TestApp, owner: OwnerId) -> Uuid {
    let export = service::request(&w.as_owner(owner)).await.unwrap();
    Worker::new(w).run().await;
    export.id
}

/// Where the server keeps `owner`'s archive of export `id`.
pub(crate) fn archive_path(w: &TestApp, owner: OwnerId, id: Uuid) -> PathBuf {
    files::archive(&files::root(&w.state, Region::DEFAULT), owner, id)
}

/// Every file of the owner's export folder, by name.
pub(crate) fn files_of(w: &TestApp, owner: OwnerId) -> Vec<String> {
    let dir = files::owner_dir(&files::root(&w.state, Region::DEFAULT), owner);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Every file of a zip archive, unpacked.
pub(crate) fn unzip(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).unwrap();
            (file.name().to_owned(), bytes)
        })
        .collect()
}
