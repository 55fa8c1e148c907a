//! Publication receipts (promise P10): the signed record of an app published to Discover or
//! withdrawn from it, which its owner downloads and anyone checks on the verify page.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{
    clock::{rfc3339, rfc3339_to_minute},
    ids::AppId,
    keys::KeyEncryptionKey,
    signed::{self, Unverified},
};

/// The name a publication receipt's body is signed under.
pub const RECEIPT: &str = "publication";

/// One file as it was published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedFile {
    pub path: String,
    pub sha256: String,
    pub bytes: i64,
}

/// What a receipt states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub receipt_id: uuid::Uuid,
    /// "published" or "unpublished".
    pub action: String,
    pub app_id: AppId,
    pub app_name: String,
    pub description: String,
    /// The author name shown on Discover.
    pub author: String,
    /// The account that acted.
    pub account: String,
    pub at: OffsetDateTime,
    /// Every file that became public (none for a withdrawal).
    pub files: Vec<PublishedFile>,
    pub remix_allowed: bool,
    /// What the publish check found, and the owner's reason to publish anyway.
    pub findings: usize,
    pub override_reason: Option<String>,
}

/// The signed receipt of `publication`.
pub fn receipt(key: &KeyEncryptionKey, publication: &Publication) -> Value {
    let files: Vec<Value> = publication
        .files
        .iter()
        .map(|file| json!({ "path": file.path, "sha256": file.sha256, "bytes": file.bytes }))
        .collect();
    signed::sign(
        key,
        RECEIPT,
        json!({
            "receiptId": publication.receipt_id,
            "action": publication.action,
            "app": {
                "id": publication.app_id,
                "name": publication.app_name,
                "description": publication.description,
            },
            "author": publication.author,
            "account": publication.account,
            "at": rfc3339(publication.at),
            "files": files,
            "remixAllowed": publication.remix_allowed,
            "checkFindings": publication.findings,
            "publishedAnywayBecause": publication.override_reason,
        }),
    )
}

/// A publication receipt this server signed, as the verify page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPublication {
    pub action: String,
    pub app_name: String,
    pub app_id: String,
    pub author: String,
    pub at: String,
    pub files: usize,
    pub override_reason: Option<String>,
}

/// Checks a publication receipt: signed by this server and unchanged.
pub fn verify_receipt(
    key: &KeyEncryptionKey,
    document: &Value,
) -> Result<VerifiedPublication, Unverified> {
    let body = signed::verify(key, document, RECEIPT)?;
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let at = rfc3339_to_minute(body["at"].as_str().unwrap_or_default());
    Ok(VerifiedPublication {
        action: text(&body["action"]),
        app_name: text(&body["app"]["name"]),
        app_id: text(&body["app"]["id"]),
        author: text(&body["author"]),
        at,
        files: body["files"].as_array().map_or(0, Vec::len),
        override_reason: body["publishedAnywayBecause"].as_str().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_verifies_until_a_value_changes() {
        use base64::{engine::general_purpose::STANDARD, Engine as _};
        let key = crate::platform::keys::from_setting(&STANDARD.encode([9u8; 32])).unwrap();
        let publication = Publication {
            receipt_id: uuid::Uuid::from_u128(1),
            action: "published".to_owned(),
            app_id: AppId::from_uuid(uuid::Uuid::from_u128(2)),
            app_name: "Weather".to_owned(),
            description: String::new(),
            author: "Ada".to_owned(),
            account: "o1".to_owned(),
            at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            files: vec![PublishedFile {
                path: "index.html".to_owned(),
                sha256: "00".to_owned(),
                bytes: 3,
            }],
            remix_allowed: false,
            findings: 1,
            override_reason: Some("a test key".to_owned()),
        };
        let document = receipt(&key, &publication);
        let verified = verify_receipt(&key, &document).unwrap();
        assert_eq!(verified.app_name, "Weather");
        assert_eq!(verified.files, 1);
        assert_eq!(verified.override_reason.as_deref(), Some("a test key"));
        let mut edited = document.clone();
        edited[RECEIPT]["files"][0]["path"] = json!("other.html");
        assert_eq!(verify_receipt(&key, &edited), Err(Unverified::Tampered));
    }
}
