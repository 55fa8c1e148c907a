//! Closure receipts of rights requests (promise P15): when the last right of a request is
//! closed, the server signs what was asked, what was done, when, and whether within the due
//! date; the person downloads it and anyone checks it on the verify page.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{
    clock::{rfc3339, rfc3339_to_minute},
    keys::KeyEncryptionKey,
    signed::{self, Unverified},
};

/// The name a closure receipt's body is signed under.
pub const RECEIPT: &str = "rightsRequestClosure";

/// One right of a closed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedRight {
    /// "Correction", "Objection", …
    pub right: String,
    pub asked: String,
    /// "Done", "Partly done", "Refused".
    pub outcome: String,
    pub reason: String,
    /// YYYY-MM-DD.
    pub due_on: String,
    pub closed_at: OffsetDateTime,
    pub on_time: bool,
}

/// What a closure receipt states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub request_id: uuid::Uuid,
    pub account: String,
    /// "GDPR", "CCPA", …
    pub regime: String,
    pub received_at: OffsetDateTime,
    pub closed_at: OffsetDateTime,
    pub rights: Vec<ClosedRight>,
}

pub fn sign(key: &KeyEncryptionKey, closure: &Closure) -> Value {
    let rights: Vec<Value> = closure
        .rights
        .iter()
        .map(|right| {
            json!({
                "right": right.right,
                "asked": right.asked,
                "outcome": right.outcome,
                "reason": right.reason,
                "dueOn": right.due_on,
                "closedAt": rfc3339(right.closed_at),
                "withinDueDate": right.on_time,
            })
        })
        .collect();
    signed::sign(
        key,
        RECEIPT,
        json!({
            "requestId": closure.request_id,
            "account": closure.account,
            "regime": closure.regime,
            "receivedAt": rfc3339(closure.received_at),
            "closedAt": rfc3339(closure.closed_at),
            "rights": rights,
        }),
    )
}

/// A closure receipt this server signed, as the verify page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClosure {
    pub request_id: String,
    pub received: String,
    pub closed: String,
    /// Per right: "Correction: Done (within the due date)".
    pub rights: Vec<String>,
}

pub fn verify_receipt(
    key: &KeyEncryptionKey,
    document: &Value,
) -> Result<VerifiedClosure, Unverified> {
    let body = signed::verify(key, document, RECEIPT)?;
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let rights = body["rights"]
        .as_array()
        .map(|rights| {
            rights
                .iter()
                .map(|right| {
                    let timing = if right["withinDueDate"].as_bool() == Some(true) {
                        "within the due date"
                    } else {
                        "after the due date"
                    };
                    format!(
                        "{}: {} ({timing})",
                        text(&right["right"]),
                        text(&right["outcome"])
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(VerifiedClosure {
        request_id: text(&body["requestId"]),
        received: rfc3339_to_minute(body["receivedAt"].as_str().unwrap_or_default()),
        closed: rfc3339_to_minute(body["closedAt"].as_str().unwrap_or_default()),
        rights,
    })
}
