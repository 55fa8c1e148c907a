//! The residency attestation (promise P11): a document, signed with the server's key, saying
//! which region and which database hold an account's data and which key wraps its keys.

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{
    db::TenantTx,
    error::InfraError,
    keys::KeyEncryptionKey,
    region::Region,
    signed::{self, Unverified},
};

const KIND: &str = "Custodian data residency attestation v1";

/// What a verified attestation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Residency {
    pub account: String,
    pub region: Region,
    pub database: String,
    pub key_id: String,
    pub generated_at: OffsetDateTime,
}

/// The identity of the database the transaction runs in: its name and object id on its
/// server, which no other database shares.
async fn database_identity(tx: &mut TenantTx) -> Result<String, sqlx::Error> {
    let (name, oid): (String, String) = sqlx::query_as(
        "SELECT current_database()::text, oid::text FROM pg_database \
         WHERE datname = current_database()",
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(format!("{name} (oid {oid})"))
}

/// The signed attestation for the transaction's tenant, read from the database that holds it.
pub async fn attest(
    tx: &mut TenantTx,
    kek: &KeyEncryptionKey,
    now: OffsetDateTime,
) -> Result<Value, InfraError> {
    let region = tx.tenant().region;
    let body = json!({
        "kind": KIND,
        "account": tx.owner_id().to_string(),
        "region": region.as_str(),
        "regionName": region.label(),
        "database": database_identity(tx).await?,
        "keyId": kek.region_key_id(region),
        "generatedAt": now.unix_timestamp(),
    });
    Ok(signed::sign(kek, "attestation", body))
}

/// What `document` attests, when this server signed it and nothing changed.
pub fn verify(kek: &KeyEncryptionKey, document: &Value) -> Result<Residency, Unverified> {
    let body = signed::verify(kek, document, "attestation")?;
    let text = |key: &str| {
        body[key]
            .as_str()
            .map(str::to_owned)
            .ok_or(Unverified::Malformed(
                "A field of the attestation is missing.",
            ))
    };
    if body["kind"].as_str() != Some(KIND) {
        return Err(Unverified::Malformed(
            "This is not a residency attestation.",
        ));
    }
    Ok(Residency {
        account: text("account")?,
        region: Region::parse(&text("region")?).ok_or(Unverified::Malformed(
            "The attestation names an unknown region.",
        ))?,
        database: text("database")?,
        key_id: text("keyId")?,
        generated_at: body["generatedAt"]
            .as_i64()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or(Unverified::Malformed("The attestation's time is damaged."))?,
    })
}
