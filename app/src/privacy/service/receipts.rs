//! Consent receipts (promise P6): a JSON document with the fields of ISO/IEC TS 27560 and the
//! Kantara Consent Receipt, signed with the server's Ed25519 key, and the check that a pasted
//! receipt is genuine and unchanged.
//!
//! The signature covers the canonical form of the `receipt` object: keys sorted, no spaces.
//! So a receipt reformatted by an editor still verifies; any changed value does not.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::ledger::Method;
use crate::{
    platform::{
        keys::{Derived, KeyEncryptionKey},
        state::AppState,
    },
    privacy::{model::ReceiptVerdict, store::ledger::LedgerRecord},
};

const SPEC: &str = "ISO/IEC TS 27560:2023; Kantara Consent Receipt v1.1";

/// The receipt key, derived from the key-encryption key: kept and replaced with it.
pub fn signing_key(key: &KeyEncryptionKey) -> SigningKey {
    SigningKey::from_bytes(&key.derive(Derived::ReceiptSigning))
}

/// The public key, base64url, as published at `/.well-known/consent-receipt-key.json`.
pub fn public_key(key: &KeyEncryptionKey) -> String {
    URL_SAFE_NO_PAD.encode(signing_key(key).verifying_key().as_bytes())
}

fn key_id(verifying: &VerifyingKey) -> String {
    Sha256::digest(verifying.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The public key as a JSON Web Key (RFC 8037), for anyone who wants to verify receipts.
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

fn purpose(category: &str) -> &'static str {
    match category {
        "essential" => "Run the site: keep you signed in, protect forms, remember this choice",
        "functional" => "Remember your theme and layout preference",
        "analytics" => "Count page views per page and day, in aggregate",
        "sale_share" => "Sale or sharing of personal information",
        _ => "Unknown purpose",
    }
}

/// The subject of a record as a receipt names it: "account:" or "browser:" with a keyed digest of
/// the id, never the id itself. The same subject always gets the same digest, so a person's
/// receipts can be matched to each other, but not to their account by anyone but this server.
fn principal_id(key: &KeyEncryptionKey, subject: &str) -> String {
    let (kind, id) = subject.split_once(':').unwrap_or(("subject", subject));
    let digest = key.mac(Derived::ReceiptSubjects, id.as_bytes());
    let short: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{short}")
}

/// The receipt for one ledger record, signed.
pub fn build(state: &AppState, record: &LedgerRecord) -> Value {
    let base = state.public_url.as_str().trim_end_matches('/');
    let host = state.public_url.host_str().unwrap_or("localhost");
    let consent_type = if record.method == "gpc" {
        "GPC"
    } else {
        "EXPLICIT"
    };
    let purposes: Vec<Value> = record
        .granted
        .iter()
        .map(|c| (c, true))
        .chain(record.denied.iter().map(|c| (c, false)))
        .map(|(category, granted)| {
            json!({
                "purpose": purpose(category),
                "purposeCategory": [category],
                "consentType": consent_type,
                "consentGiven": granted,
                "piiCategory": ["online identifier (random consent id)"],
                "primaryPurpose": category == "essential",
                "termination": format!("Withdraw at any time at {base}/privacy"),
                "thirdPartyDisclosure": false,
            })
        })
        .collect();
    let receipt = json!({
        "version": SPEC,
        "jurisdiction": "EU GDPR; US CCPA/CPRA",
        "consentReceiptID": record.id.to_string(),
        "consentTimestamp": record.recorded_at.unix_timestamp(),
        "collectionMethod": Method::label(&record.method),
        "language": "en",
        "piiPrincipalId": principal_id(&state.key_encryption_key, &record.subject),
        "piiControllers": [{
            "piiController": "Custodian",
            "contact": "Privacy team",
            "email": format!("privacy@{host}"),
            "piiControllerUrl": base,
        }],
        "policyUrl": format!("{base}/policies/cookies/v/{}", record.policy_version),
        "policyVersion": record.policy_version,
        "globalPrivacyControl": record.gpc,
        "services": [{ "service": "Custodian", "purposes": purposes }],
        "sensitive": false,
        "spiCat": [],
    });
    let signing = signing_key(&state.key_encryption_key);
    let signature = signing.sign(canonical(&receipt).as_bytes());
    json!({
        "receipt": receipt,
        "signature": {
            "alg": "Ed25519",
            "kid": key_id(&signing.verifying_key()),
            "value": URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        }
    })
}

fn malformed(why: &str) -> ReceiptVerdict {
    ReceiptVerdict::Malformed(why.to_owned())
}

fn strings(value: &Value, granted: bool) -> Vec<String> {
    value["services"][0]["purposes"]
        .as_array()
        .map(|purposes| {
            purposes
                .iter()
                .filter(|p| p["consentGiven"].as_bool() == Some(granted))
                .filter_map(|p| p["purposeCategory"][0].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `text` is a receipt this server signed, unchanged.
pub fn verify(state: &AppState, text: &str) -> ReceiptVerdict {
    let Ok(document) = serde_json::from_str::<Value>(text) else {
        return malformed(
            "This is not valid JSON. Paste the whole receipt file, from the first { to the last }.",
        );
    };
    let Some(receipt) = document.get("receipt").filter(|r| r.is_object()) else {
        return malformed("This JSON has no \"receipt\" object, so it is not a consent receipt.");
    };
    let Some(signature) = document.get("signature").and_then(Value::as_object) else {
        return malformed("This receipt has no \"signature\"; it cannot be checked.");
    };
    if signature.get("alg").and_then(Value::as_str) != Some("Ed25519") {
        return malformed("The signature is not an Ed25519 signature.");
    }
    let Some(bytes) = signature
        .get("value")
        .and_then(Value::as_str)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
    else {
        return malformed("The signature value is damaged (it must be 64 bytes in base64url).");
    };
    let verifying = signing_key(&state.key_encryption_key).verifying_key();
    if verifying
        .verify_strict(
            canonical(receipt).as_bytes(),
            &Signature::from_bytes(&bytes),
        )
        .is_err()
    {
        return ReceiptVerdict::Tampered;
    }
    let text_of = |key: &str| receipt[key].as_str().unwrap_or_default().to_owned();
    let recorded = receipt["consentTimestamp"]
        .as_i64()
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .map(crate::platform::clock::to_minute)
        .unwrap_or_default();
    ReceiptVerdict::Genuine {
        receipt_id: text_of("consentReceiptID"),
        subject: text_of("piiPrincipalId"),
        recorded,
        method: text_of("collectionMethod"),
        granted: strings(receipt, true),
        denied: strings(receipt, false),
    }
}
