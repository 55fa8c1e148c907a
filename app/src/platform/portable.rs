//! What a person can take with them (promise P8). Each area declares, for the tables it owns,
//! the kinds of records an export holds (`RecordKind`: one file, its fields, and the SQL that
//! reads them for one tenant) and what it holds but never exports (`Withheld`, with the reason).
//! The data area writes every declared kind into the archive; a test reads the database's
//! catalog and fails for any table in neither list.
//!
//! The fields are declared once: the SQL that reads them, the JSON Schema of the file and the
//! columns of the offline viewer all come from the same list.

use futures_util::stream::BoxStream;
use serde_json::{json, Map, Value};
use sqlx::PgConnection;

use super::ids::OwnerId;
use FieldType::*;

/// The version of the archive's format, in the manifest and in every schema.
pub const FORMAT_VERSION: &str = "1.0";

/// How a field is written, for its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    /// Text that may be absent (null).
    OptionalText,
    Integer,
    /// A number that may be absent (null).
    OptionalInteger,
    Boolean,
    /// An instant, ISO 8601 (RFC 3339) in UTC.
    Time,
    /// An instant that may be absent (null).
    OptionalTime,
    /// A list of texts.
    TextList,
}

impl FieldType {
    fn schema(self) -> Value {
        match self {
            Self::Text => json!({ "type": "string" }),
            Self::OptionalText => json!({ "type": ["string", "null"] }),
            Self::Integer => json!({ "type": "integer" }),
            Self::OptionalInteger => json!({ "type": ["integer", "null"] }),
            Self::Boolean => json!({ "type": "boolean" }),
            Self::Time => json!({ "type": "string", "format": "date-time" }),
            Self::OptionalTime => json!({ "type": ["string", "null"], "format": "date-time" }),
            Self::TextList => json!({ "type": "array", "items": { "type": "string" } }),
        }
    }
}

/// One field of a record: its name in the file, the SQL expression that reads it, its type and
/// what it means.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub sql: &'static str,
    pub ty: FieldType,
    pub about: &'static str,
}

/// A field, declared in one line.
pub const fn field(
    name: &'static str,
    sql: &'static str,
    ty: FieldType,
    about: &'static str,
) -> Field {
    Field {
        name,
        sql,
        ty,
        about,
    }
}

/// Turns a row, as its fields read it, into the document the file holds (a signed receipt);
/// None for a row it cannot read.
pub type Reshape = fn(&Signing, Value) -> Option<Value>;

/// What reshaping a row may need: the server's key (and its signing key, derived once) and
/// address.
pub struct Signing<'a> {
    pub key: &'a super::keys::KeyEncryptionKey,
    pub signer: super::signed::DocumentSigner,
    pub public_url: &'a url::Url,
}

impl<'a> Signing<'a> {
    pub fn new(key: &'a super::keys::KeyEncryptionKey, public_url: &'a url::Url) -> Self {
        Self {
            key,
            signer: super::signed::DocumentSigner::new(key),
            public_url,
        }
    }
}

/// A row reshaped into another document, and that document's schema.
#[derive(Debug, Clone, Copy)]
pub struct Documents {
    pub reshape: Reshape,
    pub schema: fn() -> Value,
}

/// One kind of record: one file of the archive.
#[derive(Debug, Clone, Copy)]
pub struct RecordKind {
    /// The file's path in the archive, under its area's folder: `account/profile.json`.
    pub file: &'static str,
    pub title: &'static str,
    pub about: &'static str,
    /// The tables it reads, for the completeness check.
    pub tables: &'static [&'static str],
    /// Everything after the field list: `FROM … WHERE owner_id = $1` ($1 is the tenant).
    pub from: &'static str,
    pub order_by: &'static str,
    pub fields: &'static [Field],
    /// Each row becomes another document rather than the fields as they are.
    pub documents: Option<Documents>,
}

impl RecordKind {
    /// The query: one row per record, each the record's JSON text. Instants come out as JSON
    /// does them, ISO 8601 in the session's time zone: the export's snapshot sets UTC.
    pub fn select(&self) -> String {
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|field| format!("'{}', {}", field.name, field.sql))
            .collect();
        format!(
            "SELECT json_build_object({})::text {} ORDER BY {}",
            fields.join(", "),
            self.from,
            self.order_by
        )
    }

    /// The file's JSON Schema (draft 2020-12): an array of records.
    pub fn schema(&self) -> Value {
        let items = match self.documents {
            Some(documents) => (documents.schema)(),
            None => {
                let properties: Map<String, Value> = self
                    .fields
                    .iter()
                    .map(|field| {
                        let mut schema = field.ty.schema();
                        schema["description"] = Value::String(field.about.to_owned());
                        (field.name.to_owned(), schema)
                    })
                    .collect();
                json!({
                    "type": "object",
                    "properties": properties,
                    "required": self.fields.iter().map(|f| f.name).collect::<Vec<_>>(),
                    "additionalProperties": false,
                })
            }
        };
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": format!("custodian-export/{FORMAT_VERSION}/{}", self.schema_file()),
            "title": self.title,
            "description": self.about,
            "version": FORMAT_VERSION,
            "type": "array",
            "items": items,
        })
    }

    /// Where the file's schema lies in the archive: `schema/account/profile.schema.json`.
    pub fn schema_file(&self) -> String {
        let stem = self.file.strip_suffix(".json").unwrap_or(self.file);
        format!("schema/{stem}.schema.json")
    }
}

