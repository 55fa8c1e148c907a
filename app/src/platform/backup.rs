//! The backup file format (promise P8: no copy outlives the promise): a database dump encrypted
//! as it streams, with AES-256-GCM in the STREAM construction (each 64 KiB chunk sealed with its
//! position and whether it is the last, so a file cut short, reordered or spliced does not
//! open), under a key derived from the key-encryption key.
//!
//! `MAGIC`, the header's length (u32, big-endian), the header (JSON: which database, when,
//! which key), a 7-byte nonce prefix, then the chunks. The header is every chunk's associated
//! data: changing it fails the first chunk.

use std::path::{Path, PathBuf};

use aes_gcm::{
    aead::{
        stream::{DecryptorBE32, EncryptorBE32},
        Payload,
    },
    Aes256Gcm, KeyInit,
};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use super::keys::{hex, Derived, KeyEncryptionKey};

const MAGIC: &[u8] = b"CUSTODIAN-BACKUP\x01";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
const NONCE_PREFIX: usize = 7;
/// The longest header read; real ones are about 150 bytes.
const MAX_HEADER: u32 = 4096;
const EXTENSION: &str = "backup";

#[derive(Debug, Error)]
pub enum BackupError {
    #[error("this is not a Custodian backup file")]
    NotABackup,
    #[error(
        "this backup cannot be opened with this server's key: it was made by another server \
         (another KEY_FILE), or it is damaged"
    )]
    WrongKeyOrDamaged,
    #[error("the backup file could not be read or written: {0}")]
    Io(#[from] std::io::Error),
}

/// What a backup says of itself, in the clear (and bound to its contents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Which database: "directory" or a region's name.
    pub database: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Which key encrypted it (a hash of the key, revealing nothing of it).
    pub key_id: String,
}

fn backup_key(key: &KeyEncryptionKey) -> [u8; 32] {
    key.derive(Derived::Backups)
}

/// The public name of this server's backup key.
pub fn key_id(key: &KeyEncryptionKey) -> String {
    let mut hash = sha2::Sha256::new();
    hash.update(b"custodian backup key id v1\n");
    hash.update(backup_key(key));
    hex(&hash.finalize()[..8])
}

/// Where backups are kept.
pub fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join("backups")
}

