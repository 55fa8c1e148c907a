//! Consent receipts (promise P6): a JSON document with the fields of ISO/IEC TS 27560 and the
//! Kantara Consent Receipt, signed with the server's Ed25519 key, and the check that a pasted
//! receipt is genuine and unchanged.
//!
//! The signature covers the canonical form of the `receipt` object: keys sorted, no spaces.
//! So a receipt reformatted by an editor still verifies; any changed value does not.

use serde_json::{json, Value};

use super::ledger::Method;
use crate::{
    platform::{
        keys::{Derived, KeyEncryptionKey},
        residency,
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
    signed::sign(&state.key_encryption_key, "receipt", receipt)
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