/// The tenant's records of a kind, one JSON text each, read in the caller's transaction as they
/// arrive (never all at once). `select` is the kind's `select()`: built from constants in the
/// code, never from input; the tenant is bound.
pub fn records<'c>(
    conn: &'c mut PgConnection,
    select: &'c str,
    owner: OwnerId,
) -> BoxStream<'c, Result<String, sqlx::Error>> {
    sqlx::query_scalar::<_, String>(select)
        .bind(owner)
        .fetch(conn)
}

/// Files an export holds as they are rather than as records: an app's own files, each under
/// its app's folder.
#[derive(Debug, Clone, Copy)]
pub struct FileSet {
    pub title: &'static str,
    pub about: &'static str,
    /// The tables it reads, for the completeness check.
    pub tables: &'static [&'static str],
    /// Where the files go in the archive, for the manifest: `apps/<app-id>/`.
    pub folder: &'static str,
    /// One row per file, (its path in the archive, its bytes), for tenant `$1`. The paths come
    /// from the database's checked values (never `..`, never absolute).
    pub select: &'static str,
}

/// The tenant's files of a set, read in the caller's transaction as they arrive.
pub fn files<'c>(
    conn: &'c mut PgConnection,
    set: &'c FileSet,
    owner: OwnerId,
) -> BoxStream<'c, Result<(String, Vec<u8>), sqlx::Error>> {
    sqlx::query_as::<_, (String, Vec<u8>)>(set.select)
        .bind(owner)
        .fetch(conn)
}

/// Personal data held but never exported, and why.
#[derive(Debug, Clone, Copy)]
pub struct Withheld {
    /// The table it is kept in.
    pub table: &'static str,
    pub what: &'static str,
    pub reason: &'static str,
}

/// The platform tables' share of an export: the tenant's region, its sessions, its security log
/// and the mail sent to it.
pub const PLATFORM_EXPORTS: &[RecordKind] = &[
    RecordKind {
        file: "account/region.json",
        title: "Region",
        about: "Where your data is kept (promise P11) and when your account began there.",
        tables: &["tenants"],
        from: "FROM tenants WHERE owner_id = $1",
        order_by: "created_at",
        fields: &[
            field("account_id", "owner_id::text", Text, "Your account's id."),
            field("region", "region", Text, "The region whose database holds your data."),
            field("created_at", "created_at", Time, "When the account was made."),
        ],
        documents: None,
    },
    RecordKind {
        file: "account/sessions.json",
        title: "Sessions",
        about: "Your signed-in sessions still listed (ended ones are removed).",
        tables: &["account_sessions"],
        from: "FROM account_sessions WHERE owner_id = $1",
        order_by: "created_at, id",
        fields: &[
            field("id", "id::text", Text, "The session's id as the Sessions page names it."),
            field("created_at", "created_at", Time, "When you signed in."),
            field("last_seen_at", "last_seen_at", Time, "Its last request."),
            field("expires_at", "expires_at", Time, "When it ends at the latest."),
            field("remember", "remember", Boolean, "Whether you asked to be remembered on the device."),
            field("user_agent", "user_agent", Text, "The browser."),
            field("network", "ip_prefix", Text, "The network (the address with its last part zeroed)."),
            field("failed_reauths", "failed_reauths", Integer, "Wrong answers when confirming it was you."),
        ],
        documents: None,
    },
    RecordKind {
        file: "security/events.json",
        title: "Security log",
        about: "Every event of your security log, oldest first, with the hash chain that shows none was changed or removed.",
        tables: &["audit_events"],
        from: "FROM audit_events WHERE owner_id = $1",
        order_by: "seq",
        fields: &[
            field("seq", "seq", Integer, "Its number in your log, from 1."),
            field("occurred_at", "occurred_at", Time, "When it happened."),
            field("kind", "kind", Text, "What happened."),
            field("detail", "detail", Text, "More about it."),
            field("network", "ip_prefix", Text, "The network it came from (empty: not yours to see)."),
            field("user_agent", "user_agent", Text, "The browser it came from."),
            field("prev_hash", "encode(prev_hash, 'hex')", Text, "The previous event's hash."),
            field("hash", "encode(hash, 'hex')", Text, "This event's keyed hash."),
        ],
        documents: None,
    },
    RecordKind {
        file: "security/log_checkpoints.json",
        title: "Security log checkpoints",
        about: "Signed checkpoints of your log's hash chain.",
        tables: &["audit_checkpoints"],
        from: "FROM audit_checkpoints WHERE owner_id = $1",
        order_by: "seq",
        fields: &[
            field("seq", "seq", Integer, "The last event the checkpoint covers."),
            field("hash", "encode(hash, 'hex')", Text, "That event's hash."),
            field("signed_at", "signed_at", Time, "When it was signed."),
            field("signature", "encode(signature, 'hex')", Text, "The server's signature."),
        ],
        documents: None,
    },
    RecordKind {
        file: "security/log_cuts.json",
        title: "Security log cuts",
        about: "Where the retention schedule removed your log's oldest events: the signed head of the chain at the cut, from which the rest verifies.",
        tables: &["audit_cuts"],
        from: "FROM audit_cuts WHERE owner_id = $1",
        order_by: "seq",
        fields: &[
            field("seq", "seq", Integer, "The last event removed."),
            field("hash", "encode(hash, 'hex')", Text, "That event's hash."),
            field("cut_at", "cut_at", Time, "When the log was cut."),
            field("signature", "encode(signature, 'hex')", Text, "The server's signature."),
        ],
        documents: None,
    },
    RecordKind {
        file: "account/mail.json",
        title: "Mail",
        about: "The messages the site sent you, by subject and date.",
        tables: &["mail_outbox"],
        from: "FROM mail_outbox WHERE account = $1",
        order_by: "created_at, id",
        fields: &[
            field("to", "recipient", Text, "The address it went to."),
            field("subject", "subject", Text, "Its subject."),
            field("created_at", "created_at", Time, "When it was written."),
            field("sent_at", "sent_at", OptionalTime, "When it was delivered (null: not yet or not at all)."),
            field("failed_at", "failed_at", OptionalTime, "When delivery was given up (null: it was not)."),
        ],
        documents: None,
    },
];

