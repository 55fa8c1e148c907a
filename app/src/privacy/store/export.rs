//! The privacy area's share of an export (promise P8): the consent records of the account and
//! of every browser linked to it, their signed receipts, the GPC signals among them, the
//! linked browsers and the policy acknowledgments.

use crate::{
    platform::portable::{field, Documents, Field, FieldType::*, RecordKind, Withheld},
    privacy::service::receipts,
};

/// Both ledgers of the tenant, in one shape, narrowed by `$filter`: the account's records and
/// those of browsers linked to it (named explicitly, so the query is right on the migration
/// role's pool as well).
macro_rules! ledger_where {
    ($filter:literal) => {
        concat!(
            "FROM (SELECT id, 'account' AS ledger, 'account:' || owner_id::text AS subject, granted, ",
            "denied, policy_version, method, gpc, recorded_at, user_agent, NULL::text AS moved_from ",
            "FROM consent_records WHERE owner_id = $1 ",
            "UNION ALL ",
            "SELECT id, 'browser', 'browser:' || consent_id::text, granted, denied, policy_version, ",
            "method, gpc, recorded_at, user_agent, moved_from FROM anonymous_consents ",
            "WHERE consent_id IN (SELECT consent_id FROM consent_links WHERE owner_id = $1)) AS ledger ",
            "WHERE ",
            $filter
        )
    };
}

const LEDGER: &str = ledger_where!("true");
/// The records among them that a GPC signal made.
const GPC_LEDGER: &str = ledger_where!("method = 'gpc'");

const RECORD_FIELDS: &[Field] = &[
    field("id", "id::text", Text, "The record's id; its receipt carries the same."),
    field("ledger", "ledger", Text, "account (made while signed in) or browser (made in a browser later linked to you)."),
    field("subject", "subject", Text, "Whose choice: account:<your account id> or browser:<the browser's random consent id>."),
    field("granted", "granted", TextList, "Categories allowed."),
    field("denied", "denied", TextList, "Categories refused."),
    field("policy_version", "policy_version", Integer, "The cookie policy version the choice answered."),
    field("method", "method", Text, "How it was given: banner, settings, gpc (a browser signal) or sign-up."),
    field("gpc", "gpc", Boolean, "Whether the browser sent Global Privacy Control."),
    field("recorded_at", "recorded_at", Time, "When it was recorded."),
    field("user_agent", "user_agent", Text, "The browser that sent it."),
    field("moved_from", "moved_from", OptionalText, "The region a browser's record was kept in before it moved to yours."),
];

pub const EXPORTS: &[RecordKind] = &[
    RecordKind {
        file: "privacy/consent_records.json",
        title: "Consent records",
        about: "Every cookie choice of your account and of the browsers linked to it, oldest first. Records are never changed or removed.",
        tables: &["consent_records", "anonymous_consents"],
        from: LEDGER,
        order_by: "recorded_at, id",
        fields: RECORD_FIELDS,
        documents: None,
    },
    RecordKind {
        file: "privacy/consent_receipts.json",
        title: "Consent receipts",
        about: "The signed receipt of every consent record, exactly as the Privacy page hands it out (ISO/IEC TS 27560, Kantara v1.1).",
        tables: &["consent_records", "anonymous_consents"],
        from: LEDGER,
        order_by: "recorded_at, id",
        fields: &[
            field("id", "id::text", Text, "The record's id."),
            field("subject", "subject", Text, "Whose choice."),
            field("granted", "granted", TextList, "Categories allowed."),
            field("denied", "denied", TextList, "Categories refused."),
            field("policy_version", "policy_version", Integer, "The policy version."),
            field("method", "method", Text, "How it was given."),
            field("gpc", "gpc", Boolean, "Global Privacy Control."),
            field("recorded_at_unix", "floor(extract(epoch FROM recorded_at))::bigint", Integer, "When, in whole seconds."),
        ],
        documents: Some(Documents {
            reshape: receipts::from_export_row,
            schema: receipts::receipt_schema,
        }),
    },
    RecordKind {
        file: "privacy/gpc_records.json",
        title: "Global Privacy Control records",
        about: "The consent records made because a browser of yours sent Global Privacy Control (an opt-out of sale, sharing and analytics).",
        tables: &["consent_records", "anonymous_consents"],
        from: GPC_LEDGER,
        order_by: "recorded_at, id",
        fields: RECORD_FIELDS,
        documents: None,
    },
    RecordKind {
        file: "privacy/linked_browsers.json",
        title: "Linked browsers",
        about: "Browsers you signed in on: their consent records count as yours.",
        tables: &["consent_links"],
        from: "FROM consent_links WHERE owner_id = $1",
        order_by: "linked_at, consent_id",
        fields: &[
            field("consent_id", "consent_id::text", Text, "The browser's random consent id."),
            field("linked_at", "linked_at", Time, "When you first signed in on it."),
        ],
        documents: None,
    },
    RecordKind {
        file: "privacy/policy_acknowledgments.json",
        title: "Policy acknowledgments",
        about: "The policy versions you reviewed after a material change.",
        tables: &["policy_acknowledgments"],
        from: "FROM policy_acknowledgments WHERE owner_id = $1",
        order_by: "acknowledged_at, document",
        fields: &[
            field("document", "document", Text, "Which policy."),
            field("version", "version", Integer, "Its version."),
            field("acknowledged_at", "acknowledged_at", Time, "When you saw it."),
        ],
        documents: None,
    },
];

pub const WITHHELD: &[Withheld] = &[];
