//! Consent receipts (promise P6): a JSON document with the fields of ISO/IEC TS 27560 and the
//! Kantara Consent Receipt, signed with the server's Ed25519 key, and the check that a pasted
//! receipt is genuine and unchanged.
//!
//! The signature covers the canonical form of the `receipt` object: keys sorted, no spaces.
//! So a receipt reformatted by an editor still verifies; any changed value does not.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::ledger::Method;
use crate::{
    platform::{
        ids::ConsentRecordId,
        keys::{self, Derived, KeyEncryptionKey},
        portable::Signing,
        closure, erasure, publication, residency,
        signed::{self, Unverified},
        state::AppState,
    },
    privacy::{model::ReceiptVerdict, store::ledger::LedgerRecord},
};

const SPEC: &str = "ISO/IEC TS 27560:2023; Kantara Consent Receipt v1.1";

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
    format!("{kind}:{}", keys::hex(&digest[..16]))
}

/// The receipt for one ledger record, signed.
pub fn build(state: &AppState, record: &LedgerRecord) -> Value {
    signed_receipt(
        &Signing::new(&state.key_encryption_key, &state.public_url),
        record,
    )
}

/// The receipt of a ledger record as an export reads it (`store::export`): the same document,
/// byte for byte, as the Privacy page hands out, since the signature is deterministic. None for
/// a row that does not read as a record.
pub fn from_export_row(signing: &Signing, row: Value) -> Option<Value> {
    let texts = |key: &str| -> Option<Vec<String>> {
        row[key]
            .as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let record = LedgerRecord {
        id: row["id"].as_str()?.parse::<ConsentRecordId>().ok()?,
        subject: row["subject"].as_str()?.to_owned(),
        granted: texts("granted")?,
        denied: texts("denied")?,
        policy_version: i32::try_from(row["policy_version"].as_i64()?).ok()?,
        method: row["method"].as_str()?.to_owned(),
        gpc: row["gpc"].as_bool()?,
        recorded_at: OffsetDateTime::from_unix_timestamp(row["recorded_at_unix"].as_i64()?).ok()?,
        moved_from: None,
    };
    Some(signed_receipt(signing, &record))
}

/// The JSON Schema of one signed receipt, for the export.
pub fn receipt_schema() -> Value {
    json!({
        "type": "object",
        "description": "A consent receipt as the Privacy page hands it out: the receipt and an Ed25519 signature over its canonical form (keys sorted, no spaces), checkable with the key at /.well-known/consent-receipt-key.json.",
        "required": ["receipt", "signature"],
        "properties": {
            "receipt": { "type": "object", "required": ["consentReceiptID", "consentTimestamp", "policyVersion", "services"] },
            "signature": {
                "type": "object",
                "required": ["alg", "kid", "value"],
                "properties": {
                    "alg": { "const": "Ed25519" },
                    "kid": { "type": "string" },
                    "value": { "type": "string", "description": "base64url, 64 bytes" },
                },
            },
        },
    })
}

fn signed_receipt(signing: &Signing, record: &LedgerRecord) -> Value {
    let base = signing.public_url.as_str().trim_end_matches('/');
    let host = signing.public_url.host_str().unwrap_or("localhost");
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
        "piiPrincipalId": principal_id(signing.key, &record.subject),
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
    signing.signer.sign("receipt", receipt)
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
    if document.get("attestation").is_some() {
        return match residency::verify(&state.key_encryption_key, &document) {
            Ok(attested) => ReceiptVerdict::Residency {
                account: attested.account,
                region: attested.region.label().to_owned(),
                database: attested.database,
                key_id: attested.key_id,
                generated: crate::platform::clock::to_minute(attested.generated_at),
            },
            Err(Unverified::Tampered) => ReceiptVerdict::Tampered,
            Err(Unverified::Malformed(why)) => malformed(why),
        };
    }
    if document.get(erasure::RECEIPT).is_some() {
        return match erasure::verify_receipt(&state.key_encryption_key, &document) {
            Ok(deletion) => ReceiptVerdict::Deletion {
                ledger_entry: deletion.ledger_entry,
                requested: deletion.requested,
                purged: deletion.purged,
                rows_removed: deletion.rows_removed,
                data_key_destroyed: deletion.data_key_destroyed,
            },
            Err(Unverified::Tampered) => ReceiptVerdict::Tampered,
            Err(Unverified::Malformed(why)) => malformed(why),
        };
    }
    if document.get(closure::RECEIPT).is_some() {
        return match closure::verify_receipt(&state.key_encryption_key, &document) {
            Ok(verified) => ReceiptVerdict::RightsClosure {
                request_id: verified.request_id,
                received: verified.received,
                closed: verified.closed,
                rights: verified.rights,
            },
            Err(Unverified::Tampered) => ReceiptVerdict::Tampered,
            Err(Unverified::Malformed(why)) => malformed(why),
        };
    }
    if document.get(publication::RECEIPT).is_some() {
        return match publication::verify_receipt(&state.key_encryption_key, &document) {
            Ok(verified) => ReceiptVerdict::Publication {
                action: verified.action,
                app_name: verified.app_name,
                app_id: verified.app_id,
                author: verified.author,
                at: verified.at,
                files: verified.files,
                override_reason: verified.override_reason,
            },
            Err(Unverified::Tampered) => ReceiptVerdict::Tampered,
            Err(Unverified::Malformed(why)) => malformed(why),
        };
    }
    if document.get("receipt").is_none_or(|r| !r.is_object()) {
        return malformed("This JSON has no \"receipt\" object, so it is not a consent receipt.");
    }
    let receipt = match signed::verify(&state.key_encryption_key, &document, "receipt") {
        Ok(receipt) => receipt,
        Err(Unverified::Tampered) => return ReceiptVerdict::Tampered,
        Err(Unverified::Malformed(why)) => return malformed(why),
    };
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
