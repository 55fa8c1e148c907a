//! The key hierarchy (promise P9): each tenant has its own data key, stored wrapped by the
//! key-encryption key with AES-256-GCM and numbered so it can be rotated. Values are sealed with
//! the newest data key and associated data that binds them to their owner and purpose, so a
//! sealed value copied to another row, tenant or purpose does not open.
//!
//! Owns: `data_keys`.

use std::borrow::Cow;

use aes_gcm::{
    aead::{Aead, Payload},
    Aes256Gcm, KeyInit, Nonce,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;
use thiserror::Error;
use time::OffsetDateTime;
use uuid::Uuid;

use sqlx::PgConnection;

use super::{
    db::TenantTx,
    ids::{AppId, OwnerId},
    keys::{Derived, KeyEncryptionKey},
    region::{Region, Tenant},
};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const VERSION_LEN: usize = 4;

#[derive(Debug, Error)]
pub enum CryptoError {
    /// Tampered, truncated, or sealed for another owner or purpose.
    #[error("a sealed value did not open")]
    Unsealable,
    #[error("the tenant's data key version {0} is missing")]
    MissingKey(i32),
    /// Wrapped by a key this server no longer holds (rotated away, or another server's).
    #[error("a data key is wrapped by the retired wrapping key {0}")]
    RetiredWrappingKey(String),
    #[error("the key store failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// What a sealed value is for; part of its associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose<'a> {
    TotpSecret,
    BackupCode,
    /// The value of an app's secret: bound to the app and the secret's name, so a sealed value
    /// moved to another app or name does not open.
    AppSecret {
        app: AppId,
        name: &'a str,
    },
    /// A connection's refresh token and client secret, bound the same way.
    ConnectionGrant {
        app: AppId,
        name: &'a str,
    },
}

impl Purpose<'_> {
    fn label(self) -> Cow<'static, str> {
        match self {
            Self::TotpSecret => "totp-secret".into(),
            Self::BackupCode => "backup-code".into(),
            // A name is upper-case letters, digits and underscores: no separator can be forged.
            Self::AppSecret { app, name } => format!("app-secret/{app}/{name}").into(),
            Self::ConnectionGrant { app, name } => {
                format!("app-connection-grant/{app}/{name}").into()
            }
        }
    }
}

/// A tenant's data key in the clear; lives only as long as one operation needs it. It is never
/// used itself: sealing and digests each use a key derived from it.
struct DataKey {
    version: i32,
    bytes: [u8; KEY_LEN],
}

impl DataKey {
    fn for_use(&self, label: &[u8]) -> [u8; KEY_LEN] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(label);
        mac.finalize().into_bytes().into()
    }

    fn sealing(&self) -> [u8; KEY_LEN] {
        self.for_use(b"seal")
    }

    fn digests(&self) -> [u8; KEY_LEN] {
        self.for_use(b"digest")
    }
}

fn associated_data(owner_id: OwnerId, purpose: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + purpose.len());
    aad.extend_from_slice(owner_id.as_uuid().as_bytes());
    aad.extend_from_slice(purpose.as_bytes());
    aad
}

/// Encrypts with AES-256-GCM under a fresh random nonce: version ‖ nonce ‖ ciphertext+tag.
fn seal_with(
    key: &[u8; KEY_LEN],
    version: i32,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let cipher = Aes256Gcm::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Unsealable)?;
    let mut sealed = Vec::with_capacity(VERSION_LEN + NONCE_LEN + ciphertext.len());
    sealed.extend_from_slice(&version.to_be_bytes());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&ciphertext);
    Ok(sealed)
}

/// The data key version a sealed value names.
fn version_of(sealed: &[u8]) -> Result<i32, CryptoError> {
    let bytes: [u8; VERSION_LEN] = sealed
        .get(..VERSION_LEN)
        .and_then(|b| b.try_into().ok())
        .ok_or(CryptoError::Unsealable)?;
    Ok(i32::from_be_bytes(bytes))
}

