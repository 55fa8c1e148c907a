//! An app's files: uploaded one by one or as a zip, or the starter's. Nothing of an upload is
//! written unless all of it is: its paths are normalised and unique, a zip holds no link and
//! unpacks to no more than the limits allow (read with a cap, never trusting its headers), and
//! the app and account limits hold once it is in, under the tenant's lock on app changes.

use std::{
    collections::BTreeSet,
    io::{Cursor, Read as _},
};

use time::OffsetDateTime;

use super::{live, AppsError};
use crate::{
    apps::{
        model::{
            AppPath, UploadProblem, ACCOUNT_BYTES, APP_BYTES, APP_FILES, APP_FILES_CHANGED,
            ZIP_RATIO,
        },
        store::{self, files},
    },
    platform::{context::SignedIn, db::TenantTx, ids::AppId},
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

/// Writes the files into the tenant's app, then checks the limits with them in.
async fn write(
    tx: &mut TenantTx,
    app: AppId,
    unpacked: &[Unpacked],
    now: OffsetDateTime,
) -> Result<(), AppsError> {
    for file in unpacked {
        files::put(tx, app, file.path.as_str(), &content_type(&file.path), &file.bytes, now).await?;
    }
    let totals = files::totals(tx, app).await?;
    let problem = if totals.app_files > APP_FILES {
        Some(UploadProblem::TooManyFiles)
    } else if totals.app_bytes > APP_BYTES {
        Some(UploadProblem::AppTooLarge)
    } else if totals.account_bytes > ACCOUNT_BYTES {
        Some(UploadProblem::AccountTooLarge)
    } else {
        None
    };
    match problem {
        Some(problem) => Err(AppsError::Upload(problem)),
        None => store::touch(tx, app, now).await.map_err(AppsError::from),
    }
}

/// What the security log says of changed files: how many, and the first few paths.
fn described(verb: &str, paths: &[&str]) -> String {
    let shown: Vec<&str> = paths.iter().take(5).copied().collect();
    let more = paths.len().saturating_sub(shown.len());
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("{verb} {} file(s): {}{tail}", paths.len(), shown.join(", "))
}

/// Adds (or replaces) the uploaded files of an app out of the trash, all or nothing.
pub async fn upload(me: &SignedIn, app: AppId, incoming: Vec<Incoming>) -> Result<usize, AppsError> {
    let unpacked = tokio::task::spawn_blocking(move || unpack(incoming))
        .await
        .map_err(|_| AppsError::Upload(UploadProblem::Unreadable))?
        .map_err(AppsError::Upload)?;
    let now = me.now();
    let mut tx = me.begin_own().await?;
    // One upload of an account at a time; another waits for nothing and holds no connection.
    if !store::try_lock_changes(&mut tx).await? {
        return Err(AppsError::Upload(UploadProblem::Busy));
    }
    live(&mut tx, app).await.map_err(|error| match error {
        AppsError::Trashed => AppsError::Upload(UploadProblem::Trashed),
        other => other,
    })?;
    write(&mut tx, app, &unpacked, now).await?;
    let paths: Vec<&str> = unpacked.iter().map(|file| file.path.as_str()).collect();
    me.audit(&mut tx, APP_FILES_CHANGED, &described("uploaded", &paths)).await?;
    tx.commit().await?;
    Ok(unpacked.len())
}

/// Deletes one file of an app out of the trash.
pub async fn delete_file(me: &SignedIn, app: AppId, path: &str) -> Result<(), AppsError> {
    let path = AppPath::parse(path).map_err(|_| AppsError::NoSuchFile)?;
    let path = path.as_str();
    let mut tx = me.begin_own().await?;
    store::lock_changes(&mut tx).await?;
    live(&mut tx, app).await?;
    if !files::delete(&mut tx, app, path).await? {
        return Err(AppsError::NoSuchFile);
    }
    store::touch(&mut tx, app, me.now()).await?;
    me.audit(&mut tx, APP_FILES_CHANGED, &described("deleted", &[path])).await?;
    tx.commit().await?;
    Ok(())
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
    write(tx, app, &unpacked, now).await
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