/// The file a backup of `database` made at `at` is written to.
pub fn file_name(database: &str, at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{database}.{EXTENSION}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Reads up to `len` bytes, fewer only at the end of the input.
async fn read_up_to(input: &mut (impl AsyncRead + Unpin), len: usize) -> std::io::Result<Vec<u8>> {
    let mut buffer = vec![0; len];
    let mut filled = 0;
    while filled < len {
        match input.read(&mut buffer[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    buffer.truncate(filled);
    Ok(buffer)
}

/// Encrypts `plain` (a dump, as it streams) into `out` as a backup with `header`.
pub async fn write_encrypted(
    key: &KeyEncryptionKey,
    header: &Header,
    plain: &mut (impl AsyncRead + Unpin),
    out: &mut (impl AsyncWrite + Unpin),
) -> Result<(), BackupError> {
    let header_bytes = serde_json::to_vec(header).map_err(std::io::Error::other)?;
    let mut prefix = [0_u8; NONCE_PREFIX];
    rand::rng().fill_bytes(&mut prefix);
    out.write_all(MAGIC).await?;
    out.write_u32(u32::try_from(header_bytes.len()).map_err(std::io::Error::other)?)
        .await?;
    out.write_all(&header_bytes).await?;
    out.write_all(&prefix).await?;
    let cipher = Aes256Gcm::new(&backup_key(key).into());
    let mut encryptor = EncryptorBE32::from_aead(cipher, prefix.as_slice().into());
    let sealed = |result: Result<Vec<u8>, aes_gcm::Error>| {
        result.map_err(|_| std::io::Error::other("the chunk could not be encrypted"))
    };
    let mut current = read_up_to(plain, CHUNK).await?;
    loop {
        let next = read_up_to(plain, CHUNK).await?;
        let payload = Payload {
            msg: &current,
            aad: &header_bytes,
        };
        if next.is_empty() {
            out.write_all(&sealed(encryptor.encrypt_last(payload))?)
                .await?;
            break;
        }
        out.write_all(&sealed(encryptor.encrypt_next(payload))?)
            .await?;
        current = next;
    }
    out.flush().await?;
    Ok(())
}

/// Reads a backup's header, leaving `input` at its nonce prefix.
pub async fn read_header(
    input: &mut (impl AsyncRead + Unpin),
) -> Result<(Header, Vec<u8>), BackupError> {
    let magic = read_up_to(input, MAGIC.len()).await?;
    if magic != MAGIC {
        return Err(BackupError::NotABackup);
    }
    let len = input
        .read_u32()
        .await
        .map_err(|_| BackupError::NotABackup)?;
    if len > MAX_HEADER {
        return Err(BackupError::NotABackup);
    }
    let bytes = read_up_to(input, len as usize).await?;
    let header = serde_json::from_slice(&bytes).map_err(|_| BackupError::NotABackup)?;
    Ok((header, bytes))
}

/// Decrypts a backup from `input` into `out`; fails (having written only authenticated chunks)
/// when the key is not the one it was made with or the file was changed or cut short.
pub async fn decrypt(
    key: &KeyEncryptionKey,
    input: &mut (impl AsyncRead + Unpin),
    out: &mut (impl AsyncWrite + Unpin),
) -> Result<Header, BackupError> {
    let (header, header_bytes) = read_header(input).await?;
    let prefix = read_up_to(input, NONCE_PREFIX).await?;
    if prefix.len() != NONCE_PREFIX {
        return Err(BackupError::WrongKeyOrDamaged);
    }
    let cipher = Aes256Gcm::new(&backup_key(key).into());
    let mut decryptor = DecryptorBE32::from_aead(cipher, prefix.as_slice().into());
    let mut current = read_up_to(input, CHUNK + TAG).await?;
    loop {
        let next = read_up_to(input, CHUNK + TAG).await?;
        let payload = Payload {
            msg: &current,
            aad: &header_bytes,
        };
        if next.is_empty() {
            let plain = decryptor
                .decrypt_last(payload)
                .map_err(|_| BackupError::WrongKeyOrDamaged)?;
            out.write_all(&plain).await?;
            break;
        }
        let plain = decryptor
            .decrypt_next(payload)
            .map_err(|_| BackupError::WrongKeyOrDamaged)?;
        out.write_all(&plain).await?;
        current = next;
    }
    out.flush().await?;
    Ok(header)
}

/// Drops the database `name` (connections and all), if it exists. `name` must be a plain
/// identifier (letters, digits, underscores), which the caller checked.
pub async fn drop_database(
    maintenance: &mut sqlx::PgConnection,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(maintenance)
        .await
        .map(drop)
}

/// Creates the empty database `name` (a plain identifier), with no role but its owner allowed
/// temporary tables (as the migrations leave every database: a restore does not carry that).
pub async fn create_database(
    maintenance: &mut sqlx::PgConnection,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut *maintenance)
        .await?;
    sqlx::query(&format!(
        "REVOKE TEMPORARY ON DATABASE \"{name}\" FROM PUBLIC"
    ))
    .execute(maintenance)
    .await
    .map(drop)
}

/// Gives the database `from` the name `to` (plain identifiers).
pub async fn rename_database(
    maintenance: &mut sqlx::PgConnection,
    from: &str,
    to: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("ALTER DATABASE \"{from}\" RENAME TO \"{to}\""))
        .execute(maintenance)
        .await
        .map(drop)
}

/// Deletes the backups in `folder` made more than `keep` before `now`; returns them. A file
/// that is not a backup is left alone.
pub async fn prune(
    folder: &Path,
    now: OffsetDateTime,
    keep: Duration,
) -> Result<Vec<PathBuf>, BackupError> {
    let mut removed = Vec::new();
    let mut entries = match tokio::fs::read_dir(folder).await {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(error) => return Err(error.into()),
    };
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some(EXTENSION) {
            continue;
        }
        let mut file = tokio::fs::File::open(&path).await?;
        let Ok((header, _)) = read_header(&mut file).await else {
            tracing::warn!(file = %path.display(), "left a file that is not a backup");
            continue;
        };
        if header.created_at < now - keep {
            tokio::fs::remove_file(&path).await?;
            removed.push(path);
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use base64::{engine::general_purpose::STANDARD, Engine as _};

    use super::*;

    fn key(byte: u8) -> KeyEncryptionKey {
        crate::platform::keys::from_setting(&STANDARD.encode([byte; 32])).unwrap()
    }

    fn header() -> Header {
        Header {
            database: "us-east".to_owned(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            key_id: key_id(&key(1)),
        }
    }

    async fn encrypted(plain: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_encrypted(&key(1), &header(), &mut &plain[..], &mut out)
            .await
            .unwrap();
        out
    }

    async fn decrypted(key: &KeyEncryptionKey, file: &[u8]) -> Result<Vec<u8>, BackupError> {
        let mut out = Vec::new();
        decrypt(key, &mut &file[..], &mut out).await.map(|_| out)
    }

    #[tokio::test]
    async fn a_backup_opens_with_its_key_whatever_its_length() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let file = encrypted(&plain).await;
            assert_eq!(
                decrypted(&key(1), &file).await.unwrap(),
                plain,
                "{len} bytes"
            );
        }
    }

    #[tokio::test]
    async fn another_key_a_cut_a_changed_byte_or_header_does_not_open() {
        let plain = vec![7_u8; 2 * CHUNK + 10];
        let file = encrypted(&plain).await;
        assert!(matches!(
            decrypted(&key(2), &file).await,
            Err(BackupError::WrongKeyOrDamaged)
        ));
        // Cut at a chunk boundary: the last chunk left was not sealed as the last.
        let cut = file.len() - 10 - TAG;
        assert!(matches!(
            decrypted(&key(1), &file[..cut]).await,
            Err(BackupError::WrongKeyOrDamaged)
        ));
        let mut flipped = file.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 1;
        assert!(decrypted(&key(1), &flipped).await.is_err());
        let mut renamed = file.clone();
        let at = renamed.windows(7).position(|w| w == b"us-east").unwrap();
        renamed[at..at + 7].copy_from_slice(b"eu-west");
        assert!(matches!(
            decrypted(&key(1), &renamed).await,
            Err(BackupError::WrongKeyOrDamaged)
        ));
        assert!(matches!(
            decrypted(&key(1), b"PGDMP not ours").await,
            Err(BackupError::NotABackup)
        ));
    }

    #[test]
    fn file_names_sort_by_time() {
        let at = OffsetDateTime::from_unix_timestamp(1_795_980_390).unwrap();
        assert_eq!(
            file_name("directory", at),
            "20261129T192630Z-directory.backup"
        );
    }
}
