//! Documents the server signs for people to keep: consent receipts, residency attestations.
//! Each is `{ "<body>": {...}, "signature": { "alg": "Ed25519", "kid", "value" } }`; the
//! signature covers the canonical form of the body (keys sorted, no spaces), so a document
//! reformatted by an editor still verifies and any changed value does not.
//!
//! The key is derived from the key-encryption key (kept and replaced with it) and published at
//! `/.well-known/consent-receipt-key.json`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::keys::{Derived, KeyEncryptionKey};

fn signing_key(key: &KeyEncryptionKey) -> SigningKey {
    SigningKey::from_bytes(&key.derive(Derived::ReceiptSigning))
}

fn key_id(verifying: &VerifyingKey) -> String {
    Sha256::digest(verifying.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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
    let signing = signing_key(key);
    let signature = signing.sign(canonical(&body).as_bytes());
    json!({
        body_name: body,
        "signature": {
            "alg": "Ed25519",
            "kid": key_id(&signing.verifying_key()),
            "value": URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        }
    })
}

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
    signing_key(key)
        .verifying_key()
        .verify_strict(canonical(body).as_bytes(), &Signature::from_bytes(&bytes))
        .map_err(|_| Unverified::Tampered)?;
    Ok(body)
}
