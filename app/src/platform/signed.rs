//! Documents the server signs for people to keep: consent receipts, residency attestations.
//! Each is `{ "<name>": {...}, "signature": { "alg": "Ed25519", "kid", "value" } }`; the
//! signature covers the canonical form of `{ "<name>": body }` (keys sorted, no spaces), so a
//! document reformatted by an editor still verifies, any changed value does not, and one kind
//! of document renamed to pass as another does not either. Consent receipts signed before the
//! name was covered (their body alone) still verify as receipts.
//!
//! The key is derived from the key-encryption key (kept and replaced with it) and published at
//! `/.well-known/consent-receipt-key.json`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::keys::{hex, Derived, KeyEncryptionKey};

fn signing_key(key: &KeyEncryptionKey) -> SigningKey {
    SigningKey::from_bytes(&key.derive(Derived::ReceiptSigning))
}

fn key_id(verifying: &VerifyingKey) -> String {
    hex(&Sha256::digest(verifying.as_bytes())[..8])
}

/// The public key as a JSON Web Key set (RFC 8037), for anyone who wants to verify.
pub fn public_jwk(key: &KeyEncryptionKey) -> Value {
    let verifying = signing_key(key).verifying_key();
    json!({
        "keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "use": "sig",
            "alg": "EdDSA",
            "kid": key_id(&verifying),
            "x": URL_SAFE_NO_PAD.encode(verifying.as_bytes()),
        }]
    })
}

/// JSON with object keys sorted and no insignificant whitespace.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

/// The document `{ body_name: body, "signature": … }`.
pub fn sign(key: &KeyEncryptionKey, body_name: &str, body: Value) -> Value {
    DocumentSigner::new(key).sign(body_name, body)
}

/// The signing key, derived once for many documents (an export signs a receipt per record).
pub struct DocumentSigner {
    key: SigningKey,
    kid: String,
}

impl DocumentSigner {
    pub fn new(key: &KeyEncryptionKey) -> Self {
        let key = signing_key(key);
        let kid = key_id(&key.verifying_key());
        Self { key, kid }
    }

    /// The document `{ body_name: body, "signature": … }`.
    pub fn sign(&self, body_name: &str, body: Value) -> Value {
        let signature = self
            .key
            .sign(canonical(&json!({ body_name: &body })).as_bytes());
        json!({
            body_name: body,
            "signature": {
                "alg": "Ed25519",
                "kid": self.kid,
                "value": URL_SAFE_NO_PAD.encode(signature.to_bytes()),
            }
        })
    }
}

/// A detached signature of `bytes` exactly as they are (an export's manifest.json):
/// `{ "alg": "Ed25519", "kid", "value" }`.
pub fn sign_bytes(key: &KeyEncryptionKey, bytes: &[u8]) -> Value {
    let signing = signing_key(key);
    json!({
        "alg": "Ed25519",
        "kid": key_id(&signing.verifying_key()),
        "value": URL_SAFE_NO_PAD.encode(signing.sign(bytes).to_bytes()),
    })
}

/// The one kind of document once signed over its body alone.
const LEGACY_RECEIPT: &str = "receipt";

/// Why a document does not verify.
#[derive(Debug, PartialEq, Eq)]
pub enum Unverified {
    /// Well-formed, but the signature does not match the body: changed, or not ours.
    Tampered,
    /// Not such a document; says what is wrong.
    Malformed(&'static str),
}

/// The body of `document` under `body_name`, when this server signed it and it is unchanged.
pub fn verify<'a>(
    key: &KeyEncryptionKey,
    document: &'a Value,
    body_name: &str,
) -> Result<&'a Value, Unverified> {
    let body = document
        .get(body_name)
        .filter(|body| body.is_object())
        .ok_or(Unverified::Malformed("It has no signed body."))?;
    let signature =
        document
            .get("signature")
            .and_then(Value::as_object)
            .ok_or(Unverified::Malformed(
                "It has no \"signature\"; it cannot be checked.",
            ))?;
    if signature.get("alg").and_then(Value::as_str) != Some("Ed25519") {
        return Err(Unverified::Malformed(
            "The signature is not an Ed25519 signature.",
        ));
    }
    let bytes = signature
        .get("value")
        .and_then(Value::as_str)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or(Unverified::Malformed(
            "The signature value is damaged (it must be 64 bytes in base64url).",
        ))?;
    let verifying = signing_key(key).verifying_key();
    let signature = Signature::from_bytes(&bytes);
    let named = canonical(&json!({ body_name: body }));
    let genuine = verifying
        .verify_strict(named.as_bytes(), &signature)
        .is_ok()
        || (body_name == LEGACY_RECEIPT
            && verifying
                .verify_strict(canonical(body).as_bytes(), &signature)
                .is_ok());
    if genuine {
        Ok(body)
    } else {
        Err(Unverified::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> KeyEncryptionKey {
        use base64::engine::general_purpose::STANDARD;
        crate::platform::keys::from_setting(&STANDARD.encode([7u8; 32])).unwrap()
    }

    #[test]
    fn a_document_renamed_to_pass_as_another_kind_does_not_verify() {
        let key = key();
        let attestation = sign(&key, "attestation", json!({ "region": "eu-west" }));
        assert!(verify(&key, &attestation, "attestation").is_ok());
        let renamed = json!({
            "receipt": attestation["attestation"].clone(),
            "signature": attestation["signature"].clone(),
        });
        assert_eq!(verify(&key, &renamed, "receipt"), Err(Unverified::Tampered));
    }

    #[test]
    fn receipts_signed_over_their_body_alone_still_verify() {
        let key = key();
        let body = json!({ "consentReceiptID": "r1" });
        let signature = signing_key(&key).sign(canonical(&body).as_bytes());
        let legacy = json!({
            "receipt": body,
            "signature": { "alg": "Ed25519", "value": URL_SAFE_NO_PAD.encode(signature.to_bytes()) },
        });
        assert!(verify(&key, &legacy, "receipt").is_ok());
        let as_attestation = json!({ "attestation": legacy["receipt"].clone(), "signature": legacy["signature"].clone() });
        assert_eq!(
            verify(&key, &as_attestation, "attestation"),
            Err(Unverified::Tampered)
        );
    }
}
