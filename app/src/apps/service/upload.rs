//! An app's files: uploaded one by one or as a zip, or the starter's. Nothing of an upload is
//! written unless all of it is: its paths are normalised and unique, a zip holds no link and
//! unpacks to no more than the limits allow (read with a cap, never trusting its headers), and
//! the app and account limits hold once it is in, under the tenant's lock on app changes.

use std::{
    collections::BTreeSet,
    io::{Cursor, Read as _},
};

use time::OffsetDateTime;

use super::{
    access::{self, Opened, Role},
    AppsError,
};
use crate::{
    apps::{
        model::{
            AppPath, UploadProblem, ACCOUNT_BYTES, APP_BYTES, APP_FILES, APP_FILES_CHANGED,
            ZIP_RATIO,
        },
        store::{self, files, members},
    },
    platform::{
        context::SignedIn,
        db::TenantTx,
        ids::{AppId, OwnerId},
    },
};

/// One file as the browser sent it.
pub struct Incoming {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// A file ready to be written.
#[derive(Debug)]
pub struct Unpacked {
    pub path: AppPath,
    pub bytes: Vec<u8>,
}

/// Entries larger than this must compress no better than `ZIP_RATIO` to one.
const RATIO_CHECKED_FROM: u64 = 1024 * 1024;

fn is_zip(incoming: &Incoming) -> bool {
    incoming.file_name.to_ascii_lowercase().ends_with(".zip")
        && incoming.bytes.starts_with(b"PK\x03\x04")
}

/// The content type a file is served with, from its extension; text in UTF-8.
pub fn content_type(path: &AppPath) -> String {
    let guess = mime_guess::from_path(path.as_str()).first_or_octet_stream();
    if guess.type_() == mime_guess::mime::TEXT
        || matches!(guess.subtype().as_str(), "javascript" | "json")
    {
        format!("{guess}; charset=utf-8")
    } else {
        guess.to_string()
    }
}

/// The files of a zip, each read with a cap: at most `budget` bytes in all.
fn unzip(bytes: &[u8], budget: u64) -> Result<Vec<Unpacked>, UploadProblem> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| UploadProblem::BadZip)?;
    if archive.len() > APP_FILES as usize {
        return Err(UploadProblem::TooManyFiles);
    }
    let mut unpacked = Vec::new();
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|_| UploadProblem::BadZip)?;
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() || entry.unix_mode().is_some_and(|mode| mode & 0o170000 == 0o120000)
        {
            return Err(UploadProblem::Symlink);
        }
        if entry.encrypted() {
            return Err(UploadProblem::BadZip);
        }
        let path = AppPath::parse(entry.name()).map_err(|_| UploadProblem::BadPath)?;
        let declared = entry.size();
        if declared >= RATIO_CHECKED_FROM && declared / entry.compressed_size().max(1) > ZIP_RATIO
        {
            return Err(UploadProblem::ZipBomb);
        }
        let room = budget.saturating_sub(total);
        if declared > room {
            return Err(UploadProblem::AppTooLarge);
        }
        let mut content = Vec::new();
        entry
            .take(room + 1)
            .read_to_end(&mut content)
            .map_err(|_| UploadProblem::BadZip)?;
        total += content.len() as u64;
        if total > budget {
            return Err(UploadProblem::AppTooLarge);
        }
        unpacked.push(Unpacked {
            path,
            bytes: content,
        });
    }
    Ok(unpacked)
}

/// The files an upload holds: each file as it is, each zip unpacked; paths unique.
pub fn unpack(incoming: Vec<Incoming>) -> Result<Vec<Unpacked>, UploadProblem> {
    let mut unpacked = Vec::new();
    for file in incoming {
        if is_zip(&file) {
            let used: u64 = unpacked.iter().map(|u: &Unpacked| u.bytes.len() as u64).sum();
            unpacked.extend(unzip(&file.bytes, (APP_BYTES as u64).saturating_sub(used))?);
        } else {
            let path = AppPath::parse(&file.file_name).map_err(|_| UploadProblem::BadPath)?;
            unpacked.push(Unpacked {
                path,
                bytes: file.bytes,
            });
        }
    }
    if unpacked.is_empty() {
        return Err(UploadProblem::NoFiles);
    }
    if unpacked.len() as i64 > APP_FILES {
        return Err(UploadProblem::TooManyFiles);
    }
    let paths: BTreeSet<&AppPath> = unpacked.iter().map(|file| &file.path).collect();
    if paths.len() != unpacked.len() {
        return Err(UploadProblem::DuplicatePath);
    }
    Ok(unpacked)
}

