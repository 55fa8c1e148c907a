//! The zip an export is written into. The records' files go through `Sink`: a blocking thread
//! of its own, fed chunks through a bounded channel, compresses, hashes and writes them, so the
//! async runtime is never held by disk or deflate, the next records are read meanwhile, and no
//! more than a few chunks wait in memory. The small files at the end (schemas, viewer,
//! manifest) are written with `Entry` once the thread hands the zip back.

use std::{
    fs::File,
    io::{self, BufWriter, Seek, Write},
    path::Path,
};

use sha2::{Digest, Sha256};
use tokio::{sync::mpsc, task::JoinHandle};
use zip::{write::SimpleFileOptions, CompressionMethod, ZipWriter};

use super::archive::ArchiveError;
use crate::platform::keys::hex;

/// The archive file, buffered.
pub type Zip = ZipWriter<BufWriter<File>>;

/// Chunks waiting for the writer at most (each about `CHUNK` bytes).
const QUEUE: usize = 8;
/// Bytes gathered before they are sent to the writer.
pub const CHUNK: usize = 256 * 1024;

/// One file of the archive, as the manifest lists it.
pub struct Listed {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    pub records: Option<i64>,
    pub schema: Option<String>,
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(1))
        .unix_permissions(0o644)
}

/// A new file (or an old one emptied) only the server's user may read: it holds a person's data.
fn private_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// A file being written into the zip, hashed and counted on the way.
pub struct Entry<'z, W: Write + Seek> {
    zip: &'z mut ZipWriter<W>,
    hash: Sha256,
    bytes: u64,
}

impl<'z, W: Write + Seek> Entry<'z, W> {
    pub fn start(zip: &'z mut ZipWriter<W>, path: &str) -> Result<Self, ArchiveError> {
        zip.start_file(path, options())?;
        Ok(Self {
            zip,
            hash: Sha256::new(),
            bytes: 0,
        })
    }

    pub fn done(self, path: &str, records: Option<i64>, schema: Option<String>) -> Listed {
        Listed {
            path: path.to_owned(),
            bytes: self.bytes,
            sha256: hex(&self.hash.finalize()),
            records,
            schema,
        }
    }
}

impl<W: Write + Seek> Write for Entry<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.zip.write(buf)?;
        self.hash.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.zip.flush()
    }
}

/// What the writer thread is told.
enum Command {
    Start(String),
    Data(Vec<u8>),
    End {
        records: Option<i64>,
        schema: Option<String>,
    },
}

/// The zip and the files written so far, handed back by the writer thread.
pub struct Written {
    pub zip: Zip,
    pub listed: Vec<Listed>,
}

/// The writer thread and the channel to it.
pub struct Sink {
    commands: mpsc::Sender<Command>,
    writer: JoinHandle<Result<Written, ArchiveError>>,
}

impl Sink {
    /// Creates (or empties) `out` and starts the thread that writes it.
    pub fn open(out: &Path) -> Result<Self, ArchiveError> {
        let file = private_file(out)?;
        let (commands, received) = mpsc::channel(QUEUE);
        let writer = tokio::task::spawn_blocking(move || write_all(file, received));
        Ok(Self { commands, writer })
    }

    async fn send(&self, command: Command) -> Result<(), ArchiveError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| ArchiveError::WriterStopped)
    }

    /// Starts the next file.
    pub async fn start(&self, path: &str) -> Result<(), ArchiveError> {
        self.send(Command::Start(path.to_owned())).await
    }

    /// Adds to the file being written.
    pub async fn data(&self, bytes: Vec<u8>) -> Result<(), ArchiveError> {
        self.send(Command::Data(bytes)).await
    }

    /// Ends the file being written, as the manifest will list it.
    pub async fn end(&self, records: Option<i64>, schema: Option<String>) -> Result<(), ArchiveError> {
        self.send(Command::End { records, schema }).await
    }

    /// Waits for the thread to write what it was sent, and takes the zip back. After a failed
    /// `start`, `data` or `end` (the thread stopped), this returns the thread's own error.
    pub async fn close(self) -> Result<Written, ArchiveError> {
        drop(self.commands);
        self.writer.await.map_err(|error| {
            tracing::error!(%error, "the archive's writer thread ended abnormally");
            ArchiveError::WriterStopped
        })?
    }
}

fn write_all(file: File, mut received: mpsc::Receiver<Command>) -> Result<Written, ArchiveError> {
    let mut zip = ZipWriter::new(BufWriter::new(file));
    let mut listed = Vec::new();
    let mut open: Option<(String, Sha256, u64)> = None;
    while let Some(command) = received.blocking_recv() {
        match command {
            Command::Start(path) => {
                zip.start_file(path.as_str(), options())?;
                open = Some((path, Sha256::new(), 0));
            }
            Command::Data(bytes) => {
                zip.write_all(&bytes)?;
                if let Some((_, hash, count)) = open.as_mut() {
                    hash.update(&bytes);
                    *count += bytes.len() as u64;
                }
            }
            Command::End { records, schema } => {
                if let Some((path, hash, bytes)) = open.take() {
                    listed.push(Listed {
                        path,
                        bytes,
                        sha256: hex(&hash.finalize()),
                        records,
                        schema,
                    });
                }
            }
        }
    }
    Ok(Written { zip, listed })
}
