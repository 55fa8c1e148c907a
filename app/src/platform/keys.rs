//! The key-encryption key: 32 random bytes, given by configuration (KEY_ENCRYPTION_KEY, for a
//! secret manager) or kept in a file of their own (base64, mode 0600) generated on first start.
//! Per-tenant data keys are wrapped with it (`crypto`).

use std::{
    fs,
    io::{ErrorKind, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use base64::{engine::general_purpose::STANDARD, Engine as _};
use rand::RngCore as _;
use thiserror::Error;

use super::region::Region;

const KEY_LEN: usize = 32;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("key file {path} is corrupt ({reason}); restore it from your backup (a new key cannot read data sealed with the old one)")]
    Corrupt { path: PathBuf, reason: &'static str },
    #[error("KEY_ENCRYPTION_KEY is not a base64 256-bit key ({0}); generate one with: head -c 32 /dev/urandom | base64")]
    InvalidSetting(&'static str),
    #[error("key file {path} can be read by other users; run: chmod 600 {path}")]
    TooOpen { path: PathBuf },
    #[error("cannot use key file {path}: {source}; check the path and its permissions")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What a key derived from the key-encryption key is for. Each purpose has its own label, so no
/// two purposes (wrapping, digests, MACs, signing) ever share key bytes, and none uses the
/// key-encryption key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived {
    /// Wraps the tenants' data keys (AES-256-GCM).
    DataKeyWrapping,
    /// Signs the consent cookie (HMAC).
    ConsentCookieMac,
    /// Signs consent receipts (Ed25519 seed).
    ReceiptSigning,
    /// Chains the security log (HMAC).
    AuditChainMac,
    /// Signs the security log's checkpoints (Ed25519 seed).
    AuditCheckpointSigning,
    /// Seals the tenant a mailed link belongs to (AES-256-GCM).
    OpaqueIds,
    /// Names the subject of a consent receipt (HMAC).
    ReceiptSubjects,
    /// Signs the error a form carries back in the page's address (HMAC).
    FormErrorMac,
    /// Names rate-limit buckets without storing addresses (HMAC).
    RateLimitBuckets,
    /// The generated password of the server's database role.
    AppDatabasePassword,
    /// Names addresses in the directory without storing them (HMAC).
    DirectoryAddresses,
    /// Names erased tenants in the erasure ledger without keeping their ids (HMAC).
    ErasureLedger,
    /// Encrypts database backups (AES-256-GCM).
    Backups,
    /// Seals the day the deletion landing page's address names (HMAC).
    DeletionLanding,
    /// Signs the capability tokens that open an app on its own origin (HMAC).
    AppCapabilities,
}

impl Derived {
    pub const ALL: [Derived; 15] = [
        Derived::DataKeyWrapping,
        Derived::ConsentCookieMac,
        Derived::ReceiptSigning,
        Derived::AuditChainMac,
        Derived::AuditCheckpointSigning,
        Derived::OpaqueIds,
        Derived::ReceiptSubjects,
        Derived::FormErrorMac,
        Derived::RateLimitBuckets,
        Derived::AppDatabasePassword,
        Derived::DirectoryAddresses,
        Derived::ErasureLedger,
        Derived::Backups,
        Derived::DeletionLanding,
        Derived::AppCapabilities,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::DataKeyWrapping => "custodian data-key wrapping v1",
            // The first two labels predate this list; keeping them keeps existing cookies and
            // receipts valid.
            Self::ConsentCookieMac => "custodian consent cookie v1",
            Self::ReceiptSigning => "custodian consent receipts v1",
            Self::AuditChainMac => "custodian audit chain v1",
            Self::AuditCheckpointSigning => "custodian audit checkpoint signing v1",
            Self::OpaqueIds => "custodian opaque ids v1",
            Self::ReceiptSubjects => "custodian receipt subjects v1",
            Self::FormErrorMac => "custodian form error v1",
            Self::RateLimitBuckets => "custodian rate-limit buckets v1",
            Self::AppDatabasePassword => "custodian app database password v1",
            Self::DirectoryAddresses => "custodian directory addresses v1",
            Self::ErasureLedger => "custodian erasure ledger v1",
            Self::Backups => "custodian backups v1",
            Self::DeletionLanding => "custodian deletion landing v1",
            Self::AppCapabilities => "custodian app capabilities v1",
        }
    }
}

/// The key-encryption key. Deliberately has no `Debug` or `Display`, so it cannot end up in a log,
/// and no accessor for its bytes: everything uses a key derived from it for one purpose. The
/// tenants' data keys are wrapped by it, or, once the operator rotated the wrapping key
/// (`custodian keys rotate-kek`), by a wrapping key of its own: rotating that one changes
/// nothing else (signatures, chains, cookies, directory names stay valid).
pub struct KeyEncryptionKey {
    root: [u8; KEY_LEN],
    wrapping: Option<[u8; KEY_LEN]>,
}

/// The wrapping key id of data keys wrapped by the key-encryption key itself (before any
/// rotation).
pub const ROOT_WRAPPING_ID: &str = "kek";

impl KeyEncryptionKey {
    /// The key for `purpose`: HMAC-SHA256 of the purpose's label under this key, so it is
    /// configured, backed up and replaced together with it.
    pub fn derive(&self, purpose: Derived) -> [u8; KEY_LEN] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.root)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(purpose.label().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The key that wraps the data keys of `region`'s tenants: one per region, so a data key
    /// copied into another region's database does not open there. US-East's is the wrapping
    /// key from before regions, so its existing data keys still open.
    pub fn region_wrapping_key(&self, region: Region) -> [u8; KEY_LEN] {
        use hmac::{Hmac, Mac};
        if let Some(wrapping) = &self.wrapping {
            let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(wrapping)
                .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
            mac.update(b"custodian data-key wrapping v2 region ");
            mac.update(region.as_str().as_bytes());
            return mac.finalize().into_bytes().into();
        }
        if region == Region::UsEast {
            return self.derive(Derived::DataKeyWrapping);
        }
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.root)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(Derived::DataKeyWrapping.label().as_bytes());
        mac.update(b" region ");
        mac.update(region.as_str().as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A public name for `region`'s wrapping key (16 hex digits of a hash of it): says which
    /// key, reveals nothing of it.
    pub fn region_key_id(&self, region: Region) -> String {
        use sha2::Digest;
        let mut hash = sha2::Sha256::new();
        hash.update(b"custodian key id v1\n");
        hash.update(self.region_wrapping_key(region));
        hex(&hash.finalize()[..8])
    }

    /// The key itself, as data keys were wrapped with it before keys were separated by purpose:
    /// only to open those; nothing new is wrapped with it.
    pub(crate) fn legacy_wrapping_key(&self) -> &[u8; KEY_LEN] {
        &self.root
    }

    /// Which key wraps data keys now: `ROOT_WRAPPING_ID`, or a public name of the rotated
    /// wrapping key (16 hex digits of a hash of it). Each data key records the one it is
    /// wrapped by; a data key wrapped by another one does not open.
    pub fn wrapping_id(&self) -> String {
        use sha2::Digest;
        match &self.wrapping {
            None => ROOT_WRAPPING_ID.to_owned(),
            Some(wrapping) => {
                let mut hash = sha2::Sha256::new();
                hash.update(b"custodian wrapping key id v1\n");
                hash.update(wrapping);
                hex(&hash.finalize()[..8])
            }
        }
    }

    /// This key as it was before any rotation: wrapping data keys itself (to finish wrapping
    /// again the ones made under it).
    pub fn root_only(&self) -> Self {
        Self {
            root: self.root,
            wrapping: None,
        }
    }

    /// This key with `wrapping` as the key that wraps data keys.
    pub fn with_wrapping(&self, wrapping: [u8; KEY_LEN]) -> Self {
        Self {
            root: self.root,
            wrapping: Some(wrapping),
        }
    }

    /// HMAC-SHA256 of `message` under the key for `purpose`.
    pub fn mac(&self, purpose: Derived, message: &[u8]) -> [u8; KEY_LEN] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.derive(purpose))
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

/// Whether `a` and `b` are equal, in a time that does not depend on where they differ (for
/// comparing a secret or a MAC with what a request brought).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Characters of a link secret: 32 random bytes in unpadded base64url.
pub const LINK_SECRET_LEN: usize = 43;

/// A fresh secret for a mailed or shared link: 256 random bits, base64url. Only its
/// `secret_sha256` is stored.
pub fn link_secret() -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How a link secret is stored and looked up: its SHA-256.
pub fn secret_sha256(secret: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(secret.as_bytes()).into()
}

/// Bytes as lower-case hexadecimal: how digests and key ids are written for people.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Loads the key file, creating it with a fresh random key when it does not exist.
pub fn load_or_create(path: &Path) -> Result<KeyEncryptionKey, KeyError> {
    match read_key_file(path) {
        Ok(root) => Ok(KeyEncryptionKey {
            root,
            wrapping: None,
        }),
        Err(KeyError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => create(path)
            .map_err(|source| KeyError::Io {
                path: path.to_owned(),
                source,
            }),
        Err(error) => Err(error),
    }
}

/// The 32 bytes of a key file that must exist (base64, readable by its owner only).
pub fn read_key_file(path: &Path) -> Result<[u8; KEY_LEN], KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::InvalidData => {
            return Err(KeyError::Corrupt {
                path: path.to_owned(),
                reason: "not text",
            })
        }
        Err(e) => return Err(io(e)),
    };
    if fs::metadata(path).map_err(io)?.permissions().mode() & 0o077 != 0 {
        return Err(KeyError::TooOpen {
            path: path.to_owned(),
        });
    }
    decode(path, &text).map(|key| key.root)
}

/// `key` with the wrapping key kept at `path`, if there is one (after a rotation).
pub fn with_wrapping_file(
    key: KeyEncryptionKey,
    path: &Path,
) -> Result<KeyEncryptionKey, KeyError> {
    match fs::metadata(path) {
        Ok(_) => Ok(key.with_wrapping(read_key_file(path)?)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(key),
        Err(source) => Err(KeyError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes `key` to `path` (mode 0600) in place of any key there, all at once: a crash leaves
/// the old file or the new one, never half of one.
pub fn install_key_file(path: &Path, key: &[u8; KEY_LEN]) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    let part = path.with_extension("part");
    let _ = fs::remove_file(&part);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&part)
        .map_err(io)?;
    writeln!(file, "{}", STANDARD.encode(key)).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&part, path).map_err(io)
}

fn parse(text: &str) -> Result<KeyEncryptionKey, &'static str> {
    let bytes = STANDARD.decode(text.trim()).map_err(|_| "not base64")?;
    let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| "not a 256-bit key")?;
    Ok(KeyEncryptionKey {
        root: key,
        wrapping: None,
    })
}