/// Writes the files into `owner`'s app, then checks the limits with them in (the owner's
/// account total read through a function that answers the owner and the app's editors alone).
pub(super) async fn write(
    tx: &mut TenantTx,
    owner: OwnerId,
    app: AppId,
    unpacked: &[Unpacked],
    now: OffsetDateTime,
) -> Result<(), AppsError> {
    for file in unpacked {
        let content_type = content_type(&file.path);
        files::put(tx, owner, app, file.path.as_str(), &content_type, &file.bytes, now).await?;
    }
    let (app_files, app_bytes) = files::app_totals(tx, owner, app).await?;
    let account_bytes = members::owner_bytes(tx, owner, app).await?.unwrap_or(i64::MAX);
    let problem = if app_files > APP_FILES {
        Some(UploadProblem::TooManyFiles)
    } else if app_bytes > APP_BYTES {
        Some(UploadProblem::AppTooLarge)
    } else if account_bytes > ACCOUNT_BYTES {
        Some(UploadProblem::AccountTooLarge)
    } else {
        None
    };
    match problem {
        Some(problem) => Err(AppsError::Upload(problem)),
        None => Ok(()),
    }
}

/// What the security log says of changed files: how many, and the first few paths.
fn described(verb: &str, paths: &[&str]) -> String {
    let shown: Vec<&str> = paths.iter().take(5).copied().collect();
    let more = paths.len().saturating_sub(shown.len());
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("{verb} {} file(s): {}{tail}", paths.len(), shown.join(", "))
}

/// The app opened for a change of its files: by its owner (out of the trash) or an editor.
async fn editable(me: &SignedIn, app: AppId) -> Result<Opened, AppsError> {
    let opened = access::open(me, app).await?;
    match opened.role {
        Role::Owner if opened.app.purge_at.is_some() => Err(AppsError::Trashed),
        role if role.edits() => Ok(opened),
        _ => Err(AppsError::NotEditor),
    }
}

/// Whether the app still takes the change once its lock is held: a trash, a removal or a
/// downgrade that came in meanwhile wins.
async fn still_editable(opened: &mut Opened) -> Result<(), AppsError> {
    let app = opened.app.id;
    let live = store::get_of(&mut opened.tx, opened.owner, app)
        .await?
        .is_some_and(|found| found.purge_at.is_none());
    let editing = match opened.role {
        Role::Owner => true,
        Role::Editor | Role::Viewer => {
            members::role(&mut opened.tx, opened.owner, app).await?.as_deref() == Some("editor")
        }
    };
    match (live, editing) {
        (true, true) => Ok(()),
        (false, _) if opened.role == Role::Owner => Err(AppsError::Trashed),
        (_, false) => Err(AppsError::NotEditor),
        (false, true) => Err(AppsError::NoSuchApp),
    }
}

/// Records a change of files: in the owner's log (with the app marked changed) or, for an
/// editor's change, in the owner's log as an editor's; then commits.
async fn record_and_commit(
    me: &SignedIn,
    mut opened: Opened,
    detail: &str,
) -> Result<(), AppsError> {
    if opened.role == Role::Owner {
        store::touch(&mut opened.tx, opened.app.id, me.now()).await?;
        me.audit(&mut opened.tx, APP_FILES_CHANGED, detail).await?;
    } else {
        access::record_for_owner(me, &mut opened, APP_FILES_CHANGED, detail).await?;
    }
    opened.tx.commit().await?;
    Ok(())
}

/// Adds (or replaces) the uploaded files of an app, all or nothing: its owner's (out of the
/// trash) or one its owner made `me` an editor of.
pub async fn upload(me: &SignedIn, app: AppId, incoming: Vec<Incoming>) -> Result<usize, AppsError> {
    let unpacked = tokio::task::spawn_blocking(move || unpack(incoming))
        .await
        .map_err(|_| AppsError::Upload(UploadProblem::Unreadable))?
        .map_err(AppsError::Upload)?;
    let mut opened = editable(me, app).await.map_err(|error| match error {
        AppsError::Trashed => AppsError::Upload(UploadProblem::Trashed),
        other => other,
    })?;
    // One upload per owner's apps at a time; another waits for nothing and holds no connection.
    if !store::try_lock_changes(&mut opened.tx, opened.owner).await? {
        return Err(AppsError::Upload(UploadProblem::Busy));
    }
    if let Err(refusal) = write_checked(me, &mut opened, &unpacked).await {
        // The lock goes with the transaction now: a retry right away must not find it held.
        if let Err(error) = opened.tx.rollback().await {
            tracing::warn!(%error, "a refused upload's transaction did not roll back");
        }
        return Err(refusal);
    }
    let paths: Vec<&str> = unpacked.iter().map(|file| file.path.as_str()).collect();
    record_and_commit(me, opened, &described("uploaded", &paths)).await?;
    Ok(unpacked.len())
}

/// Writes an upload once the app still takes it, within the limits and, for an app on
/// Discover, the publish check.
async fn write_checked(
    me: &SignedIn,
    opened: &mut Opened,
    unpacked: &[Unpacked],
) -> Result<(), AppsError> {
    still_editable(opened).await.map_err(|error| match error {
        AppsError::Trashed => AppsError::Upload(UploadProblem::Trashed),
        other => other,
    })?;
    let app = opened.app.id;
    // Published apps only: the files are copied for the check off the async threads.
    if !super::publish::may_add(me.state(), &mut opened.tx, opened.owner, app, unpacked).await? {
        return Err(AppsError::Upload(UploadProblem::Published));
    }
    write(&mut opened.tx, opened.owner, app, unpacked, me.now()).await
}