fn open_with(key: &[u8; KEY_LEN], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < VERSION_LEN + NONCE_LEN {
        return Err(CryptoError::Unsealable);
    }
    let (nonce, ciphertext) = sealed[VERSION_LEN..].split_at(NONCE_LEN);
    Aes256Gcm::new(key.into())
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Unsealable)
}

fn wrapping_aad(owner_id: OwnerId, version: i32) -> Vec<u8> {
    associated_data(owner_id, &format!("data-key/{version}"))
}

/// Creates the tenant's first data key (at sign-up), wrapped by the key-encryption key.
pub async fn create_data_key(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    now: OffsetDateTime,
) -> Result<(), CryptoError> {
    new_data_key(tx, kek, 1, now).await.map(|_| ())
}

async fn new_data_key(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    version: i32,
    now: OffsetDateTime,
) -> Result<DataKey, CryptoError> {
    let owner_id = tx.owner_id();
    let mut bytes = [0u8; KEY_LEN];
    rand::rng().fill_bytes(&mut bytes);
    let wrapped = seal_with(
        &kek.region_wrapping_key(tx.tenant().region),
        0,
        &wrapping_aad(owner_id, version),
        &bytes,
    )?;
    sqlx::query(
        "INSERT INTO data_keys (owner_id, version, wrapped_key, created_at, kek_id) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(owner_id)
    .bind(version)
    .bind(wrapped)
    .bind(now)
    .bind(kek.wrapping_id())
    .execute(&mut **tx)
    .await?;
    Ok(DataKey { version, bytes })
}

/// A data key as stored: its version, the key that wraps it, and the wrapped bytes.
#[derive(sqlx::FromRow)]
pub struct WrappedKey {
    pub version: i32,
    pub kek_id: String,
    pub wrapped_key: Vec<u8>,
}

fn unwrap_key(
    kek: &KeyEncryptionKey,
    tenant: Tenant,
    stored: &WrappedKey,
) -> Result<DataKey, CryptoError> {
    if stored.kek_id != kek.wrapping_id() {
        return Err(CryptoError::RetiredWrappingKey(stored.kek_id.clone()));
    }
    let (version, wrapped) = (stored.version, stored.wrapped_key.as_slice());
    let aad = wrapping_aad(tenant.owner_id, version);
    // Data keys wrapped before keys were separated by purpose (and by region) were wrapped
    // with the key-encryption key itself, all in the default region; they still open there.
    let bytes = open_with(&kek.region_wrapping_key(tenant.region), &aad, wrapped)
        .or_else(|error| match tenant.region {
            Region::DEFAULT => open_with(kek.legacy_wrapping_key(), &aad, wrapped),
            _ => Err(error),
        })?
        .try_into()
        .map_err(|_| CryptoError::Unsealable)?;
    Ok(DataKey { version, bytes })
}

/// A data key of `from`, unwrapped with `kek` and wrapped again with `to_kek` for `to` (the
/// same tenant in another region, or under a rotated wrapping key); with the id of the key
/// that now wraps it.
pub fn rewrap_data_key(
    kek: &KeyEncryptionKey,
    to_kek: &KeyEncryptionKey,
    from: Tenant,
    to: Tenant,
    stored: &WrappedKey,
) -> Result<(Vec<u8>, String), CryptoError> {
    let key = unwrap_key(kek, from, stored)?;
    let wrapped = seal_with(
        &to_kek.region_wrapping_key(to.region),
        0,
        &wrapping_aad(to.owner_id, stored.version),
        &key.bytes,
    )?;
    Ok((wrapped, to_kek.wrapping_id()))
}

/// Wraps every data key of a region's database again, from the wrapping key `from` to `to`, in
/// the caller's transaction (the migration role's, for every tenant at once), each for its
/// tenant's region. Keys already wrapped by `to` are left as they are, so an interrupted
/// rotation is finished by running it again. Returns how many were wrapped again.
pub async fn rewrap_database(
    conn: &mut PgConnection,
    from: &KeyEncryptionKey,
    to: &KeyEncryptionKey,
) -> Result<usize, CryptoError> {
    // Never a silent partial pass: a role subject to row-level security fails here instead of
    // seeing only some tenants' keys.
    sqlx::query("SET LOCAL row_security = off")
        .execute(&mut *conn)
        .await?;
    let stored: Vec<(uuid::Uuid, String, i32, String, Vec<u8>)> = sqlx::query_as(
        "SELECT d.owner_id, t.region, d.version, d.kek_id, d.wrapped_key \
         FROM data_keys d JOIN tenants t ON t.owner_id = d.owner_id \
         WHERE d.kek_id <> $1 FOR UPDATE OF d",
    )
    .bind(to.wrapping_id())
    .fetch_all(&mut *conn)
    .await?;
    // Keys made under the key-encryption key itself (before the first rotation, or by a server
    // that missed the wrapping key) are wrapped again too: it is still held.
    let root = from.root_only();
    for (owner, region, version, kek_id, wrapped_key) in &stored {
        let region = Region::parse(region).ok_or(CryptoError::Unsealable)?;
        let tenant = Tenant::new(OwnerId::from_uuid(*owner), region);
        let key = WrappedKey {
            version: *version,
            kek_id: kek_id.clone(),
            wrapped_key: wrapped_key.clone(),
        };
        let opener = if *kek_id == from.wrapping_id() {
            from
        } else {
            &root
        };
        let (wrapped, kek_id) = rewrap_data_key(opener, to, tenant, tenant, &key).inspect_err(|_| {
            tracing::error!(tenant = %owner, region = region.as_str(), version, "a data key could not be wrapped again");
        })?;
        sqlx::query(
            "UPDATE data_keys SET wrapped_key = $3, kek_id = $4 WHERE owner_id = $1 AND version = $2",
        )
        .bind(owner)
        .bind(version)
        .bind(wrapped)
        .bind(kek_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(stored.len())
}

/// The wrapping keys other than `current` that data keys in `pool`'s database name: a server
/// that would refuse them refuses to start instead (a rotation left unfinished, or a wrapping
/// key file missing).
pub async fn other_wrapping_ids(
    pool: &sqlx::PgPool,
    current: &str,
) -> Result<Vec<String>, CryptoError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL row_security = off")
        .execute(&mut *tx)
        .await?;
    let ids =
        sqlx::query_scalar("SELECT DISTINCT kek_id FROM data_keys WHERE kek_id <> $1 ORDER BY 1")
            .bind(current)
            .fetch_all(&mut *tx)
            .await?;
    tx.rollback().await?;
    Ok(ids)
}

/// The tenant's newest data key; accounts created before keys existed get one now.
async fn current_key(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    now: OffsetDateTime,
) -> Result<DataKey, CryptoError> {
    let newest: Option<WrappedKey> = sqlx::query_as(
        "SELECT version, kek_id, wrapped_key FROM data_keys ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(&mut **tx)
    .await?;
    match newest {
        Some(stored) => unwrap_key(kek, tx.tenant(), &stored),
        None => new_data_key(tx, kek, 1, now).await,
    }
}

async fn key_version(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    version: i32,
) -> Result<DataKey, CryptoError> {
    let stored: WrappedKey =
        sqlx::query_as("SELECT version, kek_id, wrapped_key FROM data_keys WHERE version = $1")
            .bind(version)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(CryptoError::MissingKey(version))?;
    unwrap_key(kek, tx.tenant(), &stored)
}

/// Adds a newer data key; values sealed from now on use it, older ones still open.
pub async fn rotate_data_key(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    now: OffsetDateTime,
) -> Result<i32, CryptoError> {
    let newest = current_key(tx, kek, now).await?.version;
    Ok(new_data_key(tx, kek, newest + 1, now).await?.version)
}

/// `sealed` sealed again with the tenant's newest data key, or None when it already is.
pub async fn reseal(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    purpose: Purpose<'_>,
    sealed: &[u8],
    now: OffsetDateTime,
) -> Result<Option<Vec<u8>>, CryptoError> {
    let newest = current_key(tx, kek, now).await?;
    if version_of(sealed)? == newest.version {
        return Ok(None);
    }
    let plaintext = open(tx, kek, purpose, sealed).await?;
    let aad = associated_data(tx.owner_id(), &purpose.label());
    seal_with(&newest.sealing(), newest.version, &aad, &plaintext).map(Some)
}

/// The tenant's newest data key version and when it was made, if it has one.
pub async fn newest_key(tx: &mut TenantTx) -> Result<Option<(i32, OffsetDateTime)>, CryptoError> {
    Ok(
        sqlx::query_as("SELECT version, created_at FROM data_keys ORDER BY version DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// Seals a value of the transaction's tenant for one purpose.
pub async fn seal(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    purpose: Purpose<'_>,
    plaintext: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<u8>, CryptoError> {
    let key = current_key(tx, kek, now).await?;
    let aad = associated_data(tx.owner_id(), &purpose.label());
    seal_with(&key.sealing(), key.version, &aad, plaintext)
}

/// Opens a value sealed by `seal` for the same tenant and purpose.
pub async fn open(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    purpose: Purpose<'_>,
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = key_version(tx, kek, version_of(sealed)?).await?;
    let aad = associated_data(tx.owner_id(), &purpose.label());
    // Values sealed before keys were separated by purpose used the data key itself.
    open_with(&key.sealing(), &aad, sealed).or_else(|_| open_with(&key.bytes, &aad, sealed))
}

/// HMAC-SHA-256 of `value` under `key`, bound to its owner and purpose.
fn digest_with(key: &[u8; KEY_LEN], owner_id: OwnerId, purpose: Purpose, value: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(&associated_data(owner_id, &purpose.label()));
    mac.update(value);
    mac.finalize().into_bytes().to_vec()
}

/// The tenant's first data key: digests must stay comparable across rotations.
async fn digest_key(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    now: OffsetDateTime,
) -> Result<DataKey, CryptoError> {
    match key_version(tx, kek, 1).await {
        Err(CryptoError::MissingKey(_)) => current_key(tx, kek, now).await,
        other => other,
    }
}

/// HMAC-SHA-256 under a key derived from the tenant's first data key: a stored digest that is
/// worthless without the key file (short secrets such as backup codes cannot be guessed offline).
pub async fn keyed_digest(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    purpose: Purpose<'_>,
    value: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<u8>, CryptoError> {
    let key = digest_key(tx, kek, now).await?;
    Ok(digest_with(&key.digests(), tx.owner_id(), purpose, value))
}

/// Every digest a stored value of `value` may have: `keyed_digest`'s, and the one made before
/// keys were separated by purpose (with the data key itself). For looking a value up.
pub async fn keyed_digests(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    purpose: Purpose<'_>,
    value: &[u8],
    now: OffsetDateTime,
) -> Result<[Vec<u8>; 2], CryptoError> {
    let key = digest_key(tx, kek, now).await?;
    let owner_id = tx.owner_id();
    Ok([
        digest_with(&key.digests(), owner_id, purpose, value),
        digest_with(&key.bytes, owner_id, purpose, value),
    ])
}

/// A tenant id as it may travel in a mailed link or a receipt: sealed under a key derived from
/// the key-encryption key, so the link names its tenant to this server only. Base64url.
pub fn opaque_id(kek: &KeyEncryptionKey, owner_id: OwnerId) -> Result<String, CryptoError> {
    let sealed = seal_with(
        &kek.derive(Derived::OpaqueIds),
        0,
        b"opaque owner id",
        owner_id.as_uuid().as_bytes(),
    )?;
    Ok(URL_SAFE_NO_PAD.encode(&sealed[VERSION_LEN..]))
}

/// The tenant an `opaque_id` names; None when it was not made by this server.
pub fn open_opaque_id(kek: &KeyEncryptionKey, opaque: &str) -> Option<OwnerId> {
    let body = URL_SAFE_NO_PAD.decode(opaque).ok()?;
    let mut sealed = 0i32.to_be_bytes().to_vec();
    sealed.extend_from_slice(&body);
    let bytes = open_with(&kek.derive(Derived::OpaqueIds), b"opaque owner id", &sealed).ok()?;
    Uuid::from_slice(&bytes).ok().map(OwnerId::from_uuid)
}

#[cfg(test)]
mod tests;