/// What the platform tables hold of a tenant and never export.
pub const PLATFORM_WITHHELD: &[Withheld] = &[
    Withheld {
        table: "mail_outbox",
        what: "The text of each message",
        reason: "It may hold a link that still works (a password reset); the subjects and dates are in account/mail.json.",
    },
    Withheld {
        table: "account_sessions",
        what: "Each session's store id",
        reason: "A secret: it is what your session cookie points at.",
    },
    Withheld {
        table: "tower_sessions.session",
        what: "Session store records",
        reason: "The server's working state of each session (the cookie's target); what they mean is in account/sessions.json.",
    },
    Withheld {
        table: "data_keys",
        what: "Your data keys",
        reason: "Secrets: they seal your authenticator secret and are wrapped with the region's key.",
    },
    Withheld {
        table: "jobs",
        what: "Background work queued for you (mail to send, exports to build)",
        reason: "The server's working queue, holding ids only; its outcome is in the files above.",
    },
    Withheld {
        table: "address_routes",
        what: "Your address's route in the directory",
        reason: "A keyed digest of your address that tells the server your region, which account/region.json names.",
    },
    Withheld {
        table: "move_requests",
        what: "A request to move to another region",
        reason: "Kept in the directory only until an operator moves you; your region is in account/region.json.",
    },
    Withheld {
        table: "tenant_moves",
        what: "A move between regions under way",
        reason: "Kept in the directory only while the move runs.",
    },
    Withheld {
        table: "erasures",
        what: "The erasure ledger",
        reason: "Written when a region lets go of an account's data, by account id only; it proves the deletion, not your data.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: RecordKind = RecordKind {
        file: "account/profile.json",
        title: "Profile",
        about: "Who you are here.",
        tables: &["accounts"],
        from: "FROM accounts WHERE owner_id = $1",
        order_by: "created_at",
        fields: &[
            Field {
                name: "email",
                sql: "email",
                ty: FieldType::Text,
                about: "The address you sign in with.",
            },
            Field {
                name: "created_at",
                sql: "created_at",
                ty: FieldType::Time,
                about: "When the account was made.",
            },
        ],
        documents: None,
    };

    #[test]
    fn the_query_reads_every_field_as_json() {
        let sql = KIND.select();
        assert!(sql.starts_with(
            "SELECT json_build_object('email', email, 'created_at', created_at)::text"
        ));
        assert!(sql.ends_with("FROM accounts WHERE owner_id = $1 ORDER BY created_at"));
    }

    #[test]
    fn the_schema_lists_every_field_as_required_and_nothing_else() {
        let schema = KIND.schema();
        assert_eq!(schema["type"], "array");
        assert_eq!(schema["version"], FORMAT_VERSION);
        assert_eq!(schema["items"]["required"], json!(["email", "created_at"]));
        assert_eq!(schema["items"]["additionalProperties"], false);
        assert_eq!(
            schema["items"]["properties"]["created_at"]["format"],
            "date-time"
        );
        assert_eq!(KIND.schema_file(), "schema/account/profile.schema.json");
    }
}