/// Deletes one file of an app, as its owner (out of the trash) or an editor.
pub async fn delete_file(me: &SignedIn, app: AppId, path: &str) -> Result<(), AppsError> {
    let path = AppPath::parse(path).map_err(|_| AppsError::NoSuchFile)?;
    let path = path.as_str();
    let mut opened = editable(me, app).await?;
    store::lock_changes(&mut opened.tx, opened.owner).await?;
    still_editable(&mut opened).await?;
    if !files::delete(&mut opened.tx, opened.owner, app, path).await? {
        return Err(AppsError::NoSuchFile);
    }
    record_and_commit(me, opened, &described("deleted", &[path])).await
}

const STARTER_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>My first app</title>
  <link rel="stylesheet" href="style.css">
</head>
<body>
  <main>
    <h1>Hello from your app</h1>
    <p>Edit <code>index.html</code>, <code>style.css</code> and <code>app.js</code>, or upload your own files.</p>
    <button id="count" type="button">Clicked 0 times</button>
  </main>
  <script src="app.js"></script>
</body>
</html>
"#;

const STARTER_CSS: &str = "body { font-family: system-ui, sans-serif; margin: 2rem; }\n\
button { font-size: 1rem; padding: 0.5rem 1rem; }\n";

const STARTER_JS: &str = "let clicks = 0;\n\
const button = document.getElementById('count');\n\
button.addEventListener('click', () => {\n  clicks += 1;\n  button.textContent = `Clicked ${clicks} times`;\n});\n";

/// The starter's files: a page, its style and its script.
pub(super) async fn add_starter(
    tx: &mut TenantTx,
    app: AppId,
    now: OffsetDateTime,
) -> Result<(), AppsError> {
    let starter = [
        ("index.html", STARTER_HTML),
        ("style.css", STARTER_CSS),
        ("app.js", STARTER_JS),
    ];
    let unpacked: Vec<Unpacked> = starter
        .into_iter()
        .filter_map(|(path, text)| {
            AppPath::parse(path).ok().map(|path| Unpacked {
                path,
                bytes: text.as_bytes().to_vec(),
            })
        })
        .collect();
    let owner = tx.owner_id();
    write(tx, owner, app, &unpacked, now).await
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use zip::{write::SimpleFileOptions, CompressionMethod, ZipWriter};

    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn incoming(name: &str, bytes: Vec<u8>) -> Vec<Incoming> {
        vec![Incoming {
            file_name: name.to_owned(),
            bytes,
        }]
    }

    #[test]
    fn a_zip_unpacks_into_normalised_paths() {
        let zip = zip_of(&[("./site/index.html", b"<p>"), ("site/a.js", b"1")]);
        let files = unpack(incoming("app.zip", zip)).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["site/index.html", "site/a.js"]);
    }

    #[test]
    fn traversal_duplicates_links_and_bombs_are_refused() {
        let traversal = zip_of(&[("../../etc/passwd", b"x")]);
        assert_eq!(unpack(incoming("a.zip", traversal)).unwrap_err(), UploadProblem::BadPath);
        let duplicate = zip_of(&[("a.js", b"1"), ("./a.js", b"2")]);
        assert_eq!(unpack(incoming("a.zip", duplicate)).unwrap_err(), UploadProblem::DuplicatePath);

        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        zip.add_symlink("link", "/etc/passwd", SimpleFileOptions::default()).unwrap();
        let link = zip.finish().unwrap().into_inner();
        assert_eq!(unpack(incoming("a.zip", link)).unwrap_err(), UploadProblem::Symlink);

        let bomb = zip_of(&[("zeros.txt", &vec![0u8; 20 * 1024 * 1024])]);
        assert!(bomb.len() < 100 * 1024, "the bomb is small");
        assert_eq!(unpack(incoming("a.zip", bomb)).unwrap_err(), UploadProblem::ZipBomb);

        assert_eq!(unpack(incoming("a.zip", b"PK\x03\x04junk".to_vec())).unwrap_err(), UploadProblem::BadZip);
        assert_eq!(unpack(incoming("/abs.js", b"x".to_vec())).unwrap_err(), UploadProblem::BadPath);
        assert_eq!(unpack(Vec::new()).unwrap_err(), UploadProblem::NoFiles);
    }

    #[test]
    fn too_many_entries_are_refused_before_reading() {
        let names: Vec<String> = (0..=APP_FILES).map(|i| format!("f{i}.txt")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        assert_eq!(unpack(incoming("a.zip", zip_of(&entries))).unwrap_err(), UploadProblem::TooManyFiles);
    }

    #[test]
    fn content_types_follow_the_extension() {
        let of = |path: &str| content_type(&AppPath::parse(path).unwrap());
        assert_eq!(of("index.html"), "text/html; charset=utf-8");
        assert_eq!(of("a.js"), "text/javascript; charset=utf-8");
        assert_eq!(of("logo.png"), "image/png");
        assert_eq!(of("blob"), "application/octet-stream");
    }
}