fn decode(path: &Path, text: &str) -> Result<KeyEncryptionKey, KeyError> {
    parse(text).map_err(|reason| KeyError::Corrupt {
        path: path.to_owned(),
        reason,
    })
}

/// The key as configuration gives it (base64 of 32 bytes).
pub fn from_setting(text: &str) -> Result<KeyEncryptionKey, KeyError> {
    parse(text).map_err(KeyError::InvalidSetting)
}

fn create(path: &Path) -> std::io::Result<KeyEncryptionKey> {
    if let Some(dir) = path.parent() {
        // Only the server's user may list the key directory.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut key = [0u8; KEY_LEN];
    rand::rng().fill_bytes(&mut key);
    // create_new: never overwrite a key another process wrote a moment ago.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{}", STANDARD.encode(key))?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated a new key-encryption key");
    Ok(KeyEncryptionKey {
        root: key,
        wrapping: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_private_and_loads_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/kek.key");
        let created = load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let loaded = load_or_create(&path).unwrap();
        assert_eq!(created.root, loaded.root);
        assert_ne!(created.root, [0u8; KEY_LEN]);
    }

    #[test]
    fn a_configured_key_is_used_as_given_and_junk_is_refused() {
        let key = from_setting(&format!(" {} \n", STANDARD.encode([9u8; 32]))).unwrap();
        assert_eq!(key.root, [9u8; 32]);
        for junk in ["", "not base64!", &STANDARD.encode([9u8; 31])] {
            assert!(
                matches!(from_setting(junk), Err(KeyError::InvalidSetting(_))),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn corrupt_and_open_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.key");
        let write = |content: &str, mode| {
            fs::write(&path, content).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        };
        write("not base64 at all!", 0o600);
        assert!(matches!(
            load_or_create(&path),
            Err(KeyError::Corrupt { .. })
        ));
        write(&STANDARD.encode([1u8; 16]), 0o600);
        assert!(matches!(
            load_or_create(&path),
            Err(KeyError::Corrupt { .. })
        ));
        write(&STANDARD.encode([1u8; 32]), 0o644);
        assert!(matches!(
            load_or_create(&path),
            Err(KeyError::TooOpen { .. })
        ));
    }

    #[test]
    fn every_purpose_has_its_own_key_and_none_is_the_key_itself() {
        let key = from_setting(&STANDARD.encode([3u8; 32])).unwrap();
        let derived: Vec<[u8; KEY_LEN]> = Derived::ALL.iter().map(|p| key.derive(*p)).collect();
        for (i, a) in derived.iter().enumerate() {
            assert_ne!(a, &key.root, "{:?} is the key itself", Derived::ALL[i]);
            for b in &derived[i + 1..] {
                assert_ne!(a, b, "two purposes share a key");
            }
        }
    }
}
